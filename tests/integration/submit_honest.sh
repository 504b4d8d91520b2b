# An honest submit: model ids are checked against the model table at submit
# (exit 65 naming the file, line, field and the nearest known id; nothing
# enqueued unless --skip-invalid), in campaigns and in the API too; and
# --dry-run reads the ledger, tells new jobs from submitted ones and costs
# only the new, without creating a ledger that does not exist.
source "$(dirname "$0")/lib.sh"
cd "$T"

enqueued() { [ -f "$ONESHEET_STATE_DIR/onesheet.db" ] && db "select count(*) from queue_messages" || echo 0; }
BAD=stability.sd3-5-larg-v1:0
NEAR=stability.sd3-5-large-v1:0
SUGGEST="unknown model \"$BAD\" (did you mean \"$NEAR\"?)"

printf 'A lighthouse\nA harbour\n' > two.txt
expect_status 65 "$BIN/onesheet" submit --prompt "A harbour" --model "$BAD" --dry-run
grep -qF -- "--model: $SUGGEST" "$T/err" || fail "--model with --prompt"
[ ! -e "$ONESHEET_STATE_DIR/onesheet.db" ] || fail "a dry run created the ledger"
expect_status 65 "$BIN/onesheet" submit two.txt --model "$BAD"
grep -qF -- "--model: $SUGGEST" "$T/err" || { cat "$T/err"; fail "--model: message"; }
[ "$(enqueued)" = 0 ] || fail "an unknown --model enqueued something"
ok "--model with an unknown id: exit 65 naming the option and the nearest id"

printf '%s\n' '{"prompt":"one"}' '{"prompt":"two","model":"draft"}' \
    "{\"prompt\":\"three\",\"model\":\"$BAD\"}" \
    '{"prompt":"four","model":"us.stability.sd3-5-larg-v1:0"}' \
    '{"prompt":"five","model":"stability.stable-image-core-v1:1"}' > mixed.jsonl
expect_status 65 "$BIN/onesheet" submit mixed.jsonl
grep -qF "mixed.jsonl:3: model: $SUGGEST" "$T/err" || { cat "$T/err"; fail "line 3 named"; }
grep -qF 'mixed.jsonl:4: model: unknown model "us.stability.sd3-5-larg-v1:0" (did you mean "us.stability.sd3-5-large-v1:0"?)' \
    "$T/err" || { cat "$T/err"; fail "line 4: the profile kept in the suggestion"; }
[ "$(grep -c 'model: unknown model' "$T/err")" = 2 ] || fail "only the bad lines are named"
grep -q "2 invalid entries; nothing enqueued" "$T/err" || fail "says nothing enqueued"
[ "$(enqueued)" = 0 ] || fail "a file with unknown models enqueued something"
ok "a JSONL line with an unknown model: exit 65 naming file, line, field, nearest id"

expect_status 0 "$BIN/onesheet" submit --skip-invalid mixed.jsonl
[ "$(enqueued)" = 3 ] || fail "--skip-invalid enqueues the three good lines, not $(enqueued)"
grep -qF "mixed.jsonl:3: model:" "$T/err" || fail "--skip-invalid reports line 3"
[ "$(db "select count(*) from ledger_jobs where model is not null and model like '%larg-%'")" = 0 ] ||
    fail "an unknown model reached the ledger"
ok "--skip-invalid skips only the lines naming unknown models"

# Known ids pass: draft, a Bedrock id and inference profiles (no worker here
# serves Bedrock, so a dry run is enough to see them accepted).
for m in draft "$NEAR" "us.$NEAR" eu.stability.stable-image-core-v1:1 apac.stability.stable-image-ultra-v1:1; do
    expect_status 0 "$BIN/onesheet" submit two.txt --model "$m" --dry-run
done
printf '%s\n' "{\"prompt\":\"p\",\"model\":\"us.$NEAR\"}" > profile.jsonl
expect_status 0 "$BIN/onesheet" submit profile.jsonl
ok "draft, Bedrock ids and us./eu./apac. profiles are accepted"

# The configured default model is checked like a spec's own.
ONESHEET_MODEL=$BAD expect_status 65 "$BIN/onesheet" submit two.txt
grep -qF "two.txt:1: model: $SUGGEST" "$T/err" || { cat "$T/err"; fail "config default: line named"; }
grep -qF "the configured model: $SUGGEST" "$T/err" || fail "config default: named once"
printf '%s\n' "{\"prompt\":\"own model\",\"model\":\"$NEAR\"}" > own.jsonl
ONESHEET_MODEL=$BAD expect_status 0 "$BIN/onesheet" submit own.jsonl --dry-run
ok "an unknown configured model makes only the entries naming no model invalid"

# Campaigns: an unknown model fails plan and run with 65, enqueueing nothing.
sed -e "s/\"model\": \"draft\"/\"model\": \"$BAD\"/" "$ROOT/examples/campaign.json" > badmodel.json
before=$(enqueued)
expect_status 65 "$BIN/onesheet" campaign plan badmodel.json --slot 2026-11-30T09:00:00Z
grep -qF "badmodel.json: model: $SUGGEST" "$T/err" || { cat "$T/err"; fail "campaign plan message"; }
expect_status 65 "$BIN/onesheet" campaign run badmodel.json --slot 2026-11-30T09:00:00Z
grep -qF "badmodel.json: model: $SUGGEST" "$T/err" || { cat "$T/err"; fail "campaign run message"; }
[ "$(enqueued)" = "$before" ] || fail "campaign with an unknown model enqueued"
ok "campaign plan and run refuse an unknown model (exit 65)"

