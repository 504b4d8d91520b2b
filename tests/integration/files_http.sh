# Signed /files links over real HTTP (issue 19), on the embedded default:
# the seed's request returns an http link that downloads the poster; HEAD;
# a range; ETag revalidation (304); Last-Modified and Cache-Control; a
# tampered, an expired and a moved link are 403 with the JSON error shape;
# a path outside the store is refused; `onesheet urls` keeps file:// paths
# unless --http, whose links the server accepts; the secret file is 0600.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -x "$BIN/onesheet-api" ] || { echo "skip: onesheet-api not built (no libmicrohttpd)"; exit 0; }

"$BIN/onesheet-worker" --concurrency 1 --log-level warn 2>"$T/worker.log" &
PIDS+=("$!")
for _ in $(seq 100); do "$BIN/onesheet" workers --json 2>/dev/null | grep -q '"alive":true' && break; sleep 0.05; done
"$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" --sync-timeout 20 \
    --rate-limit 0 2>"$T/api.log" &
API=$!; PIDS+=("$API")
for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
PORT=$(cat "$T/api.port")
H="http://127.0.0.1:$PORT"

code=$(curl -s -o "$T/seed.json" -w '%{http_code}' -X POST "$H/generate-poster" \
    -H 'Content-Type: application/json' -d '{"prompt": "A futuristic city skyline at sunset"}')
[ "$code" = 200 ] || { cat "$T/seed.json"; fail "seed request answered $code"; }
url=$(jq -r .url "$T/seed.json")
exp=$(jq -r .expires_at "$T/seed.json")
[[ $url == "$H/files/"*'.png?expires='*'&sig='* ]] || fail "seed url $url"
[ "$exp" != null ] || fail "expires_at is null for a signed link"
[ "$(stat -c %a "$ONESHEET_STATE_DIR/files.key")" = 600 ] || fail "files.key is not 0600"
key=${url#"$H/files/"}; key=${key%%\?*}
stored=$ONESHEET_STATE_DIR/posters/$key
size=$(stat -c %s "$stored")

# GET: the stored bytes, with the caching headers.
curl -s -D "$T/h" -o "$T/p.png" "$url"
cmp -s "$T/p.png" "$stored" || fail "the link's bytes differ from the stored poster"
grep -qi '^Content-Type: image/png' "$T/h" || fail "Content-Type"
grep -qi "^Content-Length: $size" "$T/h" || fail "Content-Length"
grep -qi '^Accept-Ranges: bytes' "$T/h" || fail "Accept-Ranges"
grep -qi '^Last-Modified: .* GMT' "$T/h" || fail "Last-Modified"
grep -qi '^Cache-Control: private, max-age=' "$T/h" || fail "Cache-Control"
etag=$(grep -i '^ETag:' "$T/h" | cut -d' ' -f2 | tr -d '\r')
[ -n "$etag" ] || fail "no ETag"
ok "GET: bytes, Content-Type, Content-Length, ETag, Last-Modified, Cache-Control"

# HEAD: the headers, no body.
curl -s -I -o "$T/hh" "$url"
grep -q '^HTTP/1.1 200' "$T/hh" && grep -qi "^Content-Length: $size" "$T/hh" || fail "HEAD"
[ "$(curl -s -X HEAD --max-time 5 "$url" 2>/dev/null | wc -c)" = 0 ] || fail "HEAD sent a body"
# Ranges.
[ "$(curl -s -o "$T/r" -w '%{http_code}' -H 'Range: bytes=0-7' "$url")" = 206 ] || fail "range status"
cmp -s "$T/r" <(head -c 8 "$stored") || fail "range bytes"
[ "$(curl -s -o "$T/r" -w '%{http_code}' -H "Range: bytes=$size-" "$url")" = 416 ] || fail "416"
# Revalidation.
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url")" = 304 ] || fail "304"
ok "HEAD, ranges (206, 416) and ETag revalidation (304)"

expect403() {   # URL CODE
    local got; got=$(curl -s -o "$T/e" -w '%{http_code}' "$1")
    [ "$got" = 403 ] || fail "$1 → $got, want 403"
    [ "$(jq -r .error.code "$T/e")" = "$2" ] || { cat "$T/e"; fail "$1: error code"; }
}
sig=${url##*sig=}
expect403 "${url%sig=*}sig=$(printf %s "$sig" | tr 0-9a-f 1-9a-f0)" bad_signature
expect403 "${url/.png?/.raw.png?}" bad_signature
expect403 "${url/expires=/expires=9}" bad_signature
expect403 "$H/files/$key" bad_signature
expect403 "$H/files/..%2Fonesheet.db?expires=9999999999&sig=$sig" bad_signature
[ "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$H/files/../onesheet.db?expires=1&sig=$sig")" != 200 ] ||
    fail "a path outside the store was served"
ok "tampered, moved, unsigned and outside-the-store links are 403 bad_signature"

# The CLI: file:// for local use, --http for the API's links (short ttl to
# see one expire).
batch=$(jq -r .batch_id "$T/seed.json")
"$BIN/onesheet" urls "$batch" | grep -q ' file:///' || fail "urls without --http is not file://"
expect_status 78 "$BIN/onesheet" urls "$batch" --http
link=$(ONESHEET_PUBLIC_URL=$H "$BIN/onesheet" urls "$batch" --http | cut -d' ' -f2)
[ "$(curl -s -o "$T/c.png" -w '%{http_code}' "$link")" = 200 ] && cmp -s "$T/c.png" "$stored" ||
    fail "the CLI's --http link does not download"
short=$(ONESHEET_PUBLIC_URL=$H "$BIN/onesheet" urls "$batch" --http --ttl 1 | cut -d' ' -f2)
sleep 2.1
expect403 "$short" expired
ok "onesheet urls: file:// by default; --http links work and expire"
# A clean stop (sanitizer builds: no leaks after serving files).
kill -TERM "$API"; rc=0; wait "$API" || rc=$?
[ "$rc" = 0 ] || { tail "$T/api.log"; fail "onesheet-api exited $rc on SIGTERM"; }
ok "signed /files links over HTTP"
