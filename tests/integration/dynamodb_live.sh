#!/usr/bin/env bash
# The DynamoDB ledger against dynalite with sigproxy in front: dynalite
# checks no signature, the proxy checks every one, so live_ledger_dynamodb
# proves signing as well as the ledger's behaviour (conditional writes,
# indexes, pagination, ensure).  The proxy must end with no rejections.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build/rel}
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
LIVE=${ONESHEET_TEST_LIVE:-$BUILD/live}
for b in "$TOOLS/sigproxy" "$LIVE/live_ledger_dynamodb"; do
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

emu_start dynamodb
pf=$EMU_DIR/sigproxy.port
"$TOOLS/sigproxy" --listen 127.0.0.1:0 --upstream "$EMU_DYNAMODB" --service dynamodb \
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
    -u AWS_ENDPOINT_URL_SQS -u AWS_ENDPOINT_URL_S3 \
    AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=2 \
    "$LIVE/live_ledger_dynamodb"

kill -TERM "$PROXY_PID"
prc=0; wait "$PROXY_PID" || prc=$?
PROXY_PID=
grep -q '"rejected":0,' "$EMU_DIR/sigproxy.err" || {
    cat "$EMU_DIR/sigproxy.err" >&2; echo "FAIL: sigproxy rejected requests" >&2; exit 1; }
[ "$prc" -eq 0 ] || { cat "$EMU_DIR/sigproxy.err" >&2; echo "FAIL: sigproxy exited $prc" >&2; exit 1; }
echo "ok - DynamoDB ledger against dynalite behind sigproxy (port $port)"
