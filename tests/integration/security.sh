# Security checks as tests (issue 9):
#   - a small batch through the AWS stack (loopback emulators behind
#     signature-verifying proxies, the Bedrock stand-in) with a unique secret
#     key and a session token: no log line or stderr of init, submit, the
#     worker at --log-level debug, status or urls contains the secret, the
#     token, a signature value or a presigned query; stdout may carry the
#     presigned URLs (that is the product) but nothing else secret
#   - TLS verification cannot be turned off anywhere in the code, and plain
#     http to a non-loopback AWS endpoint is refused before any connection
# Covered elsewhere: state directory 0700 and ledger 0600 (e2e_embedded.sh);
# presigned TTL capped at credential expiry (test_store_s3, test_sigv4);
# http:// to remote hosts refused by the client (test_http
# plain_http_to_remote_host_is_refused_before_connecting).
source "$(dirname "$0")/lib.sh"
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
for b in "$TOOLS/sigproxy" "$TOOLS/bedrock_standin"; do
    [ -x "$b" ] || fail "$b is not built (make tests)"
done

# Static: no code path may switch certificate checks off.
if grep -rnE 'CURLOPT_SSL_VERIFY(PEER|HOST|STATUS)[^;]*,[[:space:]]*0L?[[:space:]]*\)|CURLOPT_PROXY_SSL_VERIFY' \
        "$ROOT"/common "$ROOT"/submit "$ROOT"/worker "$ROOT"/api 2>/dev/null; then
    fail "TLS verification is disabled somewhere"
fi
grep -q 'CURLOPT_SSL_VERIFYPEER, 1L' "$ROOT/common/aws/http.c" || fail "http.c no longer sets VERIFYPEER"
# Plain http beyond loopback is for the two endpoints AWS defines as http:
# container credentials (link-local, checked in creds_remote.c) and the
# Lambda Runtime API.
insecure=$(grep -rlE 'allow_insecure_http[[:space:]]*=[[:space:]]*true' \
    "$ROOT"/common "$ROOT"/submit "$ROOT"/worker "$ROOT"/api | sed "s#^$ROOT/##" | sort | tr '\n' ' ' || true)
[ "$insecure" = "api/lambda.c common/aws/creds_remote.c " ] ||
    fail "plain http allowed beyond the container-credentials and Lambda runtime clients: $insecure"
ok "TLS verification is always on; plain http only for container credentials and the Lambda runtime"

# Plain http to a remote endpoint is refused before connecting (192.0.2.1 is
# TEST-NET: a connection attempt would hang, not fail fast).
AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 \
AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
AWS_ENDPOINT_URL_SQS=http://192.0.2.1:9324 ONESHEET_QUEUE=sqs:q \
    timeout 20 "$BIN/onesheet" init >"$T/out" 2>"$T/err" && fail "init over http to a remote host succeeded"
grep -q "plain http is only allowed to loopback hosts" "$T/err" ||
    { cat "$T/err" >&2; fail "http to a remote endpoint not refused as such"; }
ok "plain http to a non-loopback endpoint is refused"

EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
source "$ROOT/tests/support/emulators.sh"
trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT
[ -n "${KEEP:-}" ] && trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; emu_stop_all' EXIT
source "$ROOT/tests/support/awsstack.sh"

# Unique, greppable credentials (S3RVER, the stack's usual key, is also its
# key id and bucket-ish noise, so it would prove nothing).
rnd=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
KEY=AKIASEC${rnd:0:13}
KEY=${KEY^^}
SECRET=secSecretNeverLogged${rnd}Zq
TOKEN=secTokenNeverLogged${rnd}/+=Ab
emu_start sqs && emu_start s3 && emu_start dynamodb || fail "emulators"
creds=(--region us-east-1 --key "$KEY" --secret "$SECRET" --token "$TOKEN")
start() {  # start VAR TOOL ARGS...
    local var=$1 tool=$2 rc=0; shift 2
    awsstack_launch "$tool" "$T/$var" "${creds[@]}" "$@" || rc=$?
    PIDS+=("$AWSSTACK_PID")
    [ "$rc" = 0 ] || fail "$tool did not start"
    printf -v "$var" '%s' "$AWSSTACK_URL"
}
start SQS_PROXY sigproxy --upstream "$EMU_SQS" --service sqs
start S3_PROXY sigproxy --upstream "$EMU_S3" --service s3 --s3-preconditions
start DDB_PROXY sigproxy --upstream "$EMU_DYNAMODB" --service dynamodb
start BEDROCK bedrock_standin --latency-ms 5 --image-bytes 20000
export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$TOKEN
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL
export AWS_ENDPOINT_URL_SQS=$SQS_PROXY AWS_ENDPOINT_URL_S3=$S3_PROXY
export AWS_ENDPOINT_URL_DYNAMODB=$DDB_PROXY AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$BEDROCK
export ONESHEET_QUEUE=sqs:onesheet-sec ONESHEET_LEDGER=dynamodb:onesheet-sec
export ONESHEET_STORE=s3://posters/sec ONESHEET_MODEL=stability.sd3-5-large-v1:0
export ONESHEET_URL_TTL=600 ONESHEET_LOG_LEVEL=debug

