# Issue 18, item 11: AWS configuration as the SDKs read it, against the
# loopback AWS stack (emulators behind signature-checking proxies, the
# Bedrock stand-in).  Bounded: one small batch, every command under a
# timeout, loopback only.
#  - a profile whose [services] section names the emulator endpoints is
#    used with no AWS_ENDPOINT_URL* set: init, submit, a worker run and
#    status all go to the stack;
#  - a profile endpoint_url pointing at a closed loopback port is where
#    requests go (they fail there), never real AWS;
#  - AWS_RETRY_MODE=legacy is refused (78) naming it; AWS_MAX_ATTEMPTS=150
#    is taken as botocore takes it;
#  - the retired SDXL model is refused at submit, saying so, with nothing
#    enqueued.
source "$(dirname "$0")/lib.sh"
STANDIN_ARGS="--latency-ms 5 --image-bytes 20000"
use_aws_stack
run() { timeout -k 5 60 "$@"; }

# The stack's endpoints move from the variables into a config file.
cat >"$T/aws-config" <<EOF2
[profile it]
region = us-east-1
services = it-stack
endpoint_url = http://127.0.0.1:9

[services it-stack]
sqs =
  endpoint_url = $AWS_ENDPOINT_URL_SQS
s3 =
  endpoint_url = $AWS_ENDPOINT_URL_S3
dynamodb =
  endpoint_url = $AWS_ENDPOINT_URL_DYNAMODB
bedrock_runtime =
  endpoint_url = $AWS_ENDPOINT_URL_BEDROCK_RUNTIME
EOF2
unset AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_DYNAMODB \
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME AWS_ENDPOINT_URL AWS_REGION
export AWS_CONFIG_FILE=$T/aws-config AWS_PROFILE=it
run "$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init"; fail "init through the config file's endpoints"; }
printf 'A config-file poster one\nA config-file poster two\n' >"$T/in.txt"
batch=$(run "$BIN/onesheet" submit "$T/in.txt" 2>"$T/submit.err") || { cat "$T/submit.err"; fail submit; }
run "$BIN/onesheet-worker" --drain --concurrency 2 2>"$T/w.log" || { tail -20 "$T/w.log"; fail "worker"; }
got=$(run "$BIN/onesheet" list --batch "$batch" --json | jq -r .state | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
[ "$got" = "succeeded=2 " ] || fail "batch $batch: $got"
[ "$(awsstack_rejections)" = 0 ] || fail "signature rejections: $(awsstack_rejections)"
ok "a profile's [services] endpoint_url entries carry init, submit, the worker and status"

# The profile's own endpoint_url is next in line: with no [services] it is
# where every request goes -- here a closed loopback port, so list fails,
# naming it, and nothing is sent to amazonaws.com.
sed -i 's/^services = it-stack$//' "$T/aws-config"
set +e
AWS_MAX_ATTEMPTS=1 run "$BIN/onesheet" list --batch "$batch" >"$T/out" 2>"$T/err"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "list through a dead endpoint_url succeeded"
grep -q '127.0.0.1:9' "$T/err" || grep -q 'connect' "$T/err" || { cat "$T/err"; fail "error does not say where"; }
! grep -qi 'amazonaws' "$T/err" || { cat "$T/err"; fail "a request went to real AWS"; }
ok "a profile endpoint_url is used before any default endpoint (exit $rc)"

# AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns the config file's endpoints
# off, and the variables still work over it.
export AWS_ENDPOINT_URL_SQS=$SQS_PROXY AWS_ENDPOINT_URL_S3=$S3_PROXY
export AWS_ENDPOINT_URL_DYNAMODB=$DDB_PROXY AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$BEDROCK
run "$BIN/onesheet" list --batch "$batch" >/dev/null 2>"$T/err" || { cat "$T/err"; fail "variables over the config file"; }
ok "AWS_ENDPOINT_URL_<SERVICE> wins over the config file's endpoint_url"

# Retry settings.
AWS_RETRY_MODE=legacy expect_status 78 run "$BIN/onesheet" list --batch "$batch"
grep -q 'AWS_RETRY_MODE' "$T/err" && grep -q legacy "$T/err" || { cat "$T/err"; fail "legacy message"; }
sed -i 's/^\[profile it\]$/[profile it]\nretry_mode = legacy/' "$T/aws-config"
expect_status 78 run "$BIN/onesheet" list --batch "$batch"
grep -q 'retry_mode in the AWS config file' "$T/err" || { cat "$T/err"; fail "config legacy message"; }
sed -i 's/^retry_mode = legacy$/max_attempts = 4/' "$T/aws-config"
AWS_MAX_ATTEMPTS=150 run "$BIN/onesheet" list --batch "$batch" >/dev/null 2>"$T/err" ||
    { cat "$T/err"; fail "AWS_MAX_ATTEMPTS=150 refused"; }
ok "legacy retry mode refused (78) from the variable or the file; 150 attempts accepted"

# SDXL is retired on Bedrock: refused at submit, nothing enqueued.
before=$(run "$BIN/onesheet" list --json | { grep -c job_id || true; })
set +e
run "$BIN/onesheet" submit --model stability.stable-diffusion-xl-v1 --prompt "An SDXL poster" \
    >"$T/out" 2>"$T/err"; rc=$?
set -e
[ "$rc" = 64 ] || [ "$rc" = 65 ] || { cat "$T/err"; fail "SDXL submit exit $rc"; }
grep -q 'retired' "$T/err" && grep -q 'stability.sd3-5-large-v1:0' "$T/err" ||
    { cat "$T/err"; fail "SDXL message"; }
[ "$(run "$BIN/onesheet" list --json | { grep -c job_id || true; })" = "$before" ] || fail "an SDXL job was enqueued"
ok "the retired SDXL model is refused at submit (exit $rc) naming its replacement"
