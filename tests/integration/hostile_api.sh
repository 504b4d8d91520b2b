# The hostile suite, HTTP front door: onesheet-api against slow-loris
# clients (bounded: 300 connections for ~6 s, loopback only) while a fresh
# client is served; request-smuggling shapes (Content-Length with
# Transfer-Encoding, two Content-Lengths) refused with 400 and the
# connection closed; HEAD /healthz; malformed requests (oversized target
# and header block, a 10 MB header line, HTTP/1.2 and 2.0, garbage, chunked
# bodies, bare LF, NUL, 1-byte writes) each answered in the JSON error shape
# by the front door's screen, with a fresh client served after each; wrong
# keys throttled per address and logged without the key; 40 waiting POST
# /generate-poster under RLIMIT_NOFILE 256 hold a socket each and no
# back-end handles, /healthz answers beside them, and SIGTERM answers every
# one 202 with its status URL.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -x "$BIN/onesheet-api" ] || { echo "skip: onesheet-api not built (no libmicrohttpd)"; exit 0; }
H="python3 $ROOT/tests/support/hostile_api.py"

start_api() {
    local name=$1; shift
    rm -f "$T/$name.port"
    "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/$name.port" "$@" \
        2>"$T/$name.log" &
    API_PID=$!
    PIDS+=("$API_PID")
    for _ in $(seq 100); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
    [ -s "$T/$name.port" ] || { cat "$T/$name.log"; fail "$name did not start"; }
    PORT=$(cat "$T/$name.port")
}
stop() {
    kill -TERM "$1"
    local rc=0
    wait "$1" || rc=$?
    [ "$rc" = 0 ] || fail "process $1 exited $rc on SIGTERM"
}
alive() { kill -0 "$API_PID" 2>/dev/null || { cat "$T/$1.log"; fail "the API died"; }; }

# 1. Slow-loris, smuggling, HEAD, malformed requests.
start_api a --request-timeout 3 --max-per-client 16 --rate-limit 0
$H slowloris "$PORT" 300 6 || { tail -20 "$T/a.log"; fail "slow-loris"; }
alive a
grep -q 'request_timeout client=127.0.0.2' "$T/a.log" || fail "request timeouts not logged"
$H slow_body "$PORT" 3 || fail "slow body"
$H deadline_spans_screen "$PORT" 3 || fail "the request deadline restarted after the head"
$H smuggle "$PORT" || fail "smuggling"
grep -q 'status=400 client=127.0.0.1 reason=bad_framing' "$T/a.log" || fail "bad framing not logged"
$H head "$PORT" || fail "HEAD"
$H malformed "$PORT" || { tail -20 "$T/a.log"; fail "malformed requests"; }
alive a
$H stop_answers "$PORT" "$API_PID" || fail "a half-sent request on SIGTERM"
rc=0
wait "$API_PID" || rc=$?
[ "$rc" = 0 ] || fail "the API exited $rc on SIGTERM"
ok "slow-loris held off, smuggling refused, HEAD served, server up throughout"

# 2. Wrong keys: 401 up to the burst, then 429 for that address (even with
# the right key); another address is not affected; logged without the key.
key=hostile-test-key
export ONESHEET_API_KEYS=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
start_api k --rate-limit 0
# The refill is a token a second: on a loaded machine one may come back
# between two requests, so the right key is tried right after each 429.
codes= throttled=
for i in $(seq 30); do
    c=$(curl -s -o "$T/body" -w '%{http_code}' -H "x-api-key: guess-$i-secretish" \
        "http://127.0.0.1:$PORT/workers")
    codes+=" $c"
    [ "$c" = 429 ] || continue
    c=$(curl -s -o "$T/body" -w '%{http_code}' -H "x-api-key: $key" "http://127.0.0.1:$PORT/workers")
    if [ "$c" = 429 ]; then throttled=1; break; fi
