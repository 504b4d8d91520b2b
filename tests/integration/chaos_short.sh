# A short chaos round in each mode (issue 9; `make chaos ROUNDS=N` runs long
# ones): workers killed with SIGKILL at random moments and restarted, then
# every job must be ok (succeeded once, its object stored with the ledger's
# sha256, its message deleted), none lost or duplicated, and the generation
# calls beyond one per job no more than the kills interrupted.  First the
# checker's own tests (fabricated states it must reject); after each mode
# the real final state is damaged (object deleted, second key, message put
# back) and the checker must report exactly that.  The two modes run side
# by side: most of their time is waiting for lapsed messages to come back.
set -euo pipefail
: "${BIN:?BIN must point at the built binaries}"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 -W error "$ROOT/tests/chaos/test_check.py" 2>&1 | tail -n 1
out=$(mktemp -d "${TMPDIR:-/tmp}/onesheet-chaos-short-XXXXXX")
trap 'rm -rf "$out"' EXIT
pids=()
for mode in embedded aws; do
    bash "$ROOT/tests/chaos/chaos.sh" --mode "$mode" --rounds 1 --jobs "${CHAOS_SHORT_JOBS:-12}" \
        --workers 3 --concurrency 2 --kills 3 --visibility 4 --mutate-check \
        >"$out/$mode.out" 2>"$out/$mode.err" &
    pids+=($!)
done
rc=0
for i in 0 1; do
    mode=$([ "$i" = 0 ] && echo embedded || echo aws)
    if wait "${pids[$i]}"; then
        grep -h '^{' "$out/$mode.out"
        echo "ok - chaos $mode: nothing lost or duplicated; the checker catches damage"
    else
        rc=1
        cat "$out/$mode.out"; tail -n 40 "$out/$mode.err"
        echo "FAIL: chaos $mode" >&2
    fi
done
exit "$rc"
