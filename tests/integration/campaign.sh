#!/usr/bin/env bash
# Campaigns end to end on the embedded default: plan shows the expansion,
# estimate and next firings; run enqueues one firing and a second run of
# the same slot enqueues nothing; budgets refuse with exit 65 and enqueue
# nothing; bad campaign files exit 65 naming the file and field; the
# worker makes the posters; a --slot that is not a firing of the schedule,
# or is still to come, is refused (65, nothing enqueued) unless --force,
# and plan warns of it.
. "$(dirname "$0")/lib.sh"
C=$ROOT/examples/campaign.json
SLOT=2026-11-30T09:00:00Z

"$BIN/onesheet" campaign plan "$C" --slot "$SLOT" >"$T/plan" 2>"$T/err" || { cat "$T/err"; fail plan; }
grep -q 'batch  *weekly-releases-20261130T090000Z' "$T/plan" || fail "plan: batch id"
grep -q 'jobs  *12 of 49 candidates (sampled)' "$T/plan" || { cat "$T/plan"; fail "plan: counts"; }
grep -q 'estimate  *\$0.00' "$T/plan" || fail "plan: estimate"
[ "$(grep -c ' UTC$' "$T/plan")" = 5 ] || fail "plan: five next firings"
"$BIN/onesheet" campaign plan "$C" --slot "$SLOT" --json >"$T/plan.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["jobs"]==12 and len(d["next"])==5 and len(d["prompts"])==12' "$T/plan.json" || fail "plan --json"
ok "plan shows batch, counts, estimate and five firings"

"$BIN/onesheet" campaign run "$C" --slot "$SLOT" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "run"; }
[ "$(cat "$T/out")" = weekly-releases-20261130T090000Z ] || fail "run: batch id"
[ "$(db "SELECT COUNT(*) FROM queue_messages")" = 12 ] || fail "run: 12 messages"
"$BIN/onesheet" campaign run "$C" --slot "$SLOT" --json >"$T/out" 2>"$T/err"
grep -q '"enqueued":0' "$T/out" && grep -q '"already":true' "$T/out" || fail "rerun: $(cat "$T/out")"
grep -q 'already fired' "$T/err" || fail "rerun message"
[ "$(db "SELECT COUNT(*) FROM queue_messages")" = 12 ] || fail "rerun enqueued more"
[ "$(db "SELECT COUNT(*) FROM campaign_spend")" = 1 ] || fail "spend recorded once"
ok "the same slot twice enqueues nothing new"

# Budgets: sd3.5 at $0.08 x 12 = $0.96 a firing.
sed -e 's/"model": "draft"/"model": "stability.sd3-5-large-v1:0"/' \
    -e 's/"per_firing_usd": 5/"per_firing_usd": 0.5/' "$C" >"$T/pricey.json"
expect_status 65 "$BIN/onesheet" campaign run "$T/pricey.json" --slot "$SLOT"
grep -q 'per-firing budget of \$0.50' "$T/err" || { cat "$T/err"; fail "firing budget message"; }
sed -e 's/"model": "draft"/"model": "stability.sd3-5-large-v1:0"/' \
    -e 's/"name": "weekly-releases"/"name": "pricey"/' \
    -e 's/"per_month_usd": 20/"per_month_usd": 2/' "$C" >"$T/monthly.json"
"$BIN/onesheet" campaign run "$T/monthly.json" --slot 2026-11-02T09:00:00Z >/dev/null 2>&1 || fail "first firing"
"$BIN/onesheet" campaign run "$T/monthly.json" --slot 2026-11-09T09:00:00Z >/dev/null 2>&1 || fail "second firing"
expect_status 65 "$BIN/onesheet" campaign run "$T/monthly.json" --slot 2026-11-16T09:00:00Z
grep -q 'monthly budget exceeded' "$T/err" || { cat "$T/err"; fail "monthly budget message"; }
[ "$(db "SELECT COUNT(*) FROM queue_messages")" = 36 ] || fail "refused firing enqueued"
ok "budgets refuse with exit 65 and enqueue nothing"

