# --grace: SIGTERM with a job stuck in the model past the grace.  The worker
# gives the job back (ledger queued with code "shutdown", message visible at
# once) and exits 0 within about a second of the grace running out; a second
# worker then finishes it.
source "$(dirname "$0")/lib.sh"

echo "Grace period poster: a lighthouse in a storm" > "$T/p.txt"
"$BIN/onesheet" submit "$T/p.txt" >/dev/null 2>&1
ONESHEET_WORKER_TEST_DELAY_MS=5000 "$BIN/onesheet-worker" --concurrency 2 --grace 1 \
    --visibility 60 2>"$T/w.log" &
pid=$!; PIDS+=("$pid")
for _ in $(seq 50); do grep -q job_started "$T/w.log" && break; sleep 0.1; done
grep -q job_started "$T/w.log" || fail "job never started"
[ "$(db "select state from ledger_jobs")" = running ] || fail "job not running"
t0=$(date +%s%N)
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" = 0 ] || { cat "$T/w.log" >&2; fail "exit status $rc after SIGTERM"; }
[ "$ms" -lt 3000 ] || fail "took ${ms} ms to stop with --grace 1"
[ "$ms" -ge 900 ] || fail "stopped after ${ms} ms, before the grace ran out"
grep -q 'event=job_given_back.*reason=shutdown' "$T/w.log" || fail "no job_given_back logged"
grep -q 'event=job_succeeded' "$T/w.log" && fail "the stuck job was completed after give-back"
[ "$(db "select state || ' ' || error_code || ' ' || coalesce(lease_owner, '-') from ledger_jobs")" = "queued shutdown -" ] ||
    fail "ledger after give-back: $(db "select state, error_code, lease_owner from ledger_jobs")"
now=$(( $(date +%s%N) / 1000000 ))
[ "$(db "select count(*) from queue_messages where visible_at <= $now")" = 1 ] ||
    fail "message not visible again: $(db "select visible_at - $now from queue_messages")"
ok "SIGTERM after --grace 1 gave the stuck job back and exited 0 in ${ms} ms"

# A second worker picks it up at once (not after the 60 s visibility).
timeout 20 "$BIN/onesheet-worker" --concurrency 1 --drain 2>"$T/w2.log" ||
    fail "second worker failed"
[ "$(db "select state from ledger_jobs")" = succeeded ] || fail "second worker did not finish it"
[ "$(db "select count(*) from queue_messages")" = 0 ] || fail "message left in the queue"
ok "a second worker finished the given-back job"

# Within the grace, in-flight jobs finish as before.
echo "Grace period poster: a second lighthouse" > "$T/p2.txt"
"$BIN/onesheet" submit "$T/p2.txt" >/dev/null 2>&1
ONESHEET_WORKER_TEST_DELAY_MS=800 "$BIN/onesheet-worker" --concurrency 1 --grace 10 \
    2>"$T/w3.log" &
pid=$!; PIDS+=("$pid")
for _ in $(seq 50); do grep -q job_started "$T/w3.log" && break; sleep 0.1; done
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "exit status $rc"
grep -q 'event=job_given_back' "$T/w3.log" && fail "gave back a job that finished within the grace"
[ "$(db "select count(*) from ledger_jobs where state='succeeded'")" = 2 ] || { db "select batch_id, job_id, state from ledger_jobs" >&2; cat "$T/w3.log" >&2; fail "in-grace job not finished"; }
ok "a job finishing within the grace is completed, not given back"
