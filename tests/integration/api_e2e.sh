# onesheet-api end to end on the embedded default: the original service's
# exact request answered 200 with a URL of a valid PNG; the async path (202,
# then the status URL turns succeeded); the error statuses over real HTTP;
# API keys and the rate limit; every path of the OpenAPI document; the same
# routes through --lambda against a loopback fake Runtime API (v1 and v2
# events); and a bounded load test of GET /jobs/{id}.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -x "$BIN/onesheet-api" ] || { echo "skip: onesheet-api not built (no libmicrohttpd)"; exit 0; }

# start_api NAME ARGS...: starts onesheet-api on a free loopback port; sets
# API_PID and PORT.
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
# stop PID: SIGTERM, and the process must exit 0 (sanitizer builds: no leaks).
stop() {
    kill -TERM "$1"
    local rc=0
    wait "$1" || rc=$?
    [ "$rc" = 0 ] || fail "process $1 exited $rc on SIGTERM"
}
# req METHOD PATH [curl args]: prints "STATUS BODY" compactly.
req() {
    local m=$1 p=$2; shift 2
    curl -s -o "$T/body" -w '%{http_code}' -X "$m" "http://127.0.0.1:$PORT$p" "$@"
}
expect() {
    local want=$1; shift
    local got; got=$(req "$@")
    [ "$got" = "$want" ] || { cat "$T/body" >&2; fail "$* → $got, want $want"; }
    python3 -c "
import json,sys; d=json.load(open('$T/body'))
if $want >= 400: assert set(d['error']) >= {'code','message'}, d" || fail "$* body is not the error shape"
}
jget() { python3 -c "import json,sys; print(json.load(open('$T/body'))$1)"; }

"$BIN/onesheet-worker" --concurrency 2 --log-level warn 2>"$T/worker.log" &
WORKER=$!
PIDS+=("$WORKER")
# Registered before the seed request: with no live worker the API answers
# 202 at once instead of waiting.
for _ in $(seq 100); do "$BIN/onesheet" workers --json 2>/dev/null | grep -q '"alive":true' && break; sleep 0.05; done
start_api api --sync-timeout 20 --rate-limit 0
API=$API_PID

