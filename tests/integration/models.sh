# Models that change under you (issue 23), on the Bedrock stand-in, which
# serves ListFoundationModels and GetFoundationModelAvailability as well as
# InvokeModel: `onesheet models` joins the live list with the compiled
# table; the list is cached (0600) and --refresh renews it; submit refuses
# a model the region no longer lists (65, nearest active model named)
# unless --force, and warns on a Legacy one ("legacy", its end-of-life date,
# higher prices); promote refuses and campaign plan flags; the worker ends a
# job whose model is gone `failed` with code model_retired after one call
# and logs each job's model lifecycle, which the ledger records with the
# job (model_lifecycle, shown by status --json); onesheet-api's submit
# routes refuse and warn as submit does, loading the list once;
# a 403 or a bad list falls back to the compiled table, said once; the
# draft default never calls the control plane.  The stand-in's list is also
# read by botocore, the AWS SDK for Python, when it is installed.
source "$(dirname "$0")/lib.sh"

tools=${ONESHEET_TEST_TOOLS:-$ROOT/build/rel/tools}
[ -x "$tools/bedrock_standin" ] || fail "bedrock_standin not built in $tools"
"$tools/bedrock_standin" --listen 127.0.0.1:0 --port-file "$T/port" --key AKIDSTANDIN \
    --secret standinSecretKey0123456789abcdefWXYZ --region us-west-2 --image-bytes 20000 \
    --legacy 'stability.stable-image-core-v1:1=-60d,-1d,+40d' >"$T/standin.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { cat "$T/standin.out"; fail "stand-in did not start"; }
url=http://127.0.0.1:$(cat "$T/port")
export AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDSTANDIN
export AWS_SECRET_ACCESS_KEY=standinSecretKey0123456789abcdefWXYZ
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$url AWS_ENDPOINT_URL_BEDROCK=$url
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export ONESHEET_MODEL_LIFECYCLE=on
stat_of() { curl -fsS "$url/__standin/stats" | jq -r ".$1 // 0"; }
switch() { curl -fsS -X POST -d "$1" "$url/__standin/lifecycle" >/dev/null; }
eol=$(date -u -d '+40 days' +%F)
core=stability.stable-image-core-v1:1 sd35=stability.sd3-5-large-v1:0

# ---- onesheet models ----
"$BIN/onesheet" models >"$T/models.txt" 2>"$T/models.err" || { cat "$T/models.err"; fail "models"; }
grep -q "^$core .*LEGACY .*$eol .*yes .*0.040" "$T/models.txt" || { cat "$T/models.txt"; fail "table row for Core"; }
grep -q "^$sd35 .*ACTIVE .*yes .*yes .*0.080" "$T/models.txt" || { cat "$T/models.txt"; fail "table row for SD3.5"; }
grep -q stable-diffusion-xl "$T/models.txt" && fail "SDXL (end of life) listed"
[ ! -s "$T/models.err" ] || { cat "$T/models.err"; fail "models said something on stderr"; }
"$BIN/onesheet" models --json >"$T/models.json"
jq -e --arg c "$core" --arg e "$eol" '.source == "bedrock" and
    (.models[] | select(.id == $c) | .status == "LEGACY" and .end_of_life_time == $e
     and .supported and .access == "yes" and .shape == "stability" and .seed_max == 4294967294
     and .price_usd == 0.04)' "$T/models.json" >/dev/null || { cat "$T/models.json"; fail "models --json"; }
cache=$ONESHEET_STATE_DIR/bedrock-models.json
[ "$(stat -c %a "$cache")" = 600 ] || fail "cache mode $(stat -c %a "$cache")"
[ "$(stat_of list_calls)" = 1 ] || fail "list calls $(stat_of list_calls), want 1 (the second from cache)"
ok "models lists the live image models joined with the table; the list is cached 0600"

