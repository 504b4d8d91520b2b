/* b64fast — see b64fast.h.
 *
 * The table decoder looks each character up in one of four tables that hold
 * its six bits already shifted into place (or a bad mark), so a group is
 * four loads, three ORs and a test.  The AVX2 decoder is the one of Wojciech
 * Muła and Daniel Lemire ("Faster Base64 Encoding and Decoding Using AVX2
 * Instructions", 2018), as in aklomp/base64: 32 characters are classified by
 * their nibbles with two shuffles (any character outside the alphabet leaves
 * a common bit set), turned into their six-bit values by a per-range offset,
 * and packed into 24 bytes with two multiply-adds and a shuffle.  A block
 * that is not all alphabet is left to the table decoder, which stops at the
 * exact group, so the two agree byte for byte. */
#include "base/b64fast.h"

#include <stdint.h>
#include <string.h>

/* The value of an alphabet character, -1 for anything else (a constant
 * expression, so the tables below are built by the compiler). */
#define B64V(c) ((c) >= 'A' && (c) <= 'Z' ? (c) - 'A'                 \
                 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26           \
                 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52           \
                 : (c) == '+' ? 62 : (c) == '/' ? 63 : -1)
#define BAD 0x80000000u
#define SH(c, s) (B64V(c) < 0 ? BAD : (uint32_t)B64V(c) << (s))
#define R4(c, s) SH(c, s), SH((c) + 1, s), SH((c) + 2, s), SH((c) + 3, s)
#define R16(c, s) R4(c, s), R4((c) + 4, s), R4((c) + 8, s), R4((c) + 12, s)
#define R64(c, s) R16(c, s), R16((c) + 16, s), R16((c) + 32, s), R16((c) + 48, s)
#define R256(s) {R64(0, s), R64(64, s), R64(128, s), R64(192, s)}

static const uint32_t d0[256] = R256(18), d1[256] = R256(12), d2[256] = R256(6),
                      d3[256] = R256(0);

bool b64fast_is_alpha(unsigned char c)
{
    return !(d3[c] & BAD);
}

static size_t decode_table(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t i = 0;
    for (; len - i >= 4; i += 4) {
        uint32_t x = d0[in[i]] | d1[in[i + 1]] | d2[in[i + 2]] | d3[in[i + 3]];
        if (x & BAD)
            break;
        out[0] = (uint8_t)(x >> 16);
        out[1] = (uint8_t)(x >> 8);
        out[2] = (uint8_t)x;
        out += 3;
    }
    return i;
}

size_t b64fast_decode_scalar(const void *in, size_t len, uint8_t *out)
{
    return decode_table(in, len, out);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define LUTS(set)                                                                      \
    const __m256i lut_lo = set(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,   \
                               0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a, 0x15, 0x11,   \
                               0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13,   \
                               0x1a, 0x1b, 0x1b, 0x1b, 0x1a);                          \
    const __m256i lut_hi = set(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10,   \
                               0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,   \
                               0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10,   \
                               0x10, 0x10, 0x10, 0x10, 0x10);                          \
    const __m256i lut_roll = set(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0,   \
                                 0, 0, 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0,   \
                                 0, 0, 0, 0)

__attribute__((target("avx2")))
static size_t decode_avx2(const uint8_t *in, size_t len, uint8_t *out)
{
    LUTS(_mm256_setr_epi8);
    const __m256i mask_2f = _mm256_set1_epi8(0x2f);
    const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1,
                                          -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1,
                                          -1, -1);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
    size_t i = 0, o = 0;

    while (len - i >= 32) {
        __m256i s = _mm256_loadu_si256((const __m256i *)(const void *)(in + i));
        __m256i hi_nib = _mm256_and_si256(_mm256_srli_epi32(s, 4), mask_2f);
        __m256i lo_nib = _mm256_and_si256(s, mask_2f);
        __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nib);
        __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nib);
        if (!_mm256_testz_si256(lo, hi))
            break;   /* something outside the alphabet: the table finds the group */
        __m256i eq_2f = _mm256_cmpeq_epi8(s, mask_2f);
        __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nib));
        s = _mm256_add_epi8(s, roll);
        s = _mm256_maddubs_epi16(s, _mm256_set1_epi32(0x01400140));
        s = _mm256_madd_epi16(s, _mm256_set1_epi32(0x00011000));
        s = _mm256_shuffle_epi8(s, pack);
        s = _mm256_permutevar8x32_epi32(s, lanes);
        /* 24 bytes, stored as 16 + 8 so that nothing past them is written
         * (the output may be the input, decoded in place). */
        _mm_storeu_si128((__m128i *)(void *)(out + o), _mm256_castsi256_si128(s));
        _mm_storel_epi64((__m128i *)(void *)(out + o + 16), _mm256_extracti128_si256(s, 1));
        i += 32;
        o += 24;
    }
    return i + decode_table(in + i, len - i, out + o);
}

enum { IMPL_UNKNOWN, IMPL_SCALAR, IMPL_AVX2 };

static int impl(void)
{
    static int chosen = IMPL_UNKNOWN;   /* racing first calls choose alike */
    int c = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (c == IMPL_UNKNOWN) {
        __builtin_cpu_init();
        c = __builtin_cpu_supports("avx2") ? IMPL_AVX2 : IMPL_SCALAR;
        __atomic_store_n(&chosen, c, __ATOMIC_RELAXED);
    }
    return c;
}

size_t b64fast_decode(const void *in, size_t len, uint8_t *out)
{
    if (impl() == IMPL_AVX2)
        return decode_avx2(in, len, out);
    return decode_table(in, len, out);
}

const char *b64fast_impl(void)
{
    return impl() == IMPL_AVX2 ? "avx2" : "scalar";
}

#else

size_t b64fast_decode(const void *in, size_t len, uint8_t *out)
{
    return decode_table(in, len, out);
}

const char *b64fast_impl(void)
{
    return "scalar";
}

#endif