# --dry-run and the ledger.  A fresh state directory: no ledger yet.
export ONESHEET_STATE_DIR=$T/state2
printf 'Poster one\nPoster two\nPoster three\n' > batch.txt
"$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run >out1 2>err1 || { cat err1; fail "first dry run"; }
[ ! -e "$ONESHEET_STATE_DIR/onesheet.db" ] || fail "a dry run created the ledger"
grep -q 'estimated cost: \$0.24 for 3 jobs' err1 || { cat err1; fail "first dry run: all three costed"; }
grep -q 'would enqueue 3 jobs in batch .* (0 already submitted, 0 skipped as invalid)' err1 ||
    { cat err1; fail "first dry run: summary"; }
[ "$(grep -c ' new ' out1)" = 3 ] || { cat out1; fail "first dry run: every job new"; }
"$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run --json >json1 2>/dev/null
python3 - json1 <<'EOF' || fail "first dry run --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
jobs, summary = rows[:-1], rows[-1]
assert len(jobs) == 3 and all(j["new"] is True for j in jobs), jobs
assert summary["dry_run"] and summary["new"] == 3 and summary["submitted"] == 0, summary
EOF
ok "dry run without a ledger: all new, all costed, no ledger created"

"$BIN/onesheet" submit batch.txt --model "$NEAR" >/dev/null 2>&1 || fail "real submit"
"$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run >out2 2>err2 || { cat err2; fail "second dry run"; }
grep -q 'estimated cost: \$0.00 for 0 new jobs (3 already submitted, not counted' err2 ||
    { cat err2; fail "after submit: nothing costed"; }
grep -q 'would enqueue 0 jobs in batch .* (3 already submitted, 0 skipped as invalid)' err2 ||
    { cat err2; fail "after submit: summary"; }
[ "$(grep -c ' submitted ' out2)" = 3 ] || { cat out2; fail "after submit: every job submitted"; }
"$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run --json >json2 2>/dev/null
python3 - json2 <<'EOF' || fail "second dry run --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
jobs, summary = rows[:-1], rows[-1]
assert len(jobs) == 3 and all(j["new"] is False for j in jobs), jobs
assert summary["new"] == 0 and summary["submitted"] == 3 and summary["jobs"] == 3, summary
EOF
# --budget in a dry run counts the new jobs only: nothing new fits any budget.
expect_status 0 "$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run --budget 0
ok "dry run after a submit: 0 new, \$0.00"

# A job recorded but never sent (a submit interrupted between ledger and
# queue) is one a submit would send: new again.
J=$(db "select job_id from ledger_jobs order by job_id limit 1")
db "update ledger_jobs set enqueued_ms = 0 where job_id = '$J'"
"$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run >out3 2>err3
grep -q "^$J .* new " out3 || { cat out3; fail "never-sent job shown as new"; }
grep -q 'estimated cost: \$0.08 for 1 new job (2 already submitted' err3 || { cat err3; fail "never-sent job costed"; }
"$BIN/onesheet" submit batch.txt --model "$NEAR" --json >sub3 2>/dev/null
grep -q '"enqueued":1' sub3 || { cat sub3; fail "the real submit sends that one job"; }
ok "a job recorded but never sent counts as new, as the real submit agrees"

# Batch ids hash the whole input, so one more line is a new batch: the dry
# run counts what the real submit then enqueues.
echo 'Poster four' >> batch.txt
"$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run --json >json4 2>err4
new=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["new"])' json4)
"$BIN/onesheet" submit batch.txt --model "$NEAR" --json >sub4 2>/dev/null
sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["enqueued"])' sub4)
[ "$new" = "$sent" ] || fail "dry run said $new new, submit enqueued $sent"
"$BIN/onesheet" submit batch.txt --model "$NEAR" --dry-run >/dev/null 2>err5
grep -q 'would enqueue 0 jobs' err5 || { cat err5; fail "after the second submit: 0 new"; }
ok "after adding a line: the dry run's count is what submit enqueues ($sent)"

# The API refuses unknown models with 400 naming the field and the nearest id.
if [ -x "$BIN/onesheet-api" ]; then
    "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" 2>"$T/api.log" &
    API_PID=$!; PIDS+=("$API_PID")
    for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
    [ -s "$T/api.port" ] || { cat "$T/api.log"; fail "onesheet-api did not start"; }
    PORT=$(cat "$T/api.port")
    code=$(curl -s -o body -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"prompt\":\"x\",\"model\":\"$BAD\"}" "http://127.0.0.1:$PORT/generate-poster")
    [ "$code" = 400 ] || { cat body; fail "generate-poster: $code"; }
    python3 - body "model: $SUGGEST" <<'EOF' || fail "generate-poster body"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["code"] == "bad_request" and e["message"] == sys.argv[2], e
EOF
    code=$(curl -s -o body -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "[{\"prompt\":\"x\"},{\"prompt\":\"y\",\"model\":\"$BAD\"}]" "http://127.0.0.1:$PORT/jobs")
    [ "$code" = 400 ] || { cat body; fail "POST /jobs: $code"; }
    python3 - body "jobs[1]: model: $SUGGEST" <<'EOF' || fail "POST /jobs body"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["code"] == "bad_request" and e["details"] == [sys.argv[2]], e
EOF
    code=$(curl -s -o body -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"prompt\":\"z\",\"model\":\"us.$NEAR\"}" "http://127.0.0.1:$PORT/jobs")
    [ "$code" = 202 ] || { cat body; fail "POST /jobs with a profile id: $code"; }
    kill -TERM "$API_PID"; wait "$API_PID" || fail "onesheet-api exit status"
    ok "the API answers 400 naming the field and the nearest id"
fi
