# End to end on the embedded default: submit txt, JSONL and CSV files, drain
# with a worker, check every job succeeded once with one valid PNG each, and
# that resubmitting enqueues nothing.  Also status/list/wait/urls/cancel.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

b1=$("$BIN/onesheet" submit examples/prompts.txt 2>"$T/submit.err")
[[ $b1 =~ ^b[0-9a-f]{16}$ ]] || fail "batch id on stdout: '$b1'"
n1=$(grep -cvE '^\s*(#|$)' examples/prompts.txt)
grep -q "enqueued $n1 of $n1" "$T/submit.err" || { cat "$T/submit.err"; fail "submit summary"; }
b2=$("$BIN/onesheet" submit examples/prompts.jsonl 2>/dev/null)
b3=$("$BIN/onesheet" submit examples/catalogue.csv 2>/dev/null)
b4=$(echo "A lighthouse keeper's last night, painted in oils" | "$BIN/onesheet" submit - 2>/dev/null)
b5=$("$BIN/onesheet" submit --prompt "A futuristic city skyline at sunset" --aspect 16:9 2>/dev/null)
total=$(db "select count(*) from ledger_jobs")
[ "$(db "select count(*) from queue_messages")" = "$total" ] || fail "one message per job"
ok "submitted $total jobs in 5 batches"

# Resubmitting the same input finds the batch and enqueues nothing new.
again=$("$BIN/onesheet" submit examples/prompts.txt 2>"$T/again.err")
[ "$again" = "$b1" ] || fail "same file, same batch id"
grep -q "nothing new" "$T/again.err" || fail "resubmit says nothing new"
[ "$(db "select count(*) from queue_messages")" = "$total" ] || fail "resubmit enqueued something"
ok "resubmit enqueues 0"

# Cancel b5 (a batch id) and b4's job (by job id) before the worker runs:
# both must end cancelled.
"$BIN/onesheet" cancel "$b5" >/dev/null
j4=$(db "select job_id from ledger_jobs where batch_id='$b4'")
"$BIN/onesheet" cancel "$j4" | grep -q "cancelled 1 job" || fail "cancel by job id"
expect_status 65 "$BIN/onesheet" cancel jnosuchjob00000000000
"$BIN/onesheet-worker" --concurrency 2 --drain --log-level warn 2>"$T/worker.err"
# prompts.jsonl's "cathedral" names a Bedrock model: the draft worker does
# not draw it as a draft, it leaves it queued for a worker serving the model.
[ "$(db "select count(*) from queue_messages")" = 1 ] || fail "queue drained but for the Bedrock job"
[ "$(db "select state || ' ' || attempts from ledger_jobs where batch_id='$b2' and job_id='cathedral'")" = "queued 0" ] ||
    fail "the Bedrock job was claimed by a draft worker"
[ "$(db "select state from ledger_jobs where batch_id='$b5'")" = cancelled ] || fail "cancelled job stays cancelled"
[ "$(db "select state from ledger_jobs where batch_id='$b4'")" = cancelled ] || fail "cancelled job by id"
[ "$(db "select count(*) from ledger_jobs where state='succeeded'")" = $((total - 3)) ] || {
    db "select job_id, state, error_message from ledger_jobs where state!='succeeded'"; fail "all succeeded"; }
[ "$(db "select count(*) from ledger_jobs where attempts != 1 and state='succeeded'")" = 0 ] || fail "each processed once"
ok "worker drained: $((total - 3)) succeeded, 2 cancelled, the Bedrock job left queued"

# One poster per succeeded job, at BATCH/JOB.png, matching the ledger's
# CRC-64/NVME (the default checksum), and the engine's art beside it at
# BATCH/JOB.raw.png (draft proofs carry text, so the poster is not the art).
files=$(find "$ONESHEET_STATE_DIR/posters" -type f | wc -l)
[ "$files" = $((2 * (total - 3))) ] || fail "expected $((2 * (total - 3))) files, found $files"
while IFS='|' read -r b j alg sum art url; do
    f="$ONESHEET_STATE_DIR/posters/$b/$j.png"
    is_png "$f" || fail "$f is not a PNG"
    is_png "$ONESHEET_STATE_DIR/posters/$b/$j.raw.png" || fail "$j has no raw art"
    [ "$alg" = crc64nvme ] || fail "$j: checksum_alg $alg"
    [ "$(crc64_b64 "$f")" = "$sum" ] || fail "$f checksum differs from ledger"
    [ "$art" = "$b/$j.raw.png" ] || fail "$j: art_key $art"
    [ "$url" = "file://$f" ] || fail "url $url"
