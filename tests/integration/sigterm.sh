# SIGTERM: the worker stops receiving, finishes the jobs in flight, exits 0;
# nothing is left running in the ledger.
source "$(dirname "$0")/lib.sh"

python3 -c "
for i in range(20): print(f'Graceful stop poster {i}')" > "$T/p.txt"
"$BIN/onesheet" submit "$T/p.txt" >/dev/null 2>&1
ONESHEET_WORKER_TEST_DELAY_MS=400 "$BIN/onesheet-worker" --concurrency 2 2>"$T/w.log" &
pid=$!
for _ in $(seq 50); do grep -q job_started "$T/w.log" && break; sleep 0.1; done
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "worker exit status $rc after SIGTERM"
[ "$(db "select count(*) from ledger_jobs where state='running'")" = 0 ] || fail "jobs left running"
started=$(grep -c event=job_started "$T/w.log")
succeeded=$(db "select count(*) from ledger_jobs where state='succeeded'")
[ "$started" = "$succeeded" ] || fail "started $started but succeeded $succeeded"
[ "$succeeded" -lt 20 ] || fail "worker did not stop early"
ok "SIGTERM finished $succeeded in-flight jobs and exited 0"
