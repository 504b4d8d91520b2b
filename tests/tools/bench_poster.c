/* bench_poster — the CPU a poster with text costs: decode of the art,
 * compose (title, tagline, credits, scrim) and encode, through
 * poster_compose(), on photo-like 1024x1536 art.
 *
 *   bench_poster [--iterations N] [--art FILE.png] [--out FILE.png]
 *
 * Without --art the art is synthesised (smooth colour fields, edges and
 * sensor-like noise, so PNG filters and deflate meet what they meet in a
 * photograph) and written by libpng at zlib level 6 with its adaptive
 * filters (cairo_surface_write_to_png), as a model's PNG would be.
 * Prints one JSON object: the median and minimum CPU ms per poster (this
 * thread's CPU time), the art's and the poster's bytes, and what libpng at
 * level 6 makes of the same poster pixels (ref_bytes) with the ratio. */
#include "poster/poster.h"
#include "poster/poster_internal.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static cairo_status_t to_buf(void *closure, const unsigned char *d, unsigned int n)
{
    return buf_append(closure, d, n) == ERR_OK ? CAIRO_STATUS_SUCCESS
                                               : CAIRO_STATUS_NO_MEMORY;
}

static uint32_t rng = 12345;
static int noise(void)
{
    rng = rng * 1103515245u + 12345u;
    return (int)((rng >> 16) % 13) - 6;
}

static int clamp(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (int)v;
}

/* Photo-like art: a sky gradient, a sun, hills with texture, noise. */
static cairo_surface_t *synth(int w, int h)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s) / 4;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double fy = (double)y / h, fx = (double)x / w;
            double hill = 0.55 + 0.08 * sin(fx * 7.0) + 0.04 * sin(fx * 23.0 + 1.0);
            double r, g, b;
            if (fy < hill) {
                double d = hypot(fx - 0.7, fy - 0.25);
                double sun = d < 0.08 ? 1.0 : exp(-(d - 0.08) * 12.0);
                r = 40 + 150 * fy + 120 * sun;
                g = 70 + 110 * fy + 90 * sun;
                b = 160 + 60 * (1 - fy) + 20 * sun;
            } else {
                double t = 0.5 + 0.5 * sin(fx * 90.0 + fy * 40.0) * sin(fy * 130.0);
                r = 50 + 60 * t + 40 * (fy - hill);
                g = 90 + 70 * t;
                b = 40 + 30 * t;
            }
            px[y * stride + x] = (uint32_t)clamp(r + noise()) << 16 |
                                 (uint32_t)clamp(g + noise()) << 8 | (uint32_t)clamp(b + noise());
        }
    cairo_surface_mark_dirty(s);
    return s;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int iters = 15;
    const char *art_path = NULL, *out_path = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--iterations") == 0)
            iters = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--art") == 0)
            art_path = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            out_path = argv[i + 1];
    }
    if (iters < 1 || iters > 10000) {
        fprintf(stderr, "bench_poster: --iterations 1..10000\n");
        return 64;
    }
    buf_t art = BUF_INIT;
    if (art_path) {
        FILE *f = fopen(art_path, "rb");
        char chunk[65536];
        size_t n;
        if (!f) {
            perror(art_path);
            return 66;
        }
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_append(&art, chunk, n);
        fclose(f);
    } else {
        cairo_surface_t *s = synth(1024, 1536);
        cairo_surface_write_to_png_stream(s, to_buf, &art);
        cairo_surface_destroy(s);
    }
    err_t e;
    poster_t *p = poster_open(&e);
    poster_input_t in = {
        .title = "The Lighthouse Keeper", .tagline = "Some storms never pass",
        .credits = "A film by Ada Lovelace  Starring Grace Hopper, Alan Turing and "
                   "Katherine Johnson  Music by Hedy Lamarr  Produced by onesheet",
        .prompt = "a lighthouse in a storm", .model = "bench", .job_id = "jbench",
        .seed = 42,
    };
    double *ms = calloc((size_t)iters, sizeof *ms);
    buf_t out = BUF_INIT;
    for (int i = 0; i < iters; i++) {
        buf_reset(&out);
        double t0 = cpu_ms();
        if (poster_compose(p, &in, art.data, art.len, &out, NULL, &e) != ERR_OK) {
            fprintf(stderr, "bench_poster: %s\n", e.msg);
            return 70;
        }
        ms[i] = cpu_ms() - t0;
    }
    /* what libpng at level 6 makes of the same pixels */
    buf_t ref = BUF_INIT;
    cairo_surface_t *dec = poster_decode(out.data, out.len, &e);
    if (!dec) {
        fprintf(stderr, "bench_poster: the poster does not decode: %s\n", e.msg);
        return 70;
    }
    cairo_surface_write_to_png_stream(dec, to_buf, &ref);
    cairo_surface_destroy(dec);
    if (out_path) {
        FILE *f = fopen(out_path, "wb");
        if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
            perror(out_path);
            return 73;
        }
    }
    double min = ms[0];
    for (int i = 1; i < iters; i++)
        min = ms[i] < min ? ms[i] : min;
    qsort(ms, (size_t)iters, sizeof *ms, cmp);
    printf("{\"iterations\":%d,\"cpu_ms_median\":%.2f,\"cpu_ms_min\":%.2f,\"art_bytes\":%zu,"
           "\"poster_bytes\":%zu,\"ref_bytes\":%zu,\"ratio\":%.3f}\n",
           iters, ms[iters / 2], min, art.len, out.len, ref.len, (double)out.len / ref.len);
    free(ms);
    buf_free(&art);
    buf_free(&out);
    buf_free(&ref);
    poster_close(p);
    return 0;
}
