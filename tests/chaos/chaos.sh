#!/usr/bin/env bash
# Chaos test (issue 9): several workers, kill -9 at random moments, restarts,
# then a checker that classifies every submitted job as ok / lost /
# duplicated and counts generation calls per job.
#
#   tests/chaos/chaos.sh [--mode embedded|aws|both] [--rounds N] [--jobs N]
#       [--workers N] [--concurrency N] [--kills N] [--visibility S]
#       [--seed N] [--mutate-check] [--retry]
#
# Each round submits --jobs prompts (unique per job, so the Bedrock
# stand-in's per-prompt counts are per job), starts --workers drain workers
# (--concurrency threads each, a short --visibility so a killed worker's
# messages come back fast), kills --kills random workers (busy ones when
# any) with SIGKILL at random moments of the round's progress, restarts
# each about 0.3 s later, and waits until every worker has drained.
# Shortly after each kill the store's listing and the ledger's states are
# saved, from which check.py tells the phase the killed worker's in-flight
# jobs were in (generate / upload / ledger / delete; "idle" when none).
# After the last round one more drain worker finishes everything, and
# check.py classifies every job.  CHAOS_KEEP=1 keeps the scratch directory.
#
# embedded: SQLite queue + ledger, file store, draft engine slowed by
#           ONESHEET_WORKER_TEST_DELAY_MS (default 600).
# aws:      fauxqs / s3rver / dynalite behind sigproxy, and the Bedrock
#           stand-in with --latency-ms/--jitter-ms (CHAOS_STANDIN_ARGS).
#
# Prints one JSON summary line per mode ({"mode","rounds","kills","jobs",
# "ok","lost","duplicated","extra_calls",...}) and exits non-zero when a
# target is missed: 0 lost, 0 duplicated, extra calls <= the generations
# the kills interrupted.  --mutate-check then damages the final state
# (deletes an object, adds a second result key, puts back a message) and
# checks that the checker reports exactly that.  Settings also come from
# the environment: ROUNDS JOBS WORKERS CONCURRENCY KILLS VISIBILITY SEED.
#
# --retry (issue 17): each round also cancels a third of its jobs before
# the workers start and re-runs them with `onesheet retry BATCH --state
# cancelled`: the first retry, before the workers start, dies between
# re-opening the jobs and sending their messages
# (ONESHEET_TEST_RETRY_CRASH), so their run-1 messages, still queued, are
# stale; while the workers run and are killed a second retry is killed
# with SIGKILL at a random moment, and a third finishes.  The checker then also requires each retried job to be at run 2
# with run 1 (cancelled) in its history, every other job at run 1, and
# still one generation per job.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export ROOT=${ROOT:-$(cd "$here/../.." && pwd)}
export BIN=${BIN:-$ROOT/bin} BUILD=${BUILD:-$ROOT/build/rel}
# The checker (check.py) proves every stored object is the ledger's result
# by its SHA-256, so the workers store with that checksum; the default
# CRC-64/NVME path is checked by aws_e2e.sh and e2e_embedded.sh.
export ONESHEET_CHECKSUM=sha256
MODE=both ROUNDS=${ROUNDS:-3} JOBS=${JOBS:-20} WORKERS=${WORKERS:-3}
CONCURRENCY=${CONCURRENCY:-2} KILLS=${KILLS:-4} VISIBILITY=${VISIBILITY:-5}
SEED=${SEED:-$(( $(date +%s) % 100000 ))} MUTATE=0 RETRY=${RETRY:-0}
while [ $# -gt 0 ]; do
    case "$1" in
    --mode) MODE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --kills) KILLS=$2; shift 2 ;;
    --visibility) VISIBILITY=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --mutate-check) MUTATE=1; shift ;;
    --retry) RETRY=1; shift ;;
    -h|--help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "chaos.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
