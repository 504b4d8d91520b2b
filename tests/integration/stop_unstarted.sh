# SIGTERM while jobs wait for the rate limiter (AWS back-ends, stand-in):
# the generations already running finish and are stored, the claimed jobs
# whose generation had not started are given back at once (lease released,
# message visible) without a paid call, the worker exits 0 well within the
# grace, and a second worker then finishes every job, one model call each.
source "$(dirname "$0")/lib.sh"
STANDIN_ARGS="--latency-ms 1500 --image-bytes 20000"
use_aws_stack
"$BIN/onesheet" init >/dev/null 2>&1 || fail "init"

python3 -c "
for i in range(10): print(f'Paced poster {i}: a lighthouse')" > "$T/p.txt"
"$BIN/onesheet" submit "$T/p.txt" >/dev/null 2>&1 || fail submit
# 30 a minute: one call every 2 s, so most claimed jobs wait their turn.
"$BIN/onesheet-worker" --concurrency 10 --rpm 30 --grace 20 2>"$T/w1.log" &
w1=$!; PIDS+=("$w1")
for _ in $(seq 100); do
    [ "$(grep -c 'event=job_started' "$T/w1.log" || true)" -ge 10 ] && break
    sleep 0.1
done
sleep 2.5
kill -TERM "$w1"
t0=$SECONDS
rc=0; wait "$w1" || rc=$?
[ "$rc" = 0 ] || fail "worker exited $rc"
[ $((SECONDS - t0)) -le 10 ] || fail "stopping took $((SECONDS - t0)) s"
done1=$(grep -c 'event=job_succeeded' "$T/w1.log" || true)
back=$(grep -c 'reason=shutdown_before_start' "$T/w1.log" || true)
echo "  first worker: $done1 finished, $back given back unstarted"
[ "$done1" -ge 1 ] && [ "$back" -ge 5 ] && [ $((done1 + back)) = 10 ] \
    || { cat "$T/w1.log" >&2; fail "expected every job either finished or given back"; }
timeout 60 "$BIN/onesheet-worker" --concurrency 10 --drain --visibility 30 2>"$T/w2.log" \
    || fail "second worker"
"$BIN/onesheet" list --json > "$T/jobs.json"
python3 - "$T/jobs.json" "$BEDROCK" <<'PY' || fail "states or calls"
import json, sys, urllib.request
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 10 and all(r['state'] == 'succeeded' for r in rows), rows
calls = json.load(urllib.request.urlopen(sys.argv[2] + '/__standin/stats'))['prompts']
assert len(calls) == 10 and all(n == 1 for n in calls.values()), calls
PY
ok "SIGTERM: running generations finished, $back unstarted jobs given back, all done once"
