/* engine_draft — the "draft" engine: local, deterministic proof art drawn
 * with cairo + pango.  No AI is involved and the output says so twice (a
 * signal-yellow band top and bottom) plus a diagonal DRAFT watermark, so a
 * proof can never be mistaken for a generated poster.  Like a real model it
 * makes only the art: the title, tagline, credits and the prompt as art
 * direction are set by poster.c, the same path Bedrock images take, and it
 * keeps its text clear of these bands (poster_draft_bands()).
 *
 * Determinism: everything drawn is a function of the spec and the effective
 * seed (palette and shapes come from a splitmix64 stream seeded with it), and
 * font rendering is pinned (grey antialiasing, no hinting) so the same input
 * gives byte-identical PNGs in any thread or process on one system.  The
 * palette and key art are in engine_draft_art.c; the PNG, with the prompt,
 * seed and job in text chunks, comes from pngenc.c.
 *
 * Threads: each engine owns its PangoFontMap and PangoContext and each
 * render its cairo surface, so engines in different threads share no pango
 * or cairo objects and render concurrently without locks. */
#include "engine/engine_draft.h"
#include "poster/fontdesc.h"
#include "engine/engine_draft_art.h"
#include "poster/pngenc.h"
#include "poster/poster.h"

#include <cairo.h>
#include <pango/pangocairo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ONESHEET_VERSION
#define ONESHEET_VERSION "dev"
#endif

typedef struct {
    engine_t base;
    PangoFontMap *fontmap;
    PangoContext *pango;
} draft_engine_t;

/* ---- text ---- */

typedef struct {
    const char *family;
    PangoWeight weight;
    PangoStyle style;
    PangoAlignment align;
    double max_px, min_px;
    int max_lines;
    double tracking; /* letter spacing as a fraction of the size */
} font_t;

static void layout_set_size(PangoLayout *l, const font_t *f, double px)
{
    fontdesc_apply(l, f->family, f->weight, f->style, px);
    if (f->tracking > 0) {
        PangoAttrList *attrs = pango_attr_list_new();
        pango_attr_list_insert(attrs, pango_attr_letter_spacing_new(
                                          (int)(px * f->tracking * PANGO_SCALE)));
        pango_layout_set_attributes(l, attrs);
        pango_attr_list_unref(attrs);
    }
}

static int layout_height(PangoLayout *l)
{
    int h;
    pango_layout_get_pixel_size(l, NULL, &h);
    return h;
}

static int layout_fits(PangoLayout *l, const font_t *f, int max_h)
{
    return layout_height(l) <= max_h && pango_layout_get_line_count(l) <= f->max_lines;
}

/* Lays text out at the largest size in [min_px, max_px] that fits w x max_h
 * in at most f->max_lines lines (bisection; fit is monotonic enough in the
 * size).  Text that does not fit even at min_px is cut with an ellipsis.
 * Returns a new layout (caller unrefs). */
static PangoLayout *fit_text(PangoContext *ctx, const font_t *f, const char *text,
                             int w, int max_h)
{
    PangoLayout *l = pango_layout_new(ctx);
    pango_layout_set_text(l, text, -1);
    pango_layout_set_width(l, w * PANGO_SCALE);
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(l, f->align);

    layout_set_size(l, f, f->max_px);
    if (layout_fits(l, f, max_h))
        return l;
    double lo = f->min_px, hi = f->max_px;
    for (int i = 0; i < 7; i++) {
        double mid = (lo + hi) / 2;
        layout_set_size(l, f, mid);
        if (layout_fits(l, f, max_h))
            lo = mid;
        else
            hi = mid;
    }
    layout_set_size(l, f, lo);
    if (!layout_fits(l, f, max_h)) {
        int n = pango_layout_get_line_count(l);
        int fit = (int)(max_h / ((double)layout_height(l) / (n > 0 ? n : 1)));
        if (fit > f->max_lines)
            fit = f->max_lines;
        pango_layout_set_height(l, -(fit > 1 ? fit : 1));
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
    }
    return l;
}

/* ---- DRAFT marking ---- */

/* A signal-yellow band with near-black text, hazard stripes at both ends. */
static void draw_band(cairo_t *cr, PangoContext *ctx, double y, double bh, int w,
                      const char *family, const char *text)
{
    double ends = poster_draft_band(cr, y, bh, w);
    cairo_restore(cr);

    font_t f = {family, PANGO_WEIGHT_BOLD, PANGO_STYLE_NORMAL, PANGO_ALIGN_CENTER,
                bh * 0.5, bh * 0.22, 1, 0.03};
    PangoLayout *l = fit_text(ctx, &f, text, (int)fmax(10, w - 2 * ends - bh * 0.6),
                              (int)(bh * 0.9));
    cairo_move_to(cr, ends + bh * 0.3, y + (bh - layout_height(l)) / 2);
    cairo_set_source_rgb(cr, 0.06, 0.06, 0.06);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
}

