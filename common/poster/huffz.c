/* huffz — see huffz.h.
 *
 * Each block: a histogram of its bytes (plus end-of-block), code lengths
 * from a Huffman tree built with two queues over the sorted counts, limited
 * to 15 bits by halving the counts until the tree fits (the blocks are
 * large, so this rarely runs and costs little when it does), canonical
 * codes as RFC 1951 3.2.2 assigns them, and the lengths themselves sent
 * with a code-length code limited to 7 bits the same way.  The bits go out
 * through a 64-bit accumulator, stored 8 bytes at a time without a branch
 * after every three codes. */
#include "poster/huffz.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK ((size_t)128 * 1024)
#define NLIT 257              /* bytes and end-of-block */
#define EOB 256

typedef struct {
    uint8_t *p;               /* where the next whole byte goes */
    uint64_t acc;             /* bits not yet whole bytes in memory */
    unsigned n;               /* how many: at most 7 between calls */
} bits_t;

static inline void add(bits_t *b, uint64_t code, unsigned len)
{
    b->acc |= code << b->n;
    b->n += len;
}

/* Writes the whole bytes of acc (8 are stored, n / 8 kept: the output
 * buffer has 8 bytes of slack for this), leaving at most 7 bits. */
static inline void flush(bits_t *b)
{
    memcpy(b->p, &b->acc, 8);   /* little-endian: deflate's bit order */
    b->p += b->n >> 3;
    b->acc >>= b->n & ~7u;
    b->n &= 7;
}

static inline void put(bits_t *b, uint32_t code, unsigned len)
{
    add(b, code, len);
    flush(b);
}

/* Pads to a byte boundary and flushes. */
static void flush_bytes(bits_t *b)
{
    if (b->n > 0)
        *b->p++ = (uint8_t)b->acc;
    b->acc = 0;
    b->n = 0;
}

typedef struct {
    uint32_t f;
    uint16_t sym;
} leaf_t;

static int by_freq(const void *a, const void *b)
{
    const leaf_t *x = a, *y = b;
    if (x->f != y->f)
        return x->f < y->f ? -1 : 1;
    return x->sym < y->sym ? -1 : x->sym > y->sym;
}

/* Code lengths (at most limit bits) for the n symbols' counts f (zero:
 * unused, length 0).  At least two counts must be non-zero. */
static void lengths(const uint32_t *f0, int n, unsigned limit, uint8_t *len)
{
    uint32_t f[NLIT];
    memcpy(f, f0, sizeof *f * (size_t)n);
    for (;;) {
        leaf_t leaf[NLIT];
        int m = 0;
        for (int i = 0; i < n; i++)
            if (f[i])
                leaf[m++] = (leaf_t){f[i], (uint16_t)i};
        qsort(leaf, (size_t)m, sizeof *leaf, by_freq);
        /* nodes 0..m-1 the leaves in order, m.. the internal ones */
        uint64_t w[2 * NLIT];
        int parent[2 * NLIT], li = 0, ii = m;
        for (int i = 0; i < m; i++)
            w[i] = leaf[i].f;
        for (int k = m; k < 2 * m - 1; k++) {
            int pick[2];
            for (int j = 0; j < 2; j++) {
                if (li < m && (ii >= k || w[li] <= w[ii]))
                    pick[j] = li++;
                else
                    pick[j] = ii++;
            }
            w[k] = w[pick[0]] + w[pick[1]];
            parent[pick[0]] = parent[pick[1]] = k;
        }
        uint8_t depth[2 * NLIT];
        unsigned max = 0;
        depth[2 * m - 2] = 0;
        for (int k = 2 * m - 3; k >= 0; k--) {
            depth[k] = (uint8_t)(depth[parent[k]] + 1);
            if (k < m && depth[k] > max)
                max = depth[k];
        }
        if (max <= limit) {
            memset(len, 0, (size_t)n);
            for (int i = 0; i < m; i++)
                len[leaf[i].sym] = depth[i];
            return;
        }
        for (int i = 0; i < n; i++)
            if (f[i])
                f[i] = (f[i] >> 1) | 1;
    }
}

