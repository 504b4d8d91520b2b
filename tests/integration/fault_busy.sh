# Fault-injection matrix, embedded mode: SQLITE_BUSY storms.  A background
# process holds BEGIN EXCLUSIVE on the state database (queue and ledger)
# for 100-500 ms at a time, again and again, while four submitters and two
# workers run.  Everything completes: every job succeeded exactly once, one
# poster each, the queue empty, and no "database is locked" anywhere.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/faultmatrix.sh"
export ONESHEET_MAX_RECEIVES=5

# The database must exist before the storm: the first submit creates it.
first=$(fm_submit 4 "Busy storm first")
python3 - "$ONESHEET_STATE_DIR/onesheet.db" "$T/storm.stop" >"$T/storm.log" 2>&1 <<'PY' &
import os, random, sqlite3, sys, time
db, stop = sys.argv[1], sys.argv[2]
random.seed(9)
c = sqlite3.connect(db, timeout=30, isolation_level=None)
held = bursts = 0.0
t0 = time.time()
while not os.path.exists(stop) and time.time() - t0 < 90:
    c.execute("BEGIN EXCLUSIVE")
    d = random.uniform(0.1, 0.5)
    time.sleep(d)
    c.execute("COMMIT")
    held += d
    bursts += 1
    time.sleep(random.uniform(0.02, 0.15))
print(f"bursts={int(bursts)} held_s={held:.1f} of {time.time() - t0:.1f}")
PY
storm=$!
PIDS+=($storm)

# Four submitters (the same prompts twice: resubmitting is idempotent) and
# two workers that run until the queue drains.
for i in 1 2 3; do
    python3 -c "
for j in range(8): print(f'Busy storm {$i}-{j}: a red fox in the snow')" >"$T/jobs$i.txt"
done
cp "$T/jobs1.txt" "$T/jobs4.txt"
subs=()
for i in 1 2 3 4; do
    timeout 40 "$BIN/onesheet" submit "$T/jobs$i.txt" >"$T/batch$i" 2>"$T/submit$i.err" &
    subs+=($!)
done
sleep 1
timeout -k 5 50 "$BIN/onesheet-worker" --concurrency 2 --visibility 5 --poll-wait 1 \
    2>"$T/w1.log" &
w1=$!
for i in 0 1 2 3; do
    wait "${subs[$i]}" || { cat "$T/submit$((i + 1)).err"; fail "submitter $((i + 1)) failed under the storm"; }
done
fm_worker "$T/w2.log" 50 --concurrency 2 --visibility 5 || fail "worker 2 exit status"
kill -TERM "$w1" 2>/dev/null || true
wait "$w1" || true
touch "$T/storm.stop"
wait "$storm" || fail "the storm process failed"
[ "$(cat "$T/batch1")" = "$(cat "$T/batch4")" ] || fail "resubmitting the same file made another batch"

total=0
for b in "$first" $(cat "$T/batch1" "$T/batch2" "$T/batch3"); do
    n=$(grep -c . "$T/jobs1.txt")
    [ "$b" = "$first" ] && n=4
    fm_expect "$b" "succeeded=$n"
    files=$(find "$ONESHEET_STATE_DIR/posters/$b" -name '*.png' ! -name '*.raw.png' | wc -l)
    [ "$files" = "$n" ] || fail "batch $b: $files posters for $n jobs"
    total=$((total + n))
done
[ "$(db 'select count(*) from ledger_jobs')" = "$total" ] || fail "ledger rows: $(db 'select count(*) from ledger_jobs') for $total jobs"
[ "$(db 'select count(*) from queue_messages')" = 0 ] || fail "messages left in the queue"
[ "$(db 'select count(*) from queue_dead')" = 0 ] || fail "dead-lettered messages"
if grep -il "database is locked\|SQLITE_BUSY\|code=busy" "$T"/w*.log "$T"/submit*.err; then
    fail "a busy database surfaced as an error"
fi
ok "SQLITE_BUSY storm ($(cat "$T/storm.log")): $total/$total succeeded once, queue empty, no 'database is locked'"
