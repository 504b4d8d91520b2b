# The dashboard and /files through --lambda (issue 19), against the
# loopback fake Runtime API: the /ui/ pages (under a stage, too) and their
# JSON; a signed /files link answered as base64 (isBase64Encoded, as API
# Gateway requires for bytes) that decodes to the stored poster, a byte
# range, a lazily made WebP thumbnail, and a tampered link refused 403; then
# in AWS mode (emulated S3, DynamoDB, SQS) the dashboard's links are S3
# presigned URLs that download the poster.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -x "$BIN/onesheet-api" ] || { echo "skip: onesheet-api not built (no libmicrohttpd)"; exit 0; }

# lambda_run EVENTS ANSWERS: serves EVENTS (a JSON list) to onesheet-api
# --lambda through the fake Runtime API and writes the answers.
lambda_run() {
    rm -f "$T/rt.port"
    python3 "$ROOT/tests/support/fake_lambda_runtime.py" "$1" "$2" "$T/rt.port" &
    local rt=$!; PIDS+=("$rt")
    for _ in $(seq 100); do [ -s "$T/rt.port" ] && break; sleep 0.05; done
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:$(cat "$T/rt.port") "$BIN/onesheet-api" --lambda \
        --rate-limit 0 2>>"$T/lambda.log" &
    local lam=$!; PIDS+=("$lam")
    wait "$rt" || { cat "$T/lambda.log"; fail "fake runtime failed"; }
    kill -TERM "$lam"; local rc=0; wait "$lam" || rc=$?
    [ "$rc" = 0 ] || { cat "$T/lambda.log"; fail "onesheet-api --lambda exited $rc"; }
}
# v2 event for METHOD PATH [QUERY [HEADERS-JSON]] on stdout.
ev() {
    python3 -c '
import json, sys
m, p = sys.argv[1], sys.argv[2]
q = sys.argv[3] if len(sys.argv) > 3 else ""
h = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
h.setdefault("x-api-key", "k")
print(json.dumps({"version": "2.0", "routeKey": "$default", "rawPath": p, "rawQueryString": q,
  "headers": h, "requestContext": {"stage": "$default", "http": {"method": m, "path": p,
  "sourceIp": "198.51.100.7"}}, "isBase64Encoded": False}))' "$@"
}
export ONESHEET_API_KEYS=$(printf %s k | sha256sum | cut -d' ' -f1)
export ONESHEET_PUBLIC_URL=https://abc.execute-api.example.com

# ---- embedded: file store, links through /files ----
batch=$("$BIN/onesheet" submit --prompt "A lighthouse on a cliff at dusk" 2>"$T/submit.err") ||
    { cat "$T/submit.err"; fail submit; }
timeout -k 5 60 "$BIN/onesheet-worker" --drain --concurrency 1 2>"$T/w.log" || fail "worker"
job=$(db "SELECT job_id FROM ledger_jobs WHERE batch_id='$batch'")
key=$(db "SELECT store_key FROM ledger_jobs WHERE batch_id='$batch'")
{ echo "["; ev GET /ui/; echo ","; ev GET "/ui/batches/$batch"; echo ",";
  ev GET "/ui/api/batches/$batch" "limit=10"; echo ","; ev GET "/jobs/$job"; echo ",";
  ev GET /ui/api/overview "" '{"x-api-key": "wrong"}'; echo ","
  python3 -c 'import json; print(json.dumps({"httpMethod": "GET", "path": "/ui/app.js",
    "headers": {}, "requestContext": {"stage": "prod", "path": "/prod/ui/app.js"}}))'; echo "]"
} > "$T/ev1.json"
lambda_run "$T/ev1.json" "$T/ans1.json"
python3 - "$T/ans1.json" "$T/links.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
def resp(i, status):
    r = a["req-%d" % i]; assert r["kind"] == "response", r
    b = r["body"]; assert b["statusCode"] == status, (i, b); return b
