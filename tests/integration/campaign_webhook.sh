#!/usr/bin/env bash
# The campaign completion webhook against a loopback receiver: `campaign run
# --wait` POSTs once the firing's jobs are done, signed the Standard
# Webhooks way (the project's one scheme, jobs/webhook.c), and the receiver
# verifies every delivery with the standardwebhooks npm package; the body is
# the documented JSON; the attempts of one delivery share their webhook-id;
# 5xx answers are retried (three attempts), 4xx are not; an unreachable
# receiver is a clear error (exit 69) that loses nothing — the firing stays
# recorded, and running the slot again with --wait delivers without
# enqueueing anything new; a missing or malformed secret is exit 78 before
# anything is enqueued; the secret never appears in the output.
. "$(dirname "$0")/lib.sh"
SLOT=2026-11-30T09:00:00Z
export ONESHEET_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
# The receiver verifies with the standardwebhooks package (package.json):
# without it nothing is verified, so that is a failure, not a skip.
command -v node >/dev/null && [ -d "$ROOT/node_modules/standardwebhooks" ] ||
    fail "no node or no standardwebhooks package: run 'make deps' (npm ci)"
command -v python3 >/dev/null || { echo "skip: no python3"; exit 0; }

# The receiver: answers POSTs with the statuses listed in $T/plan (one a
# line, consumed in order; 200 when none is left), verifies each signature
# with the standardwebhooks package and appends each request to
# $T/hooks.jsonl.
NODE_PATH=$ROOT/node_modules node "$ROOT/tests/support/webhook_receiver.js" \
    "$ONESHEET_WEBHOOK_SECRET" "$T/hooks.jsonl" "$T/plan" "$T/recv.port" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/recv.port" ] && break; sleep 0.05; done
PORT=$(cat "$T/recv.port")

# campaign NAME URL: a three-poster campaign on the draft engine.
campaign() {
    cat >"$T/$1.json" <<EOF
{"name": "$1", "schedule": "Mon *-*-* 09:00:00", "model": "draft",
 "prompts": ["A lighthouse at dawn", "A neon alley in the rain", "A desert motel"],
 "webhook": {"url": "$2"}}
EOF
}
# hooks: how many deliveries the receiver has seen.
hooks() { [ -f "$T/hooks.jsonl" ] && wc -l <"$T/hooks.jsonl" || echo 0; }

"$BIN/onesheet-worker" --concurrency 2 --log-level warn 2>"$T/worker.log" &
PIDS+=($!)

# Delivery after the jobs finish; a 503 first, so one retry.
campaign hooked "http://127.0.0.1:$PORT/hooks/onesheet"
echo 503 >"$T/plan"
"$BIN/onesheet" campaign run "$T/hooked.json" --slot "$SLOT" --wait >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "run --wait"; }
[ "$(hooks)" = 2 ] || { cat "$T/hooks.jsonl"; fail "want 2 deliveries (503, then 200), got $(hooks)"; }
grep -q 'webhook delivered to http://127.0.0.1' "$T/err" || { cat "$T/err"; fail "delivery message"; }
python3 - "$T/hooks.jsonl" "$SLOT" <<'PY' || fail "webhook contents"
import json, sys, time
hooks = [json.loads(l) for l in open(sys.argv[1])]
slot = sys.argv[2]
assert [h["status"] for h in hooks] == [503, 200], hooks
assert all(h["verified"] for h in hooks), [h["error"] for h in hooks]
assert hooks[0]["headers"]["webhook-id"] == hooks[1]["headers"]["webhook-id"], hooks
for h in hooks:
    hd = h["headers"]
    assert h["path"] == "/hooks/onesheet", h["path"]
    assert hd["content-type"] == "application/json", hd
    assert hd["webhook-id"].startswith("msg_"), hd
    assert hd["webhook-signature"].startswith("v1,"), hd
    assert abs(int(hd["webhook-timestamp"]) - time.time()) < 120, hd
    p = json.loads(h["body"])
    assert list(p) == ["type", "timestamp", "data"], p
    assert p["type"] == "campaign.batch_finished", p
    d = p["data"]
    assert list(d) == ["campaign", "slot", "batch", "jobs", "by_state"], d
    assert d["campaign"] == "hooked", d
    assert d["slot"] == slot and d["batch"] == "hooked-20261130T090000Z", d
    assert d["jobs"] == 3 and d["by_state"]["succeeded"] == 3, d
    assert set(d["by_state"]) == {"queued", "running", "succeeded", "failed", "filtered",
                                  "cancelled"}, d
    assert sum(d["by_state"].values()) == 3, d
