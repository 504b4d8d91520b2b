#!/usr/bin/env bash
# The results manifest carries the catalogue through: `wait --output F.jsonl`
# gives each job's input line, id, tags, state, url, error and attempts;
# `wait --output F.csv` gives line, id, the spec's fields, a tags.KEY
# column per tag, state, url, error and attempts, quoted per RFC 4180 so
# python's csv module reads every field back as it went in.  Both are
# written through a temporary file and a rename; `submit --wait --output`
# writes the same files.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "skip: no python3"; exit 0; }
CAT=$ROOT/examples/catalogue.csv

cat >"$T/tricky.csv" <<'CSV'
id,prompt,tags.shelf,title
comma-quote,"A poster with a comma, and a ""quoted"" word",A1,"Title, with comma"
formula,=SUM(A1:A2) a formula-looking prompt,"B,2",
multi,"Two
lines",C3,Multi
CSV
b=$("$BIN/onesheet" submit "$CAT" 2>"$T/err") || { cat "$T/err"; fail "submit catalogue"; }
b2=$("$BIN/onesheet" submit "$T/tricky.csv" 2>"$T/err") || { cat "$T/err"; fail "submit tricky"; }
"$BIN/onesheet" cancel multi >/dev/null || fail "cancel"
"$BIN/onesheet-worker" --concurrency 2 --drain --log-level warn 2>"$T/worker.err" || { cat "$T/worker.err"; fail worker; }

mkdir -p "$T/m"
"$BIN/onesheet" wait "$b" --output "$T/m/results.jsonl" 2>/dev/null || fail "wait --output jsonl"
"$BIN/onesheet" wait "$b" --output "$T/m/results.csv" 2>/dev/null || fail "wait --output csv"
expect_status 1 "$BIN/onesheet" wait "$b2" --output "$T/m/tricky.CSV"
"$BIN/onesheet" wait "$b2" --output - >"$T/stdout.jsonl" 2>/dev/null && fail "wait b2 should exit 1"
[ "$(ls "$T/m" | sort | tr '\n' ' ')" = "results.csv results.jsonl tricky.CSV " ] ||
    fail "leftover files: $(ls "$T/m")"

python3 - "$CAT" "$T/m/results.jsonl" "$T/m/results.csv" <<'PY' || fail "catalogue manifests"
import csv, json, sys
cat, jl, cv = sys.argv[1:]
# The catalogue: each record's first line, as the bulk reader numbers it.
want, prev = {}, 0
with open(cat, newline="") as f:
    r = csv.DictReader(f)
    r.fieldnames  # reads the header
    prev = r.line_num
    for row in r:
        want[row["id"]] = (prev + 1, row)
        prev = r.line_num
rows = [json.loads(l) for l in open(jl)]
assert len(rows) == len(want), (len(rows), len(want))
for d in rows:
    assert list(d) == ["line", "id", "batch", "tags", "state", "url", "error", "attempts"], d
    line, src = want[d["id"]]
    assert d["line"] == line, (d, line)
    assert d["tags"] == {"sku": src["tags.sku"], "collection": src["tags.collection"]}, d
    assert d["state"] == "succeeded" and d["url"].startswith("file://") and d["error"] is None, d
    assert d["attempts"] == 1, d
with open(cv, newline="") as f:
    r = csv.reader(f)
    header = next(r)
    body = list(r)
assert header == ["line", "id", "prompt", "model", "aspect_ratio", "output_format", "title",
                  "tags.collection", "tags.sku", "state", "url", "error", "attempts"], header
assert len(body) == len(want), len(body)
seen = set()
for rec in body:
    d = dict(zip(header, rec))
    assert len(rec) == len(header), rec
    line, src = want[d["id"]]
    seen.add(d["id"])
    assert d["line"] == str(line), (d, line)
    for k in ("prompt", "title", "aspect_ratio", "tags.sku", "tags.collection"):
        assert d[k] == src[k], (k, d[k], src[k])
    assert d["state"] == "succeeded" and d["url"].startswith("file://"), d
    assert d["error"] == "" and d["attempts"] == "1", d
assert seen == set(want), seen
PY
ok "catalogue in, catalogue out: JSONL and CSV carry line, id, tags and the input's columns"

python3 - "$T/m/tricky.CSV" "$T/stdout.jsonl" <<'PY' || { cat "$T/m/tricky.CSV"; fail "tricky round trip"; }
import csv, json, sys
with open(sys.argv[1], newline="") as f:
    rows = list(csv.DictReader(f))
by = {r["id"]: r for r in rows}
assert len(rows) == 3, rows
assert list(rows[0]) == ["line", "id", "prompt", "model", "aspect_ratio", "output_format",
                         "title", "tags.shelf", "state", "url", "error", "attempts"], list(rows[0])
cq = by["comma-quote"]
assert cq["prompt"] == 'A poster with a comma, and a "quoted" word', cq
assert cq["title"] == "Title, with comma" and cq["tags.shelf"] == "A1" and cq["line"] == "2", cq
fm = by["formula"]
assert fm["prompt"] == "=SUM(A1:A2) a formula-looking prompt", fm  # data, not escaped
assert fm["tags.shelf"] == "B,2" and fm["title"] == "" and fm["line"] == "3", fm
mu = by["multi"]
assert mu["prompt"] == "Two\nlines" and mu["line"] == "4" and mu["state"] == "cancelled", mu
assert mu["url"] == "" and mu["attempts"] == "0", mu
jl = [json.loads(l) for l in open(sys.argv[2])]
assert [d["id"] for d in jl] == ["comma-quote", "formula", "multi"], jl
assert jl[1]["tags"] == {"shelf": "B,2"} and jl[2]["state"] == "cancelled", jl
PY
raw=$(grep -c '"A poster with a comma, and a ""quoted"" word"' "$T/m/tricky.CSV")
[ "$raw" = 1 ] || fail "the prompt is not quoted with its quotes doubled"
ok "a prompt with a comma, quotes and a line break round-trips; =... is written as data; - is JSONL"

# Overwriting keeps the rename: the old file is replaced whole, no temp left.
echo stale >"$T/m/results.csv"
"$BIN/onesheet" wait "$b" --output "$T/m/results.csv" 2>/dev/null || fail "overwrite"
head -1 "$T/m/results.csv" | grep -q '^line,id,prompt,' || fail "overwrite: header"
ls "$T/m" | grep -q tmp && fail "temp file left: $(ls "$T/m")"
expect_status 73 "$BIN/onesheet" wait "$b" --output "$T/no/such/dir/r.csv"
ok "manifests are replaced whole; an unwritable path is exit 73"

# submit --wait --output writes the same CSV.
"$BIN/onesheet-worker" --concurrency 1 --log-level warn 2>"$T/worker2.err" &
W=$!; PIDS+=("$W")
printf 'prompt,tags.sku\n"Wait, then write",W-1\n' >"$T/one.csv"
"$BIN/onesheet" submit --wait --output "$T/m/one.csv" "$T/one.csv" >/dev/null 2>"$T/err" ||
    { cat "$T/err"; fail "submit --wait --output"; }
python3 - "$T/m/one.csv" <<'PY' || fail "submit --wait --output csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 1 and rows[0]["prompt"] == "Wait, then write" and rows[0]["tags.sku"] == "W-1", rows
assert rows[0]["line"] == "2" and rows[0]["state"] == "succeeded", rows
PY
kill -TERM "$W"; wait "$W" || fail "worker exit status"
ok "submit --wait --output writes the CSV manifest"
