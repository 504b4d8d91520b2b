# Fault-injection matrix, AWS mode, the slow cases (see fault_matrix.sh):
#   - an SQS ReceiveMessage that stalls past the client's timeout: the
#     worker gives up on it, receives again and finishes every job
#   - S3 down for good: every job ends failed with ServiceUnavailable after
#     ONESHEET_MAX_RECEIVES deliveries, its message in the dead-letter
#     queue, nothing stored, and the worker exits on its own
#   - a DynamoDB write answered 200 with an HTML page: the job still ends
#     in a definite state (succeeded, or failed with a code)
# FM_KNOWN_BUGS=1 adds the check that a 200 HTML answer to an S3 PutObject
# (no ETag) is not taken for a stored object (fails today, see the report).
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/faultmatrix.sh"
export ONESHEET_MAX_RECEIVES=2
fm_aws_stack

# 1. A stalled long poll (the client allows wait + 15 s).
batch=$(fm_submit 3 "Stall")
fm_rules "$FP_SQS" "fault=stall,target=ReceiveMessage,stall_ms=18000,count=1"
fm_worker "$T/w1.log" 50 --concurrency 2 --visibility 3 || fail "worker exit status (stall)"
fm_expect "$batch" "succeeded=3"
[ "$(fm_fired "$FP_SQS" stall)" = 1 ] || fail "the stall never fired"
ok "a ReceiveMessage stalled past the client's timeout: retried, 3/3 succeeded"

# 2. S3 answers 503 to every write.
fm_clear
batch=$(fm_submit 2 "Outage")
fm_rules "$FP_S3" "fault=503,method=PUT"
fm_worker "$T/w2.log" 45 --concurrency 2 --visibility 2 || fail "worker exit status (outage)"
fm_expect "$batch" "failed=2"
[ "$(fm_codes "$batch")" = "ServiceUnavailable ServiceUnavailable" ] ||
    fail "outage error codes: $(fm_codes "$batch")"
[ ! -d "$EMU_DIR/s3/posters/it/$batch" ] || fail "an object was stored during the outage"
[ "$(awsstack_messages onesheet-it-dlq)" = 2 ] ||
    fail "the failed jobs' messages are not in the dead-letter queue"
ok "S3 down for good: 2/2 failed with ServiceUnavailable, dead-lettered, nothing stored"

# 3. DynamoDB answers 200 with an HTML page (after submit: the worker's calls).
fm_clear
batch=$(fm_submit 3 "Html")
fm_rules "$FP_DDB" "fault=html200,every=3,count=2"
fm_worker "$T/w3.log" 45 --concurrency 2 --visibility 2 || fail "worker exit status (html200)"
states=$(fm_states "$batch")
case "$states" in
succeeded=3|"failed="[12]" succeeded="[12]) ;;
*) fail "DynamoDB html200: jobs not in a terminal state: $states" ;;
esac
[ "$(fm_fired "$FP_DDB" html200)" = 2 ] || fail "html200 did not fire twice"
ok "DynamoDB 200-with-HTML: every job terminal ($states; codes: $(fm_codes "$batch"))"

if [ "${FM_KNOWN_BUGS:-0}" = 1 ]; then
    fm_clear
    batch=$(fm_submit 2 "Portal")
    fm_rules "$FP_S3" "fault=html200,method=PUT,count=1"
    fm_worker "$T/w4.log" 45 --concurrency 1 --visibility 2 || fail "worker exit status (s3 html200)"
    n=$(find "$EMU_DIR/s3/posters/it/$batch" -name '*._S3rver_object' | wc -l)
    ok_jobs=$(fm_states "$batch")
    [ "$ok_jobs" != "succeeded=2" ] || [ "$n" = 4 ] ||
        fail "S3 PutObject answered 200 HTML (no ETag) was taken as stored: $ok_jobs, $n of 4 objects"
    ok "an S3 PutObject answered 200 HTML is not taken for a stored object"
fi

fm_clear
fm_no_secrets "$T"/w*.log "$T"/submit.err "$T"/*.log
ok "no secret or signature in any log"
fm_stop_tools
