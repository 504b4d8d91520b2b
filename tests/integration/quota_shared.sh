# The shared quota on the embedded ledger (issue 21): three workers, each
# told the whole quota with --quota-rpm, share one token bucket in the
# SQLite ledger against the Bedrock stand-in's quota of 20 calls a second
# (counted over a 4 s window): every job succeeds, few calls draw a 429,
# and `onesheet workers` and /metrics show the shared rate.  Also: a bad
# --quota-rpm or quota_rpm line is refused with a sysexits status.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/quota_fleet.sh"
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
[ -x "$TOOLS/bedrock_standin" ] || fail "bedrock_standin is not built"

expect_status 64 "$BIN/onesheet-worker" --quota-rpm 0
grep -q -- "--quota-rpm: expected a number of calls a minute above 0" "$T/err" ||
    fail "--quota-rpm 0: $(cat "$T/err")"
expect_status 64 "$BIN/onesheet-worker" --quota-rpm lots
printf 'quota_rpm = 60\nquota_rpm.stability.sd3-5-large-v1:0 = -3\n' > "$T/bad.conf"
expect_status 78 env ONESHEET_CONFIG="$T/bad.conf" "$BIN/onesheet-worker" --drain
grep -q "bad.conf:2: quota_rpm.stability.sd3-5-large-v1:0: expected calls a minute" "$T/err" ||
    fail "bad quota line: $(cat "$T/err")"

SECRET=qsStandinSecret$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDQUOTATEST AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export ONESHEET_MODEL=stability.sd3-5-large-v1:0
rm -f "$T/standin.port"
"$TOOLS/bedrock_standin" --listen 127.0.0.1:0 --port-file "$T/standin.port" \
    --key AKIDQUOTATEST --secret "$SECRET" --region us-west-2 --image-bytes 20000 \
    --latency-ms 50 --rpm 1200 --rpm-window-ms 4000 >"$T/standin.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/standin.port" ] && break; sleep 0.05; done
[ -s "$T/standin.port" ] || { cat "$T/standin.out"; fail "stand-in did not start"; }
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:$(cat "$T/standin.port")

quota_fleet 200 3 1200
[ "$(db "SELECT count(*) FROM ledger_quota")" = 1 ] || fail "no bucket row in the ledger"
ok "three workers shared one 1200/min quota through the SQLite ledger"
