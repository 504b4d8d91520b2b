# The whole pipeline on the AWS back-ends, against loopback emulators:
# fauxqs (SQS), dynalite (DynamoDB), s3rver (S3), each behind sigproxy, which
# verifies every SigV4 signature (the emulators check none) and enforces S3's
# If-None-Match and checksums; the Bedrock stand-in verifies signatures too.
#   - onesheet init creates queue + DLQ, table and bucket (and is idempotent)
#   - 200 jobs, two workers: every job succeeded in DynamoDB, its presigned
#     URL downloads with curl and matches the ledger's CRC-64/NVME; the
#     posters (no text: the art plus metadata) are stored once, sent with
#     x-amz-checksum-crc64nvme and UNSIGNED-PAYLOAD, which the S3 proxy
#     checked against every body
#   - a filtered prompt ends filtered with nothing stored
#   - throttling and 503s are retried to success
#   - a job that always fails lands in the dead-letter queue and is failed
#   - a duplicate delivery of a finished job makes no second Bedrock call
#   - no proxy rejected a signature
source "$(dirname "$0")/lib.sh"
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
for b in "$TOOLS/sigproxy" "$TOOLS/bedrock_standin"; do
    [ -x "$b" ] || fail "$b is not built (make tests)"
done
EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
source "$ROOT/tests/support/emulators.sh"
trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT

source "$ROOT/tests/support/awsstack.sh"
STANDIN_ARGS="--latency-ms 20 --image-bytes 200000"
awsstack_start || fail "could not start the AWS stack"
export ONESHEET_MAX_RECEIVES=2 ONESHEET_URL_TTL=900

"$BIN/onesheet" init >"$T/init1" 2>&1 || { cat "$T/init1"; fail "init"; }
grep -qi "created" "$T/init1" || { cat "$T/init1"; fail "init created nothing"; }
"$BIN/onesheet" init >"$T/init2" 2>&1 || { cat "$T/init2"; fail "second init"; }
grep -qi "exists" "$T/init2" || { cat "$T/init2"; fail "second init should find everything"; }
ok "onesheet init creates queue, DLQ, table, bucket; idempotent"

python3 -c "
for i in range(200): print(f'Poster {i}: a lighthouse in a storm, oil on canvas')
print('FLAKYME: a poster whose first call gets a 503')
print('THROTTLEONCEME: a poster whose first call is throttled')" > "$T/jobs.txt"
batch=$("$BIN/onesheet" submit "$T/jobs.txt" 2>"$T/submit.err") || { cat "$T/submit.err"; fail submit; }
fb=$("$BIN/onesheet" submit --prompt "FILTERME: a poster the content filter blocks" 2>/dev/null)
eb=$("$BIN/onesheet" submit --prompt "THROTTLEME: a poster that is always throttled" 2>/dev/null)
tb=$("$BIN/onesheet" submit --prompt "A poster with its title set over the art" \
    --title "The Lighthouse Keeper" 2>/dev/null)
"$BIN/onesheet-worker" --concurrency 4 --drain --visibility 20 2>"$T/w1.log" &
w1=$!; PIDS+=($w1)
"$BIN/onesheet-worker" --concurrency 4 --drain --visibility 20 2>"$T/w2.log" &
w2=$!; PIDS+=($w2)
wait "$w1" || fail "worker 1 exit status"
wait "$w2" || fail "worker 2 exit status"
# Deletes wait to go ten to a call; none may be left behind at exit.
[ "$(awsstack_messages onesheet-it)" = 0 ] ||
    fail "messages left in the queue after both workers drained it"

"$BIN/onesheet" list --batch "$batch" --json > "$T/jobs.json"
python3 - "$T/jobs.json" > "$T/urls" <<'PY' || fail "ledger states"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 202, len(rows)
bad = [r for r in rows if r['state'] != 'succeeded']
assert not bad, bad[:3]
for r in rows:
    assert 'X-Amz-Signature=' in r['url'], r['url']
    assert r['checksum_alg'] == 'crc64nvme' and 'sha256' not in r, r
    assert r['art_is_poster'] is True and r['art_key'].endswith('.png'), r
    print(r['checksum'], r['url'])
PY
n=0
while read -r sum url; do
    curl -fsS "$url" -o "$T/p.png" || fail "curl could not download a presigned URL"
    is_png "$T/p.png" || fail "downloaded object is not a PNG"
    [ "$(crc64_b64 "$T/p.png")" = "$sum" ] || fail "downloaded bytes differ from the ledger's crc64nvme"
    n=$((n + 1))
done < "$T/urls"
ok "202 jobs succeeded in DynamoDB across two workers; $n presigned URLs download and match"
grep -q 'job_retry' "$T"/w*.log || fail "no retry was logged for the flaky/throttled prompts"
ok "503 and throttling retried to success"

[ "$("$BIN/onesheet" status "$fb" --json | python3 -c "import json,sys; print([json.loads(l) for l in sys.stdin][1]['state'])")" = filtered ] \
    || fail "filtered prompt state"
"$BIN/onesheet" urls "$fb" > "$T/furls" 2>&1
[ ! -s "$T/furls" ] || fail "a filtered job has a stored object"
ok "filtered prompt ends filtered, nothing stored"

"$BIN/onesheet" status "$eb" --json | python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin]
j = rows[1]
assert j['state'] == 'failed', j" || fail "always-throttled job should end failed"
[ "$(awsstack_messages onesheet-it-dlq)" -ge 1 ] ||
    fail "the failed job's message is in the dead-letter queue"
ok "an always-failing job lands in the dead-letter queue and is failed"

