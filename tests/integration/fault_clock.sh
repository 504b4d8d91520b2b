# Fault-injection matrix, AWS mode: the server clock is wrong.  The
# sigproxies in front of the emulators (tests/tools/sigproxy.c) run with
# --clock-offset: the AWS clock 20 min ahead, then 20 min behind.  Every
# request signed with the local clock is refused (RequestTimeTooSkewed,
# bodiless 403 for S3 HEAD, InvalidSignatureException "Signature expired"
# for the JSON protocols), always with the server's Date; the clients learn
# the offset from Date (common/aws/retry.c) and `init`, submit and every job
# succeed, with a handful of refusals, not one per request.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/faultmatrix.sh"
for b in sigproxy bedrock_standin; do [ -x "$TOOLS/$b" ] || fail "$TOOLS/$b is not built"; done
EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
source "$ROOT/tests/support/emulators.sh"
trap '[ -n "${FM_KEEP:-}" ] && cp -r "$T" "$FM_KEEP"; for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT
source "$ROOT/tests/support/awsstack.sh"
STANDIN_ARGS="--latency-ms 10 --image-bytes 20000"
export ONESHEET_MAX_RECEIVES=3

# proxies ARGS...: (re)starts the three sigproxies with ARGS, same emulators.
SP_PIDS=()
proxies() {
    local p n=${#PIDS[@]}
    for p in "${SP_PIDS[@]:-}"; do [ -n "$p" ] && { kill "$p"; wait "$p" 2>/dev/null || true; }; done
    awsstack_tool sigproxy SQS_PROXY --upstream "$EMU_SQS" --service sqs "$@" &&
        awsstack_tool sigproxy S3_PROXY --upstream "$EMU_S3" --service s3 --s3-preconditions "$@" &&
        awsstack_tool sigproxy DDB_PROXY --upstream "$EMU_DYNAMODB" --service dynamodb "$@" ||
        fail "sigproxy $*"
    SP_PIDS=("${PIDS[@]:$n}")
    export AWS_ENDPOINT_URL_SQS=$SQS_PROXY AWS_ENDPOINT_URL_S3=$S3_PROXY
    export AWS_ENDPOINT_URL_DYNAMODB=$DDB_PROXY
}
rejected() { awsstack_rejections; }

for bad in abc 1x 90000 ""; do
    rc=0; "$TOOLS/sigproxy" --upstream http://127.0.0.1:9 --service s3 --region us-east-1 \
        --key K --secret S --clock-offset "$bad" 2>/dev/null || rc=$?
    [ "$rc" = 64 ] || fail "sigproxy accepted --clock-offset '$bad' (exit $rc)"
done
ok "sigproxy refuses bad clock offsets"

# 1. The AWS clock 20 minutes ahead, then 20 minutes behind (`init` too).
SIGPROXY_ARGS="--clock-offset 1200" awsstack_start || fail "could not start the AWS stack"
SP_PIDS=("${PIDS[@]:0:3}")
"$BIN/onesheet" init >"$T/init.log" 2>&1 || { cat "$T/init.log"; fail "init with the clock 20 min ahead"; }
for off in 1200 -1200; do
    [ "$off" = 1200 ] || proxies --clock-offset "$off"
    curl -fsS -D "$T/hdr" -o /dev/null "$SQS_PROXY/__sigproxy/stats"
    d=$(sed -n 's/^[Dd]ate: //p' "$T/hdr" | tr -d '\r')
    skew=$(( $(date -d "$d" +%s) - $(date +%s) - off ))
    [ "${skew#-}" -le 5 ] || fail "the proxy's Date is not $off s off: $d"
    batch=$(fm_submit 4 "Skew $off")
    fm_worker "$T/w-skew$off.log" 45 --concurrency 2 --visibility 3 || fail "worker exit status (skew $off)"
    fm_expect "$batch" "succeeded=4"
    n=$(rejected)
    [ "$n" -gt 0 ] || fail "skew $off: no request was refused (is the offset applied?)"
    [ "$n" -le 40 ] || fail "skew $off: $n refusals; the clients do not keep the offset"
    ok "server clock off by $off s: 4/4 succeeded after $n skew refusals (Date-based correction)"
done

fm_no_secrets "$T"/w-*.log "$T"/submit.err "$T"/*.log
ok "no secret or signature in any log"
fm_stop_tools
