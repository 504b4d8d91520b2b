# Worker liveness on the embedded stack: a worker registers and shows in
# `onesheet workers` and GET /workers, leaves on SIGTERM, ages out after
# kill -9; status, wait and submit --wait warn "no worker" (naming the model,
# since when, and what to start) only when no live worker serves a batch's
# unfinished jobs; POST /generate-poster answers 202 at once with nobody to
# make the poster; a draft worker never draws a job naming a Bedrock model;
# bad --models values are refused with exit 78 naming the nearest id.
source "$(dirname "$0")/lib.sh"

workers_json() { "$BIN/onesheet" workers --json; }
# alive_count: live workers in the registry.
alive_count() { workers_json | grep -c '"alive":true' || true; }
alive_is() { [ "$(alive_count)" = "$1" ]; }
state_is() { [ "$(db "select state from ledger_jobs where batch_id='$1'")" = "$2" ]; }
# wait_for CMD...: up to 10 s for CMD to succeed.
wait_for() {
    for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done
    return 1
}

# ---- bad input: exit 78, the field, the nearest known id; nothing runs ----
expect_status 78 "$BIN/onesheet-worker" --models stability.sd3-5-larg-v1:0 --drain
grep -q 'models: unknown model "stability.sd3-5-larg-v1:0"' "$T/err" || { cat "$T/err"; fail "--models typo: message"; }
grep -q 'did you mean "stability.sd3-5-large-v1:0"' "$T/err" || { cat "$T/err"; fail "--models typo: nearest id"; }
expect_status 78 "$BIN/onesheet-worker" --models draft,stability.stable-image-core-v1:1 --drain
grep -q "draft cannot be served with Bedrock models" "$T/err" || fail "mixed --models: message"
expect_status 78 "$BIN/onesheet-worker" --model draft --models stability.stable-image-core-v1:1 --drain
grep -q -- "--models" "$T/err" || fail "--model draft with Bedrock --models: message"
expect_status 64 "$BIN/onesheet-worker" --beat-interval 0 --drain
grep -q -- "--beat-interval: expected a whole number of seconds from 1 to 3600" "$T/err" || fail "--beat-interval range"
expect_status 64 "$BIN/onesheet-worker" --handback-delay 901 --drain
grep -q -- "--handback-delay: .* from 0 to 900" "$T/err" || fail "--handback-delay range"
expect_status 64 "$BIN/onesheet" workers extra
[ "$("$BIN/onesheet" workers)" = "no workers registered (start one: onesheet-worker)" ] ||
    fail "a refused worker registered"
ok "bad --models: exit 78 naming the field and the nearest id; nothing registered"

# ---- no worker at all: the warning from status, wait and submit --wait ----
batch=$("$BIN/onesheet" submit --prompt "A lighthouse, nobody home" 2>/dev/null)
"$BIN/onesheet" status "$batch" >/dev/null 2>"$T/status.err"
grep -q "no worker serves model draft (none seen)" "$T/status.err" || { cat "$T/status.err"; fail "status: no warning"; }
grep -q "start one: onesheet-worker --models draft" "$T/status.err" || fail "status: what to start"
[ "$(grep -c 'no worker' "$T/status.err")" = 1 ] || fail "status: warned more than once"
expect_status 75 "$BIN/onesheet" wait "$batch" --timeout 1
grep -q "no worker serves model draft" "$T/err" || { cat "$T/err"; fail "wait: no warning"; }
[ "$(grep -c 'no worker' "$T/err")" = 1 ] || fail "wait: repeated the warning"
set +e
timeout 2 "$BIN/onesheet" submit --wait --prompt "Another lighthouse" >/dev/null 2>"$T/sw.err"
set -e
grep -q "no worker serves model draft" "$T/sw.err" || { cat "$T/sw.err"; fail "submit --wait: no warning"; }
ok "no worker: status, wait and submit --wait warn once, naming the model and what to start"

