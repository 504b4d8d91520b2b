#!/usr/bin/env bash
# A campaign's webhook is its firings' batch webhook, delivered by workers
# from the ledger's outbox like `submit --webhook` (one mechanism, one
# signing scheme): a firing — `campaign run` with or without --wait, or the
# Lambda's scheduler event — registers webhook.url before adding its jobs,
# and a running worker delivers every job event and exactly one
# batch.completed, signed the Standard Webhooks way and verified by the
# standardwebhooks npm package; a 503 is retried under the same webhook-id;
# `run --wait` no longer POSTs anything itself.  Firing a slot again
# registers and enqueues nothing new; a changed URL for a fired slot is
# refused.  A bad URL, a missing or malformed webhook_secret, or a
# webhook.secret_env not holding it refuses the firing before anything is
# recorded (no batch, no spend, no webhook); secrets are never printed.
. "$(dirname "$0")/lib.sh"
SLOT=2026-11-30T09:00:00Z
export ONESHEET_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
# The receiver verifies with the standardwebhooks package (package.json):
# without it nothing is verified, so that is a failure, not a skip.
command -v node >/dev/null && [ -d "$ROOT/node_modules/standardwebhooks" ] ||
    fail "no node or no standardwebhooks package: run 'make deps' (npm ci)"

# The receiver: answers POSTs with the statuses listed in $T/plan (one a
# line, consumed in order; 200 when none is left), verifies each signature
# with the standardwebhooks package and appends each request to
# $T/hooks.jsonl.
NODE_PATH=$ROOT/node_modules node "$ROOT/tests/support/webhook_receiver.js" \
    "$ONESHEET_WEBHOOK_SECRET" "$T/hooks.jsonl" "$T/plan" "$T/recv.port" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/recv.port" ] && break; sleep 0.05; done
PORT=$(cat "$T/recv.port")
HOOK="http://127.0.0.1:$PORT/hooks/onesheet?token=sekrit"

# campaign NAME URL [EXTRA]: a three-poster campaign on the draft engine.
campaign() {
    cat >"$T/$1.json" <<EOF2
{"name": "$1", "schedule": "Mon *-*-* 09:00:00", "model": "draft",
 "prompts": ["A lighthouse at dawn", "A neon alley in the rain", "A desert motel"],
 "webhook": {"url": "$2"${3:-}}}
EOF2
}
# deliveries BATCH [TYPE]: 2xx deliveries of BATCH's events (of TYPE).
deliveries() {
    local n=0
    [ -f "$T/hooks.jsonl" ] &&
        n=$(grep "\"batch\\\\\":\\\\\"$1\\\\\"" "$T/hooks.jsonl" | grep "${2:-}" | grep -c '"status":2') || true
    echo "${n:-0}"
}
# wait_for N BATCH: until the receiver has N 2xx deliveries for BATCH (30 s).
wait_for() {
    for _ in $(seq 300); do [ "$(deliveries "$2")" -ge "$1" ] && return 0; sleep 0.1; done
    cat "$T/hooks.jsonl" >&2 || true; fail "want $1 deliveries for $2, got $(deliveries "$2")"
}
# recorded NAME: "batches/spend/webhooks/jobs" the ledger holds for
# campaign NAME, then "/messages" the queue holds (0/0/0/0/0: nothing).
recorded() {
    echo "$(db "SELECT COUNT(*) FROM ledger_batches WHERE batch_id LIKE '$1-%'")/$(
        db "SELECT COUNT(*) FROM campaign_spend WHERE campaign = '$1'")/$(
        db "SELECT COUNT(*) FROM ledger_webhooks WHERE batch_id LIKE '$1-%'")/$(
        db "SELECT COUNT(*) FROM ledger_jobs WHERE batch_id LIKE '$1-%'")/$(
        db "SELECT COUNT(*) FROM queue_messages WHERE body LIKE '%\"$1-%'")"
}
# check BATCH: the receiver's deliveries for BATCH are 3 job.succeeded and
# exactly one batch.completed, each verified, under distinct webhook-ids.
check() {
    python3 - "$T/hooks.jsonl" "$1" <<'PY'
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
batch = sys.argv[2]
mine = [h for h in hooks if json.loads(h["body"])["data"]["batch"] == batch]
assert all(h["verified"] for h in mine), [h["error"] for h in mine]
assert all(h["path"] == "/hooks/onesheet?token=sekrit" for h in mine), mine
ok = [h for h in mine if 200 <= h["status"] < 300]
types = sorted(json.loads(h["body"])["type"] for h in ok)
assert types == ["batch.completed"] + ["job.succeeded"] * 3, types
ids = [h["headers"]["webhook-id"] for h in ok]
assert len(set(ids)) == 4, ids
assert all(h["headers"]["webhook-id"] in ids for h in mine), "a retry under a new id"
for h in ok:
    p = json.loads(h["body"])
    assert list(p) == ["type", "timestamp", "data"], p
    assert p["data"]["batch"] == batch, p
    if p["type"] == "batch.completed":
        assert p["data"]["total"] == 3 and p["data"]["counts"] == {"succeeded": 3}, p
    else:
        assert p["data"]["state"] == "succeeded" and p["data"]["model"] == "draft", p
print(len(mine) - len(ok))
PY
}

