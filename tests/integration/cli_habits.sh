# The CLI's habits (issue 22): help, --version on all three binaries,
# global options after the command, ranges in numeric errors, empty
# results that say so, not-found naming the state searched, and the
# state line `make run` prints finding its batch from a new shell.
source "$(dirname "$0")/lib.sh"
O=$BIN/onesheet

expect_status 0 "$O" help
grep -q '^  help \[COMMAND\]' "$T/out" || fail "help lists help"
expect_status 0 "$O" help submit
grep -q 'usage: onesheet submit' "$T/out" || fail "help submit shows submit's usage"
expect_status 64 "$O" help frobnicate
grep -q 'unknown command "frobnicate"' "$T/err" || fail "help of an unknown command"
ok "onesheet help [COMMAND]"

commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
for b in onesheet onesheet-worker onesheet-api; do
    [ -x "$BIN/$b" ] || continue
    expect_status 0 "$BIN/$b" --version
    grep -q "^$b [0-9][0-9.]* (commit [0-9a-f]*\|unknown)" "$T/out" || fail "$b --version: $(cat "$T/out")"
    grep -q "libcurl" "$T/out" && fail "$b --version lists libraries without -v"
    expect_status 0 "$BIN/$b" --version -v
    for lib in libcurl OpenSSL jansson SQLite cairo pango; do
        grep -q "^  $lib" "$T/out" || fail "$b --version -v lacks $lib"
    done
done
"$O" --version | grep -qF "$commit" || echo "note: built from another commit than HEAD"
ok "--version on all three binaries; -v adds the libraries"

# --config before or after the command; a missing file is a config error.
expect_status 78 "$O" status --config "$T/missing.conf"
grep -q "missing.conf" "$T/err" || fail "status --config after the command: $(cat "$T/err")"
expect_status 78 "$O" --config "$T/missing.conf" status
expect_status 78 "$O" status --config="$T/missing.conf"
expect_status 64 "$O" status --config
ok "--config before or after the command"

expect_status 64 "$O" list --limit 0
grep -q -- '--limit: expected a whole number from 1 to 10000000, got "0"' "$T/err" || fail "list --limit range"
expect_status 64 "$O" wait b1 --timeout -3
grep -q -- '--timeout: expected seconds above 0 and up to' "$T/err" || fail "wait --timeout range"
expect_status 64 "$BIN/onesheet-worker" --concurrency 1000
grep -q -- '--concurrency: expected a whole number from 1 to 512, got "1000"' "$T/err" || fail "worker range"
if [ -x "$BIN/onesheet-api" ]; then
    expect_status 64 "$BIN/onesheet-api" --sync-timeout 5000
    grep -q -- '--sync-timeout: expected a number from 0 to 900, got "5000"' "$T/err" || fail "api range: $(cat "$T/err")"
fi
ok "numeric options' errors state their range"

expect_status 0 "$O" status --json
[ "$(cat "$T/out")" = "[]" ] || fail "status --json with no batches: $(cat "$T/out")"
expect_status 0 "$O" list --state failed
grep -q "no jobs match in state directory $ONESHEET_STATE_DIR" "$T/out" || fail "empty list: $(cat "$T/out")"
expect_status 0 "$O" list --state failed --json
[ "$(cat "$T/out")" = "[]" ] || fail "list --json with nothing: $(cat "$T/out")"
expect_status 65 "$O" status bnosuchbatch
grep -q "bnosuchbatch: no such job or batch in state directory $ONESHEET_STATE_DIR" "$T/err" ||
    fail "not found names the state: $(cat "$T/err")"
expect_status 65 "$O" cancel bnosuchbatch
grep -q "in state directory $ONESHEET_STATE_DIR" "$T/err" || fail "cancel: $(cat "$T/err")"
ok "empty results say so ([] with --json); not found names the state directory"

# make run's last line, followed from a new shell with nothing inherited.
export ONESHEET_STATE_DIR=$T/run
BIN=$BIN "$ROOT/tests/run-demo.sh" >"$T/demo" 2>&1 || { cat "$T/demo" >&2; fail "run-demo"; }
line=$(tail -n 1 "$T/demo")
case "$line" in "export ONESHEET_STATE_DIR="*) ;; *) fail "run-demo's last line: $line" ;; esac
batch=$(sed -n 's/^== onesheet status \(b[0-9a-f]*\)$/\1/p' "$T/demo")
[ -n "$batch" ] || fail "no batch id in run-demo's output"
mkdir -p "$T/home"
set +e
env -i HOME="$T/home" PATH=/usr/bin:/bin bash -c "\"$O\" status $batch" >"$T/out" 2>"$T/err"; rc=$?
set -e
[ "$rc" = 65 ] || fail "a new shell without the line found the batch (exit $rc)"
grep -q "in state directory $T/home/.local/state/onesheet" "$T/err" || fail "where it looked: $(cat "$T/err")"
env -i HOME="$T/home" PATH=/usr/bin:/bin bash -c "$line
\"$O\" status $batch" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "the printed line does not find $batch"; }
grep -q "^$batch " "$T/out" || fail "status of $batch: $(cat "$T/out")"
grep -c "succeeded" "$T/out" >/dev/null || fail "jobs"
ok "a new shell finds make run's batch by the line it printed (and without it, says where it looked)"
