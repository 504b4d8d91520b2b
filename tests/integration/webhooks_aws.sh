#!/usr/bin/env bash
# Signed webhooks on the AWS back-ends (SQS, DynamoDB, S3 emulators behind
# sigproxy; the Bedrock stand-in): `onesheet init` makes the table with the
# by_outbox index; a batch submitted with --webhook delivers one
# job.succeeded per job and exactly one batch.completed to a receiver that
# verifies every signature with the standardwebhooks npm package, a 503
# retried under the same webhook-id; a second batch whose last job is
# cancelled delivers job.cancelled and its completion; status reads the
# deliveries from DynamoDB; no proxy rejected a signature.
. "$(dirname "$0")/lib.sh"
# The receiver verifies with the standardwebhooks package (package.json):
# without it nothing is verified, so that is a failure, not a skip.
command -v node >/dev/null && [ -d "$ROOT/node_modules/standardwebhooks" ] ||
    fail "no node or no standardwebhooks package: run 'make deps' (npm ci)"
use_aws_stack
export ONESHEET_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
"$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init"; fail "init"; }
grep -q by_outbox "$T/init" || { cat "$T/init"; fail "init did not mention by_outbox"; }

NODE_PATH=$ROOT/node_modules node "$ROOT/tests/support/webhook_receiver.js" \
    "$ONESHEET_WEBHOOK_SECRET" "$T/hooks.jsonl" "$T/plan" "$T/recv.port" &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/recv.port" ] && break; sleep 0.05; done
HOOK="http://127.0.0.1:$(cat "$T/recv.port")/hook"
ok_count() {  # ok_count BATCH: 2xx deliveries for BATCH
    python3 - "$T/hooks.jsonl" "$1" <<'PY' 2>/dev/null || echo 0
import json, sys
n = 0
for l in open(sys.argv[1]):
    h = json.loads(l)
    n += json.loads(h["body"])["data"]["batch"] == sys.argv[2] and 200 <= h["status"] < 300
print(n)
PY
}
wait_for() {
    for _ in $(seq 600); do [ "$(ok_count "$2")" -ge "$1" ] && return 0; sleep 0.1; done
    cat "$T/hooks.jsonl" >&2 || true; fail "want $1 deliveries for $2, got $(ok_count "$2")"
}

for i in 1 2 3; do echo "AWS webhook poster $i"; done >"$T/a.txt"
echo 503 >"$T/plan"
a=$("$BIN/onesheet" submit "$T/a.txt" --webhook "$HOOK" 2>"$T/err") || fail "submit: $(cat "$T/err")"
expect_status 65 "$BIN/onesheet" submit "$T/a.txt" --webhook "https://other.example/h"
"$BIN/onesheet-worker" --concurrency 3 2>"$T/w.log" &
W=$!; PIDS+=($W)
wait_for 4 "$a"

# A batch cancelled before any worker takes it: one event a job, one completion.
kill "$W"; wait "$W" 2>/dev/null || true
for i in 1 2; do echo "AWS webhook cancelled $i"; done >"$T/b.txt"
b=$("$BIN/onesheet" submit "$T/b.txt" --webhook "$HOOK" 2>/dev/null)
"$BIN/onesheet" cancel "$b" >/dev/null 2>&1 || fail "cancel"
"$BIN/onesheet-worker" --drain --webhook-drain 20 2>"$T/w2.log"
wait_for 3 "$b"
python3 - "$T/hooks.jsonl" "$a" "$b" <<'PY' || fail "deliveries"
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
assert all(h["verified"] for h in hooks), [h["error"] for h in hooks]
def mine(b): return [h for h in hooks if json.loads(h["body"])["data"]["batch"] == b]
a, b = mine(sys.argv[2]), mine(sys.argv[3])
ok = [h for h in a if 200 <= h["status"] < 300]
types = sorted(json.loads(h["body"])["type"] for h in ok)
assert types == ["batch.completed"] + ["job.succeeded"] * 3, types
failed = [h for h in a if h["status"] == 503]
assert len(failed) == 1 and failed[0]["headers"]["webhook-id"] in [h["headers"]["webhook-id"] for h in ok]
done = [json.loads(h["body"]) for h in ok if json.loads(h["body"])["type"] == "batch.completed"][0]
assert done["data"]["counts"] == {"succeeded": 3} and done["data"]["total"] == 3, done
for h in ok:
    p = json.loads(h["body"])
    if p["type"] == "job.succeeded":
        assert p["data"]["url"].startswith("http") and p["data"]["attempts"] == 1, p
        assert p["data"]["model"] == "stability.sd3-5-large-v1:0", p
types = sorted(json.loads(h["body"])["type"] for h in b if 200 <= h["status"] < 300)
assert types == ["batch.completed", "job.cancelled", "job.cancelled"], types
PY
"$BIN/onesheet" status "$a" | grep -q 'webhook: http://127.0.0.1:[0-9]*: 4 delivered, 0 pending' ||
    { "$BIN/onesheet" status "$a"; fail "status"; }
[ "$(awsstack_rejections)" = 0 ] || fail "a proxy rejected a signature"
ok "DynamoDB outbox: 3 job.succeeded + 1 batch.completed (a 503 retried), 2 job.cancelled + 1 batch.completed, all verified"
