#!/usr/bin/env bash
# The SQS queue against fauxqs with sigproxy in front: the proxy verifies
# every request's SigV4 signature (fauxqs verifies none), so live_sqs
# proves signing as well as the queue semantics (batches, visibility,
# receive counts, redrive to the dead-letter queue, init).
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build/rel}
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
LIVE=${ONESHEET_TEST_LIVE:-$BUILD/live}
for b in "$TOOLS/sigproxy" "$LIVE/live_sqs"; do
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
    if [ "$rc" -ne 0 ]; then
        for f in sigproxy.log sqs.log; do
            [ -f "$EMU_DIR/$f" ] && { echo "--- $f (last 30 lines)" >&2; tail -n 30 "$EMU_DIR/$f" >&2; }
        done
    fi
    emu_stop_all
    exit "$rc"
}
trap cleanup EXIT

emu_start sqs
pf=$EMU_DIR/sigproxy.port
"$TOOLS/sigproxy" --listen 127.0.0.1:0 --upstream "$EMU_SQS" --service sqs \
    --region us-east-1 --key test --secret test \
    --port-file "$pf" --log "$EMU_DIR/sigproxy.log" 2>"$EMU_DIR/sigproxy.err" &
PROXY_PID=$!
deadline=$((SECONDS + 10))
until [ -s "$pf" ]; do
    kill -0 "$PROXY_PID" 2>/dev/null || { cat "$EMU_DIR/sigproxy.err" >&2; echo "FAIL: sigproxy exited" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "FAIL: sigproxy did not start" >&2; exit 1; }
    sleep 0.05
done
port=$(cat "$pf")

# Only the proxy, the test keys and the region: nothing from the caller's
# own AWS setup may leak in.
env -u AWS_ENDPOINT_URL -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_DEFAULT_REGION \
    -u AWS_ENDPOINT_URL_S3 -u AWS_ENDPOINT_URL_DYNAMODB \
    AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$port" \
    ONESHEET_TEST_SQS_ENDPOINT="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_EC2_METADATA_DISABLED=true ONESHEET_LIVE_SIGPROXY=1 \
    "$LIVE/live_sqs"

# Every request was signed right, except the one deliberately bad one.
kill -TERM "$PROXY_PID"
prc=0; wait "$PROXY_PID" || prc=$?
PROXY_PID=
grep -q '"rejected":1,' "$EMU_DIR/sigproxy.err" || {
    cat "$EMU_DIR/sigproxy.err" >&2; echo "FAIL: sigproxy final counts" >&2; exit 1; }
[ "$prc" -eq 0 ] || { cat "$EMU_DIR/sigproxy.err" >&2; echo "FAIL: sigproxy exited $prc" >&2; exit 1; }
echo "ok - SQS queue against fauxqs behind sigproxy (port $port)"
