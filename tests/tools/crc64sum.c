/* crc64sum — prints the CRC-64/NVME of each file, as crc64nvme.c computes
 * it, so tests can compare it with another implementation (the AWS SDK for
 * JavaScript, tests/integration/crc64nvme_sdk.sh).
 *
 *   crc64sum [--b64] FILE...
 *
 * One line per file: 16 lower-case hex digits of the fast path, a space,
 * the same from the table path, a space, the file name; with --b64 only
 * the CRC as S3 writes it (x-amz-checksum-crc64nvme) when both paths
 * agree ("MISMATCH" otherwise).  Exit 66 when a file cannot be read. */
#include "base/crc64nvme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    static unsigned char chunk[1 << 16];
    int b64 = argc > 1 && strcmp(argv[1], "--b64") == 0;
    for (int i = 1 + b64; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 66;
        }
        uint64_t fast = CRC64NVME_INIT, table = CRC64NVME_INIT;
        size_t n;
        /* odd-sized reads, so the running CRC crosses block edges too */
        while ((n = fread(chunk, 1, sizeof chunk - 1000, f)) > 0) {
            fast = crc64nvme_update(fast, chunk, n);
            table = crc64nvme_update_table(table, chunk, n);
        }
        fclose(f);
        if (b64) {
            char s[CRC64NVME_B64_LEN];
            crc64nvme_b64(fast, s);
            printf("%s\n", fast == table ? s : "MISMATCH");
            continue;
        }
        printf("%016llx %016llx %s\n", (unsigned long long)fast, (unsigned long long)table,
               argv[i]);
    }
    return 0;
}
