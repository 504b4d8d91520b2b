#!/usr/bin/env bash
# make bench: the figures of issue 5, written to bench/results.json with a
# markdown table on stdout.
#
# Embedded mode (SQLite queue + ledger, file store):
#   - enqueue rate: `onesheet submit` of a 100,000-line file (parse, validate,
#     hash, ledger insert, queue send), wall time and lines/s (target ≥ 20,000);
#   - draft posters/s with `onesheet-worker --concurrency 2` on 40 prompts,
#     with the worker's CPU ms per poster and peak RSS;
#   - SigV4 signatures/s (tests/tools/bench_sigv4) when built;
#   - the floor (tests/tools/bench_floor): the CPU one job's byte work costs
#     with no HTTP, signing, queue or ledger (receive 4/3 × 2 MB of base64
#     over loopback, decode, SHA-256, send the image twice), the figure the
#     worker's CPU per job is weighed against.
#
# AWS mode, against the loopback emulators (bench/aws_lib.sh: fauxqs,
# s3rver and dynalite behind SigV4-verifying proxies, data on tmpfs) and the
# Bedrock stand-in answering after 1 s + 0..100 ms with ~2 MB PNGs:
#   (a)  no_quota           one worker, --concurrency C (16), N_A jobs;
#                           ideal = C / 1.05 s
#   (b)  quota_120rpm       stand-in --rpm 120 counted over a 5 s window
#                           (429 beyond it), one worker --concurrency C
#                           --rpm 120; ideal = 2 jobs/s
#   (c)  two_workers_split  stand-in --rpm 120, two workers of C/2 with
#                           --rpm 60 each: what a user sharing one account
#                           quota between N workers should do (quota / N);
#                           ideal = 2 jobs/s in total
#   (c') two_workers_full   the same, but each worker told --rpm 120 (the
#                           whole quota): only the limiter's adaptation to
#                           429s keeps it from failing jobs
#   (d), (e)  quota_shared  four workers sharing the stand-in's quota through
#                           the ledger with --quota-rpm, and the same with one
#                           killed and one added halfway (bench/quota.sh)
#   same_load / baseline    onesheet at --concurrency 8 and the Python worker
#                           (bench/baseline_worker.py, boto3, 8 threads) over
#                           the same N_BASE jobs: CPU and memory side by side
# For each: jobs/s against the ideal (over the workers' wall time, and
# "steady" over the ledger's first start to last finish), CPU ms per job
# (user + sys of the worker processes only, /usr/bin/time), peak RSS,
# failed jobs, the stand-in's 429 count, and the CPU every emulator, proxy
# and the stand-in used meanwhile, plus load from anything else on the machine.
#
# Also the time and peak RSS of a 1,000,000-line submit, txt and JSONL
# (bench/submit_memory.sh; BENCH_SUBMIT_1M=0 skips it).
#
# Knobs (environment): BENCH_AWS=0 skips AWS mode; BENCH_N_A (480),
# BENCH_C (16), BENCH_N_QUOTA (120), BENCH_N_BASE (200), BENCH_FULL=0 skips
# (c'), BENCH_PYTHON (the interpreter for the baseline; default: see
# baseline_python below), BENCH_QUOTA_WINDOW_MS (5000), BENCH_WORKER_ENV,
# BENCH_QUOTA=0 skips (d) and (e), BENCH_QUOTA_RPM (600),
# BENCH_N_QUOTA_SHARED (600), BENCH_QUOTA_SHARED_WINDOW_MS (30000).
# The whole run takes about 5 minutes on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BIN:=$ROOT/bin}" "${BUILD:=$ROOT/build/rel}"; export BIN BUILD
TOOLS=$BUILD/tools
T=$(mktemp -d); PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    if declare -F emu_stop_all >/dev/null; then emu_stop_all; fi
    rm -rf "$T"
}
trap cleanup EXIT
export ONESHEET_CONFIG=/dev/null

