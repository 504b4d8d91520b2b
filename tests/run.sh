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

if [ "$filter" != unit ]; then
    for s in "$here"/integration/*.sh; do
        [ -f "$s" ] || continue
        n=$(basename "$s" .sh)
        [ "$n" = lib ] && continue
        case "$filter" in ""|integration|"$n"|*"$n"*) ;; *) continue ;; esac
        run_one "$n" bash "$s"
    done
fi

echo "passed=$pass failed=$fail"
if [ "$fail" -ne 0 ]; then
    printf 'failed: %s\n' "${failed[*]}"
    exit 1
fi
