# Proof, approve, promote on the embedded stack (SQLite queue and ledger,
# file store, draft proofs, the Bedrock stand-in for the paid model): a
# batch of 2 prompts x 4 variants is drawn as draft proofs; two are
# approved (one rejected); promote generates exactly the two approved ones
# on Stable Image Core, each with its proof's seed in the request body;
# promoting again adds nothing; lineage shows both ways; the budget, bad
# input and an empty selection are refused with nothing enqueued.
source "$(dirname "$0")/lib.sh"
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
[ -x "$TOOLS/bedrock_standin" ] || fail "bedrock_standin is not built"

SECRET=prStandinSecret$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDPROMOTETEST AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export ONESHEET_MODEL=draft
rm -f "$T/standin.port"
"$TOOLS/bedrock_standin" --listen 127.0.0.1:0 --port-file "$T/standin.port" \
    --key AKIDPROMOTETEST --secret "$SECRET" --region us-west-2 --image-bytes 20000 \
    --latency-ms 5 --log "$T/standin.log" >"$T/standin.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/standin.port" ] && break; sleep 0.05; done
[ -s "$T/standin.port" ] || { cat "$T/standin.out"; fail "stand-in did not start"; }
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:$(cat "$T/standin.port")
MODEL=us.stability.stable-image-core-v1:1
run_worker() {   # LOG MODELS
    timeout -k 5 90 "$BIN/onesheet-worker" --drain --concurrency 2 --models "$2" 2>>"$1" ||
        { tail -n 20 "$1" >&2; fail "worker ($2)"; }
}
states() { "$BIN/onesheet" list --batch "$1" --json | jq -r .state | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}'; }

# 1. Draft proofs: 2 prompts x 4 variants, distinct seeds, resubmit a no-op.
printf 'A lighthouse in a storm\nA fox in the snow\n' >"$T/in.txt"
"$BIN/onesheet" submit "$T/in.txt" --variants 4 --json >"$T/s1.json" 2>"$T/s1.err" ||
    { cat "$T/s1.err"; fail submit; }
proof=$(jq -r .batch "$T/s1.json")
[ "$(jq -r '"\(.jobs) \(.enqueued)"' "$T/s1.json")" = "8 8" ] || fail "submit: $(cat "$T/s1.json")"
"$BIN/onesheet" submit "$T/in.txt" --variants 4 --json >"$T/s2.json" 2>/dev/null
[ "$(jq -r '"\(.batch) \(.new) \(.enqueued)"' "$T/s2.json")" = "$proof 0 0" ] ||
    fail "resubmit enqueued: $(cat "$T/s2.json")"
"$BIN/onesheet" list --batch "$proof" --json >"$T/jobs.json"
[ "$(jq -r .spec.seed "$T/jobs.json" | sort -u | wc -l)" = 8 ] || fail "variant seeds are not distinct"
[ "$(jq -r '.variant.of' "$T/jobs.json" | sort -u | wc -l)" = 2 ] || fail "variants: not 2 prompts"
[ "$(jq -r '.variant.index' "$T/jobs.json" | sort | tr '\n' ' ')" = "1 1 2 2 3 3 4 4 " ] ||
    fail "variant indexes"
ok "draft batch: 8 variants of 2 prompts, distinct seeds, resubmit enqueues nothing"

# Approving before the proof exists is refused (65) and marks nothing.
first=$(jq -r 'select(.variant.index == 1) | .id' "$T/jobs.json" | head -1)
expect_status 65 "$BIN/onesheet" approve "$first"
grep -q 'not succeeded' "$T/err" || fail "approve queued job: $(cat "$T/err")"
run_worker "$T/w1.log" draft
[ "$(states "$proof")" = "succeeded=8 " ] || fail "proofs: $(states "$proof")"
# status groups a prompt's variants together, in index order
"$BIN/onesheet" status "$proof" >"$T/status.txt"
grep -o 'v[0-9]/4 of j[0-9a-f]*' "$T/status.txt" | awk '{print $1}' | tr '\n' ' ' >"$T/order"
[ "$(cat "$T/order")" = "v1/4 v2/4 v3/4 v4/4 v1/4 v2/4 v3/4 v4/4 " ] ||
    fail "status does not group variants: $(cat "$T/order")"
ok "proofs drawn; status groups each prompt's variants in order"

