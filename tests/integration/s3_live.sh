#!/usr/bin/env bash
# The S3 store against s3rver with sigproxy in front: the proxy verifies
# every request's SigV4 signature (s3rver verifies none) and enforces
# If-None-Match: * and x-amz-checksum-sha256 (s3rver ignores both), so
# live_s3 proves signing, the 412 path and BadDigest end to end.  A second
# round goes through a proxy that loses every other reply.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/emulators.sh
. "$ROOT/tests/support/emulators.sh"
# shellcheck source=../support/proxy.sh
. "$ROOT/tests/support/proxy.sh"
proxy_init live_s3
fail() { echo "FAIL: $*" >&2; exit 1; }

# live [VAR=VALUE...]: live_s3 against the bucket, through the proxy (and
# told where s3rver keeps its files and listens, for what only it can show).
live() {
    proxy_live AWS_ENDPOINT_URL_S3="$PROXY_URL" AWS_MAX_ATTEMPTS=3 \
        ONESHEET_LIVE_BUCKET=posters-live ONESHEET_LIVE_S3_DIR="$EMU_DIR/s3" \
        ONESHEET_LIVE_S3_DIRECT="$EMU_S3" "$@" "$LIVE/live_s3"
}

emu_start s3
proxy_start "$EMU_S3" s3 S3RVER --s3-preconditions
live
# Two deliberately bad requests and the store conformance suite's expired
# presigned URL.
proxy_stop 3
# The objects really are in s3rver, written through the proxy.
ls "$EMU_DIR/s3/posters-live/live/b1/" | grep -q 'j1.png' || fail "s3rver holds no live/b1/j1.png"
echo "ok - S3 store against s3rver behind sigproxy"

proxy_start "$EMU_S3" s3 S3RVER --s3-preconditions --fail-every 2 --fail-after
live ONESHEET_LIVE_FAULTS=1
proxy_stop 0
echo "ok - puts survive lost replies (retry, 412, checksum match)"