/* Canonical codes for lengths len, bit-reversed for LSB-first output. */
static void codes(const uint8_t *len, int n, uint32_t *code)
{
    unsigned count[16] = {0}, next[16];
    for (int i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    unsigned c = 0;
    for (int l = 1; l < 16; l++) {
        c = (c + count[l - 1]) << 1;
        next[l] = c;
    }
    for (int i = 0; i < n; i++) {
        if (!len[i])
            continue;
        unsigned v = next[len[i]]++, r = 0;
        for (unsigned k = 0; k < len[i]; k++)
            r |= ((v >> k) & 1u) << (len[i] - 1 - k);
        code[i] = r;
    }
}

/* One dynamic block of in[0..n), or a stored one when that is smaller. */
static void block(bits_t *b, const uint8_t *in, size_t n, int final)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                      11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint32_t hist[4][256] = {{0}}, f[NLIT], code[NLIT], cf[19] = {0}, ccode[19];
    uint8_t len[NLIT], clen[19];
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        hist[0][in[i]]++;
        hist[1][in[i + 1]]++;
        hist[2][in[i + 2]]++;
        hist[3][in[i + 3]]++;
    }
    for (; i < n; i++)
        hist[0][in[i]]++;
    for (int s = 0; s < 256; s++)
        f[s] = hist[0][s] + hist[1][s] + hist[2][s] + hist[3][s];
    f[EOB] = 1;
    if (n == 0)
        f[0] = 1;   /* two symbols at least, for a proper tree */
    lengths(f, NLIT, 15, len);
    codes(len, NLIT, code);
    for (int s = 0; s < NLIT; s++)
        cf[len[s]]++;
    cf[0]++;        /* the one distance code, unused: length 0 */
    lengths(cf, 19, 7, clen);
    codes(clen, 19, ccode);

    uint64_t cost = 3 + 14 + 19 * 3;
    for (int s = 0; s < NLIT; s++)
        cost += (uint64_t)clen[len[s]] + (uint64_t)f[s] * len[s];
    cost += clen[0];
    if (cost > (uint64_t)n * 8 + 64 && n > 0) {
        /* stored: at most 65535 bytes a block */
        for (size_t at = 0; at < n;) {
            size_t k = n - at > 65535 ? 65535 : n - at;
            put(b, (final && at + k == n) ? 1u : 0u, 3);
            flush_bytes(b);
            uint8_t h[4] = {(uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k, (uint8_t)(~k >> 8)};
            memcpy(b->p, h, 4);
            memcpy(b->p + 4, in + at, k);
            b->p += 4 + k;
            at += k;
        }
        return;
    }
    put(b, final ? 1u : 0u, 1);
    put(b, 2, 2);                 /* dynamic Huffman */
    put(b, NLIT - 257, 5);        /* HLIT */
    put(b, 0, 5);                 /* HDIST: one distance code */
    put(b, 19 - 4, 4);            /* HCLEN */
    for (int k = 0; k < 19; k++)
        put(b, clen[order[k]], 3);
    for (int s = 0; s < NLIT; s++)
        put(b, ccode[len[s]], clen[len[s]]);
    put(b, ccode[0], clen[0]);    /* the distance code's length, 0 */
    i = 0;
    for (; i + 3 <= n; i += 3) {  /* three codes of <= 15 bits a flush */
        add(b, code[in[i]], len[in[i]]);
        add(b, code[in[i + 1]], len[in[i + 1]]);
        add(b, code[in[i + 2]], len[in[i + 2]]);
        flush(b);
    }
    for (; i < n; i++)
        put(b, code[in[i]], len[in[i]]);
    put(b, code[EOB], len[EOB]);
}

err_code_t huffz_compress(const uint8_t *in, size_t len, buf_t *out)
{
    size_t nblocks = len / BLOCK + 1;
    /* worst case: every block stored (5 bytes a 64 KiB piece), or a
     * Huffman block no larger than that plus its header */
    size_t cap = 2 + len + (len / 65535 + 1) * 5 + nblocks * 160 + 4 + 16;
    size_t start = out->len;
    if (buf_reserve(out, cap) != ERR_OK)
        return ERR_NOMEM;
    bits_t b = {out->data + out->len, 0, 0};
    *b.p++ = 0x78;
    *b.p++ = 0x01;
    if (len == 0) {
        block(&b, in, 0, 1);
    } else {
        for (size_t at = 0; at < len; at += BLOCK) {
            size_t n = len - at > BLOCK ? BLOCK : len - at;
            block(&b, in + at, n, at + n == len);
        }
    }
    flush_bytes(&b);
    uint32_t a = libdeflate_adler32(1, in ? in : (const uint8_t *)"", len);
    uint8_t t[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    memcpy(b.p, t, 4);
    b.p += 4;
    out->len = (size_t)(b.p - out->data);
    if (out->len - start > cap)
        abort();   /* the bound above is wrong: memory is already overrun */
    out->data[out->len] = '\0';
    return ERR_OK;
}