# 2. Approve two, reject one.
a1=$(jq -r 'select(.spec.prompt | startswith("A light")) | select(.variant.index == 2) | .id' "$T/jobs.json")
a2=$(jq -r 'select(.spec.prompt | startswith("A fox")) | select(.variant.index == 3) | .id' "$T/jobs.json")
r1=$(jq -r 'select(.spec.prompt | startswith("A fox")) | select(.variant.index == 1) | .id' "$T/jobs.json")
"$BIN/onesheet" approve "$a1" "$a2" --by alice@example >/dev/null 2>"$T/a.err" ||
    { cat "$T/a.err"; fail approve; }
"$BIN/onesheet" reject "$r1" --by bob --json >"$T/rej.json" 2>/dev/null || fail reject
[ "$(jq -r '"\(.review.state) \(.review.by)"' "$T/rej.json")" = "rejected bob" ] ||
    fail "reject JSON: $(cat "$T/rej.json")"
"$BIN/onesheet" status "$a1" --json >"$T/a1.json"
[ "$(jq -r '"\(.review.state) \(.review.by)"' "$T/a1.json")" = "approved alice@example" ] ||
    fail "status shows no mark: $(cat "$T/a1.json")"
jq -r .review.at "$T/a1.json" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' ||
    fail "review.at is not RFC 3339"
[ "$("$BIN/onesheet" list --approved --batch "$proof" --json | jq -r .id | sort | tr '\n' ' ')" = \
  "$(printf '%s\n' "$a1" "$a2" | sort | tr '\n' ' ')" ] || fail "list --approved"
expect_status 65 "$BIN/onesheet" approve no-such-job
expect_status 64 "$BIN/onesheet" approve
ok "approve 2, reject 1: marks with who and when; list --approved; bad ids refused"
"$BIN/onesheet" gallery "$proof" -o "$T/gallery" >/dev/null 2>&1 || fail gallery
[ "$(grep -o 'class="rv rv-approved"' "$T/gallery/index.html" | wc -l)" = 2 ] &&
[ "$(grep -o 'class="rv rv-rejected"' "$T/gallery/index.html" | wc -l)" = 1 ] &&
grep -q "id=\"$a1\" class=\"job job-succeeded job-approved\"" "$T/gallery/index.html" ||
    fail "the gallery does not show the marks"
ok "the gallery shows the marks"

# 3. Promote: bad input first, nothing enqueued.
before=$(db "select count(*) from ledger_jobs")||true
expect_status 65 "$BIN/onesheet" promote "$proof" --model stability.no-such-model-v9
grep -q 'model: unknown model' "$T/err" || fail "unknown model message: $(cat "$T/err")"
expect_status 65 "$BIN/onesheet" promote "$proof" --model stability.stable-diffusion-xl-v1
grep -q 'retired' "$T/err" || fail "retired model message: $(cat "$T/err")"
expect_status 65 "$BIN/onesheet" promote "$proof" --model "$MODEL" --budget 0.05
grep -q 'budget_usd: the estimate \$0.08 for 2 posters' "$T/err" || fail "budget: $(cat "$T/err")"
expect_status 64 "$BIN/onesheet" promote "$proof" --model "$MODEL" --only some
nothing=$("$BIN/onesheet" submit --prompt "Nothing approved here" --json 2>/dev/null | jq -r .batch)
expect_status 65 "$BIN/onesheet" promote "$nothing" --model "$MODEL"
grep -q 'only: batch .* has no approved job' "$T/err" || fail "empty selection: $(cat "$T/err")"
expect_status 0 "$BIN/onesheet" promote "$proof" --model "$MODEL" --dry-run --json
grep -q 'estimated cost: \$0.08 for 2 posters' "$T/err" || fail "dry-run estimate: $(cat "$T/err")"
[ "$(db "select count(*) from ledger_jobs")" = "$((before + 1))" ] ||
    fail "refused promotes changed the ledger"
ok "unknown and retired model, over budget, bad --only, nothing approved, dry run: nothing enqueued"

"$BIN/onesheet" promote "$proof" --model "$MODEL" --budget 1 --json >"$T/p1.json" 2>"$T/p1.err" ||
    { cat "$T/p1.err"; fail promote; }
grep -q 'estimated cost: \$0.08 for 2 posters' "$T/p1.err" || fail "estimate: $(cat "$T/p1.err")"
paid=$(jq -r .batch "$T/p1.json")
[ "$(jq -r '"\(.jobs) \(.new) \(.enqueued) \(.invalid)"' "$T/p1.json")" = "2 2 2 0" ] ||
    fail "promote JSON: $(cat "$T/p1.json")"