# ---- the draft default never asks ----
"$BIN/onesheet" submit --prompt "A draft lighthouse" >/dev/null 2>"$T/draft.err" || fail "draft submit"
grep -qi "warning\|cannot list\|legacy" "$T/draft.err" && { cat "$T/draft.err"; fail "draft submit warned"; }
[ "$(stat_of list_calls)" = 1 ] || fail "a draft submit called the control plane"
ok "a draft submit makes no control-plane call"

# ---- Legacy: accepted with a warning ----
batch=$("$BIN/onesheet" submit --model "us.$core" --prompt "A legacy owl" 2>"$T/legacy.err") ||
    { cat "$T/legacy.err"; fail "legacy submit refused"; }
grep -q "legacy" "$T/legacy.err" || { cat "$T/legacy.err"; fail "no 'legacy' in the warning"; }
grep -q "end of life $eol" "$T/legacy.err" || { cat "$T/legacy.err"; fail "no end-of-life date"; }
grep -q "prices are higher" "$T/legacy.err" || { cat "$T/legacy.err"; fail "no higher prices"; }
[ "$(db "select count(*) from ledger_jobs where batch_id='$batch'")" = 1 ] || fail "legacy job not enqueued"
ok "a Legacy model is accepted with a warning: legacy, end of life $eol, higher prices"

# ---- removed: refused at submit, --force, the worker's model_retired ----
switch "{\"remove\":[\"$sd35\"]}"
"$BIN/onesheet" models --refresh --json | jq -e --arg m "$sd35" 'all(.models[]; .id != $m)' >/dev/null ||
    fail "a removed model is still listed after --refresh"
before=$(db "select count(*) from ledger_jobs")
expect_status 65 "$BIN/onesheet" submit --model "us.$sd35" --prompt "A gone fox"
grep -q "us.$sd35" "$T/err" && grep -q "does not offer it" "$T/err" &&
    grep -q 'nearest active model: "us.stability.stable-image-ultra-v1:1"' "$T/err" ||
    { cat "$T/err"; fail "the refusal does not name model, why and nearest"; }
[ "$(db "select count(*) from ledger_jobs")" = "$before" ] || fail "a refused submit enqueued"
expect_status 65 "$BIN/onesheet" promote no-such-batch --model "$sd35"
grep -q "does not offer it" "$T/err" || { cat "$T/err"; fail "promote"; }
printf '{"prompt": "A file owl", "model": "%s"}\n{"prompt": "A file fox", "model": "us.%s"}\n' \
    "$core" "$sd35" >"$T/rows.jsonl"
expect_status 65 "$BIN/onesheet" submit "$T/rows.jsonl"
grep -q "model: model \"us.$sd35\": Bedrock does not offer it" "$T/err" &&
    grep -q "is legacy on Bedrock" "$T/err" || { cat "$T/err"; fail "a file's own models were not judged"; }
[ "$(db "select count(*) from ledger_jobs")" = "$before" ] || fail "a refused file enqueued"
gone=$("$BIN/onesheet" submit --force --model "$sd35" --prompt "A forced fox" 2>"$T/force.err") ||
    { cat "$T/force.err"; fail "--force refused"; }
grep -q "going ahead (--force)" "$T/force.err" || fail "--force gave no warning"
ok "a removed model is refused at submit (--model or a file's entry; 65, nearest active named) and by promote; --force submits"

"$BIN/onesheet-worker" --drain --handback-delay 1 2>"$T/draft.log" || { tail "$T/draft.log"; fail "draft worker"; }
sleep 1.2   # the handed-back Bedrock jobs become visible
"$BIN/onesheet-worker" --models "$sd35,$core" --drain --handback-delay 1 2>"$T/worker.log" ||
    { tail "$T/worker.log"; fail "worker"; }
row=$(db "select state || ' ' || attempts || ' ' || error_code from ledger_jobs where batch_id='$gone'")
[ "$row" = "failed 1 model_retired" ] || { tail "$T/worker.log"; fail "removed model's job: $row"; }
[ "$(stat_of rejected.retired)" = 1 ] || fail "the gone model was called $(stat_of rejected.retired) times"
[ "$(db "select state from ledger_jobs where batch_id='$batch'")" = succeeded ] ||
    fail "the legacy job did not succeed"
