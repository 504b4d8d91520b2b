#!/usr/bin/env bash
# Campaigns on the AWS back-ends (SQS, DynamoDB, S3 emulators behind
# sigproxy), fired two ways that share one ledger:
#   - `onesheet campaign run --slot`: the monthly budget is recorded in the
#     DynamoDB table (the spend item); the same slot twice enqueues nothing
#     new; a firing over the monthly budget is refused (exit 65) and
#     enqueues nothing
#   - `onesheet-api --lambda` with EventBridge Scheduler events
#     ({"onesheet":"campaign-run",...}) from the fake Runtime API: a slot the
#     CLI fired is "already"; a new slot fires; the same slot twice gives 0
#     new jobs; over budget and a bad event are reported as errors naming
#     why; an inline campaign fires too
#   - every message a firing sends carries the campaign's url_ttl, and the
#     worker presigns the posters' URLs for it
#   - a campaign's webhook on DynamoDB: a Lambda firing registers it as the
#     batch's webhook and the worker delivers every job event and one
#     batch.completed from the outbox (verified by the standardwebhooks npm
#     package); the same slot again registers nothing new
#   - no proxy rejected a signature
source "$(dirname "$0")/lib.sh"
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
[ -x "$TOOLS/sigproxy" ] || fail "$TOOLS/sigproxy is not built (make tests)"
[ -x "$BIN/onesheet-api" ] || { echo "skip: onesheet-api not built"; exit 0; }
EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
source "$ROOT/tests/support/emulators.sh"
trap 'for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT
source "$ROOT/tests/support/awsstack.sh"
awsstack_start || fail "could not start the AWS stack"
"$BIN/onesheet" init >"$T/init" 2>&1 || { cat "$T/init"; fail "init"; }
# A receiver verifying with the standardwebhooks package, for the campaign
# webhook (workers sign with this secret).
command -v node >/dev/null && [ -d "$ROOT/node_modules/standardwebhooks" ] ||
    fail "no node or no standardwebhooks package: run 'make deps' (npm ci)"
export ONESHEET_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
NODE_PATH=$ROOT/node_modules node "$ROOT/tests/support/webhook_receiver.js" \
    "$ONESHEET_WEBHOOK_SECRET" "$T/hooks.jsonl" "$T/plan" "$T/recv.port" &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/recv.port" ] && break; sleep 0.05; done
HOOK="http://127.0.0.1:$(cat "$T/recv.port")/hook"

# Three posters at $0.08 = $0.24 a firing; $0.50 a month allows two.
mkdir -p "$T/task/campaigns"
C=$T/task/campaigns/monthly.json
cat >"$C" <<'EOF'
{"name": "monthly", "schedule": "Mon *-*-* 09:00:00", "model": "stability.sd3-5-large-v1:0",
 "prompts": ["A lighthouse at dawn", "A neon alley in the rain", "A desert motel"],
 "budget": {"per_firing_usd": 1, "per_month_usd": 0.5}, "url_ttl": 600}
EOF
run() { "$BIN/onesheet" campaign run "$C" --json "$@"; }
jfield() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(json.dumps(d$2))" "$1"; }

out=$(run --slot 2026-11-02T09:00:00Z 2>"$T/err") || { cat "$T/err"; fail "first firing"; }
[ "$(jfield "$out" "['new']")" = 3 ] && [ "$(jfield "$out" "['month_usd']")" = 0.24 ] ||
    fail "first firing: $out"
out=$(run --slot 2026-11-02T09:00:00Z 2>"$T/err") || { cat "$T/err"; fail "same slot"; }
[ "$(jfield "$out" "['new']")" = 0 ] && [ "$(jfield "$out" "['enqueued']")" = 0 ] &&
    [ "$(jfield "$out" "['already']")" = true ] && [ "$(jfield "$out" "['month_usd']")" = 0.24 ] ||
    fail "same slot twice: $out"