done
case "$codes" in " 401 401 401 401 401 401 401 401 401 401"*429*) ;;
    *) fail "wrong keys were not throttled after a burst of 10: $codes" ;; esac
[ -n "$throttled" ] || fail "a throttled address got through with the right key: $codes"
python3 -c "import json; d=json.load(open('$T/body')); assert d['error']['code']=='auth_throttled', d"
code=$(curl -s -o "$T/body" -w '%{http_code}' --interface 127.0.0.3 -H "x-api-key: $key" \
    "http://127.0.0.1:$PORT/workers")
[ "$code" = 200 ] || fail "another address got $code"
[ "$(grep -c 'status=401 .*reason=bad_key' "$T/k.log")" = "$(echo "$codes" | tr ' ' '\n' | grep -c 401)" ] ||
    { cat "$T/k.log"; fail "401s not logged"; }
grep -q 'status=429 .*reason=auth_throttled' "$T/k.log" || fail "429s not logged"
! grep -q secretish "$T/k.log" || fail "a key reached the log"
stop "$API_PID"
unset ONESHEET_API_KEYS
ok "wrong keys: 10 x 401 then 429 per address, logged without the key"

# 3. Limits derived from the descriptor limit; waiting requests hold no
# back-end handles and are answered on SIGTERM.  A stopped worker still counts as alive, so requests wait.
"$BIN/onesheet-worker" --concurrency 1 --log-level warn 2>"$T/worker.log" &
WORKER=$!
PIDS+=("$WORKER")
for _ in $(seq 100); do "$BIN/onesheet" workers --json 2>/dev/null | grep -q '"alive":true' && break; sleep 0.05; done
kill -STOP "$WORKER"
(ulimit -n 256; exec "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/f.port" \
    --sync-timeout 30 --rate-limit 0 2>"$T/f.log") &
API_PID=$!
PIDS+=("$API_PID")
for _ in $(seq 100); do [ -s "$T/f.port" ] && break; sleep 0.05; done
PORT=$(cat "$T/f.port")
grep -q 'nofile=256 max_connections=96 max_per_client=24 max_handle_sets=12' "$T/f.log" ||
    { cat "$T/f.log"; fail "limits not derived from RLIMIT_NOFILE"; }
N=40
for i in $(seq $N); do
    curl -s --interface "127.0.0.$((10 + i))" -o "$T/w$i" -w '%{http_code}' \
        -X POST "http://127.0.0.1:$PORT/generate-poster" -H 'Content-Type: application/json' \
        -d "{\"prompt\": \"wait $i\"}" >"$T/c$i" &
done
sleep 3
# Waiting requests hold a socket each but no back-end handles between polls.
fds=$(ls /proc/"$API_PID"/fd | wc -l)
# At most 12 handle sets (kept open in the pool) beside the sockets.
[ "$fds" -lt $((N + 100)) ] || fail "$N waiting requests hold $fds descriptors"
c=$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$c" = 200 ] || { cat "$T/body"; fail "/healthz answered $c beside $N waiting requests"; }
t0=$(date +%s.%N)
kill -TERM "$API_PID"
wait "$API_PID" || fail "the API exited $? on SIGTERM"
wait_s=$(python3 -c "import time; print('%.2f' % (time.time() - $t0))")
answered=0
for i in $(seq $N); do
    for _ in $(seq 50); do [ -s "$T/c$i" ] && break; sleep 0.1; done
    [ "$(cat "$T/c$i")" = 202 ] || { cat "$T/w$i"; fail "waiting request $i got '$(cat "$T/c$i")' on SIGTERM"; }
    python3 -c "import json; d=json.load(open('$T/w$i')); assert d['status_url'].startswith('/jobs/'), d"
    answered=$((answered + 1))
done
kill -CONT "$WORKER"
ok "nofile 256: $N waiting requests held $fds descriptors in all, /healthz 200 beside them; SIGTERM answered $answered/$N 202 in ${wait_s}s"
