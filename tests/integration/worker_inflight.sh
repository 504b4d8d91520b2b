# The network engine's jobs in flight (AWS back-ends, loopback emulators and
# the Bedrock stand-in), with generations slower than the visibility timeout:
#   - heartbeats: every in-flight job's message visibility and lease are
#     extended, so a second worker polling the same queue never gets a
#     message that is still being worked on — each prompt reaches the model
#     exactly once although every call outlasts the 5 s visibility twice;
#   - many generations wait on the network at once without a thread each
#     (12 in flight, 5 threads in the process);
#   - SIGTERM with all of them in flight: both workers stop receiving,
#     finish every job within the grace, give nothing back and exit 0
#     (--prefetch 0: no job is claimed ahead, so every job held is a
#     generation in flight; prefetch.sh covers jobs claimed ahead).
source "$(dirname "$0")/lib.sh"
STANDIN_ARGS="--latency-ms 12000 --image-bytes 50000"
use_aws_stack
"$BIN/onesheet" init >/dev/null 2>&1 || fail "init"

python3 -c "
for i in range(16): print(f'In-flight poster {i}: a slow lighthouse')" > "$T/p.txt"
"$BIN/onesheet" submit "$T/p.txt" >/dev/null 2>"$T/submit.err" || { cat "$T/submit.err"; fail submit; }
"$BIN/onesheet-worker" --concurrency 12 --prefetch 0 --threads 2 --visibility 5 --grace 30 \
    --log-level debug 2>"$T/w1.log" &
w1=$!; PIDS+=("$w1")
sleep 1
"$BIN/onesheet-worker" --concurrency 12 --prefetch 0 --threads 2 --visibility 5 --grace 30 \
    --log-level debug 2>"$T/w2.log" &
w2=$!; PIDS+=("$w2")
for _ in $(seq 100); do
    [ "$(cat "$T"/w*.log | grep -c 'event=job_started')" -ge 16 ] && break
    sleep 0.1
done
[ "$(cat "$T"/w*.log | grep -c "event=job_started")" = 16 ] || { tail -n 20 "$T"/w*.log >&2; fail "16 jobs should be in flight"; }
threads=$(ls /proc/"$w1"/task | wc -l)
in1=$(grep -c 'event=job_started' "$T/w1.log" || true)
echo "  worker 1: $in1 jobs in flight on $threads threads"
[ "$in1" -le "$threads" ] && [ "$in1" -gt 2 ] && fail "expected more jobs in flight than threads"
[ "$threads" -le 6 ] || fail "worker 1 runs $threads threads"
sleep 6    # past the visibility timeout: only heartbeats keep the messages hidden
kill -TERM "$w1" "$w2"
t0=$SECONDS
rc=0; wait "$w1" || rc=$?; [ "$rc" = 0 ] || fail "worker 1 exited $rc"
rc=0; wait "$w2" || rc=$?; [ "$rc" = 0 ] || fail "worker 2 exited $rc"

echo "  both stopped $((SECONDS - t0)) s after SIGTERM"
grep -q 'event=job_given_back' "$T"/w*.log && fail "a job was given back"
if grep -q "event=job_skipped\|event=lease_lost" "$T"/w*.log; then
    for j in $(grep -ho "event=lease_lost.*job=[^ ]*" "$T"/w*.log | grep -o "job=[^ ]*"); do
        grep "$j" "$T"/w*.log | grep -v "level=debug" >&2
    done
    fail "a message reappeared while in flight"
fi
beats=$(cat "$T"/w*.log | grep -c 'event=heartbeat' || true)
[ "$beats" -ge 16 ] || fail "expected heartbeats for every job, saw $beats"
"$BIN/onesheet" list --json > "$T/jobs.json"
python3 - "$T/jobs.json" "$BEDROCK" <<'PY' || fail "states or model calls"
import json, sys, urllib.request
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 16 and all(r['state'] == 'succeeded' for r in rows), \
    [(r['line'], r['state']) for r in rows]
stats = json.load(urllib.request.urlopen(sys.argv[2] + '/__standin/stats'))
calls = stats['prompts']
assert len(calls) == 16 and all(n == 1 for n in calls.values()), calls
PY
ok "16 slow generations in flight on 2 workers: heartbeats kept them ($beats beats), SIGTERM finished them all, one model call each"
