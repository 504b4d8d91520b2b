#!/usr/bin/env bash
# Signed batch and job webhooks on the embedded stack (SQLite ledger
# outbox), against a receiver that verifies every delivery with the
# standardwebhooks npm package: every job event and exactly one
# batch.completed arrive, signatures verify, a redelivery keeps its
# webhook-id, 5xx is retried and 4xx is not; a worker killed with -9 after
# the state changes but before the deliveries loses none of them (the next
# worker delivers); status shows the deliveries; bad URLs and secrets are
# refused with nothing enqueued.
. "$(dirname "$0")/lib.sh"
# The receiver verifies with the standardwebhooks package (package.json):
# without it nothing is verified, so that is a failure, not a skip.
command -v node >/dev/null && [ -d "$ROOT/node_modules/standardwebhooks" ] ||
    fail "no node or no standardwebhooks package: run 'make deps' (npm ci)"
export ONESHEET_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export ONESHEET_MODEL=draft

# receiver [PORT]: starts the verifying receiver (statuses from $T/plan).
receiver() {
    rm -f "$T/recv.port"
    NODE_PATH=$ROOT/node_modules node "$ROOT/tests/support/webhook_receiver.js" \
        "$ONESHEET_WEBHOOK_SECRET" "$T/hooks.jsonl" "$T/plan" "$T/recv.port" "${1:-0}" &
    RECV=$!
    PIDS+=($RECV)
    for _ in $(seq 200); do [ -s "$T/recv.port" ] && break; sleep 0.05; done
    PORT=$(cat "$T/recv.port")
}
# deliveries BATCH: 2xx deliveries of BATCH's events the receiver saw.
deliveries() {
    local n=0
    [ -f "$T/hooks.jsonl" ] && n=$(grep -c "\"batch\\\\\":\\\\\"$1\\\\\".*\"status\":2" "$T/hooks.jsonl") || true
    echo "${n:-0}"
}
# wait_for N BATCH: until the receiver has N 2xx deliveries for BATCH (30 s).
wait_for() {
    for _ in $(seq 300); do [ "$(deliveries "$2")" -ge "$1" ] && return 0; sleep 0.1; done
    cat "$T/hooks.jsonl" >&2 || true; fail "want $1 deliveries for $2, got $(deliveries "$2")"
}
prompts() { for i in $(seq "$2"); do echo "Webhook poster $1 number $i"; done >"$T/$1.txt"; }

receiver
HOOK="http://127.0.0.1:$PORT/hooks/onesheet?token=sekrit"

# --- bad input: nothing enqueued -------------------------------------------
prompts bad 1
expect_status 64 "$BIN/onesheet" submit "$T/bad.txt" --webhook "ftp://127.0.0.1/h"
grep -q -- '--webhook: expected an https:// URL' "$T/err" || fail "ftp message: $(cat "$T/err")"
expect_status 64 "$BIN/onesheet" submit "$T/bad.txt" --webhook "http://hooks.example.com/h"
grep -q 'plain http:// is allowed only to a loopback host' "$T/err" || fail "http message: $(cat "$T/err")"
( unset ONESHEET_WEBHOOK_SECRET
  expect_status 78 "$BIN/onesheet" submit "$T/bad.txt" --webhook "$HOOK"
  grep -q 'webhook_secret' "$T/err" ) || fail "missing secret: $(cat "$T/err")"
( export ONESHEET_WEBHOOK_SECRET=whsec_c2hvcnQ=
  expect_status 78 "$BIN/onesheet" submit "$T/bad.txt" --webhook "$HOOK"
  grep -q 'ONESHEET_WEBHOOK_SECRET: webhook_secret: the key decodes to 5 bytes' "$T/err" &&
  ! grep -q c2hvcnQ "$T/err" ) || fail "short secret: $(cat "$T/err")"
[ ! -f "$ONESHEET_STATE_DIR/onesheet.db" ] || [ "$(db "SELECT COUNT(*) FROM ledger_jobs")" = 0 ] ||
    fail "bad input enqueued something"
ok "bad URL (exit 64) or secret (exit 78): clear message, nothing enqueued"