grep -q "event=model_lifecycle model=$core status=LEGACY end_of_life=$eol" "$T/worker.log" &&
    grep -q "event=model_lifecycle model=$sd35 status=unlisted" "$T/worker.log" &&
    grep -q "event=job_succeeded batch=$batch .* lifecycle=LEGACY end_of_life=$eol" "$T/worker.log" &&
    grep -q "event=job_failed batch=$gone .*code=model_retired lifecycle=unlisted" "$T/worker.log" ||
    { cat "$T/worker.log"; fail "the worker did not record the models' lifecycle"; }
ok "a job whose model is gone fails once with code model_retired; the legacy job succeeds; each job logs its lifecycle"

# ---- the ledger keeps each finished job's model lifecycle ----
[ "$(db "select model_lifecycle from ledger_jobs where batch_id='$batch'")" = "LEGACY:$eol" ] ||
    fail "the legacy job's ledger row lacks LEGACY:$eol"
[ "$(db "select model_lifecycle from ledger_jobs where batch_id='$gone'")" = unlisted ] ||
    fail "the gone model's ledger row lacks unlisted"
[ "$(db "select count(*) from ledger_jobs where model = 'draft' and model_lifecycle is not null")" = 0 ] ||
    fail "a draft job has a model lifecycle"
"$BIN/onesheet" status "$batch" --json | jq -se --arg l "LEGACY:$eol" 'any(.[]; .model_lifecycle == $l)' >/dev/null ||
    fail "status --json does not show the legacy job's model_lifecycle"
"$BIN/onesheet" status "$gone" --json | jq -se 'any(.[]; .model_lifecycle == "unlisted" and .error.code == "model_retired")' >/dev/null ||
    fail "status --json does not show the gone job's model_lifecycle"
ok "the ledger records each finished job's model lifecycle (LEGACY:$eol, unlisted; none for draft); status --json shows it"