out=$(run --slot 2026-11-09T09:00:00Z 2>"$T/err") || { cat "$T/err"; fail "second firing"; }
[ "$(jfield "$out" "['month_usd']")" = 0.48 ] || fail "second firing: $out"
expect_status 65 "$BIN/onesheet" campaign run "$C" --slot 2026-11-16T09:00:00Z
grep -q 'campaign monthly: monthly budget exceeded: 2026-11 has \$0.48 recorded, this firing needs \$0.24, the budget is \$0.50' "$T/err" ||
    { cat "$T/err"; fail "over-budget message"; }
"$BIN/onesheet" status monthly-20261116T090000Z >/dev/null 2>&1 && fail "a refused firing made a batch"
ok "CLI on DynamoDB: same slot twice → 0 new; over the monthly budget → exit 65, no batch"


# The API Lambda, invoked by EventBridge Scheduler (through the fake Runtime
# API), with the campaign file in its task root.
python3 - "$T/events.json" "$HOOK" <<'PY'
import json, sys
ev = lambda slot, **kw: dict({"onesheet": "campaign-run", "campaign_file": "campaigns/monthly.json",
                              "slot": slot}, **kw)
inline = {"name": "inline", "schedule": "daily", "model": "stability.sd3-5-large-v1:0",
          "prompts": ["a poster", "another poster"]}
hooked = {"name": "hooked", "schedule": "daily", "model": "stability.sd3-5-large-v1:0",
          "prompts": ["a hooked poster", "another hooked poster"], "webhook": {"url": sys.argv[2]}}
events = [
    ev("2026-11-09T09:00:00Z"),            # 0: the CLI fired it: already
    ev("2026-12-07T09:00:00Z"),            # 1: new: 3 jobs
    ev("2026-12-07T09:00:00Z"),            # 2: the same slot again: 0 new
    ev("2026-12-14T09:00:00Z"),            # 3: 0.48 recorded
    ev("2026-12-21T09:00:00Z"),            # 4: over the monthly budget
    {"onesheet": "campaign-run", "campaign_file": "campaigns/monthly.json",
     "slot": "<aws.scheduler.scheduled-time>"},   # 5: not substituted
    {"onesheet": "campaign-run", "campaign": inline, "slot": "2026-12-01T00:00:00Z"},  # 6
    ev("2026-12-07T09:30:00Z"),            # 7: not a firing of Mon 09:00
    {"onesheet": "campaign-run", "campaign": hooked, "slot": "2026-12-01T00:00:00Z"},  # 8
    {"onesheet": "campaign-run", "campaign": hooked, "slot": "2026-12-01T00:00:00Z"},  # 9
]
json.dump(events, open(sys.argv[1], "w"))
PY
python3 "$ROOT/tests/support/fake_lambda_runtime.py" "$T/events.json" "$T/answers.json" "$T/rt.port" &
RT=$!
PIDS+=("$RT")
for _ in $(seq 100); do [ -s "$T/rt.port" ] && break; sleep 0.05; done
ONESHEET_API_KEYS=$(printf key | sha256sum | cut -d' ' -f1) LAMBDA_TASK_ROOT=$T/task \
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:$(cat "$T/rt.port") "$BIN/onesheet-api" --lambda \
    2>"$T/lambda.log" &
LAMBDA=$!
PIDS+=("$LAMBDA")
wait "$RT" || { cat "$T/lambda.log"; fail "fake runtime failed"; }
kill -TERM "$LAMBDA"
wait "$LAMBDA" || fail "onesheet-api --lambda exit status"
python3 - "$T/answers.json" <<'PY' || { cat "$T/lambda.log"; fail "lambda answers"; }
import json, sys
a = json.load(open(sys.argv[1]))
def ok(i):
    r = a["req-%d" % i]
    assert r["kind"] == "response", (i, r)
    return r["body"]
def err(i, kind, text):
    r = a["req-%d" % i]
    assert r["kind"] == "error" and r["body"]["errorType"] == kind, (i, r)
    assert text in r["body"]["errorMessage"], (i, r)
