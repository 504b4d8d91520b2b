#!/usr/bin/env bash
# Renditions (issue 20) on the AWS back-ends against the loopback emulators
# (SQS on fauxqs, the DynamoDB ledger on dynalite, S3 on s3rver, each behind
# a signature-checking proxy) and the Bedrock stand-in: a job listing three
# ratios costs one model call, with the proof's seed in the request; its
# three posters land in S3 beside each other (BATCH/JOB.png, .16x9.png,
# .1x1.png), each with its ratio; status --json lists them with presigned
# URLs that fetch; a second drain and a resubmit add nothing.
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "skip: no jq"; exit 0; }
STANDIN_ARGS="--latency-ms 10 --image-bytes 60000"
use_aws_stack
"$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init"; fail init; }

ratio_of() {  # FILE: "W H" of the PNG
    od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'
}
prompt="A fox in the snow, woodcut, renditions on S3"
b=$("$BIN/onesheet" submit --prompt "$prompt" --title "Winter" --seed 777 \
    --renditions 2:3,16:9,1:1 2>"$T/submit.err") || { cat "$T/submit.err"; fail submit; }
timeout -k 5 120 "$BIN/onesheet-worker" --drain --concurrency 2 2>"$T/w.log" ||
    { tail -20 "$T/w.log"; fail "worker"; }
j=$(job_id_of "$b" "A fox")
"$BIN/onesheet" status "$j" --json | tail -1 >"$T/st.json"
[ "$(jq -r .state "$T/st.json")" = succeeded ] || fail "job: $(cat "$T/st.json")"
[ "$(calls_for "$prompt")" = 1 ] || fail "$(calls_for "$prompt") model calls, want 1"
[ "$(jq -r .seed "$T/st.json")" = 777 ] || fail "seed: $(jq -r .seed "$T/st.json")"
# The stand-in writes the seed it was sent into the art it returns; the art
# is kept beside the posters (read from the emulator directly).
curl -fsS -o "$T/raw.png" "$EMU_S3/posters/it/$b/$j.raw.png" || fail "raw art not in S3"
grep -aq "bedrock_standin seed=777 " "$T/raw.png" || fail "the model was not sent seed 777"
ok "one model call for three renditions, with the spec's seed in the request"

[ "$(jq -r '[.renditions[].key] | join(" ")' "$T/st.json")" = "$b/$j.png $b/$j.16x9.png $b/$j.1x1.png" ] ||
    fail "keys: $(jq -c .renditions "$T/st.json")"
i=0
for want in "832 1248" "1280 720" "1024 1024"; do
    url=$(jq -r ".renditions[$i].url" "$T/st.json")
    case $url in *X-Amz-Signature=*) ;; *) fail "rendition $i: not a presigned URL: $url" ;; esac
    curl -fsS -o "$T/r$i.png" "$url" || fail "rendition $i: presigned URL does not fetch"
    is_png "$T/r$i.png" || fail "rendition $i: not a PNG"
    [ "$(ratio_of "$T/r$i.png")" = "$want" ] || fail "rendition $i: $(ratio_of "$T/r$i.png"), want $want"
    i=$((i + 1))
done
ok "three renditions in S3, each its ratio, presigned URLs in status --json"

timeout -k 5 60 "$BIN/onesheet-worker" --drain --concurrency 2 2>>"$T/w.log" || fail "second drain"
again=$("$BIN/onesheet" submit --prompt "$prompt" --title "Winter" --seed 777 \
    --renditions 2:3,16:9,1:1 2>"$T/submit2.err")
[ "$again" = "$b" ] || fail "resubmit made batch $again"
timeout -k 5 60 "$BIN/onesheet-worker" --drain --concurrency 2 2>>"$T/w.log" || fail "third drain"
[ "$(calls_for "$prompt")" = 1 ] || fail "resubmit or redrain called the model again"
ok "a second drain and a resubmit add no model call"
