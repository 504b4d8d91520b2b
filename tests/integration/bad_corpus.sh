# The bad-input corpus under tests/fixtures/bad/, file by file: every config
# file makes `onesheet status` exit 78 naming the file and the line its
# first line announces ("# line N: ..."), and every API body gets a 4xx
# {"error": {"code", "message"}} from POST /jobs with nothing enqueued.
# (bad/prompts and bad/campaigns run in bad_input.sh and campaign.sh; the
# Bedrock replies in test_bedrock_models.)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
BAD=$ROOT/tests/fixtures/bad

n=0
for f in "$BAD"/config/*.conf; do
    line=$(head -n 1 "$f" | sed -n 's/^# line \([0-9]*\):.*/\1/p')
    [ -n "$line" ] || fail "$f: first line must be \"# line N: why\""
    ONESHEET_CONFIG=$f expect_status 78 "$BIN/onesheet" status
    grep -qF "$f:$line: " "$T/err" || { cat "$T/err" >&2; fail "$(basename "$f"): message does not name $f:$line"; }
    [ "$(wc -l < "$T/err")" -le 2 ] || { cat "$T/err" >&2; fail "$(basename "$f"): more than a short message"; }
    n=$((n + 1))
done
[ "$n" -ge 20 ] || fail "only $n config files"
ok "$n bad config files: exit 78 naming file:line"

[ -x "$BIN/onesheet-api" ] || { echo "skip: onesheet-api not built (no libmicrohttpd)"; exit 0; }
"$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" --rate-limit 0 2>"$T/api.log" &
API=$!
PIDS+=("$API")
for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
[ -s "$T/api.port" ] || { cat "$T/api.log"; fail "onesheet-api did not start"; }
PORT=$(cat "$T/api.port")

n=0
for f in "$BAD"/api/*.json; do
    code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/jobs" \
        -H 'Content-Type: application/json' --data-binary @"$f")
    [[ $code == 4[0-9][0-9] ]] || { cat "$T/body" >&2; fail "$(basename "$f"): answered $code, want 4xx"; }
    mv "$T/body" "$T/reply.$(basename "$f")"
    n=$((n + 1))
done
# One interpreter for every reply (python's start-up dominates otherwise).
python3 - "$T"/reply.* <<'PY' || fail "an error body is not {\"error\": {\"code\", \"message\"}}"
import json, sys
for path in sys.argv[1:]:
    d = json.load(open(path))
    assert isinstance(d["error"]["code"], str) and d["error"]["message"], (path, d)
PY
[ "$n" -ge 20 ] || fail "only $n API bodies"
kill -0 "$API" || fail "onesheet-api died on the corpus"
enq=$( [ -f "$ONESHEET_STATE_DIR/onesheet.db" ] && db "select count(*) from queue_messages" || echo 0)
[ "$enq" = 0 ] || fail "bad bodies enqueued $enq messages"
kill -TERM "$API"
rc=0; wait "$API" || rc=$?
[ "$rc" = 0 ] || { tail -20 "$T/api.log" >&2; fail "onesheet-api exited $rc on SIGTERM"; }
ok "$n bad API bodies: 4xx JSON errors, nothing enqueued, the API still up"
