# Hostile input at the command line (issue 18): an endless or oversized
# input stops at max_input_bytes with exit 65 and nothing enqueued; a
# directory or a key set twice as the config exits 78; a bad --aspect is a
# usage error (64); the file-size limit is reported, not a silent death;
# control bytes and bidi overrides in names and prompts are escaped.
# Bounded: every command runs under a timeout, everything is local files.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

enqueued() { [ -f "$ONESHEET_STATE_DIR/onesheet.db" ] && db "select count(*) from queue_messages" || echo 0; }
jobs_recorded() { [ -f "$ONESHEET_STATE_DIR/onesheet.db" ] && db "select count(*) from jobs" || echo 0; }

# An endless input (yes) stops at the limit: exit 65, not 66, nothing sent.
set +e
yes | ONESHEET_MAX_INPUT_BYTES=65536 timeout 20 "$BIN/onesheet" submit - >"$T/out" 2>"$T/err"
got=$?
set -e
[ "$got" = 65 ] || { cat "$T/err" >&2; fail "endless input: expected exit 65, got $got"; }
grep -q "larger than max_input_bytes (65536 bytes" "$T/err" || { cat "$T/err"; fail "limit named"; }
grep -q "nothing enqueued" "$T/err" || fail "says nothing enqueued"
[ "$(enqueued)" = 0 ] && [ "$(jobs_recorded)" = 0 ] || fail "endless input enqueued something"
ok "endless input stops at max_input_bytes (exit 65, nothing enqueued)"

# A regular file over the limit is refused before it is read; one at
# exactly the limit is taken.
printf 'first poster\nsecond poster\n' > "$T/two.txt"       # 27 bytes
ONESHEET_MAX_INPUT_BYTES=26 expect_status 65 "$BIN/onesheet" submit "$T/two.txt"
grep -q "two.txt: input is larger than max_input_bytes (26 bytes" "$T/err" || { cat "$T/err"; fail "file over limit"; }
[ "$(enqueued)" = 0 ] || fail "file over the limit enqueued something"
ONESHEET_MAX_INPUT_BYTES=27 expect_status 0 "$BIN/onesheet" submit --dry-run "$T/two.txt"
printf 'max_input_bytes = 26\n' > "$T/limit.conf"
ONESHEET_CONFIG=$T/limit.conf expect_status 65 "$BIN/onesheet" submit - < "$T/two.txt"
ONESHEET_MAX_INPUT_BYTES=0 expect_status 78 "$BIN/onesheet" submit --dry-run "$T/two.txt"
grep -q "ONESHEET_MAX_INPUT_BYTES: max_input_bytes: must be an integer from 1" "$T/err" || { cat "$T/err"; fail "bad limit named"; }
ok "max_input_bytes from env and config; exactly the limit is taken; bad value exit 78"

# The config: a directory, a key set twice.
expect_status 78 "$BIN/onesheet" --config "$T" submit --dry-run --prompt x
grep -q "is a directory" "$T/err" || { cat "$T/err"; fail "directory named"; }
ONESHEET_CONFIG=$T expect_status 78 "$BIN/onesheet" status
printf 'model = draft\nurl_ttl = 60\nmodel = draft\n' > "$T/dup.conf"
expect_status 78 "$BIN/onesheet" --config "$T/dup.conf" submit --dry-run --prompt x
grep -q "dup.conf:3: duplicate key \"model\" (first set on line 1)" "$T/err" || { cat "$T/err"; fail "duplicate key named"; }
ok "config: a directory and a duplicate key exit 78 naming file:line and key"

# Flag errors are usage errors.
expect_status 64 "$BIN/onesheet" submit --dry-run --prompt x --aspect 7:3
grep -q -- "--aspect: aspect_ratio: must be one of" "$T/err" || { cat "$T/err"; fail "--aspect named"; }
expect_status 64 "$BIN/onesheet" submit --dry-run --prompt x --title "$(printf 'bad\001title')"
grep -q -- "--title: title:" "$T/err" || { cat "$T/err"; fail "--title named"; }
expect_status 0 "$BIN/onesheet" submit --dry-run --prompt x --aspect 16:9
ok "--aspect 7:3 and a bad --title exit 64"

