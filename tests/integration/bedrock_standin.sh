# The worker against the Bedrock stand-in (tests/tools/bedrock_standin.c):
# signed InvokeModel calls for real, one paid call per job (a flaky first
# call is retried inside the job), filtered and broken replies end the job
# without a file, a spec the model cannot take fails without any call, and
# resubmitting plus a second drain makes no further calls.
source "$(dirname "$0")/lib.sh"

tools=${ONESHEET_TEST_TOOLS:-$ROOT/build/rel/tools}
[ -x "$tools/bedrock_standin" ] || fail "bedrock_standin not built in $tools"
"$tools/bedrock_standin" --listen 127.0.0.1:0 --port-file "$T/port" --key AKIDSTANDIN \
    --secret standinSecretKey0123456789abcdefWXYZ --region us-west-2 \
    --image-bytes 150000 --log "$T/standin.log" >"$T/standin.out" 2>&1 &
standin=$!
PIDS+=($standin)
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { cat "$T/standin.out"; fail "stand-in did not start"; }
url=http://127.0.0.1:$(cat "$T/port")

export AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDSTANDIN
export AWS_SECRET_ACCESS_KEY=standinSecretKey0123456789abcdefWXYZ
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$url AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export ONESHEET_MODEL=us.stability.sd3-5-large-v1:0

stat() {  # a path into GET /__standin/stats, e.g. "rejected auth"
    curl -sf "$url/__standin/stats" | python3 -c "
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1:]: d = d.get(k, 0)
print(d)" "$@"
}
calls_for() { stat prompts "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"; }
col() { db "select $1 from ledger_jobs where batch_id='$batch' and job_id='$2'"; }

cat >"$T/jobs.jsonl" <<EOF
{"id": "ok1", "prompt": "A lighthouse at the edge of the stars"}
{"id": "ok2", "prompt": "A fox in the snow, woodcut", "aspect_ratio": "16:9"}
{"id": "ok3", "prompt": "An owl at dusk", "model": "stability.stable-image-ultra-v1:1"}
{"id": "flaky", "prompt": "FLAKYME: a harbour at night"}
{"id": "filtered", "prompt": "FILTERME: something the filter blocks"}
{"id": "garbage", "prompt": "GARBAGEME: a reply cut in half"}
EOF
batch=$("$BIN/onesheet" submit "$T/jobs.jsonl" 2>"$T/submit.err") || { cat "$T/submit.err"; fail "submit"; }
"$BIN/onesheet-worker" --concurrency 3 --drain --log-level info 2>"$T/worker.log" ||
    { tail -20 "$T/worker.log"; fail "worker exited non-zero"; }

for j in ok1 ok2 ok3 flaky; do
    [ "$(col state $j)" = succeeded ] || {
        db "select job_id, state, error_code, error_message from ledger_jobs"; fail "$j"; }
    is_png "$ONESHEET_STATE_DIR/posters/$batch/$j.png" || fail "$j: no PNG"
done
[ "$(col model ok1)" = us.stability.sd3-5-large-v1:0 ] || fail "ok1 model: $(col model ok1)"
[ "$(col model ok3)" = stability.stable-image-ultra-v1:1 ] || fail "ok3 model: $(col model ok3)"
[ "$(col cost_usd ok1)" = 0.08 ] || fail "ok1 cost: $(col cost_usd ok1)"
ok "4 posters generated through the stand-in, model and cost recorded"

[ "$(col state filtered)" = filtered ] || fail "filtered: $(col state filtered)"
[ "$(col state garbage)" = failed ] || fail "garbage: $(col state garbage)"
[ ! -e "$ONESHEET_STATE_DIR/posters/$batch/filtered.png" ] || fail "a filtered job stored bytes"
ok "filtered and broken jobs end without a file"

for p in "A lighthouse at the edge of the stars" "FILTERME: something the filter blocks" \
         "GARBAGEME: a reply cut in half"; do
    [ "$(calls_for "$p")" = 1 ] || fail "'$p': $(calls_for "$p") calls"
done
[ "$(calls_for "FLAKYME: a harbour at night")" = 2 ] || fail "flaky: one retry expected"
ok "one call per job (two for the flaky one), none for the impossible one"

before=$(stat calls)
again=$("$BIN/onesheet" submit "$T/jobs.jsonl" 2>/dev/null)
[ "$again" = "$batch" ] || fail "resubmit: same batch"
"$BIN/onesheet-worker" --drain --log-level warn 2>>"$T/worker.log"
after=$(stat calls)
[ "$before" = "$after" ] || fail "resubmit made $((after - before)) more Bedrock calls"
[ "$(stat rejected auth)" = 0 ] || fail "the stand-in refused a signature"
ok "resubmit and a second drain make no Bedrock call"

kill -TERM "$standin"
wait "$standin" || fail "the stand-in did not exit cleanly on SIGTERM"
PIDS=()
n=$(grep -c "status=" "$T/standin.log")
[ "$n" = 7 ] || { cat "$T/standin.log"; fail "the stand-in logged $n requests, not 7"; }
ok "the stand-in stops on SIGTERM"