# --- delivery with retries -------------------------------------------------
prompts main 3
printf '503\n503\n' >"$T/plan"             # the first two deliveries fail
main=$("$BIN/onesheet" submit "$T/main.txt" --webhook "$HOOK" 2>"$T/err") || fail "submit: $(cat "$T/err")"
# The same URL again is fine; another is refused before anything changes.
"$BIN/onesheet" submit "$T/main.txt" --webhook "$HOOK" >/dev/null 2>&1 || fail "same URL again"
msgs=$(db "SELECT COUNT(*) FROM queue_messages")
expect_status 65 "$BIN/onesheet" submit "$T/main.txt" --webhook "https://other.example/h"
grep -q 'already has another webhook URL.*; nothing enqueued' "$T/err" || fail "conflict: $(cat "$T/err")"
! grep -q sekrit "$T/err" || fail "the URL's token in a message"
[ "$(db "SELECT COUNT(*) FROM queue_messages")" = "$msgs" ] || fail "conflict enqueued"
"$BIN/onesheet-worker" --concurrency 2 2>"$T/w1.log" &
W1=$!; PIDS+=($W1)
wait_for 4 "$main"
kill "$W1"; wait "$W1" 2>/dev/null || true
python3 - "$T/hooks.jsonl" "$main" <<'PY' || fail "deliveries"
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
batch = sys.argv[2]
mine = [h for h in hooks if json.loads(h["body"])["data"]["batch"] == batch]
assert all(h["verified"] for h in mine), [h["error"] for h in mine]
assert all(h["path"] == "/hooks/onesheet?token=sekrit" for h in mine), mine
ok = [h for h in mine if 200 <= h["status"] < 300]
failed = [h for h in mine if h["status"] == 503]
assert len(failed) == 2, [h["status"] for h in mine]
types = sorted(json.loads(h["body"])["type"] for h in ok)
assert types == ["batch.completed"] + ["job.succeeded"] * 3, types
ids = [h["headers"]["webhook-id"] for h in ok]
assert len(set(ids)) == 4, ids
# Each failed delivery came again under the same webhook-id.
assert all(h["headers"]["webhook-id"] in ids for h in failed), (failed, ids)
jobs = {json.loads(h["body"])["data"].get("job") for h in ok} - {None}
assert len(jobs) == 3, jobs
done = [json.loads(h["body"]) for h in ok if json.loads(h["body"])["type"] == "batch.completed"][0]
assert done["data"]["total"] == 3 and done["data"]["counts"] == {"succeeded": 3}, done
for h in ok:
    p = json.loads(h["body"])
    assert list(p) == ["type", "timestamp", "data"], p
    if p["type"] == "job.succeeded":
        assert p["data"]["url"] and p["data"]["state"] == "succeeded", p
        assert p["data"]["model"] == "draft" and p["data"]["attempts"] == 1, p
PY
grep -q 'event=webhook_retry.*status=503' "$T/w1.log" || fail "retry not logged"
! grep -q sekrit "$T/w1.log" || fail "the URL's token in the worker's log"
"$BIN/onesheet" status "$main" >"$T/out"
grep -q "webhook: http://127.0.0.1:$PORT: 4 delivered, 0 pending" "$T/out" || { cat "$T/out"; fail "status"; }
"$BIN/onesheet" status "$main" --json | head -1 >"$T/out"
grep -q '"webhook":{"receiver":"http://127.0.0.1:[0-9]*","delivered":4,"pending":0,"gave_up":0' "$T/out" ||
    { cat "$T/out"; fail "status --json"; }
ok "3 job events + 1 batch.completed, all verified by standardwebhooks; 503s retried under the same webhook-id"

