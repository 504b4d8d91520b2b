# bench_floor (make bench's floor of one job's byte work) really does the
# work it times: the image its peer sends, received in reads that cut base64
# groups, decoded and hashed, has the SHA-256 of the image itself; and bad
# arguments are refused.
source "$(dirname "$0")/lib.sh"

tools=${ONESHEET_TEST_TOOLS:-$ROOT/build/rel/tools}
[ -x "$tools/bench_floor" ] || fail "bench_floor not built in $tools"

for chunk in 1001 65536; do
    out=$("$tools/bench_floor" --jobs 3 --image-bytes 300000 --chunk "$chunk" \
          --dump "$T/img.$chunk") || fail "bench_floor --chunk $chunk exited $?"
    line=$(printf '%s\n' "$out" | grep '^bench=floor part=all ') || fail "no part=all line: $out"
    got=$(printf '%s\n' "$line" | sed -n 's/.* sha256=\([0-9a-f]*\).*/\1/p')
    want=$(sha256sum "$T/img.$chunk" | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "chunk $chunk: received image hashes to $got, the image to $want"
    [ "$(stat -c %s "$T/img.$chunk")" = 300000 ] || fail "dumped image is not 300000 bytes"
    printf '%s\n' "$line" | grep -q ' image_bytes=300000 ' || fail "image_bytes: $line"
    for part in sha256 decode; do
        printf '%s\n' "$out" | grep -Eq "^bench=floor part=$part ms_per_job=[0-9]+\.[0-9]+$" ||
            fail "no $part figure: $out"
    done
done
ok "the image received in 1001- and 65536-byte reads, decoded and hashed, is the image sent"

out=$("$tools/bench_floor" --jobs 2 --image-bytes 30000 --sends 1 --no-sha256) ||
    fail "bench_floor --sends 1 --no-sha256 exited $?"
printf '%s\n' "$out" | grep -q '^bench=floor part=all .* sends=1 hash=none .* sha256=-$' ||
    fail "--sends 1 --no-sha256 not reported: $out"
out=$("$tools/bench_floor" --jobs 2 --image-bytes 30000 --sends 1 --crc64nvme --dump "$T/img.crc") ||
    fail "bench_floor --sends 1 --crc64nvme exited $?"
printf '%s\n' "$out" | grep -q '^bench=floor part=all .* sends=1 hash=crc64nvme .* sha256=-$' ||
    fail "--crc64nvme not reported: $out"
want=$("${ONESHEET_TEST_TOOLS:-$BUILD/tools}/crc64sum" "$T/img.crc" | cut -d' ' -f1)
printf '%s\n' "$out" | grep -q "^bench=floor part=crc64nvme ms_per_job=[0-9.]* impl=[a-z]* crc=$want$" ||
    fail "the floor's CRC is not the image's ($want): $out"
ok "the parts can be left out, and the line says so"

for bad in "--jobs 0" "--jobs 2x" "--image-bytes 2" "--image-bytes 12x" "--chunk 3" "--chunk" \
           "--sends 5" "--sends -1" "--sends abc" "--nonsense"; do
    # shellcheck disable=SC2086
    if "$tools/bench_floor" $bad >"$T/bad.out" 2>&1; then fail "bench_floor $bad succeeded"; fi
    grep -q "bench_floor" "$T/bad.out" || fail "bench_floor $bad: no message naming the tool"
done
ok "bad arguments are refused with a message"
