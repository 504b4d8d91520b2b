# onesheet-worker's options: a value out of range is refused with exit 64
# and a message naming the option and its range; the bounds themselves are
# accepted, into the settings they name.
source "$(dirname "$0")/lib.sh"

# refused OPTION VALUE EXPECTED: exit 64, and the message says EXPECTED.
refused() {
    expect_status 64 "$BIN/onesheet-worker" "$1" "$2"
    grep -qxF "onesheet-worker: $1: expected $3, got \"$2\"" "$T/err" ||
        { cat "$T/err" >&2; fail "$1 $2: message names the option and its range"; }
}
refused --concurrency 1000 "a whole number from 1 to 512"
refused --concurrency 0 "a whole number from 1 to 512"
refused --threads 65 "a whole number from 1 to 64"
refused --threads 0 "a whole number from 1 to 64"
refused --prefetch -1 "a whole number from 0 to 512"
refused --prefetch 513 "a whole number from 0 to 512"
refused --max-jobs 43201 "a whole number from 0 to 43200"
refused --max-jobs 2x "a whole number from 0 to 43200"
refused --visibility 0 "a whole number of seconds from 1 to 43200"
refused --poll-wait abc "a whole number of seconds from 0 to 43200"
refused --grace 5s "a whole number of seconds from 0 to 43200"
refused --grace "" "a whole number of seconds from 0 to 43200"
refused --grace 99999999999999999999 "a whole number of seconds from 0 to 43200"
refused --rpm 0 "a number of calls a minute above 0 and up to 1000000"
refused --rpm 2e6 "a number of calls a minute above 0 and up to 1000000"
ok "out-of-range values: exit 64, the message names the option and its range"

expect_status 64 "$BIN/onesheet-worker" -c 600
grep -qxF 'onesheet-worker: --concurrency: expected a whole number from 1 to 512, got "600"' \
    "$T/err" || { cat "$T/err" >&2; fail "-c names --concurrency"; }
expect_status 64 "$BIN/onesheet-worker" --no-such-option
expect_status 64 "$BIN/onesheet-worker" stray-argument
expect_status 0 "$BIN/onesheet-worker" --help
grep -q -- "--concurrency N" "$T/out" || fail "--help prints the usage"
ok "-c, unknown options and stray arguments: exit 64; --help: exit 0"

# The bounds are accepted: with --drain and an empty queue the worker
# starts, says what it was given, and exits 0.
expect_status 0 "$BIN/onesheet-worker" --drain --poll-wait 0 --concurrency 512
grep -q "event=worker_started concurrency=512 .* visibility_s=60 drain=1 grace_s=30 " \
    "$T/err" || { cat "$T/err" >&2; fail "--concurrency 512 and the defaults"; }
expect_status 0 "$BIN/onesheet-worker" --drain -c 1 --threads 64 --prefetch 512 \
    --max-jobs 43200 --visibility 43200 --poll-wait 0 --grace 0 --rpm 1000000
grep -q "event=worker_started concurrency=1 .* visibility_s=43200 drain=1 grace_s=0 rpm=1e+06 " \
    "$T/err" || { cat "$T/err" >&2; fail "the upper and lower bounds"; }
expect_status 0 "$BIN/onesheet-worker" --drain --poll-wait 0 --visibility 1 --grace 43200 \
    --max-jobs 0 --threads 1 --prefetch 0
grep -q "event=worker_started .* visibility_s=1 drain=1 grace_s=43200 " "$T/err" ||
    { cat "$T/err" >&2; fail "--visibility 1 --grace 43200"; }
ok "the bounds are accepted, into the settings they name"
