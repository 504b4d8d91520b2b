/* bench_renditions — what a rendition costs (issue 20): the time to
 * compose each of the nine ratios at about one megapixel from one 2:3
 * piece of art (832x1248, a drawn scene with its subject off centre):
 * decode, reframe (detail search, crop or fill), the poster's text and
 * PNG encode, everything the worker does per rendition but the put.
 *
 *   bench_renditions [--reps N] [--out DIR]
 *
 * Output: one `key=value` line per ratio (ms_per_rendition: wall, and
 * cpu_ms: this thread's CPU, the figure to trust on a busy machine), then
 * `case=all`.  --out writes each rendition as DIR/RATIO.png to look at. */
#include "jobs/rendition.h"
#include "poster/pngenc.h"
#include "poster/reframe.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const ratios[] = {"2:3", "16:9", "1:1", "9:16", "21:9",
                                     "9:21", "3:2", "4:5", "5:4"};
#define NRATIOS (sizeof ratios / sizeof *ratios)

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A dusk seascape: sky, a low sun at the left, a sea of glints, and a
 * striped lighthouse on a cliff in the right third -- the detail. */
static void draw_scene(cairo_t *cr, int w, int h)
{
    cairo_pattern_t *sky = cairo_pattern_create_linear(0, 0, 0, h * 0.62);
    cairo_pattern_add_color_stop_rgb(sky, 0, 0.08, 0.10, 0.28);
    cairo_pattern_add_color_stop_rgb(sky, 0.7, 0.55, 0.30, 0.35);
    cairo_pattern_add_color_stop_rgb(sky, 1, 0.98, 0.62, 0.30);
    cairo_set_source(cr, sky);
    cairo_paint(cr);
    cairo_pattern_destroy(sky);
    cairo_arc(cr, w * 0.22, h * 0.56, w * 0.08, 0, 2 * M_PI);
    cairo_set_source_rgb(cr, 1, 0.85, 0.55);
    cairo_fill(cr);
    cairo_rectangle(cr, 0, h * 0.6, w, h * 0.4);
    cairo_set_source_rgb(cr, 0.05, 0.12, 0.22);
    cairo_fill(cr);
    uint32_t r = 7;
    for (int i = 0; i < 900; i++) {
        r = r * 1103515245u + 12345u;
        double x = (r >> 8) % (unsigned)w, y = h * 0.6 + (r >> 4) % (unsigned)(h * 0.4);
        cairo_rectangle(cr, x, y, 6 + (r % 30), 2);
        cairo_set_source_rgba(cr, 1, 0.75, 0.45, 0.15 + (r % 50) / 100.0);
        cairo_fill(cr);
    }
    /* Cliff and lighthouse. */
    cairo_move_to(cr, w * 0.52, h);
    cairo_curve_to(cr, w * 0.58, h * 0.7, w * 0.66, h * 0.62, w, h * 0.58);
    cairo_line_to(cr, w, h);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 0.04, 0.05, 0.06);
    cairo_fill(cr);
    double bx = w * 0.78, base = h * 0.61, top = h * 0.30, bw = w * 0.07, tw = w * 0.045;
    for (int s = 0; s < 6; s++) {
        double y0 = base - (base - top) * s / 6, y1 = base - (base - top) * (s + 1) / 6;
        double w0 = bw - (bw - tw) * s / 6, w1 = bw - (bw - tw) * (s + 1) / 6;
        cairo_move_to(cr, bx - w0 / 2, y0);
        cairo_line_to(cr, bx + w0 / 2, y0);
        cairo_line_to(cr, bx + w1 / 2, y1);
        cairo_line_to(cr, bx - w1 / 2, y1);
        cairo_close_path(cr);
        cairo_set_source_rgb(cr, s % 2 ? 0.75 : 0.95, s % 2 ? 0.12 : 0.93, s % 2 ? 0.1 : 0.9);
        cairo_fill(cr);
    }
    cairo_pattern_t *glow = cairo_pattern_create_radial(bx, top - 20, 0, bx, top - 20, w * 0.2);
    cairo_pattern_add_color_stop_rgba(glow, 0, 1, 0.95, 0.7, 0.95);
    cairo_pattern_add_color_stop_rgba(glow, 1, 1, 0.9, 0.6, 0);
    cairo_set_source(cr, glow);
    cairo_arc(cr, bx, top - 20, w * 0.2, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_pattern_destroy(glow);
}

int main(int argc, char **argv)
{
    int reps = 5, w = 832, h = 1248;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_renditions [--reps N] [--out DIR]\n");
            return 64;
        }
    }
    if (reps < 1)
        reps = 1;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    draw_scene(cr, w, h);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    buf_t art = BUF_INIT;
    err_t e;
    if (pngenc_rgb24(cairo_image_surface_get_data(s), w, h, cairo_image_surface_get_stride(s),
                     NULL, 0, &art, &e) != ERR_OK) {
        fprintf(stderr, "bench_renditions: %s\n", e.msg);
        return 70;
    }
    cairo_surface_destroy(s);
    poster_t *p = poster_open(&e);
    if (!p) {
        fprintf(stderr, "bench_renditions: %s\n", e.msg);
        return 70;
    }
    poster_input_t in = {.title = "The Keeper", .tagline = "Some lights never go out.",
                         .credits = "Directed by A. Keeper \u00b7 Music by The Sea",
                         .model = "bench", .seed = 42};
    double all_wall = 0, all_cpu = 0;
    for (size_t i = 0; i < NRATIOS; i++) {
        buf_t out = BUF_INIT;
        int rw = 0, rh = 0;
        rendition_size(ratios[i], &rw, &rh);
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (int k = 0; k < reps; k++) {
            out.len = 0;
            if (reframe_compose(p, &in, art.data, art.len, ratios[i], NULL, &out, NULL, NULL,
                                &e) != ERR_OK) {
                fprintf(stderr, "bench_renditions: %s: %s\n", ratios[i], e.msg);
                return 70;
            }
        }
        double wall = (clock_s(CLOCK_MONOTONIC) - t0) * 1000 / reps;
        double cpu = (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1000 / reps;
        all_wall += wall;
        all_cpu += cpu;
        printf("case=%s size=%dx%d megapixels=%.2f ms_per_rendition=%.1f cpu_ms=%.1f bytes=%zu\n",
               ratios[i], rw, rh, rw * (double)rh / 1e6, wall, cpu, out.len);
        if (dir) {
            char path[4096], name[16];
            snprintf(name, sizeof name, "%s", ratios[i]);
            name[strcspn(name, ":")] = 'x';
            snprintf(path, sizeof path, "%s/%s.png", dir, name);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(out.data, 1, out.len, f);
                fclose(f);
            }
        }
        buf_free(&out);
    }
    printf("case=all renditions=%zu reps=%d ms_per_rendition=%.1f cpu_ms=%.1f\n", NRATIOS, reps,
           all_wall / NRATIOS, all_cpu / NRATIOS);
    poster_close(p);
    buf_free(&art);
    return 0;
}
