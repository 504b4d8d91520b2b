# Four worker processes on one SQLite queue, 500 jobs: every job is processed
# exactly once (one generation, one success, one file).
source "$(dirname "$0")/lib.sh"

python3 -c "
for i in range(500): print(f'Poster number {i}: a lighthouse in a storm, variation {i}')" > "$T/p500.txt"
batch=$("$BIN/onesheet" submit "$T/p500.txt" 2>/dev/null)
for i in 1 2 3 4; do
    "$BIN/onesheet-worker" --concurrency 2 --drain --log-level info 2>"$T/w$i.log" &
    PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p" || fail "worker exited non-zero"; done
PIDS=()
[ "$(db "select count(*) from ledger_jobs where batch_id='$batch' and state='succeeded'")" = 500 ] || fail "all 500 succeeded"
[ "$(db "select count(*) from ledger_jobs where attempts != 1")" = 0 ] || fail "a job was claimed twice"
started=$(cat "$T"/w*.log | grep -c 'event=job_started')
uniq=$(cat "$T"/w*.log | grep 'event=job_started' | grep -o 'job=[^ ]*' | sort -u | wc -l)
[ "$started" = 500 ] && [ "$uniq" = 500 ] || fail "generations: $started started, $uniq distinct"
for i in 1 2 3 4; do
    n=$(grep -c 'event=job_succeeded' "$T/w$i.log" || true)
    echo "  worker $i: $n jobs"
done
[ "$(find "$ONESHEET_STATE_DIR/posters/$batch" -name '*.png' ! -name '*.raw.png' | wc -l)" = 500 ] || fail "500 posters"
[ "$(find "$ONESHEET_STATE_DIR/posters/$batch" -name '*.raw.png' | wc -l)" = 500 ] || fail "500 raw art files"
ok "4 workers, 500 jobs, each processed exactly once"