# ---- the API judges models as submit does, with the list loaded once ----
if [ -x "$BIN/onesheet-api" ]; then
    rm -f "$cache"
    calls=$(stat_of list_calls)
    "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" 2>"$T/api.log" &
    api_pid=$!
    PIDS+=("$api_pid")
    for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
    [ -s "$T/api.port" ] || { cat "$T/api.log"; fail "onesheet-api did not start"; }
    api=http://127.0.0.1:$(cat "$T/api.port")
    post() { curl -s -o "$T/api.json" -w '%{http_code}' -X POST -H 'content-type: application/json' -d "$2" "$api$1"; }
    [ "$(post /jobs '{"prompt": "An API owl"}')" = 202 ] && ! jq -e 'has("warnings")' "$T/api.json" >/dev/null ||
        { cat "$T/api.json"; fail "API: draft job"; }
    [ "$(stat_of list_calls)" = "$calls" ] || fail "API: a draft job called the control plane"
    before=$(db "select count(*) from ledger_jobs")
    [ "$(post /jobs "{\"prompt\": \"An API fox\", \"model\": \"us.$sd35\"}")" = 400 ] &&
        jq -e --arg m "us.$sd35" '.error.code == "model_unavailable" and .error.model == $m
            and .error.nearest == "us.stability.stable-image-ultra-v1:1"
            and (.error.message | contains("does not offer it"))' "$T/api.json" >/dev/null ||
        { cat "$T/api.json"; fail "API: a removed model was not refused with model, why and nearest"; }
    [ "$(post /generate-poster "{\"prompt\": \"An API fox\", \"model\": \"$sd35\"}")" = 400 ] ||
        { cat "$T/api.json"; fail "API: generate-poster took a removed model"; }
    [ "$(db "select count(*) from ledger_jobs")" = "$before" ] || fail "API: a refused model was enqueued"
    [ "$(post /jobs "{\"prompt\": \"An API owl\", \"model\": \"us.$core\"}")" = 202 ] &&
        jq -e --arg e "$eol" '.warnings | length == 1 and (.[0] | contains("legacy") and contains($e)
            and contains("prices are higher"))' "$T/api.json" >/dev/null ||
        { cat "$T/api.json"; fail "API: a Legacy model was not taken with a warning"; }
    [ "$(stat_of list_calls)" = $((calls + 1)) ] || fail "API: $(( $(stat_of list_calls) - calls )) list calls, want 1"
    kill -TERM "$api_pid"; wait "$api_pid" || fail "onesheet-api exited $? on SIGTERM"
    ok "the API refuses a removed model (400 model_unavailable, nearest named, nothing enqueued) and warns on a Legacy one; one list call per server"
fi

# ---- campaign plan flags an end of life before a planned firing ----
cat >"$T/camp.json" <<EOF
{"name": "daily", "schedule": "*-*-* 09:00:00", "model": "$core", "prompts": ["A daily poster"], "count": 1}
EOF
"$BIN/onesheet" campaign plan "$T/camp.json" >"$T/plan.out" 2>"$T/plan.err" || { cat "$T/plan.err"; fail "plan"; }
grep -q "reaches its end of life on $eol, before the firing" "$T/plan.err" || { cat "$T/plan.err"; fail "plan did not flag"; }
"$BIN/onesheet" campaign plan --json "$T/camp.json" 2>/dev/null |
    tee "$T/plan.json" | jq -e --arg e "$eol" '.model_end_of_life == $e and (.first_firing_after_end_of_life | . != null and . > $e)' >/dev/null ||
    { cat "$T/plan.json"; fail "plan --json lacks the end of life"; }
ok "campaign plan flags a model reaching end of life before a planned firing"

# ---- no list: the compiled table, said once, never failing ----
for mode in 403 garbage truncated badstatus baddate 500; do
    switch "{\"list\":\"$mode\"}"
    export ONESHEET_STATE_DIR=$T/fresh-$mode
    "$BIN/onesheet" models --json >"$T/fb.json" 2>"$T/fb.err" || { cat "$T/fb.err"; fail "$mode: models failed"; }
    jq -e '.source == "compiled"' "$T/fb.json" >/dev/null || fail "$mode: source $(jq -r .source "$T/fb.json")"
    [ "$(grep -c "cannot list Bedrock's models" "$T/fb.err")" = 1 ] || { cat "$T/fb.err"; fail "$mode: not said once"; }
    grep -q "compiled model table" "$T/fb.err" || fail "$mode: fallback not named"
    "$BIN/onesheet" submit --model "$sd35" --prompt "Fallback $mode" >/dev/null 2>"$T/fbs.err" ||
        { cat "$T/fbs.err"; fail "$mode: submit failed"; }
    [ "$(grep -c "cannot list" "$T/fbs.err")" = 1 ] || { cat "$T/fbs.err"; fail "$mode: submit note"; }
    [ ! -e "$ONESHEET_STATE_DIR/bedrock-models.json" ] || fail "$mode: a bad list was cached"
done
ok "403, 500, garbage, truncated, unknown status, bad date: compiled table, said once, nothing cached"

# ---- the real SDK reads the stand-in's list ----
if python3 -c 'import boto3' 2>/dev/null; then
    switch '{"list":"ok"}'
    python3 - "$url" "$core" <<'PY' || fail "botocore could not read the list"
import sys, boto3
c = boto3.client("bedrock", endpoint_url=sys.argv[1], region_name="us-west-2")
r = c.list_foundation_models(byOutputModality="IMAGE")
m = {s["modelId"]: s for s in r["modelSummaries"]}
life = m[sys.argv[2]]["modelLifecycle"]
assert life["status"] == "LEGACY" and life["endOfLifeTime"].year >= 2026, life
a = c.get_foundation_model_availability(modelId=sys.argv[2])
assert a["authorizationStatus"] == "AUTHORIZED", a
PY
    ok "botocore parses the stand-in's ListFoundationModels and availability replies"
else
    echo "# skipped: boto3 not installed"
fi
