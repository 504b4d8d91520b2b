# Crash points (issue 24): the test build of the worker
# (tools/onesheet-worker-faults) is killed with SIGKILL at each named point
# between two steps of a job's order, on the embedded stack and on the AWS
# emulators; a worker started after each crash finishes the job.  Every
# time: the job succeeded exactly once (one ledger row, job_succeeded logged
# once), the poster and the raw art are stored, nothing is left in the
# queue, and the paid calls are what the point implies: a crash before the
# engine is called costs nothing, one between the call and the mark costs
# exactly one more call, and one after the mark none (the restarted worker's
# claim answers "done" and only deletes the message).  A job with
# renditions crashes between two rendition puts (embedded).
source "$(dirname "$0")/lib.sh"
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
FW=$TOOLS/onesheet-worker-faults
[ -x "$FW" ] || fail "$FW is not built (make tests)"
POINTS="after_claim after_quota after_generate after_compose after_store_raw after_store
after_presign after_mark after_delete"

# calls_expected STACK POINT: on aws, the Bedrock calls one job costs when
# the worker dies at POINT; on embedded (the draft engine costs nothing),
# the jobs started (job_started: a claim that went on to generate).
calls_expected() {
    case $2 in
    after_claim) echo 1 ;;
    after_quota) [ "$1" = aws ] && echo 1 || echo 2 ;;
    after_mark|after_delete) echo 1 ;;
    *) echo 2 ;;
    esac
}

# run_point STACK POINT: one job through a crash at POINT and a restart.
# Prints the number of job_started lines (generations on the draft engine).
run_point() {
    local stack=$1 p=$2 prompt="Crash point $1 $2: a harbour at dawn" batch rc=0
    batch=$("$BIN/onesheet" submit --prompt "$prompt" --title "Harbour $p" 2>"$T/submit.err") ||
        { cat "$T/submit.err" >&2; fail "$stack $p: submit"; }
    ONESHEET_CRASH_AT=$p "$FW" --concurrency 1 --visibility 1 --drain --poll-wait 1 \
        2>"$T/$stack.$p.crash.log" || rc=$?
    [ "$rc" = 137 ] || { tail -5 "$T/$stack.$p.crash.log" >&2; fail "$stack $p: the worker should die at $p (exit $rc)"; }
    grep -q "event=crash_point point=$p" "$T/$stack.$p.crash.log" || fail "$stack $p: no crash_point line"
    "$BIN/onesheet-worker" --concurrency 1 --visibility 1 --drain --poll-wait 1 \
        2>"$T/$stack.$p.restart.log" || { tail -5 "$T/$stack.$p.restart.log" >&2; fail "$stack $p: restart"; }
    "$BIN/onesheet" list --batch "$batch" --json >"$T/rows" || fail "$stack $p: list"
    [ "$(wc -l <"$T/rows")" = 1 ] || fail "$stack $p: $(wc -l <"$T/rows") ledger rows"
    [ "$(jq -r .state "$T/rows")" = succeeded ] || fail "$stack $p: state $(jq -r .state "$T/rows")"
    local job succ starts
    job=$(jq -r .id "$T/rows")
    succ=$(cat "$T/$stack.$p".*.log | grep -c 'event=job_succeeded' || true)
    # After the mark the success is the ledger's, logged by no one (the
    # worker died before its log line; the restart finds it done).
    [ "$succ" = "$([ "$p" = after_mark ] && echo 0 || echo 1)" ] ||
        fail "$stack $p: job_succeeded logged $succ times"
    # After the delete, only a batched delete (SQS: receipts wait to go ten
    # to a call) leaves a message to come back.
    case $stack.$p in *.after_mark|aws.after_delete)
        grep -q 'event=job_skipped.*reason=done' "$T/$stack.$p.restart.log" ||
            fail "$stack $p: the restarted worker should find the job done" ;;
    esac
    if [ "$stack" = embedded ]; then
        [ "$(db "select count(*) from queue_messages")" = 0 ] || fail "$stack $p: messages left"
        local dir=$ONESHEET_STATE_DIR/posters/$batch
        [ -s "$dir/$job.png" ] && [ -s "$dir/$job.raw.png" ] || fail "$stack $p: poster or raw art missing"
        [ "$(find "$dir" -type f | wc -l)" = 2 ] || fail "$stack $p: $(find "$dir" -type f | wc -l) files (temp files left?)"
        starts=$(cat "$T/$stack.$p".*.log | grep -c 'event=job_started' || true)
    else
        [ "$(awsstack_messages onesheet-it)" = 0 ] || fail "$stack $p: messages left in SQS"
        local keys
        keys=$(curl -fsS "$EMU_S3/posters?prefix=it/$batch/" | grep -o '<Key>[^<]*</Key>' | sort | tr '\n' ' ')
        [ "$keys" = "<Key>it/$batch/$job.png</Key> <Key>it/$batch/$job.raw.png</Key> " ] ||
            fail "$stack $p: S3 holds: $keys"
        starts=$(calls_for "$prompt")
    fi
    [ "$starts" = "$(calls_expected "$stack" "$p")" ] ||
        fail "$stack $p: $starts engine calls, expected $(calls_expected "$stack" "$p")"
    echo "$starts"
}

t0=$SECONDS
for p in $POINTS; do run_point embedded "$p" >/dev/null; done
ok "embedded: a crash at each of $(echo $POINTS | wc -w) points, then a restart: each job succeeded once, stored, queue empty, generations as implied ($((SECONDS - t0)) s)"

# Renditions (issue 20): a crash between two rendition puts, then a
# restart, leaves the same files as a job that never crashed.
"$BIN/onesheet" submit --prompt "Renditions control: a harbour" --renditions 2:3,16:9,1:1 \
    >"$T/control" 2>/dev/null || fail "submit the control job"
"$BIN/onesheet-worker" --concurrency 1 --drain 2>"$T/control.log" || fail "control worker"
want=$(find "$ONESHEET_STATE_DIR/posters/$(cat "$T/control")" -type f | wc -l)
[ "$want" -ge 4 ] || fail "the control job stored $want files"
batch=$("$BIN/onesheet" submit --prompt "Renditions crash: a harbour" --renditions 2:3,16:9,1:1 \
    2>/dev/null) || fail "submit the renditions job"
rc=0; ONESHEET_CRASH_AT=after_rendition "$FW" --concurrency 1 --visibility 1 --drain \
    2>"$T/rend.crash.log" || rc=$?
[ "$rc" = 137 ] || fail "after_rendition: exit $rc"
"$BIN/onesheet-worker" --concurrency 1 --visibility 1 --drain 2>"$T/rend.restart.log" ||
    fail "after_rendition: restart"
[ "$(db "select state from ledger_jobs where batch_id='$batch'")" = succeeded ] ||
    fail "after_rendition: not succeeded"
got=$(find "$ONESHEET_STATE_DIR/posters/$batch" -type f | wc -l)
[ "$got" = "$want" ] || fail "after_rendition: $got files, a job without a crash stores $want"
[ "$(cat "$T"/rend.*.log | grep -c 'event=job_succeeded')" = 1 ] || fail "after_rendition: successes"
[ "$(db "select count(*) from queue_messages")" = 0 ] || fail "after_rendition: messages left"
ok "embedded: a crash between two rendition puts, then a restart: the same $want files as without"

t0=$SECONDS
use_aws_stack
"$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init"; fail "init"; }
for p in $POINTS; do run_point aws "$p" >/dev/null; done
ok "aws: a crash at each point, then a restart: each job succeeded once, two S3 objects, SQS empty, Bedrock calls as implied ($((SECONDS - t0)) s)"
