/* store_sum — see store.h: the checksum a put carries, named and written
 * the way S3 names and writes it. */
#include "store/store.h"
#include "base/buf.h"
#include "base/crc64nvme.h"

#include <stdio.h>
#include <string.h>

/* See store.h. */
const char *store_sum_alg_name(store_sum_alg_t alg)
{
    return alg == STORE_SUM_SHA256 ? "sha256" : "crc64nvme";
}

/* See store.h.  The names are config values: exact, lower case. */
err_code_t store_sum_alg_parse(const char *name, store_sum_alg_t *alg)
{
    if (name && strcmp(name, "crc64nvme") == 0)
        *alg = STORE_SUM_CRC64NVME;
    else if (name && strcmp(name, "sha256") == 0)
        *alg = STORE_SUM_SHA256;
    else
        return ERR_INVALID;
    return ERR_OK;
}

/* See store.h. */
err_code_t store_sum_b64(const store_sum_t *sum, char *out, size_t cap)
{
    if (sum->alg == STORE_SUM_CRC64NVME) {
        char b[CRC64NVME_B64_LEN];
        crc64nvme_b64(sum->crc64, b);
        int n = snprintf(out, cap, "%s", b);
        return n < 0 || (size_t)n >= cap ? ERR_TOOBIG : ERR_OK;
    }
    buf_t b = BUF_INIT;
    err_code_t rc = base64_encode(sum->sha256, SHA256_LEN, &b);
    if (rc == ERR_OK) {
        int n = snprintf(out, cap, "%s", (const char *)b.data);
        rc = n < 0 || (size_t)n >= cap ? ERR_TOOBIG : ERR_OK;
    }
    buf_free(&b);
    return rc;
}
