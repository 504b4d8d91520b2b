# Fault-injection matrix, AWS mode: a faultproxy (tests/tools/faultproxy.c)
# sits between onesheet and each sigproxy+emulator (SQS, S3, DynamoDB) and
# breaks requests by script.  Every round must end with every job succeeded
# once (nothing lost, no extra stored object, no message left in the
# queue), and no worker may hang:
#   - 500 / 503 / S3 SlowDown / 429 / ThrottlingException bursts
#   - connection resets, closes without an answer, truncated bodies (the
#     Content-Length announced but half the body sent), lost replies
#   - HTML error pages with 500, and with 200 on SQS ReceiveMessage
# and no log holds a secret or a signature.  fault_outage.sh has the
# stalls, the persistent outage and the HTML-200 answers to writes.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/faultmatrix.sh"
fm_aws_stack

# check_round BATCH N: all N succeeded, one object each in S3 (a poster
# without text is its art plus metadata, stored once), nothing left in the
# queue.
check_round() {
    local batch=$1 n=$2
    fm_expect "$batch" "succeeded=$n"
    local objs
    objs=$(find "$EMU_DIR/s3/posters/it/$batch" -name '*._S3rver_object' | wc -l)
    [ "$objs" = "$n" ] || fail "batch $batch: $objs objects stored for $n jobs"
    [ "$(awsstack_messages onesheet-it)" = 0 ] ||
        fail "messages left in the queue after batch $batch"
}

# 0. The rule parser refuses bad rules (400, old rules kept; 64 at start).
fm_rules "$FP_S3" "fault=500,method=NONE"
for bad in "fault=nope" "fault=500,every=0" "fault=500,prob=2" "method=PUT" \
    "fault=500,bogus=1" "fault=500,skip=-1" "fault=500,count=1x" "nokv" \
    "fault=stall,stall_ms=99999999" "fault=500,after=2"; do
    code=$(printf '%s\n' "$bad" | curl -s -o /dev/null -w '%{http_code}' -X POST \
        --data-binary @- "$FP_S3/__faultproxy/rules")
    [ "$code" = 400 ] || fail "faultproxy accepted the bad rule '$bad' ($code)"
done
rc=0; "$TOOLS/faultproxy" --listen 127.0.0.1:0 --upstream "$S3_PROXY" --rule "fault=x" \
    2>/dev/null || rc=$?
[ "$rc" = 64 ] || fail "faultproxy started with a bad --rule (exit $rc)"
rc=0; "$TOOLS/faultproxy" --listen 127.0.0.1:0 --upstream http://192.0.2.1:9 2>/dev/null || rc=$?
[ "$rc" = 64 ] || fail "faultproxy accepted a non-loopback upstream (exit $rc)"
fm_clear
ok "faultproxy refuses bad rules and non-loopback upstreams"

# 1. Error replies in bursts on every service, and wrong content types (an
# HTML page from a proxy or load balancer answering instead of the service).
batch=$(fm_submit 6 "Errors")
fm_rules "$FP_S3" "fault=500,method=PUT,every=3,count=3" \
    "fault=slowdown,method=PUT,skip=1,every=4,count=2" "fault=html500,method=PUT,every=5,count=2"
fm_rules "$FP_SQS" "fault=html200,target=ReceiveMessage,count=2" "fault=503,every=4,count=4" \
    "fault=throttle,target=DeleteMessage,count=2" "fault=429,target=ChangeMessageVisibility,count=1" \
    "fault=html500,every=5,count=2"
fm_rules "$FP_DDB" "fault=429,every=3,count=5" "fault=throttle,skip=5,every=5,count=2" \
    "fault=html500,every=7,count=2"
fm_worker "$T/w1.log" 45 --concurrency 3 --visibility 3 || fail "worker exit status (errors)"
check_round "$batch" 6
for f in 500 slowdown html500; do [ "$(fm_fired "$FP_S3" $f)" -gt 0 ] || fail "S3 $f never fired"; done
for f in 503 html200 html500; do [ "$(fm_fired "$FP_SQS" $f)" -gt 0 ] || fail "SQS $f never fired"; done
for f in 429 throttle html500; do
    [ "$(fm_fired "$FP_DDB" $f)" -gt 0 ] || fail "DynamoDB $f never fired"
done
ok "500/503/SlowDown/429/ThrottlingException bursts and HTML error pages (200 and 500) on SQS, S3, DynamoDB: 6/6 succeeded once"

# 2. Broken connections.
fm_clear
batch=$(fm_submit 6 "Transport")
fm_rules "$FP_S3" "fault=reset,method=PUT,every=3,count=3" "fault=close,method=PUT,skip=4,count=1"
fm_rules "$FP_SQS" "fault=truncate,target=ReceiveMessage,every=2,count=2" \
    "fault=reset,target=DeleteMessage,count=1" "fault=close,every=7,count=2"
fm_rules "$FP_DDB" "fault=truncate,every=4,count=3" "fault=reset,skip=2,every=6,count=2"
fm_worker "$T/w2.log" 45 --concurrency 3 --visibility 3 || fail "worker exit status (transport)"
check_round "$batch" 6
for f in reset close; do [ "$(fm_fired "$FP_S3" $f)" -gt 0 ] || fail "S3 $f never fired"; done
[ "$(fm_fired "$FP_SQS" truncate)" -gt 0 ] || fail "SQS truncate never fired"
[ "$(fm_fired "$FP_DDB" truncate)" -gt 0 ] || fail "DynamoDB truncate never fired"
ok "resets, closes and truncated bodies (lost replies included): 6/6 succeeded once"

fm_clear
[ "$(awsstack_rejections)" = 0 ] || fail "a sigproxy rejected a signature (Host kept?)"
fm_no_secrets "$T"/w*.log "$T"/submit.err "$T"/*.log
ok "no signature rejected; no secret or signature in any log"
fm_stop_tools
