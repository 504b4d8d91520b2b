# onesheet retry on the embedded stack (SQLite queue and ledger, file store,
# the Bedrock stand-in): a batch ends with jobs failed, filtered, cancelled
# and succeeded, another's job is dead-lettered; `retry` re-runs each under
# its same id as run 2, a worker finishes them, `status JOB` shows both
# runs.  Also: the dry run and the budget change nothing, bad input is
# refused with a sysexits status, a second retry enqueues nothing, a stale
# run-1 message is skipped (no second Bedrock call), and `--state dead` is
# the redrive.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/faultmatrix.sh"
[ -x "$TOOLS/bedrock_standin" ] || fail "bedrock_standin is not built"

SECRET=rtStandinSecret$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDRETRYTEST AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export ONESHEET_MODEL=us.stability.sd3-5-large-v1:0 ONESHEET_MAX_RECEIVES=3
rm -f "$T/standin.port"
"$TOOLS/bedrock_standin" --listen 127.0.0.1:0 --port-file "$T/standin.port" \
    --key AKIDRETRYTEST --secret "$SECRET" --region us-west-2 --image-bytes 20000 \
    --latency-ms 10 --log "$T/standin.log" >"$T/standin.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/standin.port" ] && break; sleep 0.05; done
[ -s "$T/standin.port" ] || { cat "$T/standin.out"; fail "stand-in did not start"; }
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:$(cat "$T/standin.port")
worker() { fm_worker "$T/w.log" 60 --concurrency 2 --visibility 2 "$@"; }

cat >"$T/in.txt" <<'EOF2'
ERRORONCEME: a poster whose first run fails
FILTERONCEME: a poster the filter blocks once
A poster that is cancelled before it runs
A poster that succeeds at once
EOF2
batch=$("$BIN/onesheet" submit "$T/in.txt" 2>>"$T/submit.err") || fail submit
cancelled=$(job_id_of "$batch" "A poster that is cancelled")
failed=$(job_id_of "$batch" "ERRORONCEME")
"$BIN/onesheet" cancel "$cancelled" >/dev/null
worker || fail "worker (run 1)"
fm_expect "$batch" "cancelled=1 failed=1 filtered=1 succeeded=1"

# A job whose message is dead-lettered: its worker dies, and the message
# has had its one receive.
dead_batch=$(ONESHEET_MAX_RECEIVES=1 "$BIN/onesheet" submit --prompt \
    "A poster whose first worker dies" 2>>"$T/submit.err")
ONESHEET_MAX_RECEIVES=1 ONESHEET_WORKER_TEST_DELAY_MS=5000 "$BIN/onesheet-worker" \
    --concurrency 1 --visibility 1 2>>"$T/dead.log" &
pid=$!
for _ in $(seq 100); do grep -q job_started "$T/dead.log" 2>/dev/null && break; sleep 0.1; done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
sleep 1.2
ONESHEET_MAX_RECEIVES=1 fm_worker "$T/dead.log" 30 --concurrency 1 --visibility 1 ||
    fail "worker (dead letter)"
[ "$(db "select state || '|' || error_code from ledger_jobs where batch_id='$dead_batch'")" = \
  "failed|dead_letter" ] || { cat "$T/dead.log"; fail "the job was not dead-lettered"; }
ok "run 1: failed, filtered, cancelled, succeeded, and one dead-lettered"

# Bad input: a clear message, a sysexits status, nothing changed.
before=$(db "select group_concat(state || run, ',') from ledger_jobs")
expect_status 64 "$BIN/onesheet" retry "$batch" --state failed,bogus
grep -q '"bogus" is not a state retry takes' "$T/err" || fail "bad state message: $(cat "$T/err")"
grep -q 'failed, cancelled, filtered, dead' "$T/err" || fail "the allowed states are not named"
expect_status 64 "$BIN/onesheet" retry
expect_status 65 "$BIN/onesheet" retry "$batch" no-such-batch-or-job
grep -q 'no-such-batch-or-job: no such job or batch' "$T/err" || fail "unknown id message"
expect_status 64 "$BIN/onesheet" retry "$batch" --budget -1
expect_status 65 "$BIN/onesheet" retry "$batch" --state failed,filtered --budget 0.01
grep -q 'over budget' "$T/err" || fail "budget message: $(cat "$T/err")"
expect_status 0 "$BIN/onesheet" retry "$batch" --state failed,filtered,cancelled --dry-run
grep -q "would retry 3 jobs" "$T/out" || fail "dry run: $(cat "$T/out")"
grep -q "estimated cost: \\\$0.24 for 3 jobs" "$T/err" || fail "dry-run estimate: $(cat "$T/err")"
[ "$(db "select group_concat(state || run, ',') from ledger_jobs")" = "$before" ] ||
    fail "bad input or a dry run changed the ledger"
