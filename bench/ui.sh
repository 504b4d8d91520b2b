#!/usr/bin/env bash
# The dashboard's server time (issue 19), on the embedded stack:
#   - GET /ui/api/overview with 20 batches (one of 10,000 jobs): the
#     first answer (cold, snapshots read) and the median and p95 of 20;
#   - GET /ui/api/batches/B?limit=200 of the 10,000-job batch (half
#     succeeded, some failed): cold (snapshot older than a second, so read
#     again) and warm, median and p95;
#   - GET /ui/ (the embedded page);
#   - the live channel's cost: W watchers (default 50) each polling the big
#     batch every 0.5 s for 10 s; ledger queries per second the dashboard
#     made meanwhile (/ui/api/stats), against the target of 1 per batch.
# Server time is the API's own per-request figure (its debug log's ms=).
# Targets: ≤ 200 ms for the overview and the batch page; ≤ 1 query/s.
#   BIN=build/rel/bin bench/ui.sh [JOBS] [WATCHERS]
set -euo pipefail
JOBS=${1:-10000}
W=${2:-50}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BIN:=$ROOT/build/rel/bin}"
T=$(mktemp -d "${TMPDIR:-/tmp}/onesheet-bench-XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
export ONESHEET_STATE_DIR=$T/state ONESHEET_CONFIG=/dev/null ONESHEET_MODEL=draft

for i in $(seq 19); do
    printf 'Small batch %s poster %s\n' "$i" 1 2 3 4 5 > "$T/s$i.txt"
    "$BIN/onesheet" submit "$T/s$i.txt" >/dev/null 2>&1
done
for i in $(seq "$JOBS"); do echo "Bench dashboard poster $i"; done > "$T/big.txt"
big=$("$BIN/onesheet" submit "$T/big.txt" 2>/dev/null)
# Half the big batch finished (as a worker would leave it), 2% failed.
now=$(($(date +%s) * 1000))
sqlite3 "$T/state/onesheet.db" "
UPDATE ledger_jobs SET state='succeeded', store_key=batch_id||'/'||job_id||'.png',
  cost_usd=0.04, model='draft', finished_ms=$now - (line % 3600) * 1000
  WHERE batch_id='$big' AND line % 2 = 0;
UPDATE ledger_jobs SET state='failed', error_code='ValidationException',
  error_message='the prompt was refused', finished_ms=$now
  WHERE batch_id='$big' AND line % 50 = 1;"

"$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" --rate-limit 0 \
    --log-level debug 2>"$T/api.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
PORT=$(cat "$T/api.port")

python3 - "$PORT" "$big" "$W" "$T/api.log" <<'PY'
import json, re, statistics, sys, threading, time, urllib.request
port, big, W, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
base = "http://127.0.0.1:%s" % port
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return r.read()
def server_ms(path):
    """The API's own times for requests of path so far (its debug log)."""
    pat = re.compile(r'path="?%s"? status=\d+ ms=([0-9.]+)' % re.escape(path))
    return [float(m.group(1)) for m in pat.finditer(open(log).read())]
def timed(path, n, gap=0.0):
    before = len(server_ms(path))
    for _ in range(n):
        get(path); time.sleep(gap)
    for _ in range(100):
        got = server_ms(path)[before:]
        if len(got) >= n: return got
        time.sleep(0.02)
    raise SystemExit("bench/ui.sh: no log lines for %s in %s" % (path, log))
def p(xs, q):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))]
res = {"jobs": None}
ov = timed("/ui/api/overview", 1)
ov += timed("/ui/api/overview", 20)
page = "/ui/api/batches/%s" % big
cold = timed(page, 6, gap=1.05)          # each one finds a snapshot over a second old
warm = timed(page, 20)
ui = timed("/ui/", 10)
d = json.loads(get(page + "?limit=200"))
res = {"batch_jobs": d["batch"]["total"], "page_jobs": len(d["jobs"]),
       "overview_cold_ms": round(ov[0], 1), "overview_median_ms": round(statistics.median(ov[1:]), 1),
       "overview_p95_ms": round(p(ov[1:], .95), 1),
       "batch_page_cold_median_ms": round(statistics.median(cold), 1),
       "batch_page_cold_max_ms": round(max(cold), 1),
       "batch_page_warm_median_ms": round(statistics.median(warm), 1),
       "batch_page_warm_p95_ms": round(p(warm, .95), 1),
       "ui_page_median_ms": round(statistics.median(ui), 2)}
# W watchers polling every 0.5 s for 10 s.
q0 = json.loads(get("/ui/api/stats"))["ledger_queries"]
stop = time.time() + 10
count = [0]
def watch():
    while time.time() < stop:
        get(page + "?limit=200"); count[0] += 1; time.sleep(0.5)
ts = [threading.Thread(target=watch) for _ in range(W)]
t0 = time.time()
for t in ts: t.start()
for t in ts: t.join()
el = time.time() - t0
q1 = json.loads(get("/ui/api/stats"))["ledger_queries"]
res.update({"watchers": W, "watch_requests_per_s": round(count[0] / el, 1),
            "ledger_queries_per_s": round((q1 - q0) / el, 2)})
print(json.dumps(res))
print("dashboard: overview %.1f ms (cold %.1f), %d-job batch page %.1f ms cold / %.1f ms warm, "
      "%d watchers: %.1f requests/s cost %.2f ledger queries/s" % (
      res["overview_median_ms"], res["overview_cold_ms"], res["batch_jobs"],
      res["batch_page_cold_median_ms"], res["batch_page_warm_median_ms"], W,
      res["watch_requests_per_s"], res["ledger_queries_per_s"]), file=sys.stderr)
ok = res["overview_cold_ms"] <= 200 and res["batch_page_cold_max_ms"] <= 200 and res["ledger_queries_per_s"] <= 1.05
print("dashboard targets (≤ 200 ms, ≤ 1 query/s per batch): %s" % ("met" if ok else "NOT met"), file=sys.stderr)
PY