O=$T/out.d; mkdir -p "$O"
"$BIN/onesheet" init >"$O/init.out" 2>"$O/init.err" || { cat "$O/init.err"; fail init; }
printf 'Poster %s: a lighthouse in a storm\n' 1 2 3 4 5 > "$T/jobs.txt"
batch=$("$BIN/onesheet" submit "$T/jobs.txt" 2>"$O/submit.err") || { cat "$O/submit.err"; fail submit; }
"$BIN/onesheet-worker" --drain --concurrency 2 --log-level debug >"$O/worker.out" 2>"$O/worker.err" ||
    { tail -20 "$O/worker.err"; fail "worker"; }
"$BIN/onesheet" status "$batch" --json >"$O/status.out" 2>"$O/status.err" ||
    { cat "$O/status.err"; fail status; }
"$BIN/onesheet" urls "$batch" >"$O/urls.out" 2>"$O/urls.err" ||
    { cat "$O/urls.err"; fail urls; }
[ "$(grep -c 'X-Amz-Signature=' "$O/urls.out")" = 5 ] || { cat "$O/urls.out"; fail "urls: want 5 presigned URLs"; }
[ "$(grep -c '"succeeded"' "$O/status.out")" -ge 5 ] || { cat "$O/status.out"; fail "status: 5 succeeded"; }
[ "$(grep -c 'event=job_succeeded' "$O/worker.err")" = 5 ] || { cat "$O/worker.err"; fail "worker log: want 5 job_succeeded lines"; }
[ "$(awsstack_rejections)" = 0 ] || fail "a proxy rejected a signature"

# The signatures actually used: every presigned URL's, and the stand-in's
# and proxies' view of header signatures is not ours to read, so also any
# 64-hex "Signature=" value anywhere.
sigs=$(grep -o 'X-Amz-Signature=[0-9a-f]*' "$O/urls.out" | cut -d= -f2 | sort -u)
check() {  # check FILE NEEDLE WHAT
    if grep -qF -- "$2" "$1"; then
        grep -nF -- "$2" "$1" | head -3 >&2
        fail "$(basename "$1") contains $3"
    fi
}
for f in "$O"/*.err "$O"/worker.out "$O"/init.out; do
    check "$f" "$SECRET" "the secret key"
    check "$f" "$TOKEN" "the session token"
    check "$f" "${TOKEN//\//%2F}" "the session token (encoded)"
    check "$f" "X-Amz-Signature=" "a presigned query"
    check "$f" "X-Amz-Security-Token=" "a presigned query"
    check "$f" "X-Amz-Credential=" "a presigned query"
    for s in $sigs; do check "$f" "$s" "a signature value"; done
    if grep -qE 'Signature=[0-9a-f]{64}' "$f"; then fail "$(basename "$f") contains a header signature"; fi
done
# stdout of status/urls: the URLs are the product; outside them, nothing.
for f in "$O"/status.out "$O"/urls.out; do
    check "$f" "$SECRET" "the secret key"
    sed -E 's#https?://[^" ]*##g' "$f" > "$f.nourl"
    check "$f.nourl" "$TOKEN" "the session token outside a URL"
    check "$f.nourl" "${TOKEN//\//%2F}" "the session token outside a URL"
done
ok "5 jobs on AWS at debug level: no secret, token, signature or presigned query in any log"
