# A message received max_receives times without finishing (its worker keeps
# dying) goes to the dead-letter store and its job ends failed.
source "$(dirname "$0")/lib.sh"

export ONESHEET_MAX_RECEIVES=2
batch=$("$BIN/onesheet" submit --prompt "A poster whose worker always crashes" 2>/dev/null)
for i in 1 2; do
    ONESHEET_WORKER_TEST_DELAY_MS=5000 "$BIN/onesheet-worker" --concurrency 1 --visibility 1 \
        2>>"$T/w.log" &
    pid=$!
    for _ in $(seq 50); do grep -q job_started "$T/w.log" 2>/dev/null && [ "$(grep -c job_started "$T/w.log")" -ge $i ] && break; sleep 0.1; done
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    sleep 1.2
done
"$BIN/onesheet-worker" --concurrency 1 --visibility 1 --drain 2>>"$T/w.log"
state=$(db "select state || '|' || error_code from ledger_jobs where batch_id='$batch'")
[ "$state" = "failed|dead_letter" ] || { cat "$T/w.log"; fail "job state $state"; }
[ "$(db "select count(*) from queue_dead")" = 1 ] || fail "message in the dead-letter table"
grep -q event=job_dead_lettered "$T/w.log" || fail "logged"
ok "max_receives → dead-letter, job failed"
