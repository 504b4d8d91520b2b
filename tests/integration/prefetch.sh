# Jobs claimed ahead (--prefetch) with the network engine (AWS back-ends,
# loopback emulators, the Bedrock stand-in):
#   - a worker with --concurrency 3 --prefetch 2 holds 5 claimed jobs, but
#     only 3 generations run at once; the other 2 wait, ready;
#   - SIGTERM then: the 3 running generations finish and are stored, the 2
#     claimed ahead are given back unstarted, without a model call;
#   - a second worker drains the rest: never more than 3 generations, nor
#     more than 5 jobs claimed and not done generating (3 + 2 ahead; when a
#     generation ends, the next claim may come before the driver starts a
#     ready job, so 3 can wait for a moment), jobs do wait ready (2 at
#     least once), a ready job is there when generations end, and every
#     prompt reaches the model exactly once; the finished jobs' messages
#     are deleted in batches (DeleteMessageBatch), all before it exits.
source "$(dirname "$0")/lib.sh"
STANDIN_ARGS="--latency-ms 2000 --image-bytes 20000"
use_aws_stack
"$BIN/onesheet" init >/dev/null 2>&1 || fail "init"
python3 -c "
for i in range(12): print(f'Prefetched poster {i}: a lighthouse')" > "$T/p.txt"
"$BIN/onesheet" submit "$T/p.txt" >/dev/null 2>"$T/submit.err" || { cat "$T/submit.err"; fail submit; }

"$BIN/onesheet-worker" --concurrency 3 --prefetch 2 --threads 2 --grace 20 \
    --log-level debug 2>"$T/w1.log" &
w1=$!; PIDS+=("$w1")
for _ in $(seq 100); do
    [ "$(grep -c 'event=job_started' "$T/w1.log" || true)" -ge 5 ] && break
    sleep 0.1
done
sleep 0.5   # the generations (2 s each) are under way; none has ended
held=$(grep -c 'event=job_started' "$T/w1.log" || true)
running=$(grep -c 'event=generate_started' "$T/w1.log" || true)
echo "  worker 1: $held jobs claimed, $running generations started"
[ "$held" = 5 ] || { cat "$T/w1.log" >&2; fail "expected 5 claimed jobs (3 + 2 ahead), saw $held"; }
[ "$running" = 3 ] || fail "expected 3 generations running, saw $running"
kill -TERM "$w1"
rc=0; wait "$w1" || rc=$?
[ "$rc" = 0 ] || fail "worker 1 exited $rc"
done1=$(grep -c 'event=job_succeeded' "$T/w1.log" || true)
back=$(grep -c 'reason=shutdown_before_start' "$T/w1.log" || true)
echo "  SIGTERM: $done1 finished, $back given back unstarted"
[ "$done1" = 3 ] && [ "$back" = 2 ] || { cat "$T/w1.log" >&2; fail "expected 3 finished and 2 given back"; }

timeout 120 "$BIN/onesheet-worker" --concurrency 3 --prefetch 2 --threads 2 --drain \
    --log-level debug 2>"$T/w2.log" || { tail -n 20 "$T/w2.log" >&2; fail "worker 2"; }
deleted=$(grep -o 'event=messages_deleted count=[0-9]*' "$T/w2.log" | awk -F= '{s += $3} END {print s + 0}')
finished2=$(grep -c 'event=job_succeeded' "$T/w2.log" || true)
echo "  worker 2: $finished2 finished, $deleted messages deleted in batches"
[ "$deleted" = "$finished2" ] || fail "expected every finished job's message deleted in a batch"
"$BIN/onesheet" list --json > "$T/jobs.json"
python3 - "$T/w2.log" "$T/jobs.json" "$BEDROCK" <<'PY' || fail "prefetch bounds, states or model calls"
import json, re, sys, urllib.request
# Log lines are written under a lock, in time order.  A claim is logged after
# its slot is counted against --concurrency + --prefetch and a generation's
# end before its slot stops counting, so running + waiting below never
# exceeds what the worker held.
running = waiting = max_running = max_waiting = max_held = 0
ready_at_end = ends = 0
for line in open(sys.argv[1]):
    ev = re.search(r'event=(\w+)', line)
    ev = ev and ev.group(1)
    if ev == 'job_started':
        waiting += 1
    elif ev == 'generate_started':
        if 'attempt=1' in line:
            waiting -= 1
        running += 1
    elif ev == 'generate_done':
        running -= 1
        ends += 1
        ready_at_end += waiting > 0
    max_running = max(max_running, running)
    max_waiting = max(max_waiting, waiting)
    max_held = max(max_held, running + waiting)
print(f"  worker 2: at most {max_running} generations, {max_waiting} ready jobs and "
      f"{max_held} held; a ready job at {ready_at_end} of {ends} generation ends")
assert max_running == 3, max_running
assert max_held <= 5, max_held
assert max_waiting >= 2, max_waiting
assert ready_at_end >= 2, (ready_at_end, ends)
rows = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == 12 and all(r['state'] == 'succeeded' for r in rows), \
    [(r['line'], r['state']) for r in rows]
calls = json.load(urllib.request.urlopen(sys.argv[3] + '/__standin/stats'))['prompts']
assert len(calls) == 12 and all(n == 1 for n in calls.values()), calls
PY
ok "--prefetch: 3 generations and 5 jobs held at most, 2 ready ahead; SIGTERM gave back the 2 unstarted; all 12 done once"
