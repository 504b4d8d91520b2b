# Scenario runner for the AWS-mode benchmark (sourced by bench/run.sh).
#
# One loopback stack for the whole run (tests/support/awsstack.sh: fauxqs,
# s3rver, dynalite, each behind a SigV4-verifying sigproxy), with the
# emulators' data on tmpfs; the Bedrock stand-in is restarted for every
# scenario so that its --rpm window and counters start from zero.
#
#   bench_stack_start                 start the stack (needs T, TOOLS, ROOT, BIN)
#   bench_scenario NAME N RPM IDEAL -- WORKER_ARGS [-- WORKER_ARGS ...]
#                                     submit N jobs, run one onesheet-worker per
#                                     argument group (concurrently, each under
#                                     /usr/bin/time), write $T/res/NAME.json
#   bench_baseline NAME N THREADS     the same with bench/baseline_worker.py
#
# What a scenario records: wall time (first worker start to last worker
# exit), the workers' user+sys CPU and peak RSS (from /usr/bin/time, so only
# the worker processes), the jobs' final states from the ledger, the
# stand-in's call and 429 counts, signature rejections, and the CPU every
# other process of the stack used meanwhile (/proc/PID/stat) plus the whole
# machine's busy time (/proc/stat), which is where the rest of the time goes.

BENCH_STANDIN_BASE=${BENCH_STANDIN_BASE:---latency-ms 1000 --jitter-ms 100 --image-bytes 2000000}
BENCH_LATENCY_MEAN_S=${BENCH_LATENCY_MEAN_S:-1.05}   # 1000 ms + half the 0..100 ms jitter
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}                  # seconds a scenario's workers may run
# The stand-in's --rpm counts calls over a rolling window; over a whole
# minute a fresh quota of 120 admits 120 calls at once, so a run of 120
# jobs would never meet it.  Over 5 s it admits 10 at a time: the quota is
# a pace (2 calls/s) from the first second.  Empty: the stand-in's default.
BENCH_QUOTA_WINDOW_MS=${BENCH_QUOTA_WINDOW_MS-5000}
# glibc malloc settings for the stack (stand-in, proxies, node emulators),
# never for the workers: with the defaults every 2 MB buffer is a fresh
# mmap, and page faults are dear on this VM kind (the stand-in spent ~54 ms
# CPU a call, 10 ms with these).  The stack is not what is measured.
BENCH_STACK_TUNABLES=${BENCH_STACK_TUNABLES-glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864}
# Environment for the measured workers (empty: as shipped); e.g.
# BENCH_WORKER_ENV="GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432".
BENCH_WORKER_ENV=${BENCH_WORKER_ENV:-}
BENCH_STANDIN_PID=

# cpu_ticks PID: user+sys clock ticks of a live process (0 when gone).
cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    echo $(( ${12} + ${13} ))
}

