# Fault-injection matrix, AWS mode: credentials that expire mid-run.  A
# credential_process mints a new key id on every call, valid for 75 s
# (always inside the 5-minute refresh window, so every client fetches new
# ones every 10 s); the sigproxies (tests/tools/sigproxy.c --key-file)
# accept only minted keys, and only before their expiry.  `init`, a stream
# of submits and a worker running across several rotations all succeed,
# with no refusal.  (Under 60 s of validity presigning refuses, aws.c
# PRESIGN_CREDS_MARGIN, and every job fails with code auth: see the report
# of issue 9; FM_CRED_LIFE=15 shows it.)  No minted secret in any log.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/support/faultmatrix.sh"
for b in sigproxy bedrock_standin; do [ -x "$TOOLS/$b" ] || fail "$TOOLS/$b is not built"; done
EMU_DIR=$T/emu; mkdir -p "$EMU_DIR"
source "$ROOT/tests/support/emulators.sh"
trap '[ -n "${FM_KEEP:-}" ] && cp -r "$T" "$FM_KEEP"; for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT
source "$ROOT/tests/support/awsstack.sh"
STANDIN_ARGS="--latency-ms 10 --image-bytes 20000"
export ONESHEET_MAX_RECEIVES=3

rejected() { awsstack_rejections; }

# Short-lived credentials with rotating key ids.
cat >"$T/mint.sh" <<EOF
#!/bin/sh
# credential_process: a new key id and secret on every call, valid 75 s;
# the proxies learn it from the key file.
n=\$(date +%s%N)
id=ASIAFM\$(printf '%s' "\$n" | tail -c 12)
secret=\$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
exp=\$((\$(date +%s) + ${FM_CRED_LIFE:-75}))
printf '%s %s %s\n' "\$id" "\$secret" "\$exp" >>"$T/keys"
printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","Expiration":"%s"}\n' \
    "\$id" "\$secret" "\$(date -u -d @\$exp +%Y-%m-%dT%H:%M:%SZ)"
EOF
chmod +x "$T/mint.sh"
printf '# the proxies skip what is not "AKID SECRET [NOT_AFTER]"\nonlyonefield\n\n' >"$T/keys"
printf '[default]\ncredential_process = %s\n' "$T/mint.sh" >"$T/aws.config"
SIGPROXY_ARGS="--key-file $T/keys" awsstack_start || fail "could not start the AWS stack"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export AWS_CONFIG_FILE=$T/aws.config ONESHEET_MODEL=draft
"$BIN/onesheet" init >"$T/init.log" 2>&1 || { cat "$T/init.log"; fail "init with minted keys"; }
batch=$(fm_submit 3 "Rotating keys")
# Jobs keep arriving while one worker runs across several refreshes.
( for i in $(seq 8); do sleep 2; "$BIN/onesheet" submit --prompt "Rotating keys late $i" \
      >/dev/null 2>>"$T/submit.err" || echo "late submit $i failed" >>"$T/late.err"; done ) &
feeder=$!
rc=0
timeout -k 5 45 "$BIN/onesheet-worker" --concurrency 2 --visibility 5 --max-jobs 11 \
    2>"$T/w-creds.log" || rc=$?
wait "$feeder"
[ "$rc" = 0 ] || { tail -n 5 "$T/w-creds.log" >&2; fail "worker exit status $rc (124: hung)"; }
[ ! -s "$T/late.err" ] || { cat "$T/late.err" "$T/submit.err"; fail "submit failed with rotating keys"; }
total=$("$BIN/onesheet" list --json | jq -r 'select(.spec.prompt | startswith("Rotating keys")) | .state' |
    sort | uniq -c | tr -s ' ')
[ "$total" = " 11 succeeded" ] || {
    "$BIN/onesheet" list --json | tail -n 2 >&2; tail -n 5 "$T/w-creds.log" >&2
    fail "rotating keys: jobs $total (want 11 succeeded)"; }
keys=$(grep -c '^ASIAFM' "$T/keys")
[ "$keys" -ge 3 ] || fail "only $keys keys minted: the run did not span a rotation"
expired=$(cat "$T"/SQS_PROXY.log "$T"/S3_PROXY.log "$T"/DDB_PROXY.log | grep -c 'code=ExpiredToken' || true)
n=$(rejected)
[ "$n" -le 3 ] || fail "rotating keys: $n refusals ($expired expired keys) in a run"
ok "credentials valid ${FM_CRED_LIFE:-75} s, $keys key ids minted: 11/11 succeeded, $n refusals"

# A key past its expiry is refused, with a clear error.
old=ASIAFMEXPIRED0001 oldsecret=fmExpiredSecret$RANDOM$RANDOM
printf '%s %s %s\n' "$old" "$oldsecret" $(( $(date +%s) - 5 )) >>"$T/keys"
rc=0
AWS_ACCESS_KEY_ID=$old AWS_SECRET_ACCESS_KEY=$oldsecret timeout 30 "$BIN/onesheet" list --json \
    >/dev/null 2>"$T/expired.err" || rc=$?
[ "$rc" != 0 ] && grep -q 'ExpiredToken' "$T/expired.err" ||
    { cat "$T/expired.err"; fail "an expired key was not refused with ExpiredToken (exit $rc)"; }
ok "a key past its expiry is refused (ExpiredTokenException), the CLI says so"

FM_SECRETS=($(grep '^ASIAFM' "$T/keys" | cut -d' ' -f2))
fm_no_secrets "$T"/w-*.log "$T"/submit.err "$T"/*.log "$T"/*.err
ok "no minted secret or signature in any log"
fm_stop_tools