# ---- embedded mode ----
python3 -c "
import random
random.seed(7)
subj=['lighthouse','city','desert','forest','robot','dragon','ocean','train','castle','comet']
mood=['at dusk','in neon rain','under a red moon','in a blizzard','at golden hour']
for i in range(100000): print(f'{random.choice(subj)} {random.choice(mood)}, poster {i}')" > "$T/100k.txt"

now() { date +%s.%N; }
export ONESHEET_STATE_DIR=$T/s1
s=$(now); "$BIN/onesheet" submit "$T/100k.txt" >/dev/null 2>&1; e=$(now)
submit_s=$(echo "$e - $s" | bc -l)

export ONESHEET_STATE_DIR=$T/s2
head -n 40 "$T/100k.txt" > "$T/40.txt"
"$BIN/onesheet" submit "$T/40.txt" >/dev/null 2>&1
/usr/bin/time -f '%e %U %S %M' -o "$T/time" "$BIN/onesheet-worker" --concurrency 2 --drain --poll-wait 0 --log-level warn
read -r wall user sys rss_kb < "$T/time"
per_s=$(echo "40 / $wall" | bc -l)
cpu_ms=$(echo "($user + $sys) * 1000 / 40" | bc -l)

sig="{}"
if [ -x "$TOOLS/bench_sigv4" ]; then
    sig=$("$TOOLS/bench_sigv4" --seconds 1 2>/dev/null | python3 -c "
import json, sys
out = {}
for line in sys.stdin:
    kv = dict(f.split('=', 1) for f in line.split())
    if 'ops_per_s' in kv:
        out[kv['case']] = int(kv['ops_per_s'])
print(json.dumps(out))")
fi
# The floor: the CPU one job's byte work costs with nothing else
# (tests/tools/bench_floor.c), at the stand-in's image size.
# Then the same without parts the contract asks for (one stored object
# instead of raw art + poster; no SHA-256), to show what changing it buys.
floor_run() {  # NAME ARGS...: one bench_floor run as a JSON member
    local name=$1; shift
    "$TOOLS/bench_floor" --jobs 200 --image-bytes 2000000 "$@" 2>/dev/null | python3 -c "
import json, sys
out = {}
for line in sys.stdin:
    kv = dict(f.split('=', 1) for f in line.split())
    if kv.get('part') == 'all':
        out.update(ms_per_job=float(kv['ms_per_job']), user_ms_per_job=float(kv['user_ms_per_job']),
                   sys_ms_per_job=float(kv['sys_ms_per_job']), image_bytes=int(kv['image_bytes']),
                   sends=int(kv['sends']), hash=kv['hash'], jobs=int(kv['jobs']))
    elif 'part' in kv:
        out[kv['part'] + '_ms_per_job'] = float(kv['ms_per_job'])
print(json.dumps({sys.argv[1]: out}))" "$name"
}
if [ -x "$TOOLS/bench_floor" ]; then
    { floor_run contract; floor_run one_object --sends 1; floor_run no_sha256 --no-sha256
      floor_run neither --sends 1 --no-sha256; floor_run lean --sends 1 --crc64nvme; } |
        python3 -c "
import json, sys
out = {}
for line in sys.stdin:
    out.update(json.loads(line))
print(json.dumps(out))" > "$T/floor.json" || echo '{}' > "$T/floor.json"
else
    echo '{}' > "$T/floor.json"
fi
# Renditions (issue 20): composing one rendition at about 1 MP from one
# 2:3 generation -- decode, reframe, text, PNG encode (bench_renditions).
renditions='{}'
if [ -x "$TOOLS/bench_renditions" ]; then
    renditions=$("$TOOLS/bench_renditions" --reps 5 2>/dev/null | python3 -c "
import json, sys
out = {}
for line in sys.stdin:
    kv = dict(f.split('=', 1) for f in line.split())
    out[kv['case']] = {'ms_per_rendition': float(kv['ms_per_rendition']), 'cpu_ms': float(kv['cpu_ms'])}
print(json.dumps(out))") || renditions='{}'
fi
# A poster with text (issue 21): decode, compose and encode of 1024x1536
# photo-like art, CPU per poster (tests/tools/bench_poster.c); the median
# of three runs of 15.
text_poster='{}'
if [ -x "$TOOLS/bench_poster" ]; then
    text_poster=$(for i in 1 2 3; do "$TOOLS/bench_poster" --iterations 15; done | python3 -c "
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin]
out = dict(runs[0])
out['cpu_ms_median'] = statistics.median(r['cpu_ms_median'] for r in runs)
out['cpu_ms_runs'] = [r['cpu_ms_median'] for r in runs]
out['cpu_ms_min'] = min(r['cpu_ms_min'] for r in runs)
print(json.dumps(out))" 2>/dev/null || echo '{}')
fi
# A 1,000,000-line submit's time and peak RSS (bench/submit_memory.sh).
submit_1m=null
if [ "${BENCH_SUBMIT_1M:-1}" != 0 ]; then
    echo "embedded: submit of 1,000,000 lines (txt, jsonl)" >&2
    submit_1m=$(BIN=$BIN "$ROOT/bench/submit_memory.sh") || submit_1m=null
fi
cat > "$T/embedded.json" <<JSON
{"submit_100k_lines_s": $(printf %.3f "$submit_s"),
 "submit_1m": $submit_1m,
 "submit_lines_per_s": $(printf %.0f "$(echo "100000 / $submit_s" | bc -l)"),
 "draft_posters_per_s_c2": $(printf %.2f "$per_s"),
 "draft_worker_cpu_ms_per_poster": $(printf %.1f "$cpu_ms"),
 "draft_worker_peak_rss_mb": $(printf %.1f "$(echo "$rss_kb / 1024" | bc -l)"),
 "sigv4": $sig,
 "renditions_1mp": $renditions,
 "text_poster": $text_poster,
 "loadavg": "$(cut -d' ' -f1-3 /proc/loadavg)"}
JSON
echo "embedded: submit 100,000 lines in $(printf %.2f "$submit_s") s; draft worker done" >&2

# Webhook delivery (bench/webhooks.sh): events/s from the outbox and the
# delay from state change to 2xx, against a receiver verifying signatures.
if [ "${BENCH_WEBHOOKS:-1}" != 0 ] && [ -d "$ROOT/node_modules/standardwebhooks" ]; then
    echo "embedded: webhook delivery, ${BENCH_WEBHOOK_N:-300} events" >&2
    BIN=$BIN "$ROOT/bench/webhooks.sh" "${BENCH_WEBHOOK_N:-300}" >&2 ||
        echo "bench: webhook delivery failed" >&2
fi

# What closing every API connection costs (bench/api_keepalive.sh):
# requests/s for GET /healthz with a new connection per request.
if [ "${BENCH_API:-1}" != 0 ] && [ -x "$BIN/onesheet-api" ]; then
    echo "embedded: onesheet-api, a connection per request" >&2
    BIN=$BIN "$ROOT/bench/api_keepalive.sh" 3 >&2 || echo "bench: api_keepalive failed" >&2
fi

# The dashboard (bench/ui.sh): server time of the overview and of a
# 10,000-job batch page, and ledger queries/s under many watchers.
if [ "${BENCH_UI:-1}" != 0 ] && [ -x "$BIN/onesheet-api" ]; then
    echo "embedded: dashboard, ${BENCH_UI_JOBS:-10000}-job batch" >&2
    BIN=$BIN "$ROOT/bench/ui.sh" "${BENCH_UI_JOBS:-10000}" "${BENCH_UI_WATCHERS:-50}" >&2 ||
        echo "bench: dashboard failed" >&2
fi

# ---- AWS mode ----
aws_ready() {
    [ "${BENCH_AWS:-1}" != 0 ] || { echo "BENCH_AWS=0"; return 1; }
    [ -x "$TOOLS/sigproxy" ] && [ -x "$TOOLS/bedrock_standin" ] ||
        { echo "$TOOLS/sigproxy or bedrock_standin not built (make tests)"; return 1; }
    [ -d "$ROOT/node_modules/fauxqs" ] && [ -d "$ROOT/node_modules/s3rver" ] &&
        [ -d "$ROOT/node_modules/dynalite" ] && command -v node >/dev/null ||
        { echo "emulators missing (make deps)"; return 1; }
}
# The baseline's interpreter: BENCH_PYTHON, else the first python3 whose
# boto3 has the bedrock-runtime client (the usual way today), else any with
# boto3 (Debian 12's 1.26 signs InvokeModel itself; it used more CPU, so
# it is the kinder comparison for onesheet, not the default).
baseline_python() {
    local py
    for py in ${BENCH_PYTHON:-python3 /usr/bin/python3}; do
        if "$py" -c 'import boto3; assert "bedrock-runtime" in boto3.session.Session().get_available_services()' 2>/dev/null; then
            command -v "$py"; return 0
        fi
    done
    for py in ${BENCH_PYTHON:-python3 /usr/bin/python3}; do
        if "$py" -c 'import boto3' 2>/dev/null; then command -v "$py"; return 0; fi
    done
    return 1
}

if why=$(aws_ready); then
    N_A=${BENCH_N_A:-480} C=${BENCH_C:-16} N_Q=${BENCH_N_QUOTA:-120} N_BASE=${BENCH_N_BASE:-200}
    export ONESHEET_STATE_DIR=$T/state
    source "$ROOT/bench/aws_lib.sh"
    echo "{\"standin\": \"$BENCH_STANDIN_BASE\", \"latency_mean_s\": $BENCH_LATENCY_MEAN_S," \
         "\"quota_window_ms\": \"$BENCH_QUOTA_WINDOW_MS\"," \
         "\"stack_glibc_tunables\": \"$BENCH_STACK_TUNABLES\"," \
         "\"worker_env\": \"$BENCH_WORKER_ENV\"," \
         "\"loadavg_at_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" > "$T/settings.json"
    bench_stack_start > "$T/stack.log" 2>&1 || { cat "$T/stack.log" >&2; exit 1; }
    half=$(( C / 2 > 0 ? C / 2 : 1 ))
    echo "aws (a): $N_A jobs, --concurrency $C, no quota" >&2
    bench_scenario no_quota "$N_A" 0 "$(echo "$C / $BENCH_LATENCY_MEAN_S" | bc -l)" \
        -- --concurrency "$C"
    echo "aws (b): $N_Q jobs, quota 120 rpm, --rpm 120" >&2
    bench_scenario quota_120rpm "$N_Q" 120 2 -- --concurrency "$C" --rpm 120
    echo "aws (c): $N_Q jobs, quota 120 rpm, 2 workers --rpm 60" >&2
    bench_scenario two_workers_split "$N_Q" 120 2 \
        -- --concurrency "$half" --rpm 60 -- --concurrency "$half" --rpm 60
    if [ "${BENCH_FULL:-1}" != 0 ]; then
        echo "aws (c'): $N_Q jobs, quota 120 rpm, 2 workers --rpm 120" >&2
        bench_scenario two_workers_full "$N_Q" 120 2 \
            -- --concurrency "$half" --rpm 120 -- --concurrency "$half" --rpm 120
    fi
    echo "aws: onesheet and the Python baseline, $N_BASE jobs at concurrency 8" >&2
    bench_scenario same_load "$N_BASE" 0 "$(echo "8 / $BENCH_LATENCY_MEAN_S" | bc -l)" \
        -- --concurrency 8
    if [ "${BENCH_QUOTA:-1}" != 0 ]; then
        source "$ROOT/bench/quota.sh"
        bench_quota_all
    fi
    echo "aws: text on every poster, $N_BASE jobs at concurrency 8" >&2
    bench_scenario text_posters "$N_BASE" 0 "$(echo "8 / $BENCH_LATENCY_MEAN_S" | bc -l)" \
        -- --concurrency 8
    if BASELINE_PY=$(baseline_python); then
        bench_baseline baseline "$N_BASE" 8
    else
        echo "bench: no Python with boto3 (make deps installs python3-boto3): baseline skipped" >&2
    fi
else
    echo "bench: AWS scenarios skipped: $why" >&2
fi

python3 "$ROOT/bench/report.py" "$T" "$ROOT/bench/results.json"
python3 "$ROOT/bench/quota_report.py" "$T" "$ROOT/bench/results.json"