"$BIN/onesheet-worker" --concurrency 2 2>"$T/worker.log" &
WORKER=$!; PIDS+=($WORKER)

# --- a CLI firing with --wait: the worker delivers, run POSTs nothing ------
campaign hooked "$HOOK"
echo 503 >"$T/plan"                        # the first delivery fails once
"$BIN/onesheet" campaign run "$T/hooked.json" --slot "$SLOT" --wait >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "run --wait"; }
[ "$(cat "$T/out")" = hooked-20261130T090000Z ] || fail "batch id: $(cat "$T/out")"
grep -q "webhook: workers deliver .* to http://127.0.0.1:$PORT from the outbox" "$T/err" ||
    { cat "$T/err"; fail "run's webhook message"; }
! grep -q 'sekrit\|webhook delivered' "$T/err" || { cat "$T/err"; fail "run's own delivery or the URL's token"; }
wait_for 4 hooked-20261130T090000Z
failed=$(check hooked-20261130T090000Z) || fail "CLI firing deliveries"
[ "$failed" = 1 ] || fail "want one 503 retried, got $failed failed deliveries"
! grep -q 'campaign.batch_finished' "$T/hooks.jsonl" || fail "the old completion POST"
ok "run --wait: 3 job events + one batch.completed from the outbox, verified by standardwebhooks; the 503 retried under its webhook-id"

# The same slot again: already fired, nothing registered, enqueued or sent.
before=$(recorded hooked); hooks_before=$(wc -l <"$T/hooks.jsonl")
"$BIN/onesheet" campaign run "$T/hooked.json" --slot "$SLOT" --json >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "second firing"; }
grep -q '"new":0,"enqueued":0' "$T/out" && grep -q '"already":true' "$T/out" || fail "second firing: $(cat "$T/out")"
[ "$(recorded hooked)" = "$before" ] || fail "second firing recorded something: $before -> $(recorded hooked)"
[ "$(db "SELECT COUNT(*) FROM ledger_outbox WHERE batch_id = 'hooked-20261130T090000Z'")" = 4 ] ||
    fail "second firing wrote events"
sleep 1
[ "$(wc -l <"$T/hooks.jsonl")" = "$hooks_before" ] || fail "second firing delivered again"
# Another URL for the fired slot: refused (65), nothing enqueued.
campaign hooked "https://other.example/h"
expect_status 65 "$BIN/onesheet" campaign run "$T/hooked.json" --slot "$SLOT"
grep -q 'webhook.url: batch hooked-20261130T090000Z already has another webhook URL.*nothing enqueued' "$T/err" ||
    { cat "$T/err"; fail "changed URL message"; }
[ "$(recorded hooked)" = "$before" ] || fail "changed URL recorded something"
ok "the same slot again registers and enqueues nothing; a changed URL is refused (65)"

# --- a firing without --wait: delivered all the same -----------------------
campaign nowait "$HOOK"
"$BIN/onesheet" campaign run "$T/nowait.json" --slot "$SLOT" >/dev/null 2>"$T/err" ||
    { cat "$T/err"; fail "run without --wait"; }
wait_for 4 nowait-20261130T090000Z
check nowait-20261130T090000Z >/dev/null || fail "firing without --wait: deliveries"
ok "run without --wait: the worker delivers every event and one batch.completed"

# --- the Lambda (EventBridge Scheduler event, fake Runtime API) -------------
if [ -x "$BIN/onesheet-api" ]; then
    campaign lambda "$HOOK"
    campaign lambdabad "$HOOK" ', "secret_env": "T_UNSET_SECRET"'
    python3 - "$T/events.json" "$T/lambda.json" "$T/lambdabad.json" <<'PY'