ok "bad state (64), unknown id (65), over budget (65), dry run: nothing changed"

# The retry: run 2 of the failed, filtered and cancelled jobs.
"$BIN/onesheet" retry "$batch" --state failed,filtered,cancelled --json >"$T/r1.json" \
    2>"$T/r1.err" || { cat "$T/r1.err"; fail "retry"; }
[ "$(jq -r '"\(.selected) \(.retried) \(.enqueued)"' "$T/r1.json")" = "3 3 3" ] ||
    fail "retry counts: $(cat "$T/r1.json")"
grep -q 'estimated cost: \$0.24 for 3 jobs' "$T/r1.err" || fail "estimate: $(cat "$T/r1.err")"
"$BIN/onesheet" retry "$batch" --state failed,filtered,cancelled --json >"$T/r2.json"
[ "$(jq -r '"\(.selected) \(.retried) \(.enqueued)"' "$T/r2.json")" = "0 0 0" ] ||
    fail "a second retry: $(cat "$T/r2.json")"
[ "$(db "select count(*) from queue_messages")" = 3 ] || fail "messages after two retries"
db "select body from queue_messages" | grep -q '"run":2' || fail "the messages carry no run"
# A stale duplicate of the failed job's run-1 message.
now=$(date +%s%3N)
body=$(db "select spec_json from ledger_jobs where job_id='$failed'")
db "insert into queue_messages (body, sent_ms, visible_at) values
    ('{\"v\":1,\"batch\":\"$batch\",\"job\":\"$failed\",\"spec\":' || json('$body') || '}',
     $now, $now)"
ok "retry: 3 re-opened and enqueued as run 2; a second retry enqueues nothing"

worker || fail "worker (run 2)"
fm_expect "$batch" "succeeded=4"
grep -q "event=job_skipped.*job=$failed run=1 reason=stale" "$T/w.log" ||
    fail "the stale run-1 message was not skipped as stale"
for p in "ERRORONCEME" "FILTERONCEME"; do
    n=$(calls_for "$(grep "^$p" "$T/in.txt")")
    [ "$n" = 2 ] || fail "$p: $n Bedrock calls, expected 2 (one per run)"
done
[ "$(calls_for "A poster that succeeds at once")" = 1 ] || fail "the succeeded job ran again"
"$BIN/onesheet" status "$failed" --json >"$T/s.json"
[ "$(jq -r '"\(.run) \(.runs | length) \(.runs[0].state) \(.runs[0].error.code) \(.runs[1].state)"' \
    "$T/s.json")" = "2 2 failed permanent succeeded" ] || fail "status --json: $(cat "$T/s.json")"
"$BIN/onesheet" status "$failed" >"$T/s.txt"
grep -Eq '^  run 1 +failed .*permanent' "$T/s.txt" || fail "status: $(cat "$T/s.txt")"
grep -Eq '^  run 2 +succeeded .*\(current\)' "$T/s.txt" || fail "status: $(cat "$T/s.txt")"
ok "run 2: all four succeeded, the stale message skipped, status shows both runs"

# The redrive: --state dead re-opens only the dead-lettered job.
"$BIN/onesheet" retry "$dead_batch" --state dead --json >"$T/r3.json"
[ "$(jq -r '"\(.retried) \(.enqueued)"' "$T/r3.json")" = "1 1" ] ||
    fail "redrive: $(cat "$T/r3.json")"
worker || fail "worker (redrive)"
fm_expect "$dead_batch" "succeeded=1"
"$BIN/onesheet" retry "$batch" "$dead_batch" --state failed,cancelled,filtered,dead \
    --json >"$T/r4.json"
[ "$(jq -r '.retried' "$T/r4.json")" = 0 ] || fail "nothing left to retry: $(cat "$T/r4.json")"
ok "redrive (--state dead): the dead-lettered job succeeded as run 2"
fm_no_secrets "$T"/w.log "$T"/dead.log "$T"/submit.err
