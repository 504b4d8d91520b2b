# The AWS stack on loopback, for tests and benchmarks (sourced after
# emulators.sh): fauxqs, s3rver and dynalite, each behind a sigproxy that
# verifies every SigV4 signature (and S3's preconditions), plus the Bedrock
# stand-in; exports the AWS_* and ONESHEET_* settings that point onesheet
# at them.  Needs TOOLS (the built test tools), T (a scratch dir) and the
# PIDS array; extra stand-in flags in STANDIN_ARGS, extra sigproxy flags
# (all three) in SIGPROXY_ARGS.  AWSSTACK_FAULTPROXY=1 puts a faultproxy
# (tests/tools/faultproxy.c) in front of each sigproxy: the clients then talk
# to FP_SQS / FP_S3 / FP_DDB, whose rules the test posts to
# $FP_X/__faultproxy/rules; SQS_PROXY etc. stay the sigproxies.
#   awsstack_start           start everything, export the settings
#   awsstack_rejections      print the total of signature rejections
#   awsstack_tool TOOL VAR ARGS...     one tool with the S3RVER keys
#   awsstack_launch TOOL BASE ARGS...  any tool that writes its port to a file
#   awsstack_messages NAME   print how many messages SQS queue NAME holds
#                            (visible + in flight), asking fauxqs directly

# awsstack_launch TOOL BASE ARGS...: runs $TOOLS/TOOL on a free loopback
# port with its port in BASE.port, its log in BASE.log and its stderr in
# BASE.err, and waits up to 15 s for the port.  Sets AWSSTACK_PID (also on
# failure, so the caller can stop it) and AWSSTACK_URL; if the tool exits or
# does not start, prints its stderr and returns 1.
awsstack_launch() {
    local tool=$1 base=$2 deadline=$((SECONDS + 15)); shift 2
    rm -f "$base.port"
    "$TOOLS/$tool" --listen 127.0.0.1:0 --port-file "$base.port" --log "$base.log" \
        "$@" 2>"$base.err" &
    AWSSTACK_PID=$!
    until [ -s "$base.port" ]; do
        kill -0 "$AWSSTACK_PID" 2>/dev/null || { cat "$base.err" >&2; echo "$tool exited" >&2; return 1; }
        [ "$SECONDS" -lt "$deadline" ] || { cat "$base.err" >&2; echo "$tool did not start" >&2; return 1; }
        sleep 0.05
    done
    AWSSTACK_URL=http://127.0.0.1:$(cat "$base.port")
}

# awsstack_tool TOOL VAR ARGS...: a tool with the S3RVER keys, its files
# under $T/VAR.*, its pid added to PIDS; sets VAR to its URL.
awsstack_tool() {
    local tool=$1 var=$2 rc=0; shift 2
    awsstack_launch "$tool" "$T/$var" --region us-east-1 --key S3RVER --secret S3RVER "$@" || rc=$?
    PIDS+=("$AWSSTACK_PID")
    [ "$rc" -eq 0 ] || return 1
    printf -v "$var" '%s' "$AWSSTACK_URL"
}

awsstack_start() {
    emu_start sqs && emu_start s3 && emu_start dynamodb || return 1
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL
    awsstack_tool sigproxy SQS_PROXY --upstream "$EMU_SQS" --service sqs ${SIGPROXY_ARGS:-} &&
    awsstack_tool sigproxy S3_PROXY --upstream "$EMU_S3" --service s3 --s3-preconditions \
        ${SIGPROXY_ARGS:-} &&
    awsstack_tool sigproxy DDB_PROXY --upstream "$EMU_DYNAMODB" --service dynamodb \
        ${SIGPROXY_ARGS:-} &&
    awsstack_tool bedrock_standin BEDROCK ${STANDIN_ARGS:-} || return 1
    export AWS_ENDPOINT_URL_SQS=$SQS_PROXY AWS_ENDPOINT_URL_S3=$S3_PROXY
    export AWS_ENDPOINT_URL_DYNAMODB=$DDB_PROXY AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$BEDROCK
    if [ "${AWSSTACK_FAULTPROXY:-0}" = 1 ]; then
        awsstack_faultproxy FP_SQS "$SQS_PROXY" sqs &&
        awsstack_faultproxy FP_S3 "$S3_PROXY" s3 &&
        awsstack_faultproxy FP_DDB "$DDB_PROXY" dynamodb || return 1
        export AWS_ENDPOINT_URL_SQS=$FP_SQS AWS_ENDPOINT_URL_S3=$FP_S3
        export AWS_ENDPOINT_URL_DYNAMODB=$FP_DDB
    fi
    export ONESHEET_QUEUE=sqs:onesheet-it ONESHEET_LEDGER=dynamodb:onesheet-it
    export ONESHEET_STORE=s3://posters/it ONESHEET_MODEL=stability.sd3-5-large-v1:0
}

# awsstack_faultproxy VAR UPSTREAM SERVICE: a faultproxy (no rules yet) in
# front of UPSTREAM, its files under $T/VAR.*; sets VAR to its URL.
awsstack_faultproxy() {
    local var=$1 up=$2 svc=$3 rc=0
    awsstack_launch faultproxy "$T/$var" --upstream "$up" --service "$svc" || rc=$?
    PIDS+=("$AWSSTACK_PID")
    [ "$rc" -eq 0 ] || return 1
    printf -v "$var" '%s' "$AWSSTACK_URL"
}

awsstack_rejections() {
    local total=0 n p
    for p in "$SQS_PROXY" "$S3_PROXY" "$DDB_PROXY"; do
        n=$(curl -fsS "$p/__sigproxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['rejected'])")
        total=$((total + n))
    done
    echo "$total"
}

# awsstack_messages NAME: visible + in-flight messages of queue NAME, from
# the emulator itself (unsigned, past the proxy).
awsstack_messages() {
    python3 - "$EMU_SQS" "$1" <<'PY'
import json, sys, urllib.request
def call(target, body):
    req = urllib.request.Request(sys.argv[1], data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + target})
    return json.load(urllib.request.urlopen(req))
url = call("GetQueueUrl", {"QueueName": sys.argv[2]})["QueueUrl"]
a = call("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})["Attributes"]
print(int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]))
PY
}
