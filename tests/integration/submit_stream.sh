# `onesheet submit FILE|-` in bounded memory (issue 18, item 3): the input is
# spooled and read twice, never held whole.  Checks the memory of a
# 200,000-line submit (a generous regression bound, not a timing), that a
# bad line at the END of a big file still enqueues nothing, that stdin,
# JSONL and CSV (a quoted field spanning lines) give the batch and job ids
# --dry-run shows (test_bulk_stream checks both against the in-memory
# reader), that duplicates and --skip-invalid behave as before, that jobs a
# killed submit left pending are new to --dry-run and sent by the next
# submit, and that the spool leaves nothing behind.  Local files only.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
sent() { db "select count(*) from queue_messages"; }
recorded() { [ -f "$ONESHEET_STATE_DIR/onesheet.db" ] && db "select count(*) from ledger_jobs" || echo 0; }
dry_batch() { "$BIN/onesheet" submit --dry-run --json "$@" 2>/dev/null | tail -n 1 |
              python3 -c 'import json,sys; print(json.load(sys.stdin)["batch"])'; }
dry_ids() { "$BIN/onesheet" submit --dry-run --json "$@" 2>/dev/null | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if "id" in o: print(o["id"])'; }

python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
with open(f"{t}/200k.txt", "w") as f:
    for i in range(200000):
        f.write(f"poster {i} of a lighthouse at dusk\n")
with open(f"{t}/bad_end.jsonl", "w") as f:
    for i in range(100000):
        f.write('{"prompt": "poster %d", "id": "p%d"}\n' % (i, i))
    f.write('{"prompt": "last", "seed": "x"}\n')
with open(f"{t}/mix.jsonl", "w") as f:
    f.write('{"prompt": "a", "id": "one"}\n')
    f.write('{"prompt": "b"}\n')
    f.write('{"prompt": "b"}\n')                    # folded into line 2
    f.write('{"prompt": "c", "aspect_ratio": "7:3"}\n')  # invalid
    f.write('{"prompt": "d", "id": "one"}\n')       # duplicate id
    f.write('\n{"prompt": "e", "model": "draft"}\r\n')
with open(f"{t}/multi.csv", "w") as f:
    f.write('\ufeffid,prompt,tags.k\r\n')
    f.write('c1,"a poster\nover two lines",v\r\n')
    for i in range(20000):
        f.write(f'c{i + 2},"poster, {i}",t{i % 7}\r\n')
PY

# 200,000 lines: peak RSS (the in-memory reader took ~200 MB here).
/usr/bin/time -v "$BIN/onesheet" submit "$T/200k.txt" >"$T/out" 2>"$T/err" ||
    { cat "$T/err" >&2; fail "200k submit"; }
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/err")
# Not under ASan, whose shadow memory and quarantine are most of the RSS.
if [[ "$(ldd "$BIN/onesheet" 2>/dev/null || true)" != *libasan* ]]; then
    [ -n "$rss" ] && [ "$rss" -lt 131072 ] || fail "200k submit: peak RSS ${rss:-?} KB, over 128 MB"
fi
[ "$(sent)" = 200000 ] && [ "$(recorded)" = 200000 ] || fail "200k: $(sent) sent, $(recorded) recorded"
b200=$(cat "$T/out")
[ "$b200" = "$(dry_batch "$T/200k.txt")" ] || fail "200k: batch id differs from --dry-run's"
[ -z "$(ls -A "$TMPDIR")" ] || { ls -la "$TMPDIR"; fail "the spool was left behind"; }
ok "200,000 lines submitted with peak RSS $((rss / 1024)) MB; batch id as --dry-run's; no spool left"

# Resubmitting is a no-op, from a file or from stdin (read as txt).
expect_status 0 "$BIN/onesheet" submit - < "$T/200k.txt"
[ "$(cat "$T/out")" = "$b200" ] || fail "stdin: another batch id"
grep -q "already submitted: nothing new to enqueue (200000 jobs)" "$T/err" || { cat "$T/err"; fail "stdin resubmit"; }
[ "$(sent)" = 200000 ] || fail "resubmit sent more"
ok "stdin gives the file's batch; resubmitting is a no-op"

# A submit killed between ledger and queue: the pending jobs are sent by
# the next submit of the same input, and only they.
db "delete from queue_messages where id in (select id from queue_messages limit 12345);
    update ledger_jobs set enqueued_ms = 0 where rowid in (select rowid from ledger_jobs limit 12345)"
# The dry run streams too, and tells those jobs (new) from the others.
/usr/bin/time -v "$BIN/onesheet" submit --dry-run --json "$T/200k.txt" >"$T/dry" 2>"$T/err" ||
    { cat "$T/err" >&2; fail "dry run"; }
python3 - "$T/dry" <<'PY' || fail "dry run: $(tail -n 1 "$T/dry")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last, jobs = rows[-1], rows[:-1]
assert (last["jobs"], last["new"], last["submitted"]) == (200000, 12345, 187655), last
assert len(jobs) == 200000 and sum(j["new"] for j in jobs) == 12345
assert [j["line"] for j in jobs] == list(range(1, 200001))
PY
grep -q "estimated cost: \$0.00 for 12345 new jobs (187655 already submitted, not counted" "$T/err" ||
    { cat "$T/err"; fail "dry run estimate"; }
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/err")
if [[ "$(ldd "$BIN/onesheet" 2>/dev/null || true)" != *libasan* ]]; then
    [ -n "$rss" ] && [ "$rss" -lt 131072 ] || fail "200k dry run: peak RSS ${rss:-?} KB"
fi
[ "$(db "select count(*) from ledger_jobs where enqueued_ms = 0")" = 12345 ] || fail "the dry run sent"
expect_status 0 "$BIN/onesheet" submit --json "$T/200k.txt"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["enqueued"]==12345 and o["new"]==0 and o["jobs"]==200000, o' "$T/out" ||
    fail "pending re-sent: $(cat "$T/out")"
[ "$(db "select count(*) from ledger_jobs where enqueued_ms = 0")" = 0 ] || fail "still pending"
ok "jobs left pending: --dry-run (peak RSS $((rss / 1024)) MB) counts them new, the next submit sends them (12,345 of 200,000)"

# One bad line at the very end of 100,001: nothing recorded, nothing sent.
rm -rf "$ONESHEET_STATE_DIR"
expect_status 65 "$BIN/onesheet" submit "$T/bad_end.jsonl"
grep -q "bad_end.jsonl:100001: seed: must be an integer" "$T/err" || { cat "$T/err"; fail "last line named"; }
grep -q "1 invalid entry; nothing enqueued (--skip-invalid enqueues the valid ones)" "$T/err" || fail "summary"
[ "$(recorded)" = 0 ] || fail "a bad last line still recorded $(recorded) jobs"
[ -z "$(ls -A "$TMPDIR")" ] || fail "the spool was left behind after a refusal"
expect_status 0 "$BIN/onesheet" submit --skip-invalid "$T/bad_end.jsonl"
[ "$(sent)" = 100000 ] || fail "--skip-invalid sent $(sent)"
ok "a bad line at the end of 100,001 enqueues nothing; --skip-invalid the 100,000 others"

# Duplicates, invalid entries and --skip-invalid as before; ids as the
# in-memory path's.
rm -rf "$ONESHEET_STATE_DIR"
expect_status 65 "$BIN/onesheet" submit "$T/mix.jsonl"
grep -q "mix.jsonl:4: aspect_ratio" "$T/err" && grep -q "mix.jsonl:5: id: duplicate of line 1" "$T/err" ||
    { cat "$T/err"; fail "mix: errors named"; }
grep -q "2 invalid entries; nothing enqueued" "$T/err" || fail "mix: count"
expect_status 0 "$BIN/onesheet" submit --skip-invalid --json "$T/mix.jsonl"
grep -q "1 duplicate entry folded" "$T/err" || { cat "$T/err"; fail "fold noted"; }
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert (o["jobs"], o["enqueued"], o["invalid"]) == (3, 3, 2), o' "$T/out" ||
    fail "mix: $(cat "$T/out")"
[ "$(db "select job_id from ledger_jobs order by line" | tr '\n' ' ')" = "$(dry_ids --skip-invalid "$T/mix.jsonl" | tr '\n' ' ')" ] ||
    fail "mix: job ids differ from --dry-run's"
ok "duplicates, invalid entries and --skip-invalid as the in-memory reader; same job ids"

# CSV (BOM, CRLF, a quoted field over two lines) streams the same way.
rm -rf "$ONESHEET_STATE_DIR"
expect_status 0 "$BIN/onesheet" submit "$T/multi.csv"
[ "$(cat "$T/out")" = "$(dry_batch "$T/multi.csv")" ] || fail "csv: batch id differs"
[ "$(sent)" = 20001 ] || fail "csv sent $(sent)"
[ "$(db "select spec_json like '%over two lines%' from ledger_jobs where line = 2")" = 1 ] || fail "csv: multi-line field"
ok "CSV with a field over two lines: 20,001 jobs, batch id as --dry-run's"

# Over budget: refused before anything is written.
rm -rf "$ONESHEET_STATE_DIR"
expect_status 65 "$BIN/onesheet" submit --model stability.sd3-5-large-v1:0 --budget 1 "$T/200k.txt"
grep -q "over budget: 200000 jobs would cost about" "$T/err" || { cat "$T/err"; fail "budget named"; }
[ "$(recorded)" = 0 ] || fail "over budget still recorded jobs"
ok "--budget refuses a big file before anything is written"
