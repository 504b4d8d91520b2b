#!/usr/bin/env bash
# The SQS queue against fauxqs with sigproxy in front: the proxy verifies
# every request's SigV4 signature (fauxqs verifies none), so live_sqs
# proves signing as well as the queue semantics (batches, visibility,
# receive counts, redrive to the dead-letter queue, init).
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/emulators.sh
. "$ROOT/tests/support/emulators.sh"
# shellcheck source=../support/proxy.sh
. "$ROOT/tests/support/proxy.sh"
proxy_init live_sqs

emu_start sqs
proxy_start "$EMU_SQS" sqs test
proxy_live AWS_ENDPOINT_URL_SQS="$PROXY_URL" ONESHEET_TEST_SQS_ENDPOINT="$PROXY_URL" \
    ONESHEET_LIVE_SIGPROXY=1 "$LIVE/live_sqs"
# Every request was signed right, except the one deliberately bad one.
proxy_stop 1
echo "ok - SQS queue against fauxqs behind sigproxy ($PROXY_URL)"
