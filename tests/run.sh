#!/usr/bin/env bash
# The test runner `make check` calls: every unit test binary, then every
# integration script.  `./tests/run.sh unit` or `./tests/run.sh NAME` runs a
# subset (NAME matches test binary or script names).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
: "${BIN:=$root/bin}" "${BUILD:=$root/build/rel}"
export BIN BUILD ROOT="$root" FIXTURES="$root/tests/fixtures"
export ONESHEET_TEST_TOOLS="$BUILD/tools" ONESHEET_TEST_LIVE="$BUILD/live"
filter=${1:-}
# Sanitizer builds: fail on the first report; library-internal leaks
# (fontconfig, pango caches) are listed in tests/lsan.supp.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ -f "$here/lsan.supp" ] && export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
pass=0; fail=0; failed=()

run_one() {
    local name=$1; shift
    local t0=$SECONDS out
    out=$(mktemp)
    if "$@" >"$out" 2>&1; then
        pass=$((pass + 1)); printf 'PASS %-40s %3ss\n' "$name" $((SECONDS - t0))
    else
        fail=$((fail + 1)); failed+=("$name")
        printf 'FAIL %-40s %3ss\n' "$name" $((SECONDS - t0))
        tail -n 60 "$out" | sed 's/^/    /'
    fi
    rm -f "$out"
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    case "$filter" in ""|unit|"$n"|*"$n"*) ;; *) continue ;; esac
    [ "$filter" = integration ] && continue
    run_one "$n" env TMPDIR="${TMPDIR:-/tmp}" "$t"
done

# Integration scripts run ONESHEET_TEST_JOBS at a time (default 3): most of
# their time is spent waiting on workers, emulators and sleeps, not CPU.
# Each one's output is kept and printed as it finishes.
jobs=${ONESHEET_TEST_JOBS:-3}
declare -A running=()   # pid -> name
declare -A started=()   # pid -> start second
outdir=$(mktemp -d)
finish_one() {
    local pid=$1 rc=0
    wait "$pid" || rc=$?
    local name=${running[$pid]} t=$((SECONDS - ${started[$pid]}))
    if [ "$rc" = 0 ]; then
        pass=$((pass + 1)); printf 'PASS %-40s %3ss\n' "$name" "$t"
    else
        fail=$((fail + 1)); failed+=("$name")
        printf 'FAIL %-40s %3ss\n' "$name" "$t"
        tail -n 60 "$outdir/$name" | sed 's/^/    /'
    fi
    unset "running[$pid]" "started[$pid]"
}
reap() {
    local pid
    while [ "${#running[@]}" -ge "$1" ]; do
        for pid in "${!running[@]}"; do
            if ! kill -0 "$pid" 2>/dev/null; then finish_one "$pid"; continue 2; fi
        done
        sleep 0.2
    done
}
if [ "$filter" != unit ]; then
    for s in "$here"/integration/*.sh; do
        [ -f "$s" ] || continue
        n=$(basename "$s" .sh)
        [ "$n" = lib ] && continue
        case "$filter" in ""|integration|"$n"|*"$n"*) ;; *) continue ;; esac
        reap "$jobs"
        bash "$s" >"$outdir/$n" 2>&1 &
        running[$!]=$n; started[$!]=$SECONDS
    done
    reap 1
fi
rm -rf "$outdir"

echo "passed=$pass failed=$fail"
if [ "$fail" -ne 0 ]; then
    printf 'failed: %s\n' "${failed[*]}"
    exit 1
fi