# machine_ticks: "busy total" clock ticks of all CPUs since boot.
machine_ticks() {
    local _cpu u n s i w q sq st rest
    read -r _cpu u n s i w q sq st rest < /proc/stat
    echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

# The processes of the stack other than the workers, as name=pid words.
stack_procs() {
    echo "fauxqs=${EMU_PIDS[0]} s3rver=${EMU_PIDS[1]} dynalite=${EMU_PIDS[2]}" \
         "sigproxy_sqs=${PIDS[0]} sigproxy_s3=${PIDS[1]} sigproxy_ddb=${PIDS[2]}" \
         "standin=$BENCH_STANDIN_PID"
}

# snapshot FILE: one "name ticks" line per stack process plus "machine busy total".
snapshot() {
    local kv
    : > "$1"
    for kv in $(stack_procs); do
        echo "${kv%%=*} $(cpu_ticks "${kv#*=}")" >> "$1"
    done
    echo "machine $(machine_ticks)" >> "$1"
}

bench_stack_start() {
    # s3rver writes every object to disk: keep its directory (and the other
    # emulators' data) on tmpfs so the disk is not what is measured.
    EMU_DIR=$(mktemp -d /dev/shm/onesheet-bench-XXXXXX 2>/dev/null || mktemp -d)
    export EMU_DIR
    source "$ROOT/tests/support/emulators.sh"
    source "$ROOT/tests/support/awsstack.sh"
    STANDIN_ARGS=$BENCH_STANDIN_BASE
    export GLIBC_TUNABLES=$BENCH_STACK_TUNABLES
    awsstack_start || { unset GLIBC_TUNABLES; return 1; }
    unset GLIBC_TUNABLES
    BENCH_STANDIN_PID=${PIDS[3]}
    export ONESHEET_URL_TTL=3600
    "$BIN/onesheet" init >"$T/init.log" 2>&1 || { cat "$T/init.log" >&2; return 1; }
}

# bench_standin RPM: a fresh stand-in (0: no quota).
bench_standin() {
    local rpm=$1 args
    if [ -n "$BENCH_STANDIN_PID" ]; then
        kill "$BENCH_STANDIN_PID" 2>/dev/null || true
        wait "$BENCH_STANDIN_PID" 2>/dev/null || true
    fi
    args=$BENCH_STANDIN_BASE
    if [ "$rpm" -gt 0 ]; then
        args="$args --rpm $rpm"
        [ -z "$BENCH_QUOTA_WINDOW_MS" ] || args="$args --rpm-window-ms $BENCH_QUOTA_WINDOW_MS"
    fi
    # shellcheck disable=SC2086
    export GLIBC_TUNABLES=$BENCH_STACK_TUNABLES
    awsstack_tool bedrock_standin BEDROCK $args >/dev/null || { unset GLIBC_TUNABLES; return 1; }
    unset GLIBC_TUNABLES
    BENCH_STANDIN_PID=$AWSSTACK_PID
    PIDS[3]=$BENCH_STANDIN_PID
    export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$BEDROCK
}

# bench_jobs NAME N FILE: N distinct prompts; for a scenario named text_*,
# JSON lines with a title, tagline and credits on every poster (issue 21:
# the poster is then decoded, composed and encoded).
bench_jobs() {
    python3 -c "
import json, sys
for i in range(int(sys.argv[2])):
    p = f'Bench {sys.argv[1]} poster {i}: a lighthouse in a storm, oil on canvas'
    if sys.argv[1].startswith('text_'):
        print(json.dumps({'prompt': p, 'title': f'The Lighthouse Keeper {i}',
                          'tagline': 'Some storms never pass',
                          'credits': 'A film by Ada Lovelace  Starring Grace Hopper and Alan Turing'}))
    else:
        print(p)" \
        "$1" "$2" > "$3"
}

# bench_collect NAME N RPM IDEAL KIND WALL: writes $T/res/NAME.json from the
# files the scenario left in $T/NAME.*.
bench_collect() {
    local name=$1
    curl -fsS "$BEDROCK/__standin/stats" > "$T/$name.standin.json" || echo '{}' > "$T/$name.standin.json"
    awsstack_rejections > "$T/$name.rejections" 2>/dev/null || echo -1 > "$T/$name.rejections"
    mkdir -p "$T/res"
    python3 "$ROOT/bench/scenario.py" "$T" "$@" "$(getconf CLK_TCK)" > "$T/res/$name.json"
}

# bench_scenario NAME N RPM IDEAL -- ARGS... [-- ARGS...]
bench_scenario() {
    local name=$1 n=$2 rpm=$3 ideal=$4 batch i=0 s e wpids=() group=() a
    shift 4
    bench_standin "$rpm" || return 1
    bench_jobs "$name" "$n" "$T/$name.txt"
    local fmt=txt
    case $name in text_*) fmt=jsonl ;; esac
    batch=$("$BIN/onesheet" submit --format "$fmt" "$T/$name.txt" 2>"$T/$name.submit.err") ||
        { cat "$T/$name.submit.err" >&2; return 1; }
    snapshot "$T/$name.before"
    s=$(date +%s.%N)
    shift  # the first --
    while [ $# -gt 0 ]; do
        group=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do group+=("$1"); shift; done
        [ $# -gt 0 ] && shift
        echo "${group[*]}" > "$T/$name.w$i.args"
        # timeout's own CPU is nil; time gets the worker's usage through it.
        # shellcheck disable=SC2086
        env $BENCH_WORKER_ENV /usr/bin/time -f '%e %U %S %M' -o "$T/$name.w$i.time" \
            timeout -s TERM "$BENCH_TIMEOUT" "$BIN/onesheet-worker" \
            "${group[@]}" --drain --log-level warn 2>"$T/$name.w$i.log" &
        wpids+=($!)
        i=$((i + 1))
    done
    for a in "${wpids[@]}"; do wait "$a" || echo "bench: $name: a worker exited $?" >&2; done
    e=$(date +%s.%N)
    snapshot "$T/$name.after"
    "$BIN/onesheet" list --batch "$batch" --limit "$((n + 10))" --json > "$T/$name.jobs.json"
    { cat "$T/$name".w*.log | grep -c 'generate_throttled' || true; } > "$T/$name.worker_throttled"
    bench_collect "$name" "$n" "$rpm" "$ideal" onesheet "$(echo "$e - $s" | bc -l)"
}

# bench_baseline NAME N THREADS: the Python worker over N jobs, no quota.
bench_baseline() {
    local name=$1 n=$2 threads=$3 s e rc=0
    bench_standin 0 || return 1
    bench_jobs "$name" "$n" "$T/$name.txt"
    "$BIN/onesheet" submit "$T/$name.txt" >/dev/null 2>"$T/$name.submit.err" ||
        { cat "$T/$name.submit.err" >&2; return 1; }
    snapshot "$T/$name.before"
    s=$(date +%s.%N)
    echo "baseline_worker.py --threads $threads --jobs $n" > "$T/$name.w0.args"
    # shellcheck disable=SC2086
    env $BENCH_WORKER_ENV /usr/bin/time -f '%e %U %S %M' -o "$T/$name.w0.time" "$BASELINE_PY" \
        "$ROOT/bench/baseline_worker.py" --threads "$threads" --jobs "$n" \
        --db "$T/$name.db" --timeout "$BENCH_TIMEOUT" > "$T/$name.summary.json" \
        2>"$T/$name.w0.log" || rc=$?
    e=$(date +%s.%N)
    [ "$rc" -eq 0 ] || { echo "bench: baseline worker exited $rc" >&2; tail -5 "$T/$name.w0.log" >&2; }
    snapshot "$T/$name.after"
    echo 0 > "$T/$name.worker_throttled"
    bench_collect "$name" "$n" 0 "$(echo "$threads / $BENCH_LATENCY_MEAN_S" | bc -l)" baseline \
        "$(echo "$e - $s" | bc -l)"
}
