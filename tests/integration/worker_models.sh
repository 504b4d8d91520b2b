# A job's model is authoritative (worker liveness, issue 17): with a draft
# worker and a Bedrock worker (against the Bedrock stand-in) on one queue,
# each job is generated only by the worker that serves its model -- the
# draft worker hands Bedrock jobs back unclaimed, the Bedrock worker hands
# draft jobs back -- and every job ends succeeded with the model it named.
source "$(dirname "$0")/lib.sh"

tools=${ONESHEET_TEST_TOOLS:-$ROOT/build/rel/tools}
[ -x "$tools/bedrock_standin" ] || fail "bedrock_standin not built in $tools"
"$tools/bedrock_standin" --listen 127.0.0.1:0 --port-file "$T/port" --key AKIDSTANDIN \
    --secret standinSecretKey0123456789abcdefWXYZ --region us-west-2 \
    --image-bytes 50000 --log "$T/standin.log" >"$T/standin.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { cat "$T/standin.out"; fail "stand-in did not start"; }
export AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDSTANDIN
export AWS_SECRET_ACCESS_KEY=standinSecretKey0123456789abcdefWXYZ
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:$(cat "$T/port") AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

cat >"$T/jobs.jsonl" <<'JOBS'
{"id": "d1", "prompt": "A draft lighthouse", "model": "draft"}
{"id": "d2", "prompt": "A draft fox", "model": "draft"}
{"id": "n1", "prompt": "A canvas owl", "model": "stability.stable-image-core-v1:1"}
{"id": "n2", "prompt": "A canvas harbour", "model": "us.stability.stable-image-core-v1:1"}
{"id": "t1", "prompt": "A titan tower", "model": "stability.stable-image-ultra-v1:1"}
JOBS
batch=$("$BIN/onesheet" submit "$T/jobs.jsonl" 2>"$T/submit.err") || { cat "$T/submit.err"; fail "submit"; }
col() { db "select $1 from ledger_jobs where batch_id='$batch' and job_id='$2'"; }

# The draft worker alone: the draft jobs only.
"$BIN/onesheet-worker" --drain --handback-delay 1 2>"$T/draft.log" || { tail "$T/draft.log"; fail "draft worker"; }
for j in d1 d2; do [ "$(col state $j)" = succeeded ] || fail "$j: $(col state $j)"; done
for j in n1 n2 t1; do
    [ "$(col "state || ' ' || attempts" $j)" = "queued 0" ] || fail "$j was claimed by the draft worker"
    grep -q "event=job_not_served batch=$batch job=$j " "$T/draft.log" || fail "$j: no job_not_served"
done
ok "the draft worker generated the draft jobs and handed the Bedrock ones back unclaimed"

# A worker serving Stable Image Core only (its engine opened from --models): the
# two Core jobs, whatever their profile prefix; Ultra stays.
sleep 1.2   # the handed-back copies become visible
"$BIN/onesheet-worker" --models stability.stable-image-core-v1:1 --drain --handback-delay 1 \
    2>"$T/core.log" || { tail "$T/core.log"; fail "core worker"; }
for j in n1 n2; do
    [ "$(col state $j)" = succeeded ] || { tail "$T/core.log"; fail "$j: $(col state $j)"; }
    is_png "$ONESHEET_STATE_DIR/posters/$batch/$j.png" || fail "$j: no PNG"
done
[ "$(col model n1)" = stability.stable-image-core-v1:1 ] || fail "n1 model: $(col model n1)"
# The inference profile a Core job goes through is the worker's choice (as
# before): the base model is the job's.
[[ "$(col model n2)" == *stability.stable-image-core-v1:1 ]] || fail "n2 model: $(col model n2)"
[ "$(col "state || ' ' || attempts" t1)" = "queued 0" ] || fail "t1 was claimed by the Core worker"
grep -q "event=job_not_served batch=$batch job=t1 model=stability.stable-image-ultra-v1:1 served=stability.stable-image-core-v1:1" \
    "$T/core.log" || fail "t1: no job_not_served from the Core worker"
ok "a Core worker generated both Core jobs (any prefix) and left the Ultra one"

# A Bedrock worker with the default list (every Bedrock model): the rest.
sleep 1.2
ONESHEET_MODEL=stability.stable-image-ultra-v1:1 "$BIN/onesheet-worker" --drain \
    2>"$T/bedrock.log" || { tail "$T/bedrock.log"; fail "bedrock worker"; }
[ "$(col state t1)" = succeeded ] || fail "t1: $(col state t1)"
grep -q "models=.*stability.sd3-5-large-v1:0" "$T/bedrock.log" || fail "default list: every Bedrock model"
[ "$(db "select count(*) from ledger_jobs where batch_id='$batch' and state='succeeded'")" = 5 ] ||
    fail "not every job succeeded"
[ "$(db "select count(*) from queue_messages")" = 0 ] || fail "messages left in the queue"
[ "$(db "select count(*) from queue_dead")" = 0 ] || fail "a handed-back job was dead-lettered"
ok "every job generated once, by a worker serving its model; nothing left or dead-lettered"
