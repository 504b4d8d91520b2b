#!/usr/bin/env bash
# Webhook delivery on the embedded stack (SQLite outbox, draft engine), with
# a loopback receiver that verifies every signature (standardwebhooks npm
# package) and answers 200:
#   1. throughput: N events piled up in the outbox (a worker without
#      webhook_secret ran the jobs), then one worker delivers them all;
#      events per second from the first to the last delivery;
#   2. delay: a fresh batch of N jobs with the receiver up; per event, the
#      time from the state change (the event's created time) to its 2xx,
#      from the worker's webhook_delivered delay_ms; median and p95.
#   BIN=build/rel/bin bench/webhooks.sh [N]   (default 300)
set -euo pipefail
N=${1:-300}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BIN:=$ROOT/build/rel/bin}"
T=$(mktemp -d "${TMPDIR:-/tmp}/onesheet-bench-XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
export ONESHEET_STATE_DIR=$T/state ONESHEET_CONFIG=/dev/null ONESHEET_MODEL=draft
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

NODE_PATH=$ROOT/node_modules node "$ROOT/tests/support/webhook_receiver.js" \
    "$SECRET" "$T/hooks.jsonl" "$T/plan" "$T/recv.port" &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/recv.port" ] && break; sleep 0.05; done
HOOK="http://127.0.0.1:$(cat "$T/recv.port")/hook"

for i in $(seq "$N"); do echo "Bench webhook poster $i"; done >"$T/a.txt"
ONESHEET_WEBHOOK_SECRET=$SECRET "$BIN/onesheet" submit "$T/a.txt" --webhook "$HOOK" >/dev/null 2>&1
# Jobs first, no deliveries: this worker has no secret.
"$BIN/onesheet-worker" --concurrency 2 --drain --log-level warn 2>/dev/null
ONESHEET_WEBHOOK_SECRET=$SECRET "$BIN/onesheet-worker" --drain --webhook-drain 300 \
    2>"$T/w1.log"
for i in $(seq "$N"); do echo "Bench webhook delay poster $i"; done >"$T/b.txt"
ONESHEET_WEBHOOK_SECRET=$SECRET "$BIN/onesheet" submit "$T/b.txt" --webhook "$HOOK" >/dev/null 2>&1
ONESHEET_WEBHOOK_SECRET=$SECRET "$BIN/onesheet-worker" --concurrency 2 --drain \
    --webhook-drain 300 2>"$T/w2.log"

python3 - "$T/hooks.jsonl" "$T/w1.log" "$T/w2.log" "$N" <<'PY'
import json, re, statistics, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[4])
assert all(h["verified"] for h in hooks), "a signature did not verify"
def times(log):
    ts = []
    for l in open(log):
        if "event=webhook_delivered" in l:
            m = re.search(r"delay_ms=(\d+)", l)
            ts.append(int(m.group(1)))
    return ts
d1 = times(sys.argv[2])
first = [h["at_ms"] for h in hooks[: n + 1]]
span = (max(first) - min(first)) / 1000.0
print(f"throughput: {len(first)} events ({n} job.succeeded + 1 batch.completed) "
      f"delivered in {span:.2f} s = {len(first) / span:.0f} events/s (one worker, one thread)")
d2 = sorted(times(sys.argv[3]))
q = lambda p: d2[min(len(d2) - 1, int(p * len(d2)))]
print(f"delay state change -> 2xx: {len(d2)} events, median {statistics.median(d2):.0f} ms, "
      f"p95 {q(0.95)} ms, max {d2[-1]} ms")
PY