done < <(db "select batch_id, job_id, checksum_alg, checksum, art_key, url from ledger_jobs where state='succeeded'")
ok "one valid PNG per job, checksums match"

# status: batch table, batch detail, one job, JSON.
"$BIN/onesheet" status >"$T/st" && grep -q "$b1" "$T/st" || fail "status lists batches"
"$BIN/onesheet" status "$b1" >"$T/st1"
[ "$(grep -c ' succeeded ' "$T/st1")" -ge "$n1" ] || fail "status BATCH shows jobs"
j=$(db "select job_id from ledger_jobs where batch_id='$b2' limit 1")
"$BIN/onesheet" status "$j" --json >"$T/sj"
python3 -c "import json,sys; d=json.load(open('$T/sj')); assert d['state']=='succeeded' and d['url'].startswith('file://') and d['finished_by'], d"
# A finished job names its worker and holds no lease.
[ "$(db "select count(*) from ledger_jobs where state = 'succeeded' and (lease_owner is not null or finished_by is null)")" = 0 ] ||
    fail "succeeded jobs still hold a lease or name no worker"
"$BIN/onesheet" status --json | python3 -c "
import json,sys
rows=[json.loads(l) for l in sys.stdin]
assert len(rows)==5, rows
assert all(r['states']['queued']==(1 if r['batch']=='$b2' else 0) for r in rows), rows"
expect_status 65 "$BIN/onesheet" status bnosuchbatch0000
ok "status table, detail and --json"

# wait writes the manifest and exits 0 when all succeeded; 1 with the cancel.
"$BIN/onesheet" wait "$b1" --output "$T/manifest.jsonl" 2>/dev/null
[ "$(wc -l <"$T/manifest.jsonl")" = "$n1" ] || fail "manifest has one line per job"
python3 -c "
import json
for l in open('$T/manifest.jsonl'):
    d=json.loads(l); assert set(d)=={'line','id','batch','tags','state','url','error','attempts'}, d
    assert d['state']=='succeeded' and d['url'] and d['error'] is None
    assert d['line'] >= 1 and d['tags'] == {} and d['attempts'] == 1, d"
expect_status 1 "$BIN/onesheet" wait "$b5"
ok "wait manifest"

# list filters, urls.
[ "$("$BIN/onesheet" list --state cancelled --json | wc -l)" = 2 ] || fail "list --state"
[ "$("$BIN/onesheet" list --batch "$b3" --json | wc -l)" = "$(db "select count(*) from ledger_jobs where batch_id='$b3'")" ] || fail "list --batch"
[ "$("$BIN/onesheet" list --since 1h --json | wc -l)" = "$total" ] || fail "list --since"
expect_status 64 "$BIN/onesheet" list --state bogus
[ "$("$BIN/onesheet" urls "$b3" | wc -l)" = "$(db "select count(*) from ledger_jobs where batch_id='$b3'")" ] || fail "urls"
ok "list and urls"

# Dry run writes nothing.
before=$(db "select count(*) from ledger_jobs")
"$BIN/onesheet" submit --dry-run --prompt "A new prompt nobody sent" >/dev/null 2>&1
[ "$(db "select count(*) from ledger_jobs")" = "$before" ] || fail "dry run enqueued"
ok "dry run"

# Private state: directory 0700, database 0600.
[ "$(stat -c %a "$ONESHEET_STATE_DIR")" = 700 ] || fail "state dir mode"
[ "$(stat -c %a "$ONESHEET_STATE_DIR/onesheet.db")" = 600 ] || fail "db mode"
ok "state directory 0700, ledger 0600"