for v in ROUNDS JOBS WORKERS CONCURRENCY VISIBILITY; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "chaos.sh: $v must be a positive integer" >&2; exit 2; }
done
[[ $KILLS =~ ^[0-9]+$ && $SEED =~ ^[0-9]+$ ]] || { echo "chaos.sh: bad --kills/--seed" >&2; exit 2; }

if [ "$MODE" = both ]; then
    rc=0 more=()
    [ "$MUTATE" = 1 ] && more=(--mutate-check)
    [ "$RETRY" = 1 ] && more+=(--retry)
    for m in embedded aws; do
        ROUNDS=$ROUNDS JOBS=$JOBS WORKERS=$WORKERS CONCURRENCY=$CONCURRENCY KILLS=$KILLS \
            VISIBILITY=$VISIBILITY SEED=$SEED bash "$0" --mode "$m" "${more[@]}" || rc=1
    done
    exit "$rc"
fi
case "$MODE" in embedded|aws) ;; *) echo "chaos.sh: --mode embedded|aws|both" >&2; exit 2 ;; esac

source "$ROOT/tests/integration/lib.sh"
# CHAOS_KEEP=1 keeps the scratch directory (logs, state) for a look.
keep_or_rm() { if [ -n "${CHAOS_KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi; }
trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; keep_or_rm' EXIT
CHECK=$here/check.py
LOGS=$T/logs; KILLDIR=$T/kills; SUBMITTED=$T/submitted
mkdir -p "$LOGS" "$KILLDIR" "$SUBMITTED"
RANDOM=$SEED
t_setup=$SECONDS
echo "chaos $MODE: rounds=$ROUNDS jobs/round=$JOBS workers=$WORKERS concurrency=$CONCURRENCY" \
     "kills/round=$KILLS visibility=${VISIBILITY}s seed=$SEED" >&2

if [ "$MODE" = aws ]; then
    TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
    for b in "$TOOLS/sigproxy" "$TOOLS/bedrock_standin"; do
        [ -x "$b" ] || fail "$b is not built (make tests)"
    done
    EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
    source "$ROOT/tests/support/emulators.sh"
    trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; emu_stop_all; keep_or_rm' EXIT
    source "$ROOT/tests/support/awsstack.sh"
    STANDIN_ARGS=${CHAOS_STANDIN_ARGS:---latency-ms 250 --jitter-ms 500}
    awsstack_start || fail "could not start the AWS stack"
    "$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init" >&2; fail "onesheet init"; }
    STORE_DIR=$EMU_DIR/s3/posters/it
    PER_JOB_MS=650
    PLACE=(--store "$STORE_DIR" --onesheet "$BIN/onesheet")
else
    export ONESHEET_WORKER_TEST_DELAY_MS=${ONESHEET_WORKER_TEST_DELAY_MS:-600}
    STORE_DIR=$ONESHEET_STATE_DIR/posters
    PER_JOB_MS=$((ONESHEET_WORKER_TEST_DELAY_MS + 250))
    PLACE=(--state "$ONESHEET_STATE_DIR" --store "$STORE_DIR")
fi

now_ms() { date +%s%3N; }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
rand_below() { echo $(( (RANDOM * 32768 + RANDOM) % $1 )); }  # 0..n-1

declare -a SLOT_PID SLOT_LOG
NSTART=0
start_worker() {  # slot round
    NSTART=$((NSTART + 1))
    local log=$LOGS/r$2-s$1-$NSTART.log
    "$BIN/onesheet-worker" --concurrency "$CONCURRENCY" --visibility "$VISIBILITY" --drain \
        --log-json 2>"$log" </dev/null &
    SLOT_PID[$1]=$!; SLOT_LOG[$1]=$log; PIDS+=($!)
}
alive() { [ -n "${SLOT_PID[$1]:-}" ] && kill -0 "${SLOT_PID[$1]}" 2>/dev/null; }

# snapshot DIR: what the state shows right after a kill (the store's keys
# with their times, the ledger's states), for check.py to tell the phase.
snapshot() {
    find "$STORE_DIR" -type f -printf '%P %T@\n' >"$1/store.txt" 2>/dev/null || true
    if [ "$MODE" = aws ]; then
        "$BIN/onesheet" list --batch "$batch" --json >"$1/ledger.txt" 2>/dev/null || true
    else
        sqlite3 -batch -noheader -cmd '.timeout 5000' "$ONESHEET_STATE_DIR/onesheet.db" \
            "select batch_id || '/' || job_id || ' ' || state from ledger_jobs" \
            >"$1/ledger.txt" 2>/dev/null || true
    fi
}

# busy SLOT: the slot's worker has a job in flight (by its log).  One awk
# per call: on a loaded machine every process started here delays a kill.
busy() {
    awk '/"event":"job_started"/ { n++ }
         /"event":"job_(succeeded|failed|filtered|retry|superseded|abandoned)"/ { n-- }
         END { exit !(n > 0) }' "${SLOT_LOG[$1]}" 2>/dev/null
}

# kill_random ROUND: SIGKILL one live worker (a busy one if any), record the
# moment and the state, restart it.
NKILL=0 SNAP_PIDS=()
kill_random() {
    local live=() busy_=() s
    for ((s = 0; s < WORKERS; s++)); do
        alive "$s" || continue
        live+=("$s"); busy "$s" && busy_+=("$s")
    done
    [ ${#live[@]} -gt 0 ] || return 1
    [ ${#busy_[@]} -gt 0 ] && live=("${busy_[@]}")
    s=${live[$(rand_below ${#live[@]})]}
    local pid=${SLOT_PID[$s]} t kd
    t=$(now_ms)
    kill -9 "$pid" 2>/dev/null || return 1
    wait "$pid" 2>/dev/null || true
    NKILL=$((NKILL + 1)); kd=$KILLDIR/$NKILL; mkdir -p "$kd"
    printf '{"round":%d,"slot":%d,"log":"%s","t_ms":%s,"concurrency":%d}\n' \
        "$1" "$s" "${SLOT_LOG[$s]}" "$t" "$CONCURRENCY" >"$kd/meta.json"
    echo "round $1: kill $NKILL at +$(( (t - t_round) / 1000 )).$(( (t - t_round) % 1000 / 100 ))s," \
         "slot $s$([ ${#busy_[@]} -gt 0 ] || echo ', idle')" >&2
    start_worker "$s" "$1"
    # A request the worker sent just before it died can still complete on
    # the server side: look at the state a moment later, in the background
    # so the next kill is not held up.  Its messages stay hidden for
    # --visibility seconds, so nobody else touches its jobs meanwhile.
    (sleep 0.3; snapshot "$kd") &
    SNAP_PIDS+=($!)
}

# progress ROUND: jobs this round's workers have logged as started.
progress() { awk '/"event":"job_started"/ { n++ } END { print n + 0 }' "$LOGS"/r"$1"-*.log 2>/dev/null || echo 0; }
any_busy() { local s; for ((s = 0; s < WORKERS; s++)); do alive "$s" && busy "$s" && return 0; done; return 1; }
any_alive() { local s; for ((s = 0; s < WORKERS; s++)); do alive "$s" && return 0; done; return 1; }

# crashed_retry ROUND: the first retry of the round's cancelled jobs, which
# dies after re-opening them, before sending anything.
crashed_retry() {
    local rc=0
    ONESHEET_TEST_RETRY_CRASH=reopened "$BIN/onesheet" retry "$batch" --state cancelled \
        --json >"$T/retry-r$1.1" 2>&1 || rc=$?
    [ "$rc" = 137 ] || fail "round $1: the first retry exited $rc, not at its crash point"
}
# retrier ROUND: the rest of the retry, killed once more, then finished
# (see --retry above); its output goes to $T/retry-rROUND.*.
retrier() {
    local out=$T/retry-r$1 pid
    sleep_ms $((200 + $(rand_below 800)))
    "$BIN/onesheet" retry "$batch" --state cancelled --json >"$out.2" 2>&1 &
    pid=$!
    sleep_ms "$(rand_below 40)"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    "$BIN/onesheet" retry "$batch" --state cancelled --json >"$out.3" 2>&1 ||
        { echo "retrier: the last retry failed: $(cat "$out.3")" >&2; return 1; }
    echo "round $1: retry done: $(grep '^{' "$out.3" | cut -c1-120)" >&2
}

adjectives=(red amber cobalt silver jade violet ochre scarlet teal ivory)
subjects=("fox in the snow" "lighthouse at dusk" "night market" "paper crane" "desert train"
          "harbour in fog" "clockwork owl" "mountain shrine" "neon diner" "glass whale")
t_start=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
    prompts=$T/r$round.txt; : >"$prompts"
    for ((i = 1; i <= JOBS; i++)); do
        echo "Chaos $MODE seed $SEED round $round job $i: a ${adjectives[RANDOM % 10]}" \
             "${subjects[RANDOM % 10]}, poster art" >>"$prompts"
    done
    batch=$("$BIN/onesheet" submit "$prompts" 2>"$T/submit.err") || { cat "$T/submit.err" >&2; fail "submit"; }
    "$BIN/onesheet" status "$batch" --json >"$SUBMITTED/r$round.jsonl" || fail "status $batch"
    [ "$(wc -l <"$SUBMITTED/r$round.jsonl")" = $((JOBS + 1)) ] || fail "round $round: $JOBS jobs not all submitted"
    RETRIER=
    if [ "$RETRY" = 1 ]; then
        # A third of the jobs, cancelled before any worker runs, to be retried.
        mapfile -t victims < <(grep -o '"id":"[^"]*"' "$SUBMITTED/r$round.jsonl" | cut -d'"' -f4 |
            awk -v s="$SEED$round" 'BEGIN { srand(s) } { print rand() "\t" $0 }' | sort |
            head -n $((JOBS / 3 > 0 ? JOBS / 3 : 1)) | cut -f2)
        "$BIN/onesheet" cancel "${victims[@]}" >/dev/null || fail "cancel"
        printf "$batch/%s\n" "${victims[@]}" >>"$T/retried.txt"
        crashed_retry "$round"
    fi
    for ((s = 0; s < WORKERS; s++)); do start_worker "$s" "$round"; done
    if [ "$RETRY" = 1 ]; then retrier "$round" & RETRIER=$!; fi
    t_round=$(now_ms)
    # Kill moments: at random points of the round's progress (after a
    # random number of job starts, plus a random part of one job's time
    # unless the point has passed), so kills land while there is work.
    # The points lie in the first two thirds: a kill's own redeliveries
    # make the tail, and a late point would find the workers drained.
    points=$(for ((k = 0; k < KILLS; k++)); do
        echo "$((1 + $(rand_below $((JOBS * 2 / 3 + 1))))) $(rand_below $((PER_JOB_MS / 2)))"
    done | sort -n)
    while read -r after extra; do
        [ -n "$after" ] || continue
        late=1
        while [ "$(progress "$round")" -lt "$after" ] && any_alive; do late=0; sleep 0.05; done
        [ "$late" = 1 ] || sleep_ms "$extra"
        # Prefer a moment with a job in flight: wait up to a second for one.
        t_busy=$(( $(now_ms) + 1000 ))
        until any_busy || [ "$(now_ms)" -gt "$t_busy" ]; do sleep 0.05; done
        kill_random "$round" ||
            echo "round $round: no live worker to kill after $after starts ($(progress "$round") so far)" >&2
    done <<<"$points"
    if [ -n "$RETRIER" ]; then wait "$RETRIER" || fail "round $round: the retrier failed"; fi
    deadline=$((SECONDS + 120 + VISIBILITY * 4))
    for ((s = 0; s < WORKERS; s++)); do
        while alive "$s"; do
            [ "$SECONDS" -lt "$deadline" ] || fail "round $round: worker in slot $s did not drain"
            sleep 0.2
        done
        wait "${SLOT_PID[$s]}" 2>/dev/null || echo "round $round: slot $s worker exited non-zero" >&2
    done
done
for p in "${SNAP_PIDS[@]:-}"; do [ -n "$p" ] && { wait "$p" || true; }; done
# One last drain worker finishes whatever the rounds left.
timeout 300 "$BIN/onesheet-worker" --concurrency "$CONCURRENCY" --visibility "$VISIBILITY" \
    --drain --log-json 2>"$LOGS/final.log" || fail "final drain worker"
echo "chaos $MODE: setup $((t_start - t_setup))s, rounds $((SECONDS - t_start))s, $NKILL kills" >&2

check() {  # collects and classifies; the summary line goes to $T/summary
    local where=()
    [ "$MODE" = aws ] && where=(--sqs "$EMU_SQS" --standin "$BEDROCK")
    [ "$RETRY" = 1 ] && where+=(--retried "$T/retried.txt")
    python3 "$CHECK" check --mode "$MODE" "${PLACE[@]}" "${where[@]}" --logs "$LOGS" \
        --expected "$SUBMITTED"/*.jsonl --kills "$KILLDIR" --rounds "$ROUNDS" \
        --save "$T/snap.json" >"$T/summary"
}
t_check=$SECONDS
rc=0
check || rc=$?
cat "$T/summary"
echo "chaos $MODE: check took $((SECONDS - t_check))s" >&2
[ "$rc" = 0 ] || exit "$rc"

if [ "$MUTATE" = 1 ]; then
    # The checker must be able to fail on this very state: delete one job's
    # object, give a second job a second result key, put a third job's
    # message back in the queue; expect exactly those three verdicts.
    mapfile -t victims < <(grep -ho '"batch":"[^"]*","id":"[^"]*"' "$SUBMITTED"/*.jsonl | head -n 3 |
        sed 's/"batch":"\([^"]*\)","id":"\([^"]*\)"/\1\/\2/')
    [ ${#victims[@]} = 3 ] || fail "mutate-check needs 3 jobs"
    sfx=; [ "$MODE" = aws ] && sfx=._S3rver_object
    rm -f "$STORE_DIR/${victims[0]}.png$sfx"
    cp "$STORE_DIR/${victims[1]}.png$sfx" "$STORE_DIR/${victims[1]}.v2.png$sfx"
    body="{\"v\":1,\"batch\":\"${victims[2]%/*}\",\"job\":\"${victims[2]#*/}\",\"spec\":{\"prompt\":\"x\"}}"
    if [ "$MODE" = aws ]; then
        sqs() { curl -fsS "$EMU_SQS" -H 'Content-Type: application/x-amz-json-1.0' \
                    -H "X-Amz-Target: AmazonSQS.$1" -d "$2"; }
        qurl=$(sqs GetQueueUrl '{"QueueName":"onesheet-it"}' | sed -n 's/.*"QueueUrl":"\([^"]*\)".*/\1/p')
        sqs SendMessage "{\"QueueUrl\":\"$qurl\",\"MessageBody\":\"${body//\"/\\\"}\"}" >/dev/null ||
            fail "SendMessage"
    else
        db "insert into queue_messages (body, sent_ms, visible_at) values ('$body', 0, 0)"
    fi
    if check 2>"$T/verdicts"; then fail "the checker passed a damaged state"; fi
    grep -q "^\"lost\":1,\"duplicated\":2," <(grep -o '"lost":[0-9]*,"duplicated":[0-9]*,' "$T/summary") ||
        { cat "$T/summary" "$T/verdicts"; fail "want lost 1, duplicated 2"; }
    for want in "lost: ${victims[0]}: no object" "duplicated: ${victims[1]}: extra result keys" \
                "duplicated: ${victims[2]}: message never deleted"; do
        grep -q "^$want" "$T/verdicts" || { cat "$T/verdicts"; fail "no verdict \"$want\""; }
    done
    ok "chaos $MODE: the checker reports a deleted object, a second key and an undeleted message"
fi
