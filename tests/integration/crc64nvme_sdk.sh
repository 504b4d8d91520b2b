#!/usr/bin/env bash
# CRC-64/NVME against the AWS SDK for JavaScript's own implementation
# (@aws-sdk/checksums, Crc64Nvme, what the SDK sends S3 as
# x-amz-checksum-crc64nvme): random buffers of many lengths, both of our
# paths (carry-less multiply and table) must give the SDK's value.
source "$(dirname "$0")/lib.sh"
TOOLS=${ONESHEET_TEST_TOOLS:-$BUILD/tools}
cd "$ROOT"
node -e 'require("@aws-sdk/checksums/crc")' 2>/dev/null ||
    fail "@aws-sdk/checksums is not installed (make deps)"
mkdir -p "$T/buf"
# lengths around every edge of the folding (16, 64, 128 bytes), then large
node - "$T/buf" <<'JS' >"$T/sdk"
const { Crc64Nvme } = require("@aws-sdk/checksums/crc");
const nodeCrypto = require("crypto"), fs = require("fs"), path = require("path");
const dir = process.argv[2];
const lens = [];
for (let n = 0; n <= 300; n++) lens.push(n);
for (const n of [511, 512, 513, 1023, 4096, 65535, 65536, 65537, 1 << 20, 2097152 + 7])
    lens.push(n);
(async () => {
    for (const n of lens) {
        const b = nodeCrypto.randomBytes(n), f = path.join(dir, "b" + n);
        fs.writeFileSync(f, b);
        const c = new Crc64Nvme();
        c.update(b);
        console.log(Buffer.from(await c.digest()).toString("hex") + " " + f);
    }
})();
JS
[ "$(wc -l <"$T/sdk")" -gt 300 ] || fail "the SDK computed too few values"
# shellcheck disable=SC2046
"$TOOLS/crc64sum" $(cut -d' ' -f2 "$T/sdk") >"$T/ours" || fail "crc64sum failed"
bad=0
while read -r want f <&3 && read -r fast table g <&4; do
    [ "$f" = "$g" ] || fail "lists out of step: $f $g"
    if [ "$fast" != "$want" ] || [ "$table" != "$want" ]; then
        echo "mismatch $(basename "$f"): sdk=$want fast=$fast table=$table" >&2
        bad=$((bad + 1))
    fi
done 3<"$T/sdk" 4<"$T/ours"
[ "$bad" = 0 ] || fail "$bad lengths differ from the AWS SDK"
ok "CRC-64/NVME equals the AWS SDK's on $(wc -l <"$T/sdk") random buffers (0..300 bytes, up to 2 MB)"
