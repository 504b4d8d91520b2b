# Helpers for the fault-injection matrix (tests/integration/fault_*.sh),
# sourced after tests/integration/lib.sh.
#   fm_aws_stack             emulators + sigproxies + faultproxies + stand-in,
#                            `onesheet init`; FP_SQS/FP_S3/FP_DDB are the
#                            faultproxies (see tests/tools/faultproxy.c)
#   fm_rules URL [RULE...]   replaces that faultproxy's rules (none: clear)
#   fm_clear                 clears every faultproxy's rules
#   fm_fired URL FAULT       how often FAULT fired on that faultproxy
#   fm_submit N WORDS        submits N prompts (WORDS in each); prints batch
#   fm_worker LOG SECS ARGS  one draining worker under `timeout`; fails the
#                            test if it hangs (exit 124/137)
#   fm_states BATCH          "state=count ..." of a batch, from list --json
#   fm_expect BATCH WANT     fails unless fm_states BATCH is WANT
#   fm_codes BATCH           the error codes of a batch's jobs, sorted
#   fm_no_secrets FILE...    fails if a secret or signature is in the files
#   fm_stop_tools            stops the proxies and the stand-in (SIGTERM) and
#                            fails on a sanitizer report in their stderr
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
# A version manager's python3 shim costs seconds a call on a busy machine;
# these scripts need only the system's.
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH

fm_aws_stack() {
    local b
    for b in sigproxy bedrock_standin faultproxy; do
        [ -x "$TOOLS/$b" ] || fail "$TOOLS/$b is not built (make tests)"
    done
    EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
    source "$ROOT/tests/support/emulators.sh"
    # FM_KEEP=DIR keeps a copy of the scratch directory (logs) for a post-mortem.
    trap '[ -n "${FM_KEEP:-}" ] && cp -r "$T" "$FM_KEEP"; for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT
    source "$ROOT/tests/support/awsstack.sh"
    STANDIN_ARGS=${STANDIN_ARGS:-"--latency-ms 10 --image-bytes 20000"}
    AWSSTACK_FAULTPROXY=1 awsstack_start || fail "could not start the AWS stack"
    export ONESHEET_MAX_RECEIVES=${ONESHEET_MAX_RECEIVES:-3}
    "$BIN/onesheet" init >"$T/init.log" 2>&1 || { cat "$T/init.log"; fail "onesheet init"; }
}

fm_rules() {
    local url=$1; shift
    printf '%s\n' "$@" | curl -fsS -X POST --data-binary @- "$url/__faultproxy/rules" \
        >/dev/null || fail "faultproxy $url refused rules: $*"
}

fm_clear() {
    local u
    for u in "$FP_SQS" "$FP_S3" "$FP_DDB"; do fm_rules "$u"; done
}

fm_fired() {
    curl -fsS "$1/__faultproxy/stats" | jq -r ".by_fault[\"$2\"]"
}

fm_submit() {
    local n=$1 words=$2
    python3 -c "
import sys, secrets
for i in range($n): print(f'{sys.argv[1]} {i} {secrets.token_hex(4)}: a red fox in the snow')" \
        "$words" >"$T/jobs.txt"
    "$BIN/onesheet" submit "$T/jobs.txt" 2>>"$T/submit.err" || { cat "$T/submit.err" >&2; fail "submit"; }
}

fm_worker() {
    local log=$1 secs=$2 rc=0 t0=$SECONDS; shift 2
    timeout -k 5 "$secs" "$BIN/onesheet-worker" --drain "$@" 2>>"$log" || rc=$?
    echo "# worker ($(basename "$log")) exit $rc after $((SECONDS - t0))s"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        tail -n 20 "$log" >&2
        fail "the worker hung (killed after ${secs}s)"
    fi
    return "$rc"
}

fm_states() {
    "$BIN/onesheet" list --batch "$1" --json | python3 -c "
import json, sys, collections
c = collections.Counter(json.loads(l)['state'] for l in sys.stdin if l.strip())
print(' '.join(f'{k}={c[k]}' for k in sorted(c)))"
}

fm_expect() {
    local got
    got=$(fm_states "$1")
    [ "$got" = "$2" ] || {
        "$BIN/onesheet" list --batch "$1" --json | head -c 3000 >&2
        fail "batch $1: expected '$2', got '$got'"
    }
}

fm_codes() {
    "$BIN/onesheet" list --batch "$1" --json | python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(' '.join(sorted((r.get('error') or {}).get('code', '-') for r in rows)))"
}

fm_no_secrets() {
    local f pat
    for f in "$@"; do
        [ -f "$f" ] || continue
        for pat in "${AWS_SECRET_ACCESS_KEY:-}" "${FM_SECRETS[@]:-}" "X-Amz-Signature=" \
                   "Signature=[0-9a-f]\{16\}" "X-Amz-Security-Token="; do
            [ -n "$pat" ] || continue
            if grep -q -- "$pat" "$f"; then
                grep -m1 -- "$pat" "$f" | cut -c1-200 >&2
                fail "secret or signature ($pat) in $f"
            fi
        done
    done
}

fm_stop_tools() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && { wait "$p" 2>/dev/null || true; }; done
    PIDS=()
    if grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$T"/*.err 2>/dev/null; then
        fail "a test tool reported a sanitizer error"
    fi
}