# --- 4xx is not retried ----------------------------------------------------
prompts gone 1
echo 410 >"$T/plan"
gone=$("$BIN/onesheet" submit "$T/gone.txt" --webhook "$HOOK" 2>/dev/null)
"$BIN/onesheet-worker" --drain --webhook-drain 10 2>"$T/w2.log"
[ "$(grep -c "\"status\":410" "$T/hooks.jsonl")" = 1 ] || fail "the 410 was retried"
[ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$gone' AND gave_up_ms IS NOT NULL")" = 1 ] ||
    fail "410 not given up"
"$BIN/onesheet" status "$gone" | grep -q '1 given up' || fail "status: given up"
ok "410: one attempt, given up and shown by status; --drain delivered the rest before exiting"

# --- crash between the state change and the delivery ------------------------
kill -9 "$RECV"; wait "$RECV" 2>/dev/null || true
prompts crash 4
crash=$("$BIN/onesheet" submit "$T/crash.txt" --webhook "$HOOK" 2>/dev/null)
"$BIN/onesheet-worker" --concurrency 2 2>"$T/w3.log" &
W3=$!; PIDS+=($W3)
for _ in $(seq 300); do
    [ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$crash'")" = 5 ] && break; sleep 0.1
done
[ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$crash'")" = 5 ] || fail "outbox rows"
kill -9 "$W3"; wait "$W3" 2>/dev/null || true
[ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$crash' AND delivered_ms IS NOT NULL")" = 0 ] ||
    fail "delivered while the receiver was down"
receiver "$PORT"
"$BIN/onesheet-worker" 2>"$T/w4.log" &
W4=$!; PIDS+=($W4)
wait_for 5 "$crash"
kill "$W4"; wait "$W4" 2>/dev/null || true
[ "$(deliveries "$crash")" = 5 ] || { cat "$T/hooks.jsonl"; fail "after the crash: $(deliveries "$crash") of 5"; }
[ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$crash' AND delivered_ms IS NOT NULL")" = 5 ] ||
    fail "outbox not marked delivered"
python3 - "$T/hooks.jsonl" "$crash" <<'PY' || fail "after the crash"
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
mine = [h for h in hooks if json.loads(h["body"])["data"]["batch"] == sys.argv[2]]
assert all(h["verified"] for h in mine), mine
types = sorted(json.loads(h["body"])["type"] for h in mine)
assert types == ["batch.completed"] + ["job.succeeded"] * 4, types
PY
ok "kill -9 with 5 events undelivered (receiver down): the next worker delivered all 5"

# --- kill -9 while delivering: nothing lost, nothing duplicated -----------
# Slow answers (150 ms) so that the kills land among the deliveries.
prompts chaos 20
for _ in $(seq 300); do echo d150; done >"$T/plan"
chaos=$("$BIN/onesheet" submit "$T/chaos.txt" --webhook "$HOOK" 2>/dev/null)
for round in 1 2 3; do
    "$BIN/onesheet-worker" --concurrency 2 --visibility 2 2>>"$T/w6.log" &
    pid=$!
    sleep 1.$((round * 2))
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
done
before=$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$chaos' AND delivered_ms IS NOT NULL")
"$BIN/onesheet-worker" --concurrency 2 --visibility 2 2>>"$T/w6.log" &
W6=$!; PIDS+=($W6)
for _ in $(seq 600); do
    [ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$chaos' AND delivered_ms IS NOT NULL")" = 21 ] && break
    sleep 0.1
done
kill "$W6"; wait "$W6" 2>/dev/null || true
[ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$chaos'")" = 21 ] || fail "outbox rows after the kills"
[ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = '$chaos' AND delivered_ms IS NOT NULL")" = 21 ] ||
    fail "not all delivered after the kills"
python3 - "$T/hooks.jsonl" "$chaos" <<'PY' || fail "after the kills"
import json, sys, collections
hooks = [json.loads(l) for l in open(sys.argv[1])]
mine = [h for h in hooks if json.loads(h["body"])["data"]["batch"] == sys.argv[2]]
assert all(h["verified"] for h in mine)
ids = collections.defaultdict(set)          # job (or the batch) -> webhook-ids seen
for h in mine:
    p = json.loads(h["body"])
    ids[p["data"].get("job", "batch")].add(h["headers"]["webhook-id"])
assert len(ids) == 21, len(ids)             # 20 jobs + the batch
assert all(len(v) == 1 for v in ids.values()), ids   # one event each, never two
print(f"# {len(mine)} deliveries of 21 events")
PY
ok "3 kills -9 while delivering ($before of 21 delivered before the last worker): every event arrived, none under two ids"

# --- the API's "webhook" field ----------------------------------------------
if [ -x "$BIN/onesheet-api" ]; then
    "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" 2>"$T/api.log" &
    API=$!; PIDS+=($API)
    for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
    APORT=$(cat "$T/api.port")
    post() {  # post PATH BODY [curl args]: prints the status; the body goes to $T/body
        curl -s -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            --data "$2" "${@:3}" "http://127.0.0.1:$APORT$1"
    }
    [ "$(post /jobs '{"jobs": [{"prompt": "API webhook one"}], "webhook": "ftp://x/h"}')" = 400 ] ||
        fail "API bad URL: $(cat "$T/body")"
    grep -q 'webhook: expected an https:// URL' "$T/body" || fail "API bad URL message: $(cat "$T/body")"
    [ "$(post /jobs '{"jobs": [{"prompt": "API webhook one"}], "webhook": 7}')" = 400 ] || fail "API webhook not a string"
    [ "$(post /jobs '{"jobs": [{"prompt": "API webhook one"}], "extra": 1, "webhook": "'"$HOOK"'"}')" = 400 ] ||
        fail "API extra member"
    [ "$(post /jobs '{"jobs": [{"prompt": "API webhook one"}, {"prompt": "API webhook two"}], "webhook": "'"$HOOK"'"}')" = 202 ] ||
        fail "API jobs: $(cat "$T/body")"
    api_batch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/body")
    [ "$(post /jobs '{"jobs": [{"prompt": "API webhook one"}, {"prompt": "API webhook two"}], "webhook": "https://other.example/h"}')" = 409 ] ||
        fail "API conflict: $(cat "$T/body")"
    [ "$(post /generate-poster '{"prompt": "API webhook poster", "webhook": "'"$HOOK"'"}' -H 'Prefer: respond-async')" = 202 ] ||
        fail "API generate-poster: $(cat "$T/body")"
    gp_batch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/body")
    "$BIN/onesheet-worker" 2>"$T/w5.log" &
    W5=$!; PIDS+=($W5)
    wait_for 3 "$api_batch"
    wait_for 2 "$gp_batch"
    kill "$W5"; wait "$W5" 2>/dev/null || true
    curl -s "http://127.0.0.1:$APORT/batches/$api_batch" >"$T/body"
    python3 -c 'import json,sys; w = json.load(open(sys.argv[1]))["webhook"]; assert w["delivered"] == 3 and w["pending"] == 0 and "sekrit" not in w["receiver"], w' "$T/body" ||
        fail "GET /batches/{id} webhook: $(cat "$T/body")"
    python3 - "$T/hooks.jsonl" "$api_batch" "$gp_batch" <<'PY' || fail "API deliveries"
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
for batch, jobs in ((sys.argv[2], 2), (sys.argv[3], 1)):
    mine = [h for h in hooks if json.loads(h["body"])["data"]["batch"] == batch]
    assert all(h["verified"] for h in mine), mine
    types = sorted(json.loads(h["body"])["type"] for h in mine if 200 <= h["status"] < 300)
    assert types == ["batch.completed"] + ["job.succeeded"] * jobs, types
PY
    ( unset ONESHEET_WEBHOOK_SECRET
      "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api2.port" 2>"$T/api2.log" &
      echo $! >"$T/api2.pid"
      for _ in $(seq 100); do [ -s "$T/api2.port" ] && break; sleep 0.05; done
      APORT=$(cat "$T/api2.port")
      st=$(post /jobs '{"prompt": "API no secret", "webhook": "'"$HOOK"'"}')
      kill "$(cat "$T/api2.pid")"
      [ "$st" = 501 ] && grep -q webhook_secret "$T/body" ) || fail "API without a secret: $(cat "$T/body")"
    [ "$(db "SELECT COUNT(*) FROM ledger_jobs WHERE spec_json LIKE '%API no secret%'")" = 0 ] ||
        fail "API without a secret enqueued"
    ok "API: webhook on POST /jobs ({jobs, webhook}) and /generate-poster delivered and verified; 400/409/501 refuse"
fi
