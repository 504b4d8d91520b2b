# The dashboard in a real browser (issue 19): onesheet-api on the embedded
# default, two batches submitted, then tests/support/ui_browser.mjs drives
# Debian's chromium through puppeteer-core: the overview lists them, one is
# cancelled from its page, the other's page is open before a worker starts
# and must fill with loaded thumbnails without a reload, a prompt with
# markup shows as text, and no page error happens; against a second API
# with api_keys, the page asks for the key once.  Fails (never skips)
# when puppeteer-core or chromium is missing.  Screenshots go to
# $ONESHEET_ARTEFACTS/ui_browser (default build/artefacts/ui_browser).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -x "$BIN/onesheet-api" ] || fail "onesheet-api not built (libmicrohttpd missing)"
command -v node >/dev/null || fail "node is not installed"
[ -f node_modules/puppeteer-core/package.json ] || fail "puppeteer-core is not installed (npm ci)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium is not installed (make deps)"
ART=${ONESHEET_ARTEFACTS:-$ROOT/build/artefacts}/ui_browser
mkdir -p "$ART"

N=8
{
    echo '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b class=evil>bold</b> a poster'
    for i in $(seq 2 $N); do echo "A lighthouse on a cliff at dusk, study $i"; done
} > "$T/live.txt"
printf 'A quiet harbour %s\n' 1 2 3 > "$T/cancel.txt"
"$BIN/onesheet" submit "$T/cancel.txt" >"$T/cancel.id" 2>"$T/submit.err" || { cat "$T/submit.err"; fail "submit"; }
"$BIN/onesheet" submit "$T/live.txt" >"$T/live.id" 2>"$T/submit.err" || { cat "$T/submit.err"; fail "submit"; }
CANCEL=$(cat "$T/cancel.id"); LIVE=$(cat "$T/live.id")

"$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/api.port" 2>"$T/api.log" &
API=$!; PIDS+=("$API")
for _ in $(seq 100); do [ -s "$T/api.port" ] && break; sleep 0.05; done
[ -s "$T/api.port" ] || { cat "$T/api.log"; fail "onesheet-api did not start"; }
PORT=$(cat "$T/api.port")

# A second API over the same state with api_keys: the page must ask for one.
ONESHEET_API_KEYS=$(printf %s ui-test-key | sha256sum | cut -d' ' -f1) \
    "$BIN/onesheet-api" --listen 127.0.0.1:0 --port-file "$T/keyed.port" 2>"$T/keyed.log" &
KEYED=$!; PIDS+=("$KEYED")
for _ in $(seq 100); do [ -s "$T/keyed.port" ] && break; sleep 0.05; done
[ -s "$T/keyed.port" ] || { cat "$T/keyed.log"; fail "the keyed onesheet-api did not start"; }

KEYED_BASE="http://127.0.0.1:$(cat "$T/keyed.port")" KEYED_KEY=ui-test-key \
node tests/support/ui_browser.mjs "http://127.0.0.1:$PORT" "$LIVE" "$CANCEL" "$ART" \
    "$T/ready" "$N" >"$T/node.out" 2>&1 &
NODE=$!; PIDS+=("$NODE")
for _ in $(seq 600); do
    [ -f "$T/ready" ] && break
    kill -0 "$NODE" 2>/dev/null || break
    sleep 0.1
done
if [ -f "$T/ready" ]; then
    "$BIN/onesheet-worker" --concurrency 2 --log-level warn 2>"$T/worker.log" &
    PIDS+=("$!")
fi
rc=0; wait "$NODE" || rc=$?
cat "$T/node.out"
[ "$rc" = 0 ] || { tail -20 "$T/api.log" >&2; fail "the browser run failed"; }
for f in overview batch job batch-phone keyed; do
    is_png "$ART/$f.png" || fail "no screenshot $f.png"
done
# A clean stop (sanitizer builds: no leaks after serving the dashboard).
kill -TERM "$API"; rc=0; wait "$API" || rc=$?
[ "$rc" = 0 ] || { tail "$T/api.log"; fail "onesheet-api exited $rc on SIGTERM"; }
# The cancelled batch stayed cancelled: nothing of it ran.
[ "$(db "SELECT COUNT(*) FROM ledger_jobs WHERE batch_id='$CANCEL' AND state='cancelled'")" = 3 ] ||
    fail "the cancelled batch's jobs are not all cancelled"
ok "dashboard in chromium: live fill, cancel, markup as text; screenshots in $ART"