/* "DRAFT" along the poster's rising diagonal, outlined and nearly clear. */
static void draw_watermark(cairo_t *cr, PangoContext *ctx, int w, int h)
{
    font_t f = {"DejaVu Sans", PANGO_WEIGHT_HEAVY, PANGO_STYLE_NORMAL,
                PANGO_ALIGN_CENTER, 0, 0, 1, 0.08};
    double diag = hypot(w, h);
    int lw, lh;
    PangoLayout *l = pango_layout_new(ctx);
    pango_layout_set_text(l, "DRAFT", -1);
    layout_set_size(l, &f, diag * 0.2);
    pango_layout_get_pixel_size(l, &lw, &lh);
    layout_set_size(l, &f, diag * 0.2 * (diag * 0.62) / (lw > 0 ? lw : 1));

    cairo_save(cr);
    cairo_translate(cr, w / 2.0, h / 2.0);
    cairo_rotate(cr, -atan2(h, w));
    pango_cairo_update_layout(cr, l);
    pango_layout_get_pixel_size(l, &lw, &lh);
    cairo_move_to(cr, -lw / 2.0, -lh / 2.0);
    pango_cairo_layout_path(cr, l);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.07);
    cairo_fill_preserve(cr);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.25);
    cairo_set_line_width(cr, fmax(1.5, diag * 0.0015));
    cairo_stroke(cr);
    cairo_restore(cr);
    g_object_unref(l);
    /* The layout shared the engine's context; give it the upright matrix back. */
    pango_cairo_update_context(cr, ctx);
}

/* ---- composition ---- */

static void draw_scrim(cairo_t *cr, const palette_t *p, int landscape, int w, int h,
                       double text_top)
{
    rgb_t c = p->bg_bottom;
    cairo_pattern_t *g;
    if (landscape) {
        g = cairo_pattern_create_linear(0, 0, w * 0.62, 0);
        cairo_pattern_add_color_stop_rgba(g, 0, c.r, c.g, c.b, 0.9);
        cairo_pattern_add_color_stop_rgba(g, 0.75, c.r, c.g, c.b, 0.7);
    } else {
        g = cairo_pattern_create_linear(0, text_top - h * 0.1, 0, h);
        cairo_pattern_add_color_stop_rgba(g, 0, c.r, c.g, c.b, 0);
        cairo_pattern_add_color_stop_rgba(g, 0.2, c.r, c.g, c.b, 0.8);
    }
    cairo_pattern_add_color_stop_rgba(g, 1, c.r, c.g, c.b, landscape ? 0 : 0.92);
    cairo_set_source(cr, g);
    cairo_paint(cr);
    cairo_pattern_destroy(g);
}

static void compose(cairo_t *cr, PangoContext *ctx, const job_spec_t *spec,
                    const char *job_id, int64_t seed, int w, int h)
{
    rng_t r = {(uint64_t)seed ^ 0x6f6e657368656574ULL};
    palette_t p;
    draft_palette_from_seed(&r, &p);

    /* The art leaves room where poster.c sets the text: the lower half of
     * a portrait proof, the left column of a landscape one. */
    const char *layout = spec->layout;
    int landscape = w * 5 > h * 6; /* wider than 1.2:1: text left, art right */
    double u = fmin(w, h), m = round(0.06 * u), band, foot;
    poster_draft_bands(w, h, &band, &foot);
    double text_top = landscape ? band + m * 0.8
                                : round(h * (h * 10 >= w * 14 ? 0.52 : 0.46));

    draft_draw_background(cr, &r, &p, w, h);
    if (landscape)
        draft_draw_key_art(cr, &r, &p, w * 0.42, band, w * 0.58, h - band - foot, layout);
    else
        draft_draw_key_art(cr, &r, &p, 0, band, w, text_top - band, layout);
    draw_scrim(cr, &p, landscape, w, h, text_top);

    draw_watermark(cr, ctx, w, h);
    draw_band(cr, ctx, 0, band, w, "DejaVu Sans",
              "DRAFT \u2014 onesheet proof, not AI-generated");
    char footer[320];
    snprintf(footer, sizeof footer,
             "DRAFT \u00b7 model draft \u00b7 seed %lld \u00b7 %s \u00b7 %dx%d%s%.128s",
             (long long)seed, spec->aspect_ratio[0] ? spec->aspect_ratio : "2:3", w, h,
             job_id && *job_id ? " \u00b7 job " : "", job_id ? job_id : "");
    char *vf = g_utf8_make_valid(footer, -1);
    draw_band(cr, ctx, h - foot, foot, w, "DejaVu Sans Mono", vf);
    g_free(vf);
}

