# One emulator behind one sigproxy, for the *_live.sh scripts (sourced after
# emulators.sh): the proxy verifies every request's SigV4 signature (the
# emulators verify none), so a live_* test proves signing as well as the
# back-end's behaviour.
#   proxy_init LIVE_BIN        set BUILD/TOOLS/LIVE, check the binaries are
#                              built, install the EXIT trap (proxy_cleanup)
#   proxy_start UPSTREAM SERVICE KEY ARGS...
#                              sigproxy for UPSTREAM with KEY as key and
#                              secret; sets PROXY_PID and PROXY_URL
#   proxy_live VAR=VALUE... BIN
#                              BIN with only the proxy's key and the region
#                              (plus VAR=VALUE...): nothing from the
#                              caller's own AWS setup may leak in
#   proxy_stop REJECTED        SIGTERM must give a clean exit (in sanitizer
#                              builds also free of leaks) and final counts
#                              with exactly REJECTED rejections
# shellcheck source=awsstack.sh
. "$ROOT/tests/support/awsstack.sh"
PROXY_PID=

proxy_init() {
    BUILD=${BUILD:-$ROOT/build/rel}
    TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
    LIVE=${ONESHEET_TEST_LIVE:-$BUILD/live}
    trap proxy_cleanup EXIT
    local b
    for b in "$TOOLS/sigproxy" "$LIVE/$1"; do
        [ -x "$b" ] || { echo "FAIL: $b is not built (make tests)" >&2; exit 1; }
    done
}

# On failure the proxy's and the emulator's logs say what went wrong.
proxy_cleanup() {
    local rc=$? f
    if [ -n "$PROXY_PID" ]; then
        kill "$PROXY_PID" 2>/dev/null || true
        wait "$PROXY_PID" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ]; then
        for f in "$EMU_DIR"/*.log; do
            [ -f "$f" ] && { echo "--- ${f##*/} (last 30 lines)" >&2; tail -n 30 "$f" >&2; }
        done
    fi
    emu_stop_all
    exit "$rc"
}

proxy_start() {
    local upstream=$1 service=$2 rc=0; PROXY_KEY=$3; shift 3
    awsstack_launch sigproxy "$EMU_DIR/sigproxy" --upstream "$upstream" --service "$service" \
        --region us-east-1 --key "$PROXY_KEY" --secret "$PROXY_KEY" "$@" || rc=$?
    PROXY_PID=$AWSSTACK_PID
    [ "$rc" -eq 0 ] || { echo "FAIL: sigproxy did not start" >&2; exit 1; }
    PROXY_URL=$AWSSTACK_URL
}

proxy_live() {
    env -u AWS_ENDPOINT_URL -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_DEFAULT_REGION \
        -u AWS_ENDPOINT_URL_SQS -u AWS_ENDPOINT_URL_S3 -u AWS_ENDPOINT_URL_DYNAMODB \
        AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID="$PROXY_KEY" AWS_SECRET_ACCESS_KEY="$PROXY_KEY" \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        AWS_EC2_METADATA_DISABLED=true "$@"
}

proxy_stop() {
    local prc=0 err=$EMU_DIR/sigproxy.err
    kill -TERM "$PROXY_PID"
    wait "$PROXY_PID" || prc=$?
    PROXY_PID=
    grep -q "\"rejected\":$1," "$err" || {
        cat "$err" >&2; echo "FAIL: sigproxy final counts (want $1 rejected)" >&2; exit 1; }
    [ "$prc" -eq 0 ] || { cat "$err" >&2; echo "FAIL: sigproxy exited $prc" >&2; exit 1; }
}
