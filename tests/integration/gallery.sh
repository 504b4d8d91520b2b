# onesheet gallery end to end on the embedded default: submit posters with
# titles in three layouts and two scripts, cancel one job, drain, mark one
# failed (the draft engine never fails by itself), swap two posters for
# JPEG and WebP copies (posters stored before every poster was a PNG, or
# put there by hand: the gallery thumbnails any of the three), build the
# gallery, check its files and HTML, then render it in headless Chromium at phone and
# desktop widths and count the thumbnails in the screenshots by pixel
# analysis.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

cat >"$T/jobs.jsonl" <<'JSONL'
{"id":"keeper","prompt":"A lighthouse keeper's daughter finds a map of the stars","title":"The Last Light","tagline":"Some maps lead home.","credits":"Directed by A. Keeper","aspect_ratio":"2:3"}
{"id":"harbour","prompt":"A futuristic city skyline at sunset, neon harbour","title":"Neon Harbour","layout":"bold","aspect_ratio":"16:9"}
{"id":"tokyo","prompt":"Tokyo at night in the rain","title":"東京の夜","tagline":"光は約束だ。","layout":"minimal","aspect_ratio":"9:16"}
{"id":"orchard","prompt":"An orchard in autumn <with> \"quotes\" & ampersands","aspect_ratio":"1:1"}
{"id":"failing","prompt":"A job that will be marked failed","aspect_ratio":"4:5"}
{"id":"cancelme","prompt":"A job cancelled before it ran","aspect_ratio":"2:3"}
JSONL
batch=$("$BIN/onesheet" submit "$T/jobs.jsonl" 2>"$T/submit.err") || { cat "$T/submit.err"; fail "submit"; }
"$BIN/onesheet" cancel cancelme >/dev/null || fail "cancel a job by its id"
"$BIN/onesheet-worker" --concurrency 2 --drain --log-level warn 2>"$T/worker.err"
[ "$(db "select count(*) from ledger_jobs where state='succeeded'")" = 5 ] || fail "5 succeeded"
db "update ledger_jobs set state='failed', error_code='ValidationException',
    error_message='the model refused: <bad> & worse' where job_id='failing'"
for j in keeper harbour tokyo orchard; do
    is_png "$ONESHEET_STATE_DIR/posters/$batch/$j.png" || fail "$j: no poster"
    is_png "$ONESHEET_STATE_DIR/posters/$batch/$j.raw.png" || fail "$j: no raw art"
done
ok "4 posters, 1 failed, 1 cancelled"

# harbour's poster becomes a WebP, orchard's a JPEG.
declare -A ext=([keeper]=png [harbour]=webp [tokyo]=png [orchard]=jpeg)
for j in harbour orchard; do
    src=$ONESHEET_STATE_DIR/posters/$batch/$j.png
    "$ONESHEET_TEST_TOOLS/img_encode" "${ext[$j]}" "$src" "${src%.png}.${ext[$j]}" ||
        fail "$j: img_encode"
    rm -f "$src"
    db "update ledger_jobs set store_key='$batch/$j.${ext[$j]}' where job_id='$j'"
done
head -c 3 "$ONESHEET_STATE_DIR/posters/$batch/orchard.jpeg" | od -An -tx1 | grep -q 'ff d8 ff' ||
    fail "orchard: not a JPEG"
head -c 12 "$ONESHEET_STATE_DIR/posters/$batch/harbour.webp" | grep -q WEBP || fail "harbour: not a WebP"

out=$T/gallery
expect_status 64 "$BIN/onesheet" gallery "$batch"
expect_status 65 "$BIN/onesheet" gallery bnosuchbatch0000 -o "$out"
"$BIN/onesheet" gallery "$batch" -o "$out" >"$T/g.out" 2>"$T/g.err" || { cat "$T/g.err"; fail "gallery"; }
[ "$(cat "$T/g.out")" = "$out/index.html" ] || fail "gallery prints the page's path"
grep -q "6 jobs, 4 thumbnails, 2 placeholders" "$T/g.err" || { cat "$T/g.err"; fail "summary"; }
html=$out/index.html
[ "$(grep -o '<figure ' "$html" | wc -l)" = 6 ] || fail "one card per job"
[ "$(grep -o '<img ' "$html" | wc -l)" = 4 ] || fail "one thumbnail per poster"
for j in keeper harbour tokyo orchard; do
    is_png "$out/thumbs/$j.png" || fail "$j: no thumbnail"
    cmp -s "$out/posters/$j.${ext[$j]}" "$ONESHEET_STATE_DIR/posters/$batch/$j.${ext[$j]}" ||
        fail "$j: poster copy"
    grep -q "href=\"posters/$j.${ext[$j]}\"><img src=\"thumbs/$j.png\"" "$html" ||
        fail "$j: card links its ${ext[$j]} poster around the thumbnail"
done
# The thumbnails keep the art's aspect: harbour is 16:9, orchard 1:1.
grep -q '<img src="thumbs/harbour.png" width="360" height="206"' "$html" ||
    fail "harbour (WebP) thumbnail size"
grep -q '<img src="thumbs/orchard.png" width="360" height="360"' "$html" ||
    fail "orchard (JPEG) thumbnail size"
grep -q 'ValidationException: the model refused: &lt;bad&gt; &amp; worse' "$html" || fail "error shown, escaped"
grep -q 'An orchard in autumn &lt;with&gt; &quot;quotes&quot; &amp; ampersands' "$html" || fail "prompt escaped"
grep -q '東京の夜' "$html" || fail "UTF-8 title"
grep -q 'name="viewport"' "$html" || fail "viewport meta for phones"
! grep -Eq '(src|href)="(https?:|//)' "$html" || fail "self-contained: no external assets"
ok "gallery files and HTML (PNG, JPEG and WebP posters thumbnailed)"

# --urls links to the store's fresh URLs instead of copies.
"$BIN/onesheet" gallery "$batch" -o "$T/g2" --urls >/dev/null 2>&1 || fail "gallery --urls"
grep -q "href=\"file://$ONESHEET_STATE_DIR/posters/$batch/keeper.png\"" "$T/g2/index.html" || fail "--urls links"
[ ! -d "$T/g2/posters" ] || fail "--urls copies nothing"
ok "gallery --urls"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    [ -z "${ONESHEET_REQUIRE_CHROMIUM:-}" ] || fail "chromium is not installed"
    echo "SKIP: chromium not installed (Debian package chromium); screenshot checks not run"
    exit 0
fi
shot() { # shot WIDTH HEIGHT FILE
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
        --force-device-scale-factor=1 --user-data-dir="$(mktemp -d "$T/chr-XXXXXX")" \
        --screenshot="$3" --window-size="$1,$2" "file://$html" >"$T/chromium.log" 2>&1 ||
        { tail -5 "$T/chromium.log"; fail "chromium screenshot"; }
    is_png "$3" || fail "no screenshot"
}
shot 412 2000 "$T/phone.png"
shot 1280 900 "$T/desktop.png"
for s in phone desktop; do
    got=$(python3 "$ROOT/tests/tools/count_thumbs.py" "$T/$s.png") || fail "count_thumbs"
    [ "$got" = "thumbnails=4 placeholders=2" ] || fail "$s screenshot: $got"
done
cols=$(python3 "$ROOT/tests/tools/count_thumbs.py" --columns "$T/phone.png")
[ "$cols" = 2 ] || fail "phone layout has $cols columns, want 2"
ok "rendered in Chromium: 4 thumbnails and 2 placeholders at phone and desktop widths"
