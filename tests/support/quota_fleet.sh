# quota_fleet — the shared-quota fleet check that tests/integration's
# quota_shared.sh (SQLite ledger) and quota_shared_aws.sh (DynamoDB ledger
# on dynalite) both run (sourced after lib.sh, with the Bedrock stand-in at
# $AWS_ENDPOINT_URL_BEDROCK_RUNTIME started with --rpm QUOTA).
#
#   quota_fleet N K QUOTA   submit N jobs, run K draining workers at once,
#                           each told --quota-rpm QUOTA (the whole quota),
#                           and check: every job succeeded, the stand-in
#                           answered 429 to few calls, the fleet reached a
#                           fair share of the quota, `onesheet workers`
#                           and /metrics show the shared rate.
quota_fleet() {
    local n=$1 k=$2 quota=$3 i pids=() rc addr=""
    python3 -c "
for i in range($n): print(f'Shared quota poster {i}: a lighthouse at dusk')" > "$T/q.txt"
    "$BIN/onesheet" submit "$T/q.txt" >/dev/null 2>"$T/q.submit.err" ||
        { cat "$T/q.submit.err" >&2; fail submit; }
    for i in $(seq "$k"); do
        timeout -s KILL 120 "$BIN/onesheet-worker" --concurrency 3 --threads 2 --drain \
            --quota-rpm "$quota" --metrics 127.0.0.1:0 --log-level info \
            2>"$T/q.w$i.log" &
        pids+=($!); PIDS+=($!)
    done
    for _ in $(seq 100); do grep -q metrics_listening "$T/q.w1.log" && break; sleep 0.05; done
    addr=$(sed -n 's/.*event=metrics_listening addr=\([^ ]*\).*/\1/p' "$T/q.w1.log")
    : > "$T/q.metrics"
    while kill -0 "${pids[0]}" 2>/dev/null; do
        curl -fsS "http://$addr/metrics" 2>/dev/null | grep '^onesheet_quota' >> "$T/q.metrics" || true
        sleep 0.3
    done
    for i in "${pids[@]}"; do
        rc=0; wait "$i" || rc=$?
        [ "$rc" = 0 ] || { tail -n 5 "$T"/q.w*.log >&2; fail "a worker exited $rc"; }
    done
    "$BIN/onesheet" list --json > "$T/q.jobs.json"
    "$BIN/onesheet" workers --json > "$T/q.workers.json"
    "$BIN/onesheet" workers > "$T/q.workers.txt"
    curl -fsS "$AWS_ENDPOINT_URL_BEDROCK_RUNTIME/__standin/stats" > "$T/q.stats.json"
    python3 - "$T" "$n" "$quota" <<'PY' || { tail -n 5 "$T"/q.w*.log >&2; fail "shared quota"; }
import json, sys
t, n, quota = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rows = [json.loads(l) for l in open(f"{t}/q.jobs.json")]
bad = [(r['line'], r['state'], r.get('error')) for r in rows if r['state'] != 'succeeded']
assert len(rows) == n and not bad, bad[:3]
s = json.load(open(f"{t}/q.stats.json"))
q = s['quota']
calls, r429, admitted = s['calls'], s['rejected']['throttled'], q['admitted']
secs = (q['last_ms'] - q['first_ms']) / 1000
rate = (admitted - 1) / secs * 60 if secs > 0 else 0
print(f"  {n} jobs, {calls} calls, {r429} answered 429 ({100 * r429 / calls:.1f} %), "
      f"{rate:.0f} calls/min admitted against a quota of {quota:.0f}")
assert admitted == n, f"{admitted} admitted calls for {n} jobs"
# Each worker was told the whole quota: without the shared bucket they
# would ask for K times it, and a third or more of the calls would be 429s.
assert r429 <= 0.1 * calls, f"{r429} of {calls} calls were throttled"
assert rate >= 0.6 * quota, f"the fleet reached {rate:.0f} of {quota:.0f} calls/min"
qs = [json.loads(l) for l in open(f"{t}/q.workers.json") if '"quota"' in l]
assert qs and qs[0]['ceiling_rpm'] == quota and 0 < qs[0]['rate_rpm'] <= quota, qs
assert 'SHARED QUOTA' in open(f"{t}/q.workers.txt").read()
m = open(f"{t}/q.metrics").read()
assert 'onesheet_quota_shared_rpm{model=' in m and 'onesheet_quota_ceiling_rpm{model=' in m, m[:300]
PY
}