# ---- POST /generate-poster with no live worker: 202 at once ----
if [ -x "$BIN/onesheet-api" ]; then
    "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" --sync-timeout 25 \
        --rate-limit 0 2>"$T/api.log" &
    PIDS+=($!)
    wait_for test -s "$T/api.port" || fail "api did not start"
    PORT=$(cat "$T/api.port")
    t0=$(date +%s%N)
    code=$(curl -s -o "$T/gen.json" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/generate-poster" \
        -H 'Content-Type: application/json' -d '{"prompt": "A city at dusk"}')
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$code" = 202 ] || { cat "$T/gen.json"; fail "generate-poster answered $code"; }
    [ "$ms" -lt 2000 ] || fail "generate-poster took $ms ms with no worker"
    grep -q "no worker serves model draft" "$T/gen.json" || fail "202 without the warning"
    curl -s "http://127.0.0.1:$PORT/healthz" >"$T/health.json"
    python3 -c "import json; d=json.load(open('$T/health.json')); assert d['status']=='ok' and d['workers']['alive']==0, d" ||
        fail "healthz with no worker"
    ok "generate-poster with no worker: 202 in $ms ms (sync timeout 25 s), healthz ok with 0 alive"
fi

# ---- a worker registers, heartbeats, serves: no warning while it is up ----
ONESHEET_WORKER_TEST_DELAY_MS=1500 "$BIN/onesheet-worker" --beat-interval 1 --handback-delay 1 \
    --concurrency 1 2>"$T/w1.log" &
w1=$!
PIDS+=($w1)
wait_for alive_is 1 || { cat "$T/w1.log"; fail "worker did not register"; }
workers_json >"$T/workers.json"
python3 - "$T/workers.json" "$w1" <<'PY' || fail "workers --json fields"
import json, sys
w = [json.loads(l) for l in open(sys.argv[1])]
assert len(w) == 1, w
w = w[0]
assert w["pid"] == int(sys.argv[2]) and w["models"] == ["draft"] and w["state"] == "alive", w
for k in ("id", "host", "version", "started_ms", "last_seen_ms", "in_flight", "done", "rate_per_min"):
    assert k in w, k
PY
"$BIN/onesheet" workers | grep -q "alive" || fail "workers table"
if [ -n "${PORT:-}" ]; then
    curl -s "http://127.0.0.1:$PORT/workers" >"$T/api_workers.json"
    python3 -c "
import json; d=json.load(open('$T/api_workers.json'))
assert d['alive'] == 1 and d['workers'][0]['pid'] == $w1, d" || fail "GET /workers"
    curl -s "http://127.0.0.1:$PORT/healthz" >"$T/health.json"
    python3 -c "import json; d=json.load(open('$T/health.json')); assert d['workers']['models']['draft']==1, d" ||
        fail "healthz per model"
fi
ok "a running worker shows in onesheet workers and GET /workers with its models"

live=$("$BIN/onesheet" submit --prompt "A lighthouse with a keeper" 2>/dev/null)
wait_for state_is "$live" running ||
    fail "the live worker did not start the job"
"$BIN/onesheet" status "$live" >/dev/null 2>"$T/status2.err"
! grep -q "no worker" "$T/status2.err" || fail "warned with a live worker serving the model"
ok "no warning while a live worker serves the batch's model"

# ---- a job naming a Bedrock model: the draft worker leaves it alone ----
bed=$("$BIN/onesheet" submit --prompt "A fox, for real" --model stability.stable-image-core-v1:1 2>/dev/null)
wait_for grep -q "event=job_not_served batch=$bed" "$T/w1.log" || fail "the draft worker did not hand it back"
sleep 2.5   # handed back (1 s delay) and seen again at least once more
[ "$(db "select state || ' ' || attempts from ledger_jobs where batch_id='$bed'")" = "queued 0" ] ||
    fail "the Bedrock job was claimed: $(db "select state, attempts from ledger_jobs where batch_id='$bed'")"
[ ! -e "$ONESHEET_STATE_DIR/posters/$bed" ] || fail "a draft was drawn for a Bedrock job"
grep "event=job_not_served batch=$bed" "$T/w1.log" | head -1 | grep -q "model=stability.stable-image-core-v1:1 served=draft" ||
    fail "job_not_served names the model and the served list"
[ "$(db "select count(*) from queue_messages")" -ge 1 ] || fail "the handed-back message is gone"
[ "$(db "select max(receive_count) from queue_messages where body like '%$bed%'")" -le 1 ] ||
    fail "handing back walks the receive count toward the dead-letter store"
"$BIN/onesheet" status "$bed" >/dev/null 2>"$T/status3.err"
grep -q "no worker serves model stability.stable-image-core-v1:1 (none seen)" "$T/status3.err" ||
    { cat "$T/status3.err"; fail "no warning for the unserved Bedrock model"; }
ok "a draft worker never draws a Bedrock job: handed back unclaimed, and status names the model"

# Cancelled, it needs nobody: the next worker to see it deletes the message
# instead of handing it back again.
"$BIN/onesheet" cancel "$bed" >/dev/null
bed_msgs() { [ "$(db "select count(*) from queue_messages where body like '%$bed%'")" = 0 ]; }
wait_for bed_msgs || fail "the cancelled job's message still circulates"
grep -q "event=job_skipped batch=$bed .*reason=cancelled" "$T/w1.log" || fail "no job_skipped reason=cancelled"
ok "a cancelled job no worker serves: its message is deleted, not handed back"

# ---- SIGTERM: the worker leaves the registry at once ----
kill -TERM "$w1"
rc=0; wait "$w1" || rc=$?
[ "$rc" = 0 ] || { tail -40 "$T/w1.log" >&2; fail "worker exit $rc after SIGTERM"; }
[ "$(workers_json | wc -l)" = 0 ] || fail "a stopped worker is still registered"
grep -q "event=registry_left" "$T/w1.log" || fail "no registry_left log line"
ok "SIGTERM: the worker deregistered"

# ---- kill -9: the entry stays, and turns stale after 3 missed beats ----
"$BIN/onesheet-worker" --beat-interval 1 2>"$T/w2.log" &
w2=$!
PIDS+=($w2)
wait_for alive_is 1 || fail "second worker did not register"
kill -9 "$w2"; wait "$w2" 2>/dev/null || true
t0=$(date +%s)
for _ in $(seq 100); do workers_json | grep -q '"state":"stale"' && break; sleep 0.1; done
workers_json | grep -q '"state":"stale"' || fail "a killed worker never turned stale"
aged=$(( $(date +%s) - t0 ))
late=$("$BIN/onesheet" submit --prompt "A lighthouse after the keeper left" 2>/dev/null)
"$BIN/onesheet" status "$late" >/dev/null 2>"$T/status4.err"
grep -q "no worker serves model draft (last seen [0-9]*s ago)" "$T/status4.err" ||
    { cat "$T/status4.err"; fail "after kill -9: no warning saying since when"; }
ok "kill -9: the worker aged out to stale in ${aged}s (beat 1 s, 3 missed beats)"
