#!/usr/bin/env bash
# The S3 store against s3rver with sigproxy in front: the proxy verifies
# every request's SigV4 signature (s3rver verifies none) and enforces
# If-None-Match: * and x-amz-checksum-sha256 (s3rver ignores both), so
# live_s3 proves signing, the 412 path and BadDigest end to end.  A second
# round goes through a proxy that loses every other reply.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build/rel}
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
LIVE=${ONESHEET_TEST_LIVE:-$BUILD/live}
for b in "$TOOLS/sigproxy" "$LIVE/live_s3"; do
    [ -x "$b" ] || { echo "FAIL: $b is not built (make tests)" >&2; exit 1; }
done

# shellcheck source=../support/emulators.sh
. "$ROOT/tests/support/emulators.sh"
PROXY_PID=
cleanup() {
    local rc=$?
    if [ -n "$PROXY_PID" ]; then
        kill "$PROXY_PID" 2>/dev/null || true
        wait "$PROXY_PID" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ] && [ -f "$EMU_DIR/sigproxy.log" ]; then
        echo "--- sigproxy log (last 30 lines)" >&2
        tail -n 30 "$EMU_DIR/sigproxy.log" >&2
    fi
    emu_stop_all
    exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_proxy EXTRA_ARGS...: sigproxy for s3rver with the S3RVER keys; sets
# PROXY_PID and PROXY_URL.
start_proxy() {
    local pf=$EMU_DIR/sigproxy.port deadline=$((SECONDS + 10))
    rm -f "$pf"
    "$TOOLS/sigproxy" --listen 127.0.0.1:0 --upstream "$EMU_S3" --service s3 \
        --region us-east-1 --key S3RVER --secret S3RVER --s3-preconditions \
        --port-file "$pf" --log "$EMU_DIR/sigproxy.log" "$@" 2>"$EMU_DIR/sigproxy.err" &
    PROXY_PID=$!
    until [ -s "$pf" ]; do
        kill -0 "$PROXY_PID" 2>/dev/null || { cat "$EMU_DIR/sigproxy.err" >&2; fail "sigproxy exited"; }
        [ "$SECONDS" -lt "$deadline" ] || fail "sigproxy did not start"
        sleep 0.05
    done
    PROXY_URL=http://127.0.0.1:$(cat "$pf")
}

# stop_proxy REJECTED: SIGTERM must give a clean exit (in sanitizer builds
# also free of leaks) and final counts with that many rejections.
stop_proxy() {
    local prc=0
    kill -TERM "$PROXY_PID"
    wait "$PROXY_PID" || prc=$?
    PROXY_PID=
    grep -q "\"rejected\":$1," "$EMU_DIR/sigproxy.err" || {
        cat "$EMU_DIR/sigproxy.err" >&2; fail "sigproxy final counts"; }
    [ "$prc" -eq 0 ] || { cat "$EMU_DIR/sigproxy.err" >&2; fail "sigproxy exited $prc"; }
}

# live [VAR=VALUE...]: live_s3 with only the proxy, the S3RVER keys and the
# region; nothing from the caller's own AWS setup may leak in.
live() {
    env -u AWS_ENDPOINT_URL -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_DEFAULT_REGION \
        -u AWS_ENDPOINT_URL_SQS -u AWS_ENDPOINT_URL_DYNAMODB \
        AWS_ENDPOINT_URL_S3="$PROXY_URL" AWS_REGION=us-east-1 \
        AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=3 \
        ONESHEET_LIVE_BUCKET=posters-live "$@" "$LIVE/live_s3"
}

emu_start s3
start_proxy
live
stop_proxy 2
# The objects really are in s3rver, written through the proxy.
ls "$EMU_DIR/s3/posters-live/live/b1/" | grep -q 'j1.png' || fail "s3rver holds no live/b1/j1.png"
echo "ok - S3 store against s3rver behind sigproxy"

start_proxy --fail-every 2 --fail-after
live ONESHEET_LIVE_FAULTS=1
stop_proxy 0
echo "ok - puts survive lost replies (retry, 412, checksum match)"
