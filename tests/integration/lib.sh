# Shared helpers for the integration scripts (sourced).  Each script gets a
# private state directory that is removed on exit, and kills any worker it
# started.
set -euo pipefail
: "${BIN:?BIN must point at the built binaries}"
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/onesheet-it-XXXXXX")
export ONESHEET_STATE_DIR=$T/state
export ONESHEET_CONFIG=/dev/null
# Scripts that name Bedrock models against a runtime-only stand-in must not
# ask the real control plane which models are live (issue 23); models.sh
# turns it on against the stand-in's.
export ONESHEET_MODEL_LIFECYCLE=off
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
db() { sqlite3 -batch -noheader "$ONESHEET_STATE_DIR/onesheet.db" "$@"; }

# expect_status CODE CMD...: runs CMD, checks its exit status.
expect_status() {
    local want=$1; shift
    set +e; "$@" >"$T/out" 2>"$T/err"; local got=$?; set -e
    [ "$got" = "$want" ] || { cat "$T/err" >&2; fail "expected exit $want, got $got: $*"; }
}
# crc64_b64 FILE: the file's CRC-64/NVME as the ledger and S3 keep it.
crc64_b64() { "${ONESHEET_TEST_TOOLS:-$BUILD/tools}/crc64sum" --b64 "$1"; }
# is_png FILE: checks the PNG signature.
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

# use_aws_stack: the loopback AWS stack for this script (emulators behind
# signature-checking proxies, the Bedrock stand-in with $STANDIN_ARGS), its
# AWS_* / ONESHEET_* settings exported, torn down on exit with every
# process in PIDS.
use_aws_stack() {
    TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
    EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
    source "$ROOT/tests/support/emulators.sh"
    source "$ROOT/tests/support/awsstack.sh"
    trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT
    awsstack_start || fail "could not start the AWS stack"
}

# Calls the Bedrock stand-in (at AWS_ENDPOINT_URL_BEDROCK_RUNTIME) has
# answered for this exact prompt.
calls_for() {
    curl -fsS "$AWS_ENDPOINT_URL_BEDROCK_RUNTIME/__standin/stats" |
        jq -r --arg h "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)" '.prompts[$h] // 0'
}
# The id of the job of BATCH whose prompt starts with PROMPT-PREFIX.
job_id_of() {   # BATCH PROMPT-PREFIX
    "$BIN/onesheet" list --batch "$1" --json |
        jq -r --arg p "$2" 'select(.spec.prompt | startswith($p)) | .id'
}