import json, sys
ev = lambda f: {"onesheet": "campaign-run", "campaign_file": f, "slot": "2026-11-30T09:00:00Z"}
json.dump([ev(sys.argv[2]), ev(sys.argv[2]), ev(sys.argv[3])], open(sys.argv[1], "w"))
PY
    python3 "$ROOT/tests/support/fake_lambda_runtime.py" "$T/events.json" "$T/answers.json" "$T/rt.port" &
    RT=$!; PIDS+=("$RT")
    for _ in $(seq 100); do [ -s "$T/rt.port" ] && break; sleep 0.05; done
    ( unset T_UNSET_SECRET
      ONESHEET_API_KEYS=$(printf k | sha256sum | cut -d' ' -f1) \
          LAMBDA_TASK_ROOT=$T AWS_LAMBDA_RUNTIME_API=127.0.0.1:$(cat "$T/rt.port") exec "$BIN/onesheet-api" --lambda ) 2>"$T/lambda.log" &
    LAMBDA=$!; PIDS+=("$LAMBDA")
    wait "$RT" || { cat "$T/lambda.log"; fail "fake runtime"; }
    kill -TERM "$LAMBDA"; wait "$LAMBDA" || fail "onesheet-api --lambda exit status"
    python3 - "$T/answers.json" <<'PY' || { cat "$T/lambda.log"; fail "lambda answers"; }
import json, sys
a = json.load(open(sys.argv[1]))
assert [a[k]["kind"] for k in ("req-0", "req-1", "req-2")] == ["response", "response", "error"], a
r0, r1 = a["req-0"]["body"], a["req-1"]["body"]
assert not r0["already"] and r0["enqueued"] == 3, r0
assert r1["already"] and r1["new"] == 0 and r1["enqueued"] == 0, r1
err = json.dumps(a["req-2"]["body"])
assert "webhook.secret_env: $T_UNSET_SECRET is not set" in err, err
assert "whsec_" not in err, err
PY
    wait_for 4 lambda-20261130T090000Z
    check lambda-20261130T090000Z >/dev/null || fail "Lambda firing deliveries"
    [ "$(recorded lambda)" = 1/1/1/3/0 ] || fail "Lambda firing recorded $(recorded lambda)"
    [ "$(recorded lambdabad)" = 0/0/0/0/0 ] || fail "refused Lambda firing recorded $(recorded lambdabad)"
    ok "a Lambda firing is delivered by the worker (once per slot); a bad secret_env is refused with nothing recorded"
fi

# --- bad input: refused before anything is recorded -------------------------
cat >"$T/badurl.json" <<EOF2
{"name": "badurl", "schedule": "Mon *-*-* 09:00:00", "model": "draft", "prompts": ["x"],
 "webhook": {"url": "http://hooks.example.com/h"}}
EOF2
expect_status 65 "$BIN/onesheet" campaign run "$T/badurl.json" --slot "$SLOT"
grep -q 'badurl.json: webhook.url: required: an https:// URL (http:// only to a loopback host)' "$T/err" ||
    { cat "$T/err"; fail "bad URL message"; }
[ "$(recorded badurl)" = 0/0/0/0/0 ] || fail "bad URL recorded $(recorded badurl)"
campaign nosecret "$HOOK"
( unset ONESHEET_WEBHOOK_SECRET
  expect_status 78 "$BIN/onesheet" campaign run "$T/nosecret.json" --slot "$SLOT" --wait
  grep -q 'nosecret.json: webhook: workers sign webhooks with webhook_secret: set webhook_secret in the config or ONESHEET_WEBHOOK_SECRET.*nothing enqueued' "$T/err" ) ||
    { cat "$T/err"; fail "missing secret"; }
[ "$(recorded nosecret)" = 0/0/0/0/0 ] || fail "missing secret recorded $(recorded nosecret)"
( export ONESHEET_WEBHOOK_SECRET=whsec-not-base64
  expect_status 78 "$BIN/onesheet" campaign run "$T/nosecret.json" --slot "$SLOT"
  grep -q 'expected a Standard Webhooks secret' "$T/err" && ! grep -q 'not-base64' "$T/err" ) ||
    { cat "$T/err"; fail "malformed secret"; }
[ "$(recorded nosecret)" = 0/0/0/0/0 ] || fail "malformed secret recorded $(recorded nosecret)"
campaign otherenv "$HOOK" ', "secret_env": "T_OTHER_SECRET"'
( export T_OTHER_SECRET=whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB
  expect_status 78 "$BIN/onesheet" campaign run "$T/otherenv.json" --slot "$SLOT"
  grep -q 'otherenv.json: webhook.secret_env: \$T_OTHER_SECRET does not hold the configured webhook_secret; workers sign every webhook with webhook_secret' "$T/err" &&
  ! grep -q 'QUFB' "$T/err" ) || { cat "$T/err"; fail "secret_env mismatch"; }
[ "$(recorded otherenv)" = 0/0/0/0/0 ] || fail "secret_env mismatch recorded $(recorded otherenv)"
! grep -rq "$ONESHEET_WEBHOOK_SECRET" "$T"/err "$T"/out "$T"/worker.log || fail "secret in output"
ok "bad URL (65), no or malformed secret, secret_env not holding it (78): nothing recorded, no secret printed"
