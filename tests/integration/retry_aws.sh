# onesheet retry on the AWS back-ends against the loopback emulators (SQS +
# DLQ on fauxqs, the DynamoDB ledger on dynalite, S3 on s3rver, each behind
# a signature-checking sigproxy; the Bedrock stand-in): failed, filtered
# and cancelled jobs re-run as run 2 under the same ids; a job whose
# message went to the SQS dead-letter queue is redriven with --state dead;
# a stale run-1 message on the queue is skipped, and a run-1 message on the
# DLQ cannot fail run 2 (it is made harmless by the run).
source "$(dirname "$0")/lib.sh"
STANDIN_ARGS="--latency-ms 10 --image-bytes 20000"
use_aws_stack
export ONESHEET_MAX_RECEIVES=2
"$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init"; fail init; }

states() {
    "$BIN/onesheet" list --batch "$1" --json | jq -r .state | sort | uniq -c |
        awk '{ if (NR > 1) printf " "; printf "%s=%s", $2, $1 }'
}
expect_states() { local got; got=$(states "$1"); [ "$got" = "$2" ] || fail "batch $1: $got, expected $2"; }
worker() { timeout -k 5 60 "$BIN/onesheet-worker" --drain --concurrency 2 --visibility 5 "$@" \
    2>>"$T/w.log" || fail "worker exit status $?"; }
# sqs_send QUEUE BODY: sends BODY to QUEUE on the emulator (past the proxy).
sqs_send() {
    python3 - "$EMU_SQS" "$1" "$2" <<'PY'
import json, sys, urllib.request
def call(target, body):
    req = urllib.request.Request(sys.argv[1], data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + target})
    return json.load(urllib.request.urlopen(req))
url = call("GetQueueUrl", {"QueueName": sys.argv[2]})["QueueUrl"]
call("SendMessage", {"QueueUrl": url, "MessageBody": sys.argv[3]})
PY
}
run1_body() {   # BATCH JOB: the job's message as run 1 sent it (no "run")
    "$BIN/onesheet" status "$2" --json | jq -c --arg b "$1" \
        'select(.batch == $b) | {v: 1, batch: .batch, job: .id, spec: .spec}'
}

cat >"$T/in.txt" <<'EOF2'
ERRORONCEME: a poster whose first run fails
FILTERONCEME: a poster the filter blocks once
A poster that is cancelled before it runs
A poster that succeeds at once
EOF2
batch=$("$BIN/onesheet" submit "$T/in.txt" 2>>"$T/submit.err") || fail submit
failed=$(job_id_of "$batch" ERRORONCEME)
"$BIN/onesheet" cancel "$(job_id_of "$batch" "A poster that is cancelled")" >/dev/null
worker
expect_states "$batch" "cancelled=1 failed=1 filtered=1 succeeded=1"

# A job whose worker dies twice: SQS moves its message to the DLQ after two
# receives, and a worker marks it failed with dead_letter.
dead_batch=$("$BIN/onesheet" submit --prompt "A poster whose workers die" 2>>"$T/submit.err")
for i in 1 2; do
    ONESHEET_WORKER_TEST_DELAY_MS=8000 "$BIN/onesheet-worker" --concurrency 1 --visibility 1 \
        2>>"$T/dead.log" &
    pid=$!
    for _ in $(seq 100); do [ "$(grep -c job_started "$T/dead.log" 2>/dev/null)" -ge $i ] && break; sleep 0.1; done
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    sleep 1.5
done
for _ in 1 2 3; do
    timeout -k 5 30 "$BIN/onesheet-worker" --drain --concurrency 1 --visibility 1 2>>"$T/dead.log" || true
    [ "$("$BIN/onesheet" list --batch "$dead_batch" --json | jq -r '.error.code // "-"')" = dead_letter ] && break
    sleep 1.5
done
[ "$("$BIN/onesheet" list --batch "$dead_batch" --json | jq -r '"\(.state) \(.error.code)"')" = \
  "failed dead_letter" ] || { tail -20 "$T/dead.log"; fail "the job was not dead-lettered"; }
ok "AWS run 1: failed, filtered, cancelled, succeeded; one dead-lettered via the SQS DLQ"

"$BIN/onesheet" retry "$batch" --state failed,filtered,cancelled --json >"$T/r1.json" 2>/dev/null
[ "$(jq -r '"\(.selected) \(.retried) \(.enqueued)"' "$T/r1.json")" = "3 3 3" ] ||
    fail "retry: $(cat "$T/r1.json")"
"$BIN/onesheet" retry "$batch" --state failed,filtered,cancelled --json >"$T/r2.json" 2>/dev/null
[ "$(jq -r '"\(.retried) \(.enqueued)"' "$T/r2.json")" = "0 0" ] ||
    fail "a second retry: $(cat "$T/r2.json")"
[ "$(awsstack_messages onesheet-it)" = 3 ] || fail "expected 3 messages after two retries"
sqs_send onesheet-it "$(run1_body "$batch" "$failed")"
worker
expect_states "$batch" "succeeded=4"
grep -q "event=job_skipped.*job=$failed run=1 reason=stale" "$T/w.log" ||
    fail "the stale run-1 message was not skipped as stale"
for p in ERRORONCEME FILTERONCEME; do
    [ "$(calls_for "$(grep "^$p" "$T/in.txt")")" = 2 ] || fail "$p: not one Bedrock call per run"
done
[ "$(calls_for "A poster that succeeds at once")" = 1 ] || fail "the succeeded job ran again"
"$BIN/onesheet" status "$failed" --json | jq -e --arg b "$batch" 'select(.batch == $b) |
    .run == 2 and (.runs | length) == 2 and .runs[0].state == "failed" and
    .runs[1].state == "succeeded"' >/dev/null || fail "status shows the two runs"
ok "AWS retry: run 2 of each succeeded, a second retry sent nothing, the stale message skipped"

"$BIN/onesheet" retry "$dead_batch" --state dead --json >"$T/r3.json" 2>/dev/null
[ "$(jq -r '"\(.retried) \(.enqueued)"' "$T/r3.json")" = "1 1" ] || fail "redrive: $(cat "$T/r3.json")"
worker
expect_states "$dead_batch" "succeeded=1"
# The run-1 message on the DLQ, seen again: it cannot fail run 2.
dead_job=$("$BIN/onesheet" list --batch "$dead_batch" --json | jq -r .id)
sqs_send onesheet-it-dlq "$(run1_body "$dead_batch" "$dead_job")"
: >"$T/w.log"
worker
grep -q "event=job_dead_lettered batch=$dead_batch job=$dead_job run=1" "$T/w.log" ||
    { cat "$T/w.log"; fail "the worker did not see the run-1 dead letter"; }
expect_states "$dead_batch" "succeeded=1"
[ "$(awsstack_messages onesheet-it)" = 0 ] || fail "messages left on the queue"
[ "$(awsstack_rejections)" = 0 ] || fail "a proxy rejected a signature"
ok "AWS redrive (--state dead) succeeded; a run-1 dead letter left run 2 alone"