print("ok - the standardwebhooks package verifies every signature; body is the documented JSON")
PY
ok "delivered after the jobs finished, retried once after a 503"

# 4xx is the receiver refusing for good: one attempt, exit 69, nothing lost.
campaign refused "http://127.0.0.1:$PORT/hooks/onesheet"
echo 400 >"$T/plan"
before=$(hooks)
expect_status 69 "$BIN/onesheet" campaign run "$T/refused.json" --slot "$SLOT" --wait
[ "$(hooks)" = $((before + 1)) ] || fail "a 400 was retried"
grep -q 'webhook not delivered: webhook http://127.0.0.1:[0-9]* answered HTTP 400' "$T/err" ||
    { cat "$T/err"; fail "4xx message"; }
ok "4xx: one attempt, exit 69"

# Unreachable: three attempts, a clear error, the firing still recorded.
campaign lost "http://127.0.0.1:1/hook"
expect_status 69 "$BIN/onesheet" campaign run "$T/lost.json" --slot "$SLOT" --wait
grep -q "webhook not delivered: webhook http://127.0.0.1:1: " "$T/err" && ! grep -q /hook "$T/err" || { cat "$T/err"; fail "unreachable message"; }
[ "$(db "SELECT COUNT(*) FROM ledger_jobs WHERE batch_id = 'lost-20261130T090000Z' AND state = 'succeeded'")" = 3 ] ||
    fail "the firing's jobs are not recorded"
[ "$(db "SELECT COUNT(*) FROM campaign_spend WHERE campaign = 'lost'")" = 1 ] || fail "spend not recorded"
msgs=$(db "SELECT COUNT(*) FROM queue_messages")
# Fix the URL and run the slot again: delivered, nothing new enqueued.
campaign lost "http://127.0.0.1:$PORT/hooks/again"
before=$(hooks)
"$BIN/onesheet" campaign run "$T/lost.json" --slot "$SLOT" --wait --json >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "re-run --wait"; }
grep -q '"new":0,"enqueued":0' "$T/out" && grep -q '"already":true' "$T/out" || fail "re-run: $(cat "$T/out")"
[ "$(hooks)" = $((before + 1)) ] || fail "re-run did not deliver"
tail -n 1 "$T/hooks.jsonl" | grep -Eq '"path": ?"/hooks/again"' || fail "re-run delivered elsewhere"
[ "$(db "SELECT COUNT(*) FROM queue_messages")" = "$msgs" ] || fail "re-run enqueued"
ok "unreachable receiver: exit 69, firing kept; the slot again delivers and enqueues nothing"

# Every 5xx: three attempts, then exit 69.
campaign down "http://127.0.0.1:$PORT/hooks/onesheet"
printf '500\n502\n503\n' >"$T/plan"
before=$(hooks)
expect_status 69 "$BIN/onesheet" campaign run "$T/down.json" --slot "$SLOT" --wait
[ "$(hooks)" = $((before + 3)) ] || fail "want three attempts, got $(( $(hooks) - before ))"
grep -q 'answered HTTP 503' "$T/err" || { cat "$T/err"; fail "5xx message"; }
ok "5xx: three attempts, then exit 69"

# The secret is required before anything is enqueued, and never printed.
campaign nosecret "http://127.0.0.1:$PORT/hooks/onesheet"
( unset ONESHEET_WEBHOOK_SECRET
  expect_status 78 "$BIN/onesheet" campaign run "$T/nosecret.json" --slot "$SLOT" --wait
  grep -q 'ONESHEET_WEBHOOK_SECRET is not set; nothing enqueued' "$T/err" || { cat "$T/err"; exit 1; } ) ||
    fail "missing secret"
[ "$(db "SELECT COUNT(*) FROM ledger_batches WHERE batch_id LIKE 'nosecret-%'")" = 0 ] || fail "enqueued without a secret"
( export ONESHEET_WEBHOOK_SECRET=whsec-not-base64
  expect_status 78 "$BIN/onesheet" campaign run "$T/nosecret.json" --slot "$SLOT" --wait
  grep -q 'ONESHEET_WEBHOOK_SECRET: .*expected a Standard Webhooks secret' "$T/err" || { cat "$T/err"; exit 1; }
  ! grep -q 'not-base64' "$T/err" ) || fail "malformed secret"
[ "$(db "SELECT COUNT(*) FROM ledger_batches WHERE batch_id LIKE 'nosecret-%'")" = 0 ] || fail "enqueued with a bad secret"
! grep -rq "$ONESHEET_WEBHOOK_SECRET" "$T"/err "$T"/out "$T"/worker.log || fail "secret in output"
ok "no or malformed secret: exit 78 before enqueueing; the secret is never printed"
