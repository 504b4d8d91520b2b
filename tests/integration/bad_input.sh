# Bad input at the command line: exit codes, file:line: field messages, and
# nothing enqueued unless --skip-invalid.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

enqueued() { [ -f "$ONESHEET_STATE_DIR/onesheet.db" ] && db "select count(*) from queue_messages" || echo 0; }

printf 'A good prompt\n\nAnother good one\n' > "$T/good.txt"
printf '{"prompt":"fine"}\n{"prompt":"bad ratio","aspect_ratio":"7:3"}\n{"prompt":"x","seed":-1}\n{"prompt":"ok","color":"red"}\n' > "$T/bad.jsonl"
expect_status 65 "$BIN/onesheet" submit "$T/bad.jsonl"
grep -q "bad.jsonl:2: aspect_ratio" "$T/err" || { cat "$T/err"; fail "line 2 named"; }
grep -q "bad.jsonl:3: seed" "$T/err" || fail "line 3 named"
grep -q "bad.jsonl:4: color" "$T/err" || { cat "$T/err"; fail "unknown field named"; }
grep -q "nothing enqueued" "$T/err" || fail "says nothing enqueued"
[ "$(enqueued)" = 0 ] || fail "bad file enqueued something"
ok "one bad line enqueues nothing (exit 65)"

expect_status 0 "$BIN/onesheet" submit --skip-invalid "$T/bad.jsonl"
[ "$(enqueued)" = 1 ] || fail "--skip-invalid enqueues the valid line"
grep -q "bad.jsonl:2:" "$T/err" || fail "--skip-invalid reports the rest"
ok "--skip-invalid enqueues valid lines and reports the rest"

printf '\xef\xbb\xbfFirst with BOM\r\nSecond with CRLF\r\n' > "$T/bom.txt"
expect_status 0 "$BIN/onesheet" submit "$T/bom.txt"
ok "BOM and CRLF accepted"

printf 'good\nbad \xff\xfe utf8\n' > "$T/utf8.txt"
expect_status 65 "$BIN/onesheet" submit "$T/utf8.txt"
grep -q "utf8.txt:2: prompt: invalid UTF-8" "$T/err" || { cat "$T/err"; fail "invalid UTF-8 named"; }
printf 'good\nnul \x00 byte\n' > "$T/nul.txt"
expect_status 65 "$BIN/onesheet" submit "$T/nul.txt"
grep -q "nul.txt:2: prompt:" "$T/err" || { cat "$T/err"; fail "NUL named"; }
: > "$T/empty.txt"
expect_status 65 "$BIN/onesheet" submit "$T/empty.txt"
grep -q "empty.txt" "$T/err" || fail "empty file named"
python3 -c "print('x'*10001)" > "$T/long.txt"
expect_status 65 "$BIN/onesheet" submit "$T/long.txt"
grep -q "long.txt:1: prompt:" "$T/err" || fail "long prompt"
printf '{"id":"a","prompt":"one"}\n{"id":"a","prompt":"two"}\n' > "$T/dup.jsonl"
expect_status 65 "$BIN/onesheet" submit "$T/dup.jsonl"
grep -q "dup.jsonl:2: id:" "$T/err" || { cat "$T/err"; fail "duplicate id"; }
ok "invalid UTF-8, NUL, empty file, over-long prompt, duplicate ids: exit 65"

for f in "$FIXTURES"/bad/prompts/*; do
    [ -f "$f" ] || continue
    expect_status 65 "$BIN/onesheet" submit "$f"
    grep -q "$(basename "$f"):" "$T/err" || { cat "$T/err"; fail "$f: message names the file"; }
done
[ "$(enqueued)" = 3 ] || fail "bad files enqueued something ($(enqueued))"
ok "bad-input corpus rejected"

expect_status 66 "$BIN/onesheet" submit "$T/missing.txt"
grep -q "missing.txt" "$T/err" || fail "missing file named"
ok "missing file: exit 66"

ONESHEET_URL_TTL=forever expect_status 78 "$BIN/onesheet" status
grep -q "ONESHEET_URL_TTL: url_ttl" "$T/err" || { cat "$T/err"; fail "bad env config named"; }
printf 'model = draft\nqueue = redis://x\n' > "$T/bad.conf"
ONESHEET_CONFIG=$T/bad.conf expect_status 78 "$BIN/onesheet" status
grep -q "bad.conf:2: queue" "$T/err" || { cat "$T/err"; fail "bad config file line named"; }
printf 'colour = blue\n' > "$T/unknown.conf"
expect_status 78 "$BIN/onesheet" --config "$T/unknown.conf" status
grep -q 'unknown.conf:1: unknown key "colour"' "$T/err" || { cat "$T/err"; fail "unknown key"; }
ok "bad config: exit 78 naming the key"

expect_status 64 "$BIN/onesheet" submit
expect_status 64 "$BIN/onesheet" submit --seed 99999999999 --prompt x
grep -qF -- '--seed: expected a whole number from 0 to 4294967294, got "99999999999"' "$T/err" ||
    fail "a bad --seed does not name the range: $(cat "$T/err")"
expect_status 64 "$BIN/onesheet" submit --budget lots --prompt x
grep -qF -- '--budget: expected a number of USD from 0 to 1000000000, got "lots"' "$T/err" ||
    fail "a bad --budget does not name the range: $(cat "$T/err")"
expect_status 64 "$BIN/onesheet" frobnicate
expect_status 64 "$BIN/onesheet-worker" --concurrency 0
ok "usage errors: exit 64"
