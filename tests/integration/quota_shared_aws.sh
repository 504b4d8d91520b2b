# The shared quota on the DynamoDB ledger (issue 21): the same fleet check
# as quota_shared.sh, with the bucket an item in dynalite's table behind
# the SigV4-verifying proxy (and SQS, S3 emulated): three workers each told
# the whole quota of the Bedrock stand-in share it through conditional
# UpdateItems.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/quota_fleet.sh"
STANDIN_ARGS="--latency-ms 50 --image-bytes 20000 --rpm 1200 --rpm-window-ms 4000"
use_aws_stack
export ONESHEET_MODEL=stability.sd3-5-large-v1:0
"$BIN/onesheet" init >/dev/null 2>&1 || fail "init"
quota_fleet 150 3 1200
ok "three workers shared one 1200/min quota through the DynamoDB ledger"
