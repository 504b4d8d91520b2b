/* crc64nvme — CRC-64/NVME, the full-object checksum S3 keeps by default
 * (x-amz-checksum-crc64nvme): polynomial 0xAD93D23594C93659, reflected,
 * initial value and final XOR all ones; check value 0xAE8B14860A799888
 * for "123456789".
 *
 * With PCLMULQDQ (chosen once at run time) the bytes are folded 64 at a
 * time by carry-less multiplication, some 15 times faster than the
 * slicing-by-8 table path used otherwise; both give the same value for
 * every input.  The state is a plain uint64_t, so a running CRC is copied
 * by assignment (the worker keeps the art's CRC short of its IEND chunk and
 * continues it over the poster's metadata). */
#ifndef ONESHEET_CRC64NVME_H
#define ONESHEET_CRC64NVME_H

#include <stddef.h>
#include <stdint.h>

#define CRC64NVME_LEN 8
#define CRC64NVME_B64_LEN 13   /* 12 base64 characters + NUL */

/* The CRC of nothing, to start a running CRC from. */
#define CRC64NVME_INIT 0ULL

/* Continues crc (CRC64NVME_INIT, or a value this returned) over
 * data[0..len) and returns the CRC of everything so far.  data may be NULL
 * when len is 0. */
uint64_t crc64nvme_update(uint64_t crc, const void *data, size_t len);

/* The same with the table, whatever the CPU (tests, benchmarks). */
uint64_t crc64nvme_update_table(uint64_t crc, const void *data, size_t len);

/* One-shot CRC of data[0..len). */
uint64_t crc64nvme(const void *data, size_t len);

/* The implementation crc64nvme_update() uses: "pclmul" or "table". */
const char *crc64nvme_impl(void);

/* The CRC as S3 writes it in x-amz-checksum-crc64nvme: base64 of its 8
 * big-endian bytes, 12 characters, into out. */
void crc64nvme_b64(uint64_t crc, char out[CRC64NVME_B64_LEN]);

/* Parses that form; returns 0 and sets *crc, or -1 for anything else
 * (NULL, wrong length, not base64 of 8 bytes). */
int crc64nvme_parse_b64(const char *s, uint64_t *crc);

#endif
