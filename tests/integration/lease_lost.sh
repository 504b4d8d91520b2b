# Lease loss: while a job is in flight another worker takes its lease (here:
# the ledger row is rewritten, as a worker that found the lease lapsed
# would).  The next heartbeat finds the lease gone, logs lease_lost and
# stops extending that job (neither lease nor message); at the end the
# conditional completion fails, so the job is not recorded as this
# worker's success and its message is left for the new holder.
source "$(dirname "$0")/lib.sh"

echo "Lease loss poster: a lighthouse in a storm" > "$T/p.txt"
batch=$("$BIN/onesheet" submit "$T/p.txt" 2>/dev/null)
ONESHEET_WORKER_TEST_DELAY_MS=4500 "$BIN/onesheet-worker" --concurrency 1 --visibility 3 \
    --max-jobs 1 --log-level debug 2>"$T/w.log" &
pid=$!; PIDS+=("$pid")
for _ in $(seq 50); do grep -q job_started "$T/w.log" && break; sleep 0.1; done
grep -q job_started "$T/w.log" || fail "the job did not start"
for _ in $(seq 30); do grep -q 'event=heartbeat ' "$T/w.log" && break; sleep 0.1; done
grep -q 'event=heartbeat ' "$T/w.log" || fail "no heartbeat within 3 s (visibility 3 s)"
far=$(( $(date +%s%3N) + 600000 ))
db "update ledger_jobs set lease_owner='thief:1:0', lease_expires_ms=$far where batch_id='$batch'"
rc=0; wait "$pid" || rc=$?; PIDS=()
[ "$rc" = 0 ] || fail "worker exited $rc"
grep -q 'event=lease_lost' "$T/w.log" || { cat "$T/w.log" >&2; fail "no lease_lost"; }
after=$(sed -n '/event=lease_lost/,$p' "$T/w.log" | grep -c 'event=heartbeat ' || true)
[ "$after" = 0 ] || fail "$after heartbeats after the lease was lost"
grep -q 'event=job_superseded' "$T/w.log" || fail "completion should have been refused"
grep -q 'event=job_succeeded' "$T/w.log" && fail "the worker recorded a success without the lease"
[ "$(db "select state || ' ' || lease_owner from ledger_jobs where batch_id='$batch'")" = "running thief:1:0" ] \
    || fail "the thief's lease should stand: $(db "select state, lease_owner from ledger_jobs")"
n=$(db "select count(*) from queue_messages")
[ "$n" = 1 ] || fail "the message should stay for the lease holder (found $n)"
ok "lease lost mid-job: heartbeats stopped, completion refused, message kept"
