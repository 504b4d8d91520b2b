# A short chaos round with retries (issue 17), in each mode: a third of
# each round's jobs are cancelled before the workers start and retried
# while workers are killed with SIGKILL and restarted; the first `onesheet
# retry` dies between re-opening the jobs and sending their messages, a
# second is killed at a random moment, a third finishes (tests/chaos/
# chaos.sh --retry).  Every job must end succeeded exactly once, the
# retried ones at run 2 with their cancelled run 1 kept, nothing lost or
# duplicated, no message left (the stale run-1 ones deleted), and no more
# generation calls than the kills interrupted.  The two modes run side by
# side.
set -euo pipefail
: "${BIN:?BIN must point at the built binaries}"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
out=$(mktemp -d "${TMPDIR:-/tmp}/onesheet-chaos-retry-XXXXXX")
trap 'rm -rf "$out"' EXIT
pids=()
for mode in embedded aws; do
    bash "$ROOT/tests/chaos/chaos.sh" --mode "$mode" --rounds 1 --jobs "${CHAOS_RETRY_JOBS:-12}" \
        --workers 3 --concurrency 2 --kills 3 --visibility 4 --retry \
        >"$out/$mode.out" 2>"$out/$mode.err" &
    pids+=($!)
done
rc=0
for i in 0 1; do
    mode=$([ "$i" = 0 ] && echo embedded || echo aws)
    if wait "${pids[$i]}"; then
        grep -h '^{' "$out/$mode.out"
        grep -h 'retry done' "$out/$mode.err" || true
        echo "ok - chaos $mode with retries: nothing lost or duplicated, one run 2 per retried job"
    else
        rc=1
        cat "$out/$mode.out"; tail -n 40 "$out/$mode.err"
        echo "FAIL: chaos $mode with retries" >&2
    fi
done
exit "$rc"
