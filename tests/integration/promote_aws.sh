# Proof, approve, promote on the AWS back-ends against the loopback
# emulators (SQS on fauxqs, the DynamoDB ledger on dynalite, S3 on s3rver,
# each behind a signature-checking sigproxy; the Bedrock stand-in): draft
# proofs of 2 prompts x 3 variants, two approved and one rejected (marks in
# DynamoDB), promote makes exactly two Bedrock calls carrying the proofs'
# seeds; promoting again adds nothing; lineage reads both ways; the budget
# and an empty selection are refused with nothing written.
source "$(dirname "$0")/lib.sh"
STANDIN_ARGS="--latency-ms 5 --image-bytes 20000 --log $T/standin.log"
use_aws_stack
"$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init"; fail init; }
export ONESHEET_MODEL=draft
MODEL=us.stability.stable-image-core-v1:1
states() { "$BIN/onesheet" list --batch "$1" --json | jq -r .state | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}'; }
worker() {   # MODELS
    timeout -k 5 90 "$BIN/onesheet-worker" --drain --concurrency 2 --visibility 10 --models "$1" \
        2>>"$T/w.log" || { tail -n 20 "$T/w.log" >&2; fail "worker ($1) exit status $?"; }
}
jobs_of() { "$BIN/onesheet" list --batch "$1" --json; }

printf 'A harbour at dawn\nA desert at night\n' >"$T/in.txt"
proof=$("$BIN/onesheet" submit "$T/in.txt" --variants 3 2>"$T/s.err") || { cat "$T/s.err"; fail submit; }
[ "$("$BIN/onesheet" submit "$T/in.txt" --variants 3 --json 2>/dev/null | jq -r .enqueued)" = 0 ] ||
    fail "resubmit enqueued"
worker draft
[ "$(states "$proof")" = "succeeded=6 " ] || fail "proofs: $(states "$proof")"
jobs_of "$proof" >"$T/jobs.json"
[ "$(jq -r .spec.seed "$T/jobs.json" | sort -u | wc -l)" = 6 ] || fail "seeds not distinct"
a1=$(jq -r 'select(.spec.prompt | startswith("A harbour")) | select(.variant.index == 1) | .id' "$T/jobs.json")
a2=$(jq -r 'select(.spec.prompt | startswith("A desert")) | select(.variant.index == 3) | .id' "$T/jobs.json")
r1=$(jq -r 'select(.spec.prompt | startswith("A desert")) | select(.variant.index == 2) | .id' "$T/jobs.json")
ok "draft proofs on SQS/DynamoDB/S3: 6 variants with distinct seeds; resubmit a no-op"

expect_status 65 "$BIN/onesheet" promote "$proof" --model "$MODEL"
grep -q 'has no approved job' "$T/err" || fail "empty selection: $(cat "$T/err")"
"$BIN/onesheet" approve "$a1" "$a2" --by dana >/dev/null 2>&1 || fail approve
"$BIN/onesheet" reject "$r1" >/dev/null 2>&1 || fail reject
[ "$("$BIN/onesheet" list --approved --batch "$proof" --json | jq -r .id | sort | tr '\n' ' ')" = \
  "$(printf '%s\n' "$a1" "$a2" | sort | tr '\n' ' ')" ] || fail "list --approved"
[ "$("$BIN/onesheet" status "$r1" --json | jq -r .review.state)" = rejected ] || fail "reject mark"
expect_status 65 "$BIN/onesheet" promote "$proof" --model "$MODEL" --budget 0.05
grep -q 'over the budget' "$T/err" || fail "budget: $(cat "$T/err")"
[ "$("$BIN/onesheet" status --json | wc -l)" = 1 ] || fail "a refused promote wrote a batch"
ok "marks in DynamoDB; empty selection and over budget refused, nothing written"

"$BIN/onesheet" promote "$proof" --model "$MODEL" --json >"$T/p1.json" 2>"$T/p1.err" ||
    { cat "$T/p1.err"; fail promote; }
grep -q 'estimated cost: \$0.08 for 2 posters' "$T/p1.err" || fail "estimate: $(cat "$T/p1.err")"
paid=$(jq -r .batch "$T/p1.json")
[ "$(jq -r '"\(.jobs) \(.enqueued)"' "$T/p1.json")" = "2 2" ] || fail "promote: $(cat "$T/p1.json")"
[ "$("$BIN/onesheet" promote "$proof" --model "$MODEL" --json 2>/dev/null | jq -r .enqueued)" = 0 ] ||
    fail "second promote enqueued"
worker "$MODEL"
[ "$(states "$paid")" = "succeeded=2 " ] || fail "promoted: $(states "$paid")"
calls=$(grep -c "status=200" "$T/standin.log")
[ "$calls" = 2 ] || { cat "$T/standin.log"; fail "the stand-in saw $calls calls, not 2"; }
for j in "$a1" "$a2"; do
    seed=$(jq -r "select(.id == \"$j\") | .spec.seed" "$T/jobs.json")
    grep -q " seed=$seed\$" "$T/standin.log" || { cat "$T/standin.log"; fail "seed of $j not sent"; }
done
ok "promote on AWS: two Bedrock calls with the proofs' seeds; a second promote adds nothing"

jobs_of "$paid" >"$T/paid.json"
[ "$(jq -r .promoted_from "$T/paid.json" | sort | tr '\n' ' ')" = \
  "$(printf '%s\n' "$a1" "$a2" | sort | tr '\n' ' ')" ] || fail "promoted_from: $(cat "$T/paid.json")"
to=$(jq -r "select(.promoted_from == \"$a2\") | .id" "$T/paid.json")
[ "$("$BIN/onesheet" status "$a2" --json | jq -r '.promoted_to | join(",")')" = "$to" ] ||
    fail "promoted_to of $a2"
ok "lineage both ways in DynamoDB"