# Deliver one finished job's message again: the worker must delete it
# without calling Bedrock.
calls_before=$(curl -fsS "$BEDROCK/__standin/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['calls'])")
python3 - "$T/jobs.json" <<PY || fail "re-sending a message"
import json, sys, urllib.request
job = json.loads(open(sys.argv[1]).readline())
body = json.dumps({"v": 1, "batch": job["batch"], "job": job["id"], "spec": job["spec"]},
                  separators=(",", ":"))
def call(target, b):
    req = urllib.request.Request("$EMU_SQS", data=json.dumps(b).encode(),
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + target})
    return json.load(urllib.request.urlopen(req))
url = call("GetQueueUrl", {"QueueName": "onesheet-it"})["QueueUrl"]
call("SendMessage", {"QueueUrl": url, "MessageBody": body})
PY
"$BIN/onesheet-worker" --concurrency 1 --drain 2>"$T/w3.log"
grep -q 'event=job_skipped.*reason=done' "$T/w3.log" || { cat "$T/w3.log"; fail "duplicate not skipped"; }
calls_after=$(curl -fsS "$BEDROCK/__standin/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['calls'])")
[ "$calls_after" = "$calls_before" ] || fail "duplicate delivery called Bedrock ($calls_before → $calls_after)"
ok "duplicate delivery of a finished job: deleted, no Bedrock call"

# Worker liveness on AWS: a worker serving only Titan registers in the
# DynamoDB table, hands a job naming another model back through SQS
# (SendMessage with DelaySeconds, then delete) without claiming it, status
# warns that no worker serves that model, and SIGTERM deregisters it.
other=$("$BIN/onesheet" submit --prompt "A poster for a model nobody serves" \
    --model stability.stable-image-core-v1:1 2>/dev/null)
"$BIN/onesheet-worker" --models stability.stable-image-ultra-v1:1 --beat-interval 1 \
    --handback-delay 2 2>"$T/w4.log" &
w4=$!; PIDS+=($w4)
for _ in $(seq 100); do "$BIN/onesheet" workers --json | grep -q '"alive":true' && break; sleep 0.1; done
"$BIN/onesheet" workers --json >"$T/workers.json"
python3 -c "
import json; w=[json.loads(l) for l in open('$T/workers.json')]
assert len(w)==1 and w[0]['pid']==$w4 and w[0]['models']==['stability.stable-image-ultra-v1:1'], w" ||
    fail "the worker is not in the DynamoDB registry"
for _ in $(seq 100); do grep -q "event=job_not_served batch=$other .*handed_back=resent" "$T/w4.log" && break; sleep 0.1; done
grep -q "event=job_not_served batch=$other .*handed_back=resent" "$T/w4.log" || { cat "$T/w4.log"; fail "not handed back"; }
"$BIN/onesheet" status "$other" --json >"$T/other.json" 2>"$T/other.err"
grep -q "no worker serves model stability.stable-image-core-v1:1" "$T/other.err" || fail "status: no warning on AWS"
python3 -c "
import json; j=[json.loads(l) for l in open('$T/other.json')][-1]
assert j['state']=='queued' and j.get('attempts', 0)==0, j" || fail "the unserved job was claimed"
kill -TERM "$w4"; wait "$w4" || fail "worker 4 exit status"
[ "$("$BIN/onesheet" workers --json | wc -l)" = 0 ] || fail "SIGTERM left the worker registered"
ok "AWS: registry in DynamoDB, unserved job handed back through SQS, no-worker warning, SIGTERM leaves"

for p in SQS_PROXY S3_PROXY DDB_PROXY; do
    u=${!p}
    curl -fsS "$u/__sigproxy/stats" | python3 -c "
import json, sys
s = json.load(sys.stdin)
assert s['rejected'] == 0 and s['requests'] > 0, s" || fail "$p rejected a signature"
done
curl -fsS "$BEDROCK/__standin/stats" | python3 -c "
import json, sys
s = json.load(sys.stdin)
rej = s.get('rejected', {})
assert rej.get('auth', 0) == 0 and rej.get('invalid', 0) == 0, s" || fail "the Bedrock stand-in rejected a request"
ok "every request's signature verified (0 rejections)"

# The lean byte path: one object per text-less job (no JOB.raw.png), each
# put with its CRC (checked by the proxy) and an unsigned payload.
objs=$(find "$EMU_DIR" -name '*._S3rver_object' | grep -c "/$batch/" || true)
[ "$objs" = 202 ] || fail "expected 202 objects for the batch (stored once), found $objs"
[ "$(find "$EMU_DIR" -path "*/$batch/*.raw.png._S3rver_object" | wc -l)" = 0 ] ||
    fail "raw art stored beside a text-less poster"
curl -fsS "$S3_PROXY/__sigproxy/stats" | python3 -c "
import json, sys
s = json.load(sys.stdin)
assert s['crc_checked'] >= 202 and s['unsigned_payload'] >= 202 and s['bad_digest'] == 0, s" ||
    fail "the S3 proxy did not see CRC-checked unsigned puts"
ok "text-less posters stored once, with x-amz-checksum-crc64nvme and UNSIGNED-PAYLOAD"
# A poster with text keeps its raw art beside it, and says so.
"$BIN/onesheet" status "$tb" --json | python3 -c "
import json, sys
j = [json.loads(l) for l in sys.stdin][1]
assert j['state'] == 'succeeded' and j['art_is_poster'] is False, j
assert j['art_key'].endswith('.raw.png') and j['checksum_alg'] == 'crc64nvme', j
print(j['art_key'])" > "$T/tart" || fail "status of the titled poster"
[ -n "$(find "$EMU_DIR" -path "*$(cat "$T/tart")._S3rver_object")" ] || fail "no raw art beside the titled poster"
ok "a poster with text keeps its raw art (art_is_poster false, art_key JOB.raw.png)"