# submit --budget uses the same estimate.
expect_status 65 "$BIN/onesheet" submit --model stability.sd3-5-large-v1:0 --budget 1 "$ROOT/examples/prompts.txt"
grep -q 'over budget: 20 jobs would cost about \$1.60' "$T/err" || { cat "$T/err"; fail "submit budget"; }
"$BIN/onesheet" submit --dry-run "$ROOT/examples/prompts.txt" >/dev/null 2>"$T/err"
grep -q 'estimated cost: \$0.00 for 20 jobs' "$T/err" || fail "dry-run estimate"
ONESHEET_PRICES=$T/p.json expect_status 78 "$BIN/onesheet" submit --dry-run "$ROOT/examples/prompts.txt"
ok "submit --dry-run and --budget share the estimate"

for f in "$FIXTURES"/bad/campaigns/*.json; do
    expect_status 65 "$BIN/onesheet" campaign plan "$f"
    grep -q "$(basename "$f")" "$T/err" || fail "$(basename "$f"): message lacks the file name"
done
expect_status 66 "$BIN/onesheet" campaign run "$T/nope.json"
expect_status 64 "$BIN/onesheet" campaign run "$C" --slot tomorrow
expect_status 64 "$BIN/onesheet" campaign frobnicate "$C"
ok "bad campaign files and usage are refused"

"$BIN/onesheet-worker" --drain --concurrency 2 2>"$T/worker.log" || fail worker
[ "$(db "SELECT COUNT(*) FROM ledger_jobs WHERE batch_id = 'weekly-releases-20261130T090000Z' AND state = 'succeeded'")" = 12 ] ||
    fail "campaign posters not made"
ok "the worker makes the campaign's posters"

# The API Lambda fires the same way when EventBridge Scheduler invokes it
# (fake Runtime API): a slot the CLI fired is "already"; a new slot fires
# once; the same slot again enqueues nothing.
if [ -x "$BIN/onesheet-api" ]; then
    python3 - "$T/events.json" "$C" <<'PY'
import json, sys
ev = lambda slot: {"onesheet": "campaign-run", "campaign_file": sys.argv[2], "slot": slot}
json.dump([ev("2026-11-30T09:00:00Z"), ev("2026-12-07T09:00:00Z"), ev("2026-12-07T09:00:00Z")],
          open(sys.argv[1], "w"))
PY
    python3 "$ROOT/tests/support/fake_lambda_runtime.py" "$T/events.json" "$T/answers.json" "$T/rt.port" &
    RT=$!; PIDS+=("$RT")
    for _ in $(seq 100); do [ -s "$T/rt.port" ] && break; sleep 0.05; done
    ONESHEET_API_KEYS=$(printf k | sha256sum | cut -d' ' -f1) \
        AWS_LAMBDA_RUNTIME_API=127.0.0.1:$(cat "$T/rt.port") "$BIN/onesheet-api" --lambda 2>"$T/lambda.log" &
    LAMBDA=$!; PIDS+=("$LAMBDA")
    wait "$RT" || { cat "$T/lambda.log"; fail "fake runtime"; }
    kill -TERM "$LAMBDA"; wait "$LAMBDA" || fail "onesheet-api --lambda exit status"
    python3 - "$T/answers.json" <<'PY' || { cat "$T/lambda.log"; fail "lambda answers"; }
import json, sys
a = {k: v["body"] for k, v in json.load(open(sys.argv[1])).items() if v["kind"] == "response"}
assert len(a) == 3, a
assert a["req-0"]["already"] and a["req-0"]["new"] == 0 and a["req-0"]["enqueued"] == 0, a
assert not a["req-1"]["already"] and a["req-1"]["new"] == 12 and a["req-1"]["enqueued"] == 12, a
assert a["req-2"]["already"] and a["req-2"]["new"] == 0 and a["req-2"]["enqueued"] == 0, a
PY
    [ "$(db "SELECT COUNT(*) FROM ledger_jobs WHERE batch_id = 'weekly-releases-20261207T090000Z'")" = 12 ] ||
        fail "lambda firing not in the ledger"
    ok "the API Lambda fires a scheduler's slot once (same slot twice → 0 new)"
fi

# --slot is held to the schedule: a slot that is not a firing, or one still
# to come, is refused (65, nothing written) unless --force; plan shows any
# slot but warns.  Without --slot (what the systemd timer runs) the slot is
# the latest firing, so it always passes.
sed -e 's/"name": "weekly-releases"/"name": "slots"/' "$C" >"$T/slots.json"
count() { echo "$(db "SELECT COUNT(*) FROM queue_messages")/$(db "SELECT COUNT(*) FROM ledger_jobs")/$(db "SELECT COUNT(*) FROM ledger_batches")"; }
"$BIN/onesheet" campaign run "$T/slots.json" --slot 2026-11-23T09:00:00Z >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "a firing slot"; }
[ "$(cat "$T/out")" = slots-20261123T090000Z ] || fail "firing slot: batch id"
grep -q warning "$T/err" && fail "a firing slot warned: $(cat "$T/err")"
before=$(count)
expect_status 65 "$BIN/onesheet" campaign run "$T/slots.json" --slot 2026-11-23T09:30:00Z
grep -qF "$T/slots.json: --slot 2026-11-23T09:30:00Z is not a firing of \"Mon *-*-* 09:00:00 UTC\" (the nearest are 2026-11-23T09:00:00Z and 2026-11-30T09:00:00Z); --force runs it anyway" "$T/err" ||
    { cat "$T/err"; fail "not-a-firing message"; }
expect_status 65 "$BIN/onesheet" campaign run "$T/slots.json" --slot 2026-11-24T09:00:00Z --json
grep -qF "(the nearest are 2026-11-23T09:00:00Z and 2026-11-30T09:00:00Z)" "$T/err" || { cat "$T/err"; fail "a Tuesday"; }
[ ! -s "$T/out" ] || fail "a refused slot printed $(cat "$T/out")"
[ "$(count)" = "$before" ] || fail "a refused slot wrote to the queue or ledger: $before -> $(count)"
ok "a slot that is not a firing is refused with exit 65, naming the nearest firings; nothing enqueued"

"$BIN/onesheet" campaign run "$T/slots.json" --slot 2026-11-23T09:30:00Z --force >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "--force"; }
[ "$(cat "$T/out")" = slots-20261123T093000Z ] || fail "--force: batch id"
grep -q 'warning: .*is not a firing.*running it because of --force' "$T/err" || { cat "$T/err"; fail "--force warning"; }
[ "$(db "SELECT COUNT(*) FROM ledger_jobs WHERE batch_id = 'slots-20261123T093000Z'")" = 12 ] || fail "--force firing"
ok "--force runs a slot that is not a firing, with a warning"

before=$(count)
expect_status 65 "$BIN/onesheet" campaign run "$T/slots.json" --slot 2099-01-05T09:00:00Z
grep -qF "$T/slots.json: --slot 2099-01-05T09:00:00Z is in the future (now is " "$T/err" ||
    { cat "$T/err"; fail "future message"; }
grep -q -- '--force runs it anyway' "$T/err" || fail "future message names --force"
expect_status 65 "$BIN/onesheet" campaign run "$T/slots.json" --slot 2099-01-05T09:30:00Z
grep -q 'is not a firing.*and is in the future' "$T/err" || { cat "$T/err"; fail "future non-firing"; }
[ "$(count)" = "$before" ] || fail "a future slot wrote to the queue or ledger"
"$BIN/onesheet" campaign run "$T/slots.json" --slot 2099-01-05T09:00:00Z --force >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "future --force"; }
[ "$(cat "$T/out")" = slots-20990105T090000Z ] || fail "future --force: batch id"
ok "a future firing is refused (65) unless --force"

before=$(count)
"$BIN/onesheet" campaign plan "$T/slots.json" --slot 2026-11-23T09:30:00Z >"$T/plan" 2>"$T/err" ||
    { cat "$T/err"; fail "plan of a slot that is not a firing"; }
grep -q 'slot  *2026-11-23T09:30:00Z' "$T/plan" || fail "plan shows the slot"
grep -qF "warning: $T/slots.json: --slot 2026-11-23T09:30:00Z is not a firing of \"Mon *-*-* 09:00:00 UTC\"" "$T/err" ||
    { cat "$T/err"; fail "plan warning"; }
"$BIN/onesheet" campaign plan "$T/slots.json" --slot 2099-01-05T09:00:00Z >/dev/null 2>"$T/err" || fail "plan of a future firing"
[ ! -s "$T/err" ] || fail "plan of a future firing warned: $(cat "$T/err")"
[ "$(count)" = "$before" ] || fail "plan wrote"
ok "plan shows any slot, warning when it is not a firing"

"$BIN/onesheet" campaign run "$T/slots.json" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "run without --slot"; }
grep -q warning "$T/err" && fail "the default slot warned: $(cat "$T/err")"
[[ $(cat "$T/out") =~ ^slots-[0-9]{8}T090000Z$ ]] || fail "default slot: $(cat "$T/out")"
ok "run without --slot (the timer's way) serves the latest firing"
