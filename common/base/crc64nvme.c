/* crc64nvme — see crc64nvme.h.
 *
 * Reflected CRC arithmetic: a 64-bit word w stands for the polynomial whose
 * x^(63-j) coefficient is bit j, and 16 bytes loaded little-endian for the
 * one whose x^(127-i) coefficient is bit i, so the stream's first bit is
 * the highest power.  A block A = L*x^64 + H (L the low quadword) that is
 * followed by d more bits of message counts as A*x^d, congruent modulo P to
 * L*(x^(d+64) mod P) + H*(x^d mod P).  A carry-less product of two words
 * lands one place up in this notation (its top bit is x^126, written as
 * bit 127 of the result is x^0), so the constants are x^(d+63) and x^(d-1)
 * mod P; they are computed once, at first use, from the polynomial alone.
 *
 * The folded 16 bytes are finished by the table (a CRC of them from zero
 * is the CRC of everything they stand for), which needs no Barrett
 * reduction constants and costs 16 table steps a call. */
#include "base/crc64nvme.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_PCLMUL_PATH 1
#include <immintrin.h>
#endif

#define POLY_REFLECTED 0x9A6C9329AC4BC9B5ULL   /* 0xAD93D23594C93659 reflected */
#define FOLD_MIN 128   /* shorter inputs take the table */

static uint64_t table[8][256];
static bool use_pclmul;
/* fold constants: {x^(d+63), x^(d-1)} mod P for d = 512 and 128 bits */
static uint64_t k512[2], k128[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* x^n mod P in the reflected notation. */
static uint64_t xpow_mod(unsigned n)
{
    uint64_t v = 1ULL << 63;   /* x^0 */
    while (n-- > 0)
        v = (v >> 1) ^ ((v & 1) ? POLY_REFLECTED : 0);
    return v;
}

static void init_tables(void)
{
    for (unsigned b = 0; b < 256; b++) {
        uint64_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? POLY_REFLECTED : 0);
        table[0][b] = c;
    }
    for (unsigned b = 0; b < 256; b++)
        for (int t = 1; t < 8; t++)
            table[t][b] = (table[t - 1][b] >> 8) ^ table[0][table[t - 1][b] & 0xff];
    k512[0] = xpow_mod(512 + 63);
    k512[1] = xpow_mod(512 - 1);
    k128[0] = xpow_mod(128 + 63);
    k128[1] = xpow_mod(128 - 1);
#ifdef HAVE_PCLMUL_PATH
    __builtin_cpu_init();
    use_pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

/* The register form (not inverted) over data, slicing by 8. */
static uint64_t table_raw(uint64_t c, const uint8_t *p, size_t len)
{
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        c ^= w;
        c = table[7][c & 0xff] ^ table[6][(c >> 8) & 0xff] ^ table[5][(c >> 16) & 0xff] ^
            table[4][(c >> 24) & 0xff] ^ table[3][(c >> 32) & 0xff] ^
            table[2][(c >> 40) & 0xff] ^ table[1][(c >> 48) & 0xff] ^ table[0][c >> 56];
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return c;
}

#ifdef HAVE_PCLMUL_PATH
__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i x, __m128i k, __m128i next)
{
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

/* The register form over data (len >= FOLD_MIN), four blocks in flight. */
__attribute__((target("pclmul,sse4.1")))
static uint64_t pclmul_raw(uint64_t c, const uint8_t *p, size_t len)
{
    const __m128i kk512 = _mm_set_epi64x((long long)k512[1], (long long)k512[0]);
    const __m128i kk128 = _mm_set_epi64x((long long)k128[1], (long long)k128[0]);
    __m128i x0 = _mm_loadu_si128((const __m128i *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    uint8_t last[16];

    x0 = _mm_xor_si128(x0, _mm_cvtsi64_si128((long long)c));
    p += 64;
    len -= 64;
    while (len >= 64) {
        x0 = fold(x0, kk512, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, kk512, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, kk512, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, kk512, _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        len -= 64;
    }
    x0 = fold(x0, kk128, x1);
    x0 = fold(x0, kk128, x2);
    x0 = fold(x0, kk128, x3);
    while (len >= 16) {
        x0 = fold(x0, kk128, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        len -= 16;
    }
    _mm_storeu_si128((__m128i *)last, x0);
    c = table_raw(0, last, sizeof last);
    return table_raw(c, p, len);
}
#endif

uint64_t crc64nvme_update_table(uint64_t crc, const void *data, size_t len)
{
    pthread_once(&once, init_tables);
    return ~table_raw(~crc, data, len);
}

uint64_t crc64nvme_update(uint64_t crc, const void *data, size_t len)
{
    pthread_once(&once, init_tables);
#ifdef HAVE_PCLMUL_PATH
    if (use_pclmul && len >= FOLD_MIN)
        return ~pclmul_raw(~crc, data, len);
#endif
    return ~table_raw(~crc, data, len);
}

uint64_t crc64nvme(const void *data, size_t len)
{
    return crc64nvme_update(CRC64NVME_INIT, data, len);
}

const char *crc64nvme_impl(void)
{
    pthread_once(&once, init_tables);
    return use_pclmul ? "pclmul" : "table";
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void crc64nvme_b64(uint64_t crc, char out[CRC64NVME_B64_LEN])
{
    uint8_t b[9] = {0};
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(crc >> (56 - 8 * i));
    for (int g = 0; g < 3; g++) {
        uint32_t v = (uint32_t)b[3 * g] << 16 | (uint32_t)b[3 * g + 1] << 8 | b[3 * g + 2];
        for (int k = 0; k < 4; k++)
            out[4 * g + k] = B64[(v >> (18 - 6 * k)) & 63];
    }
    out[11] = '=';
    out[12] = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

int crc64nvme_parse_b64(const char *s, uint64_t *crc)
{
    uint8_t b[9];
    if (!s || strlen(s) != 12 || s[11] != '=')
        return -1;
    for (int g = 0; g < 3; g++) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int d = (g == 2 && k == 3) ? 0 : b64_value(s[4 * g + k]);
            if (d < 0)
                return -1;
            v = v << 6 | (uint32_t)d;
        }
        b[3 * g] = (uint8_t)(v >> 16);
        b[3 * g + 1] = (uint8_t)(v >> 8);
        b[3 * g + 2] = (uint8_t)v;
    }
    if (b[8] != 0)   /* the padded character's bits must be zero */
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    *crc = v;
    return 0;
}
