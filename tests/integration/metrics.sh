# --metrics: Prometheus text on GET /metrics, with counters that match the
# ledger after a small run; other paths are 404; a bad address is refused.
source "$(dirname "$0")/lib.sh"

expect_status 64 "$BIN/onesheet-worker" --metrics nonsense
python3 -c "
for i in range(6): print(f'Metrics poster {i}: a fox in the snow')" > "$T/p.txt"
"$BIN/onesheet" submit "$T/p.txt" >/dev/null 2>&1
ONESHEET_WORKER_TEST_DELAY_MS=100 "$BIN/onesheet-worker" --concurrency 2 \
    --metrics 127.0.0.1:0 2>"$T/w.log" &
pid=$!; PIDS+=("$pid")
for _ in $(seq 50); do grep -q metrics_listening "$T/w.log" && break; sleep 0.1; done
addr=$(sed -n 's/.*event=metrics_listening addr=\([^ ]*\).*/\1/p' "$T/w.log")
[ -n "$addr" ] || { cat "$T/w.log" >&2; fail "no metrics_listening line"; }
curl -fsS "http://$addr/metrics" >"$T/m0" || fail "scrape during the run failed"
grep -q '^# TYPE onesheet_generate_seconds histogram$' "$T/m0" || fail "no histogram TYPE line"
for _ in $(seq 100); do
    [ "$(db "select count(*) from ledger_jobs where state='succeeded'")" = 6 ] && break
    sleep 0.1
done
sleep 0.3   # the last job's message delete
curl -fsS "http://$addr/metrics" >"$T/m"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/m"; }
[ "$(metric 'onesheet_jobs_total{state="succeeded"}')" = \
  "$(db "select count(*) from ledger_jobs where state='succeeded'")" ] || { cat "$T/m" >&2; fail "succeeded counter"; }
[ "$(metric 'onesheet_jobs_total{state="succeeded"}')" = 6 ] || fail "six succeeded"
[ "$(metric 'onesheet_jobs_total{state="failed"}')" = 0 ] || fail "failed counter"
[ "$(metric onesheet_inflight)" = 0 ] || fail "in flight after the run"
[ "$(metric onesheet_generate_seconds_count)" = 6 ] || fail "histogram count"
[ "$(metric 'onesheet_generate_seconds_bucket{le="+Inf"}')" = 6 ] || fail "+Inf bucket"
[ "$(metric 'onesheet_generate_seconds_bucket{le="120"}')" = 6 ] || fail "120 s bucket"
[ "$(metric onesheet_throttles_total)" = 0 ] || fail "throttles"
[ "$(metric onesheet_retries_total)" = 0 ] || fail "retries"
# Buckets are cumulative: never decreasing.
awk '/^onesheet_generate_seconds_bucket/ { if ($2 < last) bad = 1; last = $2 } END { exit bad }' "$T/m" ||
    fail "buckets not cumulative"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/other")
[ "$code" = 404 ] || fail "GET /other gave $code"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "exit status $rc"
ok "GET /metrics counters match the ledger (6 succeeded, histogram count 6)"
