/* art — what an engine hands to the poster: the generated image's bytes
 * and what is known about them (type, seed, model, size, cost, digest).
 * Engines fill it (engine.h); the poster composes from it (poster.h), so
 * neither needs the other's header for it. */
#ifndef ONESHEET_ART_H
#define ONESHEET_ART_H

#include "base/buf.h"
#include "base/crypto.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    buf_t image;          /* encoded image bytes (owned) */
    char content_type[24];/* "image/png", "image/jpeg", "image/webp" */
    char ext[8];          /* "png", "jpeg", "webp" */
    int64_t seed;         /* the seed actually used */
    char model[128];      /* the model that produced it */
    double cost_usd;      /* estimated cost of this generation */
    int width, height;
    /* Set by engines that hash the image as it arrives (bedrock_stream):
     * sha256 is the digest of image, and sha_head (owned, may be NULL) the
     * SHA-256 state over all of image but its last 12 bytes -- for a PNG,
     * everything before the IEND chunk, where poster_for_job() splices its
     * metadata -- so the poster's digest needs no second pass. */
    bool sha_known;
    uint8_t sha256[SHA256_LEN];
    crypto_sha256_ctx *sha_head;
    /* The same for CRC-64/NVME (base/crc64nvme.h), S3's default checksum:
     * crc64 of all of image, crc_head of all but its last 12 bytes (equal
     * to crc64 when image is shorter).  Engines that stream fill these
     * always; SHA-256 only when asked (engine_set_digests()). */
    bool crc_known;
    uint64_t crc64, crc_head;
} engine_result_t;

void engine_result_init(engine_result_t *r);
void engine_result_free(engine_result_t *r);

#endif
