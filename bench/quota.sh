# The shared quota's benchmarks (issue 21), sourced by bench/run.sh after
# the AWS scenarios, on the same loopback stack (SQS, S3 and the DynamoDB
# ledger emulated behind SigV4-verifying proxies):
#
#   (d) quota_shared_4  four workers, each given the whole quota with
#                       --quota-rpm, against the stand-in's quota; target
#                       >= 95 % of the quota, <= 3 % of calls throttled,
#                       0 failed
#   (e) quota_churn     the same, with one worker killed (SIGKILL) and one
#                       added halfway; target >= 90 %, nothing lost
#
# The time scale is compressed: the stand-in's quota is BENCH_QUOTA_RPM
# (600) calls a minute counted over a rolling BENCH_QUOTA_SHARED_WINDOW_MS
# (30000) window instead of a minute, so a run covers several windows in a
# minute or two.  The bucket's burst is half a second of the quota, so a
# 30 s window weighs it as a 60 s window weighs a real quota of half the
# rate.  Images are 100 KB (the byte path is measured elsewhere); latency
# 1 s + 0..100 ms as in the other scenarios.  The rate is the stand-in's
# admitted calls over the span from the first to the last one.
#
#   bench_quota_all   runs both, writing $T/quota/NAME.json (bench/quota_report.py
#                     adds them to results.json and the table)

bench_quota_fleet() {  # NAME N QUOTA CHURN(0|1)
    local name=$1 n=$2 quota=$3 churn=$4 i wpids=() extra="" s e half
    local BENCH_STANDIN_BASE="--latency-ms 1000 --jitter-ms 100 --image-bytes 100000"
    local BENCH_QUOTA_WINDOW_MS=${BENCH_QUOTA_SHARED_WINDOW_MS:-30000}
    bench_standin "$quota" || return 1
    bench_jobs "$name" "$n" "$T/$name.txt"
    "$BIN/onesheet" submit "$T/$name.txt" >/dev/null 2>"$T/$name.submit.err" ||
        { cat "$T/$name.submit.err" >&2; return 1; }
    s=$(date +%s.%N)
    for i in 0 1 2 3; do
        # Worker 0 runs bare (no timeout(1) around it), so that (e)'s
        # SIGKILL reaches the worker itself.
        if [ "$i" = 0 ]; then
            "$BIN/onesheet-worker" --concurrency 4 --quota-rpm "$quota" --visibility 10 \
                --drain --log-level info 2>"$T/$name.w$i.log" &
        else
            timeout -s TERM "$BENCH_TIMEOUT" "$BIN/onesheet-worker" --concurrency 4 \
                --quota-rpm "$quota" --visibility 10 --drain --log-level info \
                2>"$T/$name.w$i.log" &
        fi
        wpids+=($!)
    done
    if [ "$churn" = 1 ]; then
        # Halfway through at the quota's pace: one worker dies mid-job, its
        # grant and its jobs' leases unreleased; a fresh one joins.
        half=$(echo "$n * 60 / $quota / 2" | bc -l)
        sleep "$half"
        kill -KILL "${wpids[0]}" 2>/dev/null || true
        timeout -s TERM "$BENCH_TIMEOUT" "$BIN/onesheet-worker" --concurrency 4 \
            --quota-rpm "$quota" --visibility 10 --drain --log-level info \
            2>"$T/$name.w4.log" &
        wpids+=($!)
        extra="killed=1 added=1"
    fi
    for i in "${wpids[@]}"; do wait "$i" 2>/dev/null || true; done
    e=$(date +%s.%N)
    "$BIN/onesheet" list --limit "$((n * 2 + 10))" --json > "$T/$name.jobs.json"
    curl -fsS "$BEDROCK/__standin/stats" > "$T/$name.standin.json" || echo '{}' > "$T/$name.standin.json"
    mkdir -p "$T/quota"
    python3 - "$T" "$name" "$n" "$quota" "$(echo "$e - $s" | bc -l)" "$extra" \
        > "$T/quota/$name.json" <<'PY'
import glob, json, re, sys
t, name, n, quota, wall, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
jobs = [json.loads(l) for l in open(f"{t}/{name}.jobs.json")]
jobs = [j for j in jobs if f"Bench {name} poster" in j.get("spec", {}).get("prompt", "")]
states = {}
for j in jobs:
    states[j["state"]] = states.get(j["state"], 0) + 1
s = json.load(open(f"{t}/{name}.standin.json"))
q = s.get("quota", {})
calls, r429, admitted = s.get("calls", 0), s.get("rejected", {}).get("throttled", 0), q.get("admitted", 0)
span = (q.get("last_ms", 0) - q.get("first_ms", 0)) / 1000
rate = (admitted - 1) / span * 60 if span > 0 else 0
writes = granted = conflicts = reads = 0
for log in glob.glob(f"{t}/{name}.w*.log"):
    for line in open(log):
        if "event=quota_stats" in line:
            kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
            writes += int(kv["ledger_writes"]); granted += int(kv["granted"])
            reads += int(kv.get("ledger_reads", 0))
            conflicts += int(kv["conflicts"])
print(json.dumps({
    "name": name, "jobs": n, "quota_rpm": quota, "window_ms": q.get("window_ms"),
    "per_window": q.get("per_window"), "calls": calls, "throttled": r429,
    "throttled_pct": round(100 * r429 / calls, 2) if calls else None,
    "admitted": admitted, "span_s": round(span, 2), "rate_rpm": round(rate, 1),
    "pct_of_quota": round(100 * rate / quota, 1), "states": states,
    "lost": n - states.get("succeeded", 0), "wall_s": round(wall, 1),
    "ledger_writes_per_job": round(writes / max(states.get("succeeded", 1), 1), 3),
    "ledger_reads_per_job": round(reads / max(states.get("succeeded", 1), 1), 3),
    "tokens_granted": granted, "ledger_conflicts": conflicts,
    "note": extra or "4 workers, each --quota-rpm = the quota"}))
PY
}

bench_quota_all() {
    local quota=${BENCH_QUOTA_RPM:-600} n=${BENCH_N_QUOTA_SHARED:-600}
    echo "aws (d): $n jobs, quota $quota rpm over ${BENCH_QUOTA_SHARED_WINDOW_MS:-30000} ms, 4 workers --quota-rpm $quota" >&2
    bench_quota_fleet quota_shared_4 "$n" "$quota" 0 || echo "bench: (d) failed" >&2
    echo "aws (e): the same, one worker killed and one added halfway" >&2
    bench_quota_fleet quota_churn "$n" "$quota" 1 || echo "bench: (e) failed" >&2
}
