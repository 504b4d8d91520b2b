# kill -9 a worker mid-batch, restart: every job ends succeeded exactly once
# with one file per job; only jobs in flight at the kill are generated again.
source "$(dirname "$0")/lib.sh"

python3 -c "
for i in range(60): print(f'Crash test poster {i}: neon rain over a night market')" > "$T/p.txt"
batch=$("$BIN/onesheet" submit "$T/p.txt" 2>/dev/null)
kills=0
for round in 1 2 3; do
    ONESHEET_WORKER_TEST_DELAY_MS=150 "$BIN/onesheet-worker" --concurrency 2 --visibility 2 \
        2>>"$T/w.log" &
    pid=$!
    sleep 0.$((4 + round * 2))
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
done
done_before=$(db "select count(*) from ledger_jobs where state='succeeded'")
[ "$done_before" -lt 60 ] || fail "the kills came too late to test anything"
# Restart and drain: messages held by the killed workers reappear after 2 s.
"$BIN/onesheet-worker" --concurrency 2 --visibility 2 --drain 2>>"$T/w.log"
[ "$(db "select count(*) from ledger_jobs where state='succeeded'")" = 60 ] || {
    db "select job_id,state,attempts,error_message from ledger_jobs where state!='succeeded'"; fail "all succeeded"; }
[ "$(db "select count(*) from queue_messages")" = 0 ] || fail "messages left"
# Each job stores its poster (JOB.png) and the engine's art (JOB.raw.png).
[ "$(find "$ONESHEET_STATE_DIR/posters/$batch" -type f | wc -l)" = 120 ] || {
    find "$ONESHEET_STATE_DIR/posters/$batch" -type f | grep -v '\.png$'; fail "two files per job, no temp files"; }
[ "$(find "$ONESHEET_STATE_DIR/posters/$batch" -name '*.raw.png' | wc -l)" = 60 ] || fail "one raw art per job"
# Each job is logged succeeded once at most; a kill -9 between the ledger's
# mark and the log line loses the line (the ledger above has the job), so
# up to one a kill may be missing.
succ=$(grep -c 'event=job_succeeded' "$T/w.log")
uniq_succ=$(grep -o 'event=job_succeeded batch=[^ ]* job=[^ ]*' "$T/w.log" | sort -u | wc -l)
[ "$succ" = "$uniq_succ" ] || fail "a job was logged succeeded twice ($succ lines, $uniq_succ jobs)"
[ "$succ" -le 60 ] && [ "$succ" -ge $((60 - kills)) ] ||
    fail "job_succeeded logged $succ times for 60 jobs"
extra=$(( $(grep -c 'event=job_started' "$T/w.log") - 60 ))
[ "$extra" -le $((kills * 2)) ] || fail "extra generations $extra > kills*concurrency"
ok "$kills kills mid-batch ($done_before done before restart): 60/60 succeeded once, $extra extra generations"