# The seed's exact Postman request.
code=$(curl -s -o "$T/seed.json" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/generate-poster" \
    -H 'Content-Type: application/json' -d '{"prompt": "A futuristic city skyline at sunset"}')
[ "$code" = 200 ] || { cat "$T/seed.json"; fail "seed request answered $code"; }
url=$(python3 -c "import json; d=json.load(open('$T/seed.json')); assert d['job_id'] and 'expires_at' in d; print(d['url'])")
# On the file store the answer is a signed /files link a browser opens.
[[ $url == http://127.0.0.1:$PORT/files/*'?expires='*'&sig='* ]] || fail "url $url"
curl -sf -o "$T/seed.png" "$url" || fail "the seed's URL does not download"
is_png "$T/seed.png" || fail "the seed's URL is not a PNG"
job=$(python3 -c "import json; print(json.load(open('$T/seed.json'))['job_id'])")
ok "seed request: 200 with a URL of a valid PNG"

# Async: 202 at once, then the status URL turns succeeded.
expect 202 POST /generate-poster -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    -d '{"prompt": "A lighthouse in a storm", "aspect_ratio": "16:9"}'
su=$(jget "['status_url']")
state=
for _ in $(seq 100); do
    expect 200 GET "$su"
    state=$(jget "['state']")
    [ "$state" = succeeded ] && break
    sleep 0.2
done
[ "$state" = succeeded ] || fail "async job ended $state"
curl -sf -o "$T/async.png" "$(jget "['url']")" && is_png "$T/async.png" || fail "async poster is not a PNG"
ok "async: 202, then $su turned succeeded"

# Batches, cancel, and every error status over HTTP.
expect 202 POST /jobs -H 'Content-Type: application/json' -d '[{"prompt":"one"},{"prompt":"two"}]'
batch=$(jget "['batch_id']")
expect 200 GET "/batches/$batch"
expect 404 GET /batches/bnosuchbatch
expect 404 GET /jobs/jnosuchjob
expect 404 GET /no/such/path
expect 405 PUT /jobs
curl -s -D "$T/hdr" -o /dev/null -X PUT "http://127.0.0.1:$PORT/jobs" && grep -qi '^Allow: POST' "$T/hdr" || fail "405 has Allow"
expect 409 DELETE "/jobs/$job"
expect 400 POST /generate-poster -H 'Content-Type: application/json' -d '{"prompt": '
expect 400 POST /generate-poster -H 'Content-Type: application/json' -d '{"prompt": "x", "colour": 1}'
expect 415 POST /generate-poster -H 'Content-Type: text/plain' -d '{"prompt": "x"}'
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
expect 413 POST /jobs -H 'Content-Type: application/json' --data-binary @"$T/big.json"
# Chunked bodies are refused before they are read (the front door's
# screen, server_front.c): bodies need a Content-Length.
expect 411 POST /jobs -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.json"
expect 411 POST /jobs -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' -d '{"prompt": "x"}'
ok "jobs, batches and errors 400 404 405 409 411 413 415"

# Every documented path and method answers with a documented status.
curl -s "http://127.0.0.1:$PORT/openapi.json" >"$T/openapi.json"
python3 - "$T/openapi.json" "$ROOT/api/openapi.json" "$PORT" "$job" <<'PY'
import json, sys, urllib.request, urllib.error
served, repo, port, job = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
assert served == repo, "served document differs from api/openapi.json"
assert served["openapi"].startswith("3.1")
n = 0
for path, item in served["paths"].items():
    for method, op in item.items():
        if method == "parameters":
            continue
        url = "http://127.0.0.1:%s%s" % (port, path.replace("{id}", "jnosuchjob"))
        data = b"{}" if method == "post" else None
        rq = urllib.request.Request(url, data=data, method=method.upper(),
                                    headers={"Content-Type": "application/json"})
        try:
            status = urllib.request.urlopen(rq).status
        except urllib.error.HTTPError as e:
            status = e.code
        assert str(status) in op["responses"], (method, path, status)
        n += 1
assert n >= 7, n
print("ok - openapi: %d operations answer documented statuses" % n)
PY

# Load: GET /jobs/{id}, 2,000 requests at 50 concurrent, no errors.
python3 "$ROOT/tests/support/api_load.py" 127.0.0.1 "$PORT" "/jobs/$job" 2000 50 | tee "$T/load.txt"
ok "load test: $(cat "$T/load.txt")"
stop "$API"

# API keys (hashes in the environment) and the per-key rate limit.
key=s3cret-key
export ONESHEET_API_KEYS=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
start_api keyed --rate-limit 0.1 --burst 3
expect 401 GET "/jobs/$job"
expect 401 GET "/jobs/$job" -H 'x-api-key: wrong'
expect 200 GET /healthz
for _ in 1 2 3; do expect 200 GET "/jobs/$job" -H "x-api-key: $key"; done
curl -s -D "$T/hdr" -o "$T/body" -H "x-api-key: $key" "http://127.0.0.1:$PORT/jobs/$job" >/dev/null
grep -q '^HTTP/1.1 429' "$T/hdr" && grep -qi '^Retry-After: [1-9]' "$T/hdr" || { cat "$T/hdr"; fail "429 with Retry-After"; }
stop "$API_PID"
ok "401 without a valid key, 429 with Retry-After past the rate"

# No keys off loopback: refuses to start (configuration error).
unset ONESHEET_API_KEYS
expect_status 78 "$BIN/onesheet-api" --listen 0.0.0.0:0
export ONESHEET_API_KEYS=$(printf %s "$key" | sha256sum | cut -d' ' -f1)

# The same routes through --lambda and a fake Runtime API: v1 and v2 events.
python3 - "$T/events.json" "$key" "$job" <<'PY'
import json, sys
out, key, job = sys.argv[1:]
v1 = {"resource": "/generate-poster", "path": "/generate-poster", "httpMethod": "POST",
      "headers": {"Content-Type": "application/json", "x-api-key": key},
      "requestContext": {"stage": "prod", "path": "/prod/generate-poster",
                         "identity": {"sourceIp": "203.0.113.5"}},
      "body": json.dumps({"prompt": "A futuristic city skyline at sunset"}),
      "isBase64Encoded": False}
v2 = {"version": "2.0", "routeKey": "$default", "rawPath": "/jobs/" + job, "rawQueryString": "",
      "headers": {"x-api-key": key},
      "requestContext": {"stage": "$default", "http": {"method": "GET", "path": "/jobs/" + job,
                                                       "sourceIp": "198.51.100.7"}},
      "isBase64Encoded": False}
v1_nokey = dict(v1, headers={"Content-Type": "application/json"})
v2_404 = json.loads(json.dumps(v2)); v2_404["rawPath"] = "/prod/nope"
v2_404["requestContext"]["stage"] = "prod"
v2_413 = json.loads(json.dumps(v2)); v2_413["requestContext"]["http"]["method"] = "POST"
v2_413["rawPath"] = "/jobs"; v2_413["body"] = "x" * 70000
v2_413["headers"]["content-type"] = "application/json"
json.dump([v1, v2, v1_nokey, v2_404, v2_413, {"source": "aws.events"}], open(out, "w"))
PY
python3 "$ROOT/tests/support/fake_lambda_runtime.py" "$T/events.json" "$T/answers.json" "$T/rt.port" &
RT=$!
PIDS+=("$RT")
for _ in $(seq 100); do [ -s "$T/rt.port" ] && break; sleep 0.05; done
AWS_LAMBDA_RUNTIME_API=127.0.0.1:$(cat "$T/rt.port") "$BIN/onesheet-api" --lambda --rate-limit 0 \
    2>"$T/lambda.log" &
LAMBDA=$!
PIDS+=("$LAMBDA")
wait "$RT" || { cat "$T/lambda.log"; fail "fake runtime failed"; }
stop "$LAMBDA"
python3 - "$T/answers.json" "$job" <<'PY'
import json, sys
a, job = json.load(open(sys.argv[1])), sys.argv[2]
def resp(i, status):
    r = a["req-%d" % i]
    assert r["kind"] == "response", r
    b = r["body"]
    assert b["statusCode"] == status, (i, b)
    assert b["headers"]["content-type"] == "application/json"
    return json.loads(b["body"])
d = resp(0, 200); assert d["url"].startswith("file://") and d["status_url"] == "/prod/jobs/" + d["job_id"], d
d = resp(1, 200); assert d["job_id"] == job and d["state"] == "succeeded", d
d = resp(2, 401); assert d["error"]["code"] == "unauthorized"
d = resp(3, 404)
d = resp(4, 413)
assert a["req-5"]["kind"] == "error" and a["req-5"]["body"]["errorType"] == "InvalidEvent", a["req-5"]
print("ok - lambda: v1 200, v2 200, 401, 404, 413, and a non-API event reported as an error")
PY

stop "$WORKER"
ok "api end to end"
