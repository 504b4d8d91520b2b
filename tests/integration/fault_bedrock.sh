# Fault-injection matrix, Bedrock side (embedded queue, ledger and store;
# the Bedrock stand-in, tests/tools/bedrock_standin.c, misbehaves on cue).
# Each trigger ends as documented, with a specific code:
#   THROTTLEONCEME, FLAKYME      retried to success
#   THROTTLEME                   failed ThrottlingException (after retries)
#   GARBAGEME, BADB64ME,         failed invalid, one paid call, no file
#   NOTIMAGEME
#   FILTERME                     filtered, one call, no file
#   ERRORME                      failed permanent, one call
#   --fail-rate 0.3              every job retried to success
#   STALLME                      the worker stops within its grace on
#                                SIGTERM; the job goes back, not lost
# Nothing hangs (every worker under `timeout`); no secret in any log.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/faultmatrix.sh"
[ -x "$TOOLS/bedrock_standin" ] || fail "bedrock_standin is not built"

SECRET=fmStandinSecret$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDFAULTMATRIX AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export ONESHEET_MODEL=us.stability.sd3-5-large-v1:0 ONESHEET_MAX_RECEIVES=3

# standin NAME ARGS...: starts one, sets URL and STANDIN_PID.
standin() {
    local name=$1; shift
    rm -f "$T/$name.port"
    "$TOOLS/bedrock_standin" --listen 127.0.0.1:0 --port-file "$T/$name.port" \
        --key AKIDFAULTMATRIX --secret "$SECRET" --region us-west-2 --image-bytes 20000 \
        --latency-ms 10 --log "$T/$name.log" "$@" >"$T/$name.out" 2>&1 &
    STANDIN_PID=$!
    PIDS+=($STANDIN_PID)
    for _ in $(seq 200); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
    [ -s "$T/$name.port" ] || { cat "$T/$name.out"; fail "stand-in $name did not start"; }
    export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:$(cat "$T/$name.port")
}
# job_of BATCH PROMPT-PREFIX: "state code" of the job whose prompt starts so.
job_of() {
    "$BIN/onesheet" list --batch "$1" --json |
        jq -r --arg p "$2" 'select(.spec.prompt | startswith($p)) |
                            "\(.state) \(.error.code // "-")"'
}

# 1. Every trigger word.
standin triggers
cat >"$T/triggers.txt" <<'EOF'
THROTTLEONCEME: a poster throttled twice
FLAKYME: a poster whose first call gets a 503
THROTTLEME: a poster always throttled
GARBAGEME: a reply cut in half
BADB64ME: a reply that is not base64
NOTIMAGEME: base64 of text
FILTERME: a poster the filter blocks
ERRORME: the model fails
A plain poster of a lighthouse
A plain poster of a harbour
EOF
batch=$("$BIN/onesheet" submit "$T/triggers.txt" 2>>"$T/submit.err") || fail submit
fm_worker "$T/w1.log" 50 --concurrency 3 --visibility 2 || fail "worker exit status (triggers)"
while IFS='|' read -r prefix want calls; do
    got=$(job_of "$batch" "$prefix")
    [ "$got" = "$want" ] || fail "$prefix: expected '$want', got '$got'"
    n=$(calls_for "$(grep "^$prefix" "$T/triggers.txt")")
    [ -z "$calls" ] || [ "$n" = "$calls" ] || fail "$prefix: $n Bedrock calls, expected $calls"
done <<'EOF'
THROTTLEONCEME|succeeded -|3
FLAKYME|succeeded -|2
THROTTLEME|failed ThrottlingException|
GARBAGEME|failed invalid|1
BADB64ME|failed invalid|1
NOTIMAGEME|failed invalid|1
FILTERME|filtered filtered|1
ERRORME|failed permanent|1
A plain poster of a lighthouse|succeeded -|1
A plain poster of a harbour|succeeded -|1
EOF
n=$(calls_for "THROTTLEME: a poster always throttled")
[ "$n" -ge 3 ] && [ "$n" -le 9 ] || fail "THROTTLEME: $n calls (expected 3 attempts x up to 3 deliveries)"
files=$(find "$ONESHEET_STATE_DIR/posters/$batch" -name '*.png' ! -name '*.raw.png' | wc -l)
[ "$files" = 4 ] || fail "$files posters stored, expected 4 (the succeeded jobs)"
ok "trigger words: retried to success, or filtered/failed with a specific code; $files posters"

# 2. Three in ten calls fail at random.
kill "$STANDIN_PID"
wait "$STANDIN_PID" 2>/dev/null || true
standin flaky --fail-rate 0.3
batch=$(fm_submit 10 "Random failures")
fm_worker "$T/w2.log" 50 --concurrency 3 --visibility 2 || fail "worker exit status (fail-rate)"
fm_expect "$batch" "succeeded=10"
failed=$(curl -fsS "$AWS_ENDPOINT_URL_BEDROCK_RUNTIME/__standin/stats" | jq -r '.rejected.failed')
[ "$failed" -gt 0 ] || fail "--fail-rate 0.3 failed no call"
ok "--fail-rate 0.3: 10/10 succeeded ($failed failed calls retried)"

# 3. A call that never answers (60 s): SIGTERM, the grace runs out, the job
# is given back and still queued (not lost, not failed).
batch=$("$BIN/onesheet" submit --prompt "STALLME: a poster that never comes" 2>>"$T/submit.err")
t0=$SECONDS rc=0
timeout -k 10 -s TERM 4 "$BIN/onesheet-worker" --drain --grace 2 --visibility 30 \
    2>>"$T/w3.log" || rc=$?
took=$((SECONDS - t0))
[ "$took" -le 12 ] || fail "the worker took ${took}s to stop after SIGTERM with --grace 2"
[ "$rc" != 137 ] || fail "the worker had to be killed"
st=$(fm_states "$batch")
case "$st" in queued=1|running=1|retrying=1) ;; *) fail "STALLME after SIGTERM: $st" ;; esac
ok "STALLME: the worker stops ${took}s after SIGTERM (exit $rc), the job is $st"

kill "$STANDIN_PID"
wait "$STANDIN_PID" 2>/dev/null || true
fm_no_secrets "$T"/w*.log "$T"/submit.err "$T"/*.log "$T"/*.out
ok "no secret or signature in any log"