d = ok(0); assert d["already"] and d["new"] == 0 and d["enqueued"] == 0, d
d = ok(1); assert not d["already"] and d["new"] == 3 and d["batch"] == "monthly-20261207T090000Z", d
assert abs(d["month_usd"] - 0.24) < 1e-9, d
d = ok(2); assert d["already"] and d["new"] == 0 and d["enqueued"] == 0, d
d = ok(3); assert d["new"] == 3 and abs(d["month_usd"] - 0.48) < 1e-9, d
err(4, "Campaign.OverBudget", "monthly budget exceeded: 2026-12 has $0.48 recorded")
err(5, "Campaign.Invalid", 'event: slot "<aws.scheduler.scheduled-time>"')
d = ok(6); assert d["campaign"] == "inline" and d["new"] == 2, d
assert abs(d["month_usd"] - 0.16) < 1e-9, d
err(7, "Campaign.Invalid", 'slot 2026-12-07T09:30:00Z is not a firing of "Mon *-*-* 09:00:00 UTC"')
d = ok(8); assert d["batch"] == "hooked-20261201T000000Z" and d["new"] == 2, d
d = ok(9); assert d["already"] and d["new"] == 0 and d["enqueued"] == 0, d
print("ok - lambda: already, new, same slot 0 new, over budget, a bad event and a slot that is "
      "not a firing as errors, inline")
PY
grep -q 'campaign_fired' "$T/lambda.log" || fail "no campaign_fired log line"
"$BIN/onesheet" status monthly-20261221T090000Z >/dev/null 2>&1 && fail "an over-budget Lambda firing made a batch"
"$BIN/onesheet" status monthly-20261207T093000Z >/dev/null 2>&1 && fail "a slot that is not a firing made a batch"
ok "EventBridge Scheduler events through the API Lambda"

# The worker presigns each firing's URLs for the campaign's url_ttl (600 s,
# carried in the queue messages); the inline campaign has none, so the
# worker's own (3600 s) applies.
"$BIN/onesheet-worker" --drain --webhook-drain 30 --concurrency 4 --log-level warn \
    2>"$T/worker.log" || { cat "$T/worker.log"; fail "worker"; }
for b in monthly-20261102T090000Z monthly-20261207T090000Z inline-20261201T000000Z; do
    "$BIN/onesheet" list --batch "$b" --json >>"$T/jobs.json" || fail "list $b"
done
python3 - "$T/jobs.json" <<'PY' || fail "URL lifetimes"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 8, len(rows)
for r in rows:
    assert r["state"] == "succeeded", r
    want = "X-Amz-Expires=3600" if r["batch"].startswith("inline-") else "X-Amz-Expires=600&"
    assert want in r["url"], (want, r["url"].split("?")[0])
print("ok - url_ttl: the campaign's 600 s on its posters' URLs, 3600 s without one")
PY

# The hooked campaign's events, delivered by that worker from the DynamoDB
# outbox before it exited (--drain).
python3 - "$T/hooks.jsonl" <<'PY' || { cat "$T/hooks.jsonl" "$T/worker.log"; fail "campaign webhook"; }
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1])]
assert all(h["verified"] for h in hooks), [h["error"] for h in hooks]
mine = [json.loads(h["body"]) for h in hooks if 200 <= h["status"] < 300]
assert all(p["data"]["batch"] == "hooked-20261201T000000Z" for p in mine), mine
types = sorted(p["type"] for p in mine)
assert types == ["batch.completed", "job.succeeded", "job.succeeded"], types
done = [p for p in mine if p["type"] == "batch.completed"][0]
assert done["data"]["total"] == 2 and done["data"]["counts"] == {"succeeded": 2}, done
print("ok - a Lambda firing's campaign webhook: 2 job.succeeded + 1 batch.completed from the "
      "DynamoDB outbox, verified by standardwebhooks")
PY
"$BIN/onesheet" status hooked-20261201T000000Z | grep -q 'webhook: http://127.0.0.1:[0-9]*: 3 delivered, 0 pending' ||
    { "$BIN/onesheet" status hooked-20261201T000000Z; fail "status of the campaign webhook"; }

[ "$(awsstack_rejections)" = 0 ] || fail "a proxy rejected signatures"
ok "campaigns on the AWS back-ends; no signature rejected"
