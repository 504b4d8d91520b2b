# The AWS stack on loopback, for tests and benchmarks (sourced after
# emulators.sh): fauxqs, s3rver and dynalite, each behind a sigproxy that
# verifies every SigV4 signature (and S3's preconditions), plus the Bedrock
# stand-in; exports the AWS_* and ONESHEET_* settings that point onesheet
# at them.  Needs TOOLS (the built test tools), T (a scratch dir) and the
# PIDS array; extra stand-in flags in STANDIN_ARGS.
#   awsstack_start           start everything, export the settings
#   awsstack_rejections      print the total of signature rejections
awsstack_tool() {  # TOOL VAR ARGS...: run a tool that writes its port to a file
    local tool=$1 var=$2; shift 2
    local pf=$T/$var.port deadline=$((SECONDS + 15))
    "$TOOLS/$tool" --listen 127.0.0.1:0 --port-file "$pf" --region us-east-1 \
        --key S3RVER --secret S3RVER --log "$T/$var.log" "$@" 2>"$T/$var.err" &
    PIDS+=($!)
    until [ -s "$pf" ]; do
        [ "$SECONDS" -lt "$deadline" ] || { cat "$T/$var.err" >&2; echo "$tool did not start" >&2; return 1; }
        sleep 0.05
    done
    printf -v "$var" 'http://127.0.0.1:%s' "$(cat "$pf")"
}

awsstack_start() {
    emu_start sqs && emu_start s3 && emu_start dynamodb || return 1
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL
    awsstack_tool sigproxy SQS_PROXY --upstream "$EMU_SQS" --service sqs &&
    awsstack_tool sigproxy S3_PROXY --upstream "$EMU_S3" --service s3 --s3-preconditions &&
    awsstack_tool sigproxy DDB_PROXY --upstream "$EMU_DYNAMODB" --service dynamodb &&
    awsstack_tool bedrock_standin BEDROCK ${STANDIN_ARGS:-} || return 1
    export AWS_ENDPOINT_URL_SQS=$SQS_PROXY AWS_ENDPOINT_URL_S3=$S3_PROXY
    export AWS_ENDPOINT_URL_DYNAMODB=$DDB_PROXY AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$BEDROCK
    export ONESHEET_QUEUE=sqs:onesheet-it ONESHEET_LEDGER=dynamodb:onesheet-it
    export ONESHEET_STORE=s3://posters/it ONESHEET_MODEL=stability.sd3-5-large-v1:0
}

awsstack_rejections() {
    local total=0 n p
    for p in "$SQS_PROXY" "$S3_PROXY" "$DDB_PROXY"; do
        n=$(curl -fsS "$p/__sigproxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['rejected'])")
        total=$((total + n))
    done
    echo "$total"
}