"$BIN/onesheet" promote "$proof" --model "$MODEL" --json >"$T/p2.json" 2>"$T/p2.err"
[ "$(jq -r '"\(.new) \(.enqueued)"' "$T/p2.json")" = "0 0" ] || fail "second promote: $(cat "$T/p2.json")"
run_worker "$T/w2.log" "$MODEL"
[ "$(states "$paid")" = "succeeded=2 " ] || fail "promoted: $(states "$paid")"
calls=$(grep -c "status=200" "$T/standin.log")
[ "$calls" = 2 ] || { cat "$T/standin.log"; fail "the stand-in saw $calls calls, not 2"; }
for j in "$a1" "$a2"; do
    seed=$(jq -r "select(.id == \"$j\") | .spec.seed" "$T/jobs.json")
    grep -q " seed=$seed\$" "$T/standin.log" || { cat "$T/standin.log"; fail "seed $seed of $j not sent"; }
done
ok "promote: one call per approved job with its proof's seed; promoting again adds nothing"

# 4. Lineage both ways; the promoted spec is the proof's with the model replaced.
"$BIN/onesheet" list --batch "$paid" --json >"$T/paid.json"
[ "$(jq -r .promoted_from "$T/paid.json" | sort | tr '\n' ' ')" = \
  "$(printf '%s\n' "$a1" "$a2" | sort | tr '\n' ' ')" ] || fail "promoted_from: $(cat "$T/paid.json")"
to=$(jq -r "select(.promoted_from == \"$a1\") | .id" "$T/paid.json")
[ "$("$BIN/onesheet" status "$a1" --json | jq -r '.promoted_to | join(",")')" = "$to" ] ||
    fail "promoted_to of $a1"
want=$(jq -c "select(.id == \"$a1\") | .spec | del(.model)" "$T/jobs.json")
got=$(jq -c "select(.id == \"$to\") | .spec | del(.model)" "$T/paid.json")
[ "$want" = "$got" ] || fail "promoted spec differs: $want vs $got"
[ "$(jq -r "select(.id == \"$to\") | .spec.model" "$T/paid.json")" = "$MODEL" ] || fail "model"
ok "lineage both ways; spec, seed and variant carried with the model replaced"

# 5. The same loop over HTTP: approve, 409 for a proof not finished,
# promote's refusals and dry run, the job JSON's review and lineage.
if [ -x "$BIN/onesheet-api" ]; then
    rm -f "$T/api.port"
    "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" >"$T/api.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
    [ -s "$T/api.port" ] || { cat "$T/api.log"; fail "onesheet-api did not start"; }
    API=http://127.0.0.1:$(cat "$T/api.port")
    post() { curl -s -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$API$1" ${2:+--data "$2"}; }
    [ "$(post "/jobs/$r1/approve" '{"by":"carol"}')" = 200 ] || fail "API approve: $(cat "$T/body")"
    [ "$(jq -r '"\(.review.state) \(.review.by) \(.variant.index)"' "$T/body")" = "approved carol 1" ] ||
        fail "API approve body: $(cat "$T/body")"
    queued=$("$BIN/onesheet" submit --prompt "Not drawn yet" --json 2>/dev/null | jq -r '.batch')
    qjob=$("$BIN/onesheet" list --batch "$queued" --json | jq -r .id)
    [ "$(post "/jobs/$qjob/reject")" = 409 ] || fail "API reject of a queued job: $(cat "$T/body")"
    [ "$(jq -r .error.code "$T/body")" = not_succeeded ] || fail "409 code: $(cat "$T/body")"
    [ "$(post "/batches/$proof/promote" '{"model":"stability.no-such-model-v9"}')" = 400 ] ||
        fail "API unknown model: $(cat "$T/body")"
    jq -r .error.message "$T/body" | grep -q '^model: ' || fail "400 names no field: $(cat "$T/body")"
    [ "$(post "/batches/$proof/promote" "{\"model\":\"$MODEL\",\"budget_usd\":0.01}")" = 422 ] ||
        fail "API over budget: $(cat "$T/body")"
    [ "$(post "/batches/$proof/promote" "{\"model\":\"$MODEL\",\"dry_run\":true}")" = 200 ] ||
        fail "API dry run: $(cat "$T/body")"
    # a1 and a2 are on MODEL already: only the newly approved r1 is new.
    [ "$(jq -r '"\(.jobs) \(.enqueued) \(.dry_run) \(.estimated_usd)"' "$T/body")" = "1 0 true 0.04" ] ||
        fail "API dry run body: $(cat "$T/body")"
    [ "$(curl -s "$API/jobs/$a1" | jq -r '"\(.review.state) \(.promoted_to | length)"')" = "approved 1" ] ||
        fail "GET /jobs shows no review or lineage"
    ok "HTTP: approve 200 with the mark, 409 not_succeeded, promote 400/422/dry run, lineage in GET"
fi