/* ---- engine ops ---- */

/* Encodes the rendered surface s as a PNG into png, with where it came from
 * in text chunks: Software (tEXt), then iTXt onesheet:prompt, :model, :seed
 * and :job (left out when there is no job id).  Returns pngenc's code. */
static err_code_t encode_png(cairo_surface_t *s, const job_spec_t *spec,
                             const char *job_id, int64_t seed, buf_t *png, err_t *err)
{
    char seed_s[24];
    snprintf(seed_s, sizeof seed_s, "%lld", (long long)seed);
    /* Spec text is validated UTF-8 already; this only guards direct callers. */
    char *prompt = g_utf8_make_valid(spec->prompt ? spec->prompt : "", -1);
    char *job = g_utf8_make_valid(job_id ? job_id : "", -1);
    const pngenc_text_t text[] = {
        {"Software", "onesheet " ONESHEET_VERSION, false},
        {"onesheet:prompt", prompt, true},
        {"onesheet:model", "draft", true},
        {"onesheet:seed", seed_s, true},
        {"onesheet:job", job, true},
    };
    size_t ntext = sizeof text / sizeof *text - (*job ? 0 : 1);
    err_code_t rc = pngenc_rgb24(cairo_image_surface_get_data(s),
                                 cairo_image_surface_get_width(s),
                                 cairo_image_surface_get_height(s),
                                 cairo_image_surface_get_stride(s), text, ntext, png, err);
    g_free(job);
    g_free(prompt);
    return rc;
}

/* Renders spec as a PNG into out (replacing any image it held).  ERR_INVALID
 * for an unknown aspect ratio, ERR_NOMEM when cairo or the encoder runs out
 * of memory; out is untouched on error. */
static err_code_t draft_generate(engine_t *base, const job_spec_t *spec,
                                 const char *job_id, engine_result_t *out,
                                 err_t *err)
{
    draft_engine_t *e = (draft_engine_t *)base;
    const char *aspect = spec->aspect_ratio[0] ? spec->aspect_ratio : "2:3";
    int w, h;

    if (engine_size_for_aspect(aspect, &w, &h) != ERR_OK)
        return err_set(err, ERR_INVALID, "aspect_ratio: unknown ratio \"%s\"", aspect);
    int64_t seed = job_effective_seed(spec, job_id ? job_id : "");

    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_status_t st = cairo_surface_status(s);
    buf_t png = BUF_INIT;
    if (st == CAIRO_STATUS_SUCCESS) {
        cairo_t *cr = cairo_create(s);
        pango_cairo_update_context(cr, e->pango);
        compose(cr, e->pango, spec, job_id, seed, w, h);
        st = cairo_status(cr);
        cairo_destroy(cr);
    }
    err_code_t rc = ERR_OK;
    if (st == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(s);
        rc = encode_png(s, spec, job_id, seed, &png, err);
    }
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return err_set(err, st == CAIRO_STATUS_NO_MEMORY ? ERR_NOMEM : ERR_INTERNAL,
                       "draft render: %s", cairo_status_to_string(st));
    if (rc != ERR_OK) {
        buf_free(&png);
        err_prefix(err, "draft render");
        return rc;
    }

    buf_free(&out->image);
    out->image = png;
    snprintf(out->content_type, sizeof out->content_type, "image/png");
    snprintf(out->ext, sizeof out->ext, "png");
    snprintf(out->model, sizeof out->model, "draft");
    out->seed = seed;
    out->cost_usd = 0;
    out->width = w;
    out->height = h;
    return ERR_OK;
}

static void draft_close(engine_t *base)
{
    draft_engine_t *e = (draft_engine_t *)base;
    g_object_unref(e->pango);
    g_object_unref(e->fontmap);
    free(e);
}

static const engine_ops_t draft_ops = {draft_generate, draft_close, NULL, NULL, NULL};

/* Opens a draft engine with its own font map and pango context (so one per
 * thread renders without sharing pango state).  Returns a new engine the
 * caller closes with engine_close(), or NULL with err set (ERR_NOMEM). */
engine_t *engine_draft_open(err_t *err)
{
    draft_engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        err_set(err, ERR_NOMEM, "draft engine: out of memory");
        return NULL;
    }
    /* GLib aborts rather than return NULL when it runs out of memory. */
    e->fontmap = pango_cairo_font_map_new();
    e->pango = pango_font_map_create_context(e->fontmap);
    /* Pinned rendering options: output must not depend on the user's
     * fontconfig hinting preferences or the screen. */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(e->pango, fo);
    cairo_font_options_destroy(fo);
    pango_context_set_round_glyph_positions(e->pango, FALSE);
    e->base.ops = &draft_ops;
    return &e->base;
}
