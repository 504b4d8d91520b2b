# The rate limiter adapts to throttling (AWS back-ends, Bedrock stand-in with
# a quota of 2 calls a second that answers 429 beyond it).  The worker is
# told --rpm 600, five times the quota: it must slow down on the 429s
# instead of failing jobs, so every job succeeds, the limiter ends well
# below where it started, and the 429s stay bounded (at most two per job,
# where an unadapted worker draws four before each success).  A call's
# first 429 is tried again 50-250 ms later, not a paced slot away.
source "$(dirname "$0")/lib.sh"
STANDIN_ARGS="--latency-ms 50 --image-bytes 20000 --rpm 120 --rpm-window-ms 1000"
use_aws_stack
"$BIN/onesheet" init >/dev/null 2>&1 || fail "init"
export ONESHEET_MAX_RECEIVES=2   # a throttle that reached the queue would fail the job

python3 -c "
for i in range(30): print(f'Quota poster {i}: a lighthouse')" > "$T/p.txt"
"$BIN/onesheet" submit "$T/p.txt" >/dev/null 2>&1 || fail submit
t0=$SECONDS
"$BIN/onesheet-worker" --concurrency 8 --rpm 600 --drain --metrics 127.0.0.1:0 \
    --log-level debug 2>"$T/w.log" &
pid=$!; PIDS+=("$pid")
for _ in $(seq 50); do grep -q metrics_listening "$T/w.log" && break; sleep 0.1; done
addr=$(sed -n 's/.*event=metrics_listening addr=\([^ ]*\).*/\1/p' "$T/w.log")
rate=""
while kill -0 "$pid" 2>/dev/null; do
    r=$(curl -fsS "http://$addr/metrics" 2>/dev/null | awk '$1 == "onesheet_rate_limit_rpm" { print $2 }') || true
    [ -n "$r" ] && rate=$r
    sleep 0.5
done
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "worker exited $rc"
secs=$((SECONDS - t0))
throttled=$(grep -c 'event=generate_throttled' "$T/w.log" || true)
"$BIN/onesheet" list --json > "$T/jobs.json"
python3 - "$T/jobs.json" "$BEDROCK" "$rate" "$throttled" "$secs" "$T/w.log" <<'PY' || { tail -20 "$T/w.log" >&2; fail "adaptation"; }
import json, sys, urllib.request
rows = [json.loads(l) for l in open(sys.argv[1])]
bad = [(r['line'], r['state'], r.get('error')) for r in rows if r['state'] != 'succeeded']
assert len(rows) == 30 and not bad, bad[:3]
s = json.load(urllib.request.urlopen(sys.argv[2] + '/__standin/stats'))
calls, r429 = s['calls'], s['rejected']['throttled']
rate, throttled, secs = float(sys.argv[3] or 600), int(sys.argv[4]), int(sys.argv[5])
print(f"  30 jobs in {secs} s, {calls} calls, {r429} answered 429, "
      f"{throttled} throttles seen, limiter at {rate:.0f} rpm at the end")
assert r429 > 0, "the quota was never hit: the test proves nothing"
assert throttled > 0, "the worker saw no throttling"
assert rate < 300, f"the limiter did not come down from 600 rpm (at {rate})"
# Without adaptation every job would draw up to 4 429s before each success
# (30 jobs × 5 calls); with it the 429s stay a bounded share.
assert r429 <= 2 * len(rows), f"{r429} of {calls} calls were throttled"
# The first retry of a throttled call: from its 429 to its next start.
from datetime import datetime
def when(line):
    return datetime.strptime(line.split()[0][3:], '%Y-%m-%dT%H:%M:%S.%fZ').timestamp()
first, gaps = {}, []
for line in open(sys.argv[6]):
    f = dict(w.split('=', 1) for w in line.split() if '=' in w)
    job = f.get('job')
    if f.get('event') == 'generate_throttled' and f.get('attempt') == '1':
        first[job] = when(line)
    elif f.get('event') == 'generate_started' and job in first:
        gaps.append((when(line) - first.pop(job)) * 1000)
gaps.sort()
print(f"  first retries after a 429: {len(gaps)}, {gaps[0]:.0f}-{gaps[-1]:.0f} ms" if gaps else "  no first retries")
assert gaps, "no throttled call was tried again"
assert gaps[0] >= 49, f"a throttled call was tried again after {gaps[0]:.0f} ms"
assert gaps[len(gaps) // 2] <= 300, f"first retries waited {gaps[len(gaps) // 2]:.0f} ms (median)"
PY
ok "throttled to a 120 rpm quota from --rpm 600: every job succeeded"