b = resp(0, 200)
assert b["headers"]["content-type"].startswith("text/html") and not b["isBase64Encoded"], b["headers"]
assert "script-src 'self'" in b["headers"]["content-security-policy"]
assert 'src="/ui/app.js"' in b["body"], b["body"][:300]
resp(1, 200)
d = json.loads(resp(2, 200)["body"])
thumb = d["jobs"][0]["thumb_url"]
assert thumb.startswith("https://abc.execute-api.example.com/files/") and ".thumb.webp?expires=" in thumb, thumb
url = json.loads(resp(3, 200)["body"])["url"]
assert url.startswith("https://abc.execute-api.example.com/files/") and "&sig=" in url, url
assert json.loads(resp(4, 401)["body"])["error"]["code"] == "unauthorized"
b = resp(5, 200)   # a v1 event under stage "prod": the script itself, public
assert b["headers"]["content-type"].startswith("text/javascript") and "textContent" in b["body"]
json.dump({"url": url, "thumb": thumb}, open(sys.argv[2], "w"))
print("ok - lambda: /ui/ pages, a stage's script, the batch JSON and signed links")
PY
python3 - "$T/links.json" > "$T/ev2.json" <<'PY'
import json, sys, urllib.parse
l = json.load(open(sys.argv[1]))
def ev(url, headers=None):
    u = urllib.parse.urlsplit(url)
    return {"version": "2.0", "routeKey": "$default", "rawPath": u.path, "rawQueryString": u.query,
            "headers": headers or {}, "requestContext": {"stage": "$default",
            "http": {"method": "GET", "path": u.path, "sourceIp": "198.51.100.7"}},
            "isBase64Encoded": False}
tampered = l["url"].split("&sig=")[0] + "&sig=" + ("0" * 64)
print(json.dumps([ev(l["url"]), ev(l["url"], {"range": "bytes=0-7"}), ev(l["thumb"]),
                  ev(tampered)]))
PY
lambda_run "$T/ev2.json" "$T/ans2.json"
python3 - "$T/ans2.json" "$ONESHEET_STATE_DIR/posters/$key" <<'PY'
import base64, json, sys
a = json.load(open(sys.argv[1])); poster = open(sys.argv[2], "rb").read()
def resp(i, status):
    r = a["req-%d" % i]; assert r["kind"] == "response", r
    b = r["body"]; assert b["statusCode"] == status, (i, b); return b
b = resp(0, 200)
assert b["isBase64Encoded"] is True and b["headers"]["content-type"] == "image/png"
assert base64.b64decode(b["body"]) == poster, "the body is not the stored poster"
assert b["headers"]["etag"] and b["headers"]["accept-ranges"] == "bytes"
b = resp(1, 206)
assert base64.b64decode(b["body"]) == poster[:8] and b["headers"]["content-range"] == "bytes 0-7/%d" % len(poster)
b = resp(2, 200)
w = base64.b64decode(b["body"]); assert w[:4] == b"RIFF" and w[8:12] == b"WEBP", w[:16]
b = resp(3, 403)
assert not b["isBase64Encoded"] and json.loads(b["body"])["error"]["code"] == "bad_signature"
print("ok - lambda: /files answers base64 bytes, a range, a WebP thumbnail, and 403 when tampered")
PY

# ---- AWS mode: the dashboard's links are S3 presigned URLs ----
unset ONESHEET_PUBLIC_URL
use_aws_stack
"$BIN/onesheet" init >/dev/null 2>"$T/init.err" || { cat "$T/init.err"; fail "init"; }
batch=$("$BIN/onesheet" submit --model draft --prompt "A harbour at dawn" 2>"$T/submit.err") ||
    { cat "$T/submit.err"; fail submit; }
timeout -k 5 60 "$BIN/onesheet-worker" --drain --concurrency 1 --models draft 2>"$T/w2.log" ||
    { cat "$T/w2.log"; fail "worker (AWS)"; }
{ echo "["; ev GET "/ui/api/batches/$batch"; echo ","; ev GET /ui/; echo "]"; } > "$T/ev3.json"
lambda_run "$T/ev3.json" "$T/ans3.json"
python3 - "$T/ans3.json" <<'PY'
import json, sys, urllib.request
a = json.load(open(sys.argv[1]))
b = a["req-0"]["body"]; assert b["statusCode"] == 200, b
d = json.loads(b["body"]); j = d["jobs"][0]
assert j["state"] == "succeeded", j
u = j["thumb_url"]
assert "X-Amz-Signature=" in u and "/files/" not in u, u
data = urllib.request.urlopen(u).read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
assert a["req-1"]["body"]["statusCode"] == 200
print("ok - lambda, AWS mode: the dashboard links S3 presigned URLs that download the poster")
PY
ok "dashboard and /files through --lambda"
