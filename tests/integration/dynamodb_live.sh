#!/usr/bin/env bash
# The DynamoDB ledger against dynalite with sigproxy in front: dynalite
# checks no signature, the proxy checks every one, so live_ledger_dynamodb
# proves signing as well as the ledger's behaviour (conditional writes,
# indexes, pagination, ensure).  The proxy must end with no rejections.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/emulators.sh
. "$ROOT/tests/support/emulators.sh"
# shellcheck source=../support/proxy.sh
. "$ROOT/tests/support/proxy.sh"
proxy_init live_ledger_dynamodb

emu_start dynamodb
proxy_start "$EMU_DYNAMODB" dynamodb test
proxy_live AWS_ENDPOINT_URL_DYNAMODB="$PROXY_URL" AWS_MAX_ATTEMPTS=2 "$LIVE/live_ledger_dynamodb"
proxy_stop 0
echo "ok - DynamoDB ledger against dynalite behind sigproxy ($PROXY_URL)"