# The file-size limit: a write error naming standard output, exit 74, not
# death by SIGXFSZ.  (Fresh state: the limit would also stop the ledger.)
# The input (416 bytes) fits under the 512-byte limit in submit's spool;
# the listing does not.
seq 1 25 | sed 's/^/poster number /' > "$T/p25.txt"
set +e
(ulimit -f 1; ONESHEET_STATE_DIR=$T/xfsz timeout 20 "$BIN/onesheet" submit --dry-run "$T/p25.txt" >"$T/big.out" 2>"$T/err")
got=$?
set -e
[ "$got" = 74 ] || { cat "$T/err" >&2; fail "file-size limit: expected exit 74, got $got"; }
grep -q "standard output: File too large" "$T/err" || { cat "$T/err"; fail "EFBIG named"; }
# An input too big for the spool under the limit: the spool is named.
seq 1 200 | sed 's/^/poster number /' > "$T/p200.txt"
set +e
(ulimit -f 1; ONESHEET_STATE_DIR=$T/xfsz timeout 20 "$BIN/onesheet" submit --dry-run "$T/p200.txt" >"$T/big.out" 2>"$T/err")
got=$?
set -e
[ "$got" = 74 ] || { cat "$T/err" >&2; fail "spool over the file-size limit: expected exit 74, got $got"; }
grep -q "p200.txt: cannot spool the input to .*: File too large; nothing enqueued" "$T/err" ||
    { cat "$T/err"; fail "spool EFBIG named"; }
ok "file-size limit: exit 74 with a message, no SIGXFSZ"

# Control bytes and bidi overrides reach the terminal escaped.
esc=$(printf '\033')
rlo=$(printf '\342\200\256')
expect_status 66 "$BIN/onesheet" submit "$T/no${esc}]0;pwned${rlo}txt"
grep -q 'no\\e\]0;pwned\\u202etxt' "$T/err" || { cat -v "$T/err"; fail "file name escaped"; }
! grep -q "$esc" "$T/err" || fail "raw ESC in the message"
printf '{"prompt":"exe%stxt poster"}\n' "$rlo" > "$T/bidi.jsonl"
expect_status 0 "$BIN/onesheet" submit --dry-run "$T/bidi.jsonl"
grep -q 'exe\\u202etxt poster' "$T/out" || { cat "$T/out"; fail "prompt escaped"; }
! grep -q "$rlo" "$T/out" || fail "raw U+202E in the listing"
printf 'bad%skey = 1\n' "$esc" > "$T/key.conf"
expect_status 78 "$BIN/onesheet" --config "$T/key.conf" status
grep -q 'unknown key "bad\\ekey"' "$T/err" || { cat -v "$T/err"; fail "config key escaped"; }
! grep -q "$esc" "$T/err" || fail "raw ESC in the config message"
ok "control bytes and U+202E in file names, prompts and config keys are escaped"

# Ids and commands given on the command line are echoed escaped too.
for cmd in status cancel retry; do
    expect_status 65 "$BIN/onesheet" "$cmd" "x${esc}]0;y${rlo}"
    grep -q 'x\\e\]0;y\\u202e' "$T/err" || { cat -v "$T/err"; fail "$cmd: id escaped"; }
    ! grep -q "$esc" "$T/err" || fail "$cmd: raw ESC in the message"
done
expect_status 64 "$BIN/onesheet" "sub${esc}mit"
grep -q 'unknown command "sub\\emit"' "$T/err" || { cat -v "$T/err"; fail "command escaped"; }
ok "ids and command names on the command line are echoed escaped"

# Out of memory is said as such (71), never "missing input" (66).  Not
# under ASan, which cannot run under an address-space limit.  Submit reads
# in bounded memory (about 80 MB of address space for these 400,000 lines),
# so the limit is set below that.
libs=$(ldd "$BIN/onesheet" 2>/dev/null || true)
if [[ "$libs" != *libasan* ]]; then
    seq 1 400000 | sed 's/^/poster number /' > "$T/p400k.txt"
    set +e
    (ulimit -v 50000; timeout 60 "$BIN/onesheet" submit "$T/p400k.txt" >"$T/out" 2>"$T/err")
    got=$?
    set -e
    [ "$got" = 71 ] || { cat "$T/err" >&2; fail "out of memory: expected exit 71, got $got"; }
    grep -q "p400k.txt: out of memory" "$T/err" || { cat "$T/err"; fail "out of memory named"; }
    [ "$(enqueued)" = 0 ] || fail "out of memory enqueued something"
    ok "out of memory: exit 71 with a message, nothing enqueued"
fi
