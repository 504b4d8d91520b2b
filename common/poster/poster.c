/* poster — see poster.h.  Layout in three steps: geometry (safe area, text
 * column, alignment) from the art's size and the layout name; fitting each
 * block into its share of the column; then, group by group (the foot stack,
 * and a bold title at the head), a scrim sized to the group and an ink
 * chosen from the pixels behind it, and the text drawn clipped to its box. */
#include "poster/poster_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Ink is chosen for a little more than POSTER_MIN_CONTRAST: glyph edges
 * and 8-bit rounding must not take a block under the line. */
#define TARGET_CONTRAST (POSTER_MIN_CONTRAST + 0.4)
/* The faintest veil a group of text gets, for the look, needed or not. */
#define MIN_SCRIM 0.15
#define TITLE_FROM_PROMPT_MAX 44

typedef struct {
    PangoLayout *l;       /* NULL: block absent */
    int gutter;           /* the lines start this far in from x */
    double x, y, w, max_h;
    poster_box_t box;
    int group;            /* 0 foot, 1 head */
} block_t;

typedef struct {
    int w, h, landscape, draft;
    double u, band_top, band_bot;
    poster_box_t safe;
    double cx, cw;        /* the text column */
    PangoAlignment align;
} geom_t;

poster_t *poster_open(err_t *err)
{
    poster_t *p = g_try_malloc0(sizeof *p);
    if (!p) {
        err_set(err, ERR_NOMEM, "poster: out of memory");
        return NULL;
    }
    p->fontmap = pango_cairo_font_map_new();
    p->pango = pango_font_map_create_context(p->fontmap);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(p->pango, fo);
    cairo_font_options_destroy(fo);
    pango_context_set_round_glyph_positions(p->pango, FALSE);
    return p;
}

void poster_close(poster_t *p)
{
    if (!p)
        return;
    g_object_unref(p->pango);
    g_object_unref(p->fontmap);
    g_free(p);
}

double poster_draft_band(cairo_t *cr, double y, double bh, int w)
{
    double ends = bh * 1.6;
    cairo_save(cr);
    cairo_rectangle(cr, 0, y, w, bh);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.06, 0.06, 0.06);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 1.0, 0.835, 0.0);
    for (double x = -bh; x < w + bh; x += bh * 0.7) {
        cairo_move_to(cr, x, y + bh);
        cairo_rel_line_to(cr, bh * 0.35, 0);
        cairo_rel_line_to(cr, bh, -bh);
        cairo_rel_line_to(cr, -bh * 0.35, 0);
        cairo_close_path(cr);
    }
    cairo_fill(cr);
    cairo_rectangle(cr, ends, y, w - 2 * ends, bh);
    cairo_fill(cr);
    return ends;
}

void poster_draft_bands(int w, int h, double *top_px, double *bottom_px)
{
    double u = fmin(w, h);
    *top_px = fmax(24, round(0.045 * u));
    *bottom_px = fmax(22, round(0.032 * u));
}

static void geometry(geom_t *g, int w, int h, const poster_input_t *in, int minimal)
{
    g->w = w;
    g->h = h;
    g->u = fmin(w, h);
    g->draft = in->draft;
    g->landscape = w * 5 > h * 6; /* wider than 1.2:1: a text column at the left */
    double m = round(0.06 * g->u), top = m, bot = m;
    g->band_top = g->band_bot = 0;
    if (in->draft) {
        poster_draft_bands(w, h, &g->band_top, &g->band_bot);
        top = fmax(m, g->band_top + round(0.025 * g->u));
        bot = fmax(m, g->band_bot + round(0.025 * g->u));
    }
    g->safe = (poster_box_t){m, top, w - 2 * m, h - top - bot};
    g->cx = m;
    g->cw = g->landscape ? round(w * 0.5) - m : w - 2 * m;
    g->align = g->landscape || minimal ? PANGO_ALIGN_LEFT : PANGO_ALIGN_CENTER;
}

/* Fits text into the w x max_h box at (x, y). */
static void fit(poster_t *p, block_t *b, const poster_font_t *f,
                const char *text, double x, double y, double w, double max_h,
                PangoAlignment align)
{
    b->l = poster_fit_text(p->pango, f, text, align, (int)w, (int)max_h);
    b->gutter = poster_gutter(f);
    b->x = x;
    b->y = y;
    b->w = w;
    b->max_h = max_h;
    b->box = poster_text_box(b->l, b->gutter, x, y, w, max_h);
}

/* How far down from its top a block reaches: its lines, or its ink where
 * that hangs lower (Arabic marks, descenders). */
static double block_h(const block_t *b)
{
    int h;
    pango_layout_get_pixel_size(b->l, NULL, &h);
    return fmin(fmax(h, b->box.y + b->box.h - b->y), b->max_h);
}

static void move_block(block_t *b, double y)
{
    b->box.y += y - b->y;
    b->y = y;
}

static poster_box_t unite(poster_box_t a, poster_box_t b)
{
    if (a.w <= 0 || a.h <= 0)
        return b;
    if (b.w <= 0 || b.h <= 0)
        return a;
    double x0 = fmin(a.x, b.x), y0 = fmin(a.y, b.y);
    double x1 = fmax(a.x + a.w, b.x + b.w), y1 = fmax(a.y + a.h, b.y + b.h);
    return (poster_box_t){x0, y0, x1 - x0, y1 - y0};
}

/* A veil of colour sc at opacity a over the whole of box, fading to nothing
 * over `feather` px on the sides that face the art; clear of DRAFT bands. */
static void draw_scrim(cairo_t *cr, const geom_t *g, poster_box_t box, int group,
                       const double sc[3], double a)
{
    if (a <= 0)
        return;
    double pad = round(0.03 * g->u), feather = round(0.14 * g->u);
    cairo_pattern_t *pat;
    cairo_save(cr);
    cairo_rectangle(cr, 0, g->band_top, g->w, g->h - g->band_top - g->band_bot);
    cairo_clip(cr);
    if (g->landscape) {
        double x1 = box.x + box.w + pad;
        pat = cairo_pattern_create_linear(x1, 0, x1 + feather, 0);
    } else if (group == 1) {
        double y1 = box.y + box.h + pad;
        pat = cairo_pattern_create_linear(0, y1, 0, y1 + feather);
    } else {
        double y0 = box.y - pad;
        pat = cairo_pattern_create_linear(0, y0, 0, y0 - feather);
    }
    cairo_pattern_add_color_stop_rgba(pat, 0, sc[0], sc[1], sc[2], a);
    cairo_pattern_add_color_stop_rgba(pat, 1, sc[0], sc[1], sc[2], 0);
    cairo_set_source(cr, pat);
    cairo_paint(cr);
    cairo_pattern_destroy(pat);
    cairo_restore(cr);
}

static void draw_block(cairo_t *cr, const block_t *b, const double rgb[3],
                       unsigned flags)
{
    cairo_save(cr);
    cairo_rectangle(cr, b->x, b->y, b->w, b->max_h);
    cairo_clip(cr);
    cairo_move_to(cr, b->x + b->gutter, b->y);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    pango_cairo_update_layout(cr, b->l);
    if (!(flags & POSTER_NO_GLYPHS))
        pango_cairo_show_layout(cr, b->l);
    cairo_restore(cr);
}

/* Lays out and fits every block of in whose text is set.  Takes text[] (and
 * may replace its notes entry; the caller frees every entry). */
static void plan(poster_t *p, const geom_t *g, const poster_input_t *in,
                 block_t b[POSTER__NBLOCKS], char *text[POSTER__NBLOCKS])
{
    int minimal = in->layout && strcmp(in->layout, "minimal") == 0;
    int bold = in->layout && strcmp(in->layout, "bold") == 0;
    double u = g->u, h = g->h, land = g->landscape;
    double sb = g->safe.y + g->safe.h, gap = round(0.022 * u);
    PangoAlignment al = g->align;

    poster_font_t tf = {"DejaVu Sans", PANGO_WEIGHT_BOLD, PANGO_STYLE_NORMAL,
                        0.115 * u, 0.035 * u, 3, 0.01, 0, 0};
    if (bold)
        tf = (poster_font_t){"DejaVu Sans Condensed", PANGO_WEIGHT_BOLD,
                             PANGO_STYLE_NORMAL, 0.16 * u, 0.04 * u, 3, 0, 0, 0};
    if (minimal)
        tf = (poster_font_t){"DejaVu Serif", PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL,
                             0.08 * u, 0.03 * u, 3, 0, 0, 0};
    poster_font_t gf = {"DejaVu Serif", PANGO_WEIGHT_NORMAL, PANGO_STYLE_ITALIC,
                        0.045 * u, 0.02 * u, 4, 0, 0.05, 0};
    poster_font_t cf = {"DejaVu Sans Condensed", PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL,
                        0.024 * u, 0.012 * u, 4, 0.02, 0.1, 0};
    poster_font_t nf = {"DejaVu Serif", PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL,
                        0.028 * u, fmax(10, 0.014 * u), 80, 0, 0.1, 0};
    if (in->notes_label && *in->notes_label && text[POSTER_NOTES]) {
        char *t = g_strdup_printf("%s\n%s", in->notes_label, text[POSTER_NOTES]);
        nf.head_bytes = strlen(in->notes_label);
        g_free(text[POSTER_NOTES]);
        text[POSTER_NOTES] = t;
    }

    memset(b, 0, sizeof(block_t) * POSTER__NBLOCKS);
    /* Credits sit on the safe area's floor. */
    double floor_y = sb;
    if (text[POSTER_CREDITS]) {
        double mh = h * (land ? 0.15 : 0.09);
        fit(p, &b[POSTER_CREDITS], &cf, text[POSTER_CREDITS], g->cx, sb - mh, g->cw,
            mh, al);
        move_block(&b[POSTER_CREDITS], sb - block_h(&b[POSTER_CREDITS]));
        floor_y = b[POSTER_CREDITS].y - gap;
    }
    /* A bold title takes the head of the poster. */
    double y = -1;
    if (text[POSTER_TITLE]) {
        double mh = bold && !land ? h * 0.28 : h * (land ? 0.34 : 0.17);
        fit(p, &b[POSTER_TITLE], &tf, text[POSTER_TITLE], g->cx, g->safe.y, g->cw, mh,
            al);
        b[POSTER_TITLE].group = bold && !land ? 1 : 0;
    }
    if (text[POSTER_TAGLINE])
        fit(p, &b[POSTER_TAGLINE], &gf, text[POSTER_TAGLINE], g->cx, g->safe.y, g->cw,
            h * (land ? 0.14 : 0.09), al);

    if (text[POSTER_NOTES]) {
        /* Proofs: the stack starts where the draft art ends and the notes
         * fill what is left above the credits. */
        y = land ? g->safe.y : fmax(g->safe.y, round(h * (h * 10 >= g->w * 14 ? 0.52 : 0.46)));
        for (int i = POSTER_TITLE; i <= POSTER_TAGLINE; i++) {
            if (!b[i].l || b[i].group == 1)
                continue;
            move_block(&b[i], y);
            y += block_h(&b[i]) + gap;
        }
        double nh = floor_y - y;
        if (nh >= nf.min_px * 3)
            fit(p, &b[POSTER_NOTES], &nf, text[POSTER_NOTES], g->cx + 0.022 * u, y,
                g->cw - 0.022 * u, nh, PANGO_ALIGN_LEFT);
    } else {
        /* Otherwise the stack rests on the credits. */
        y = floor_y;
        for (int i = POSTER_TAGLINE; i >= POSTER_TITLE; i--) {
            if (!b[i].l || b[i].group == 1)
                continue;
            y -= block_h(&b[i]);
            move_block(&b[i], fmax(g->safe.y, y));
            y -= gap;
        }
    }
}

bool poster_art_is_photo(cairo_surface_t *src, size_t len)
{
    /* Art that deflate could not shrink to a quarter is photographic:
     * Huffman-only coding suits it (poster_fast.c); flat art keeps pngenc. */
    size_t w = (size_t)cairo_image_surface_get_width(src);
    size_t h = (size_t)cairo_image_surface_get_height(src);
    return len * 4 > w * h * 3;
}

err_code_t poster_compose_surface(poster_t *p, const poster_input_t *in,
                                  cairo_surface_t *src, bool photo, buf_t *out,
                                  poster_layout_t *lay, err_t *err)
{
    int w = cairo_image_surface_get_width(src), h = cairo_image_surface_get_height(src);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_paint(cr);
    cairo_set_source_surface(cr, src, 0, 0);
    cairo_paint(cr);
    pango_cairo_update_context(cr, p->pango);

    int minimal = in->layout && strcmp(in->layout, "minimal") == 0;
    int upper = !minimal;
    geom_t g;
    geometry(&g, w, h, in, minimal);
    char *text[POSTER__NBLOCKS] = {
        poster_clean_text(in->title, 400), poster_clean_text(in->tagline, 600),
        poster_clean_text(in->notes, 1600), poster_clean_text(in->credits, 2000)};
    if (text[POSTER_TITLE] && upper) {
        char *up = g_utf8_strup(text[POSTER_TITLE], -1);
        g_free(text[POSTER_TITLE]);
        text[POSTER_TITLE] = up;
    }
    block_t b[POSTER__NBLOCKS];
    plan(p, &g, in, b, text);

    memset(lay, 0, sizeof *lay);
    lay->composed = true;
    lay->width = w;
    lay->height = h;
    lay->safe = g.safe;
    for (int grp = 1; grp >= 0; grp--) {
        poster_box_t box = {0, 0, 0, 0};
        for (int i = 0; i < POSTER__NBLOCKS; i++)
            if (b[i].l && b[i].group == grp)
                box = unite(box, b[i].box);
        if (box.w <= 0 || box.h <= 0)
            continue;
        double rgb[3], sc[3], a;
        cairo_surface_flush(s);
        poster_choose_ink(s, box, TARGET_CONTRAST, rgb, sc, &a);
        a = fmax(a, MIN_SCRIM);
        draw_scrim(cr, &g, box, grp, sc, a);
        for (int i = 0; i < POSTER__NBLOCKS; i++) {
            if (!b[i].l || b[i].group != grp)
                continue;
            memcpy(lay->text_rgb[i], rgb, sizeof rgb);
            lay->scrim_alpha[i] = a;
            lay->block[i] = b[i].box;
        }
    }
    cairo_surface_flush(s);
    for (int i = 0; i < POSTER__NBLOCKS; i++) {
        if (!b[i].l)
            continue;
        static const double none[3] = {0, 0, 0};
        lay->contrast[i] = poster_box_contrast(s, b[i].box, lay->text_rgb[i], none, 0);
    }
    for (int i = 0; i < POSTER__NBLOCKS; i++) {
        if (!b[i].l)
            continue;
        if (i == POSTER_NOTES) {
            /* A rule down the notes' left edge marks them as annotation. */
            cairo_rectangle(cr, g.cx, b[i].box.y + 2, fmax(2, g.u * 0.004),
                            fmax(1, b[i].box.h - 4));
            cairo_set_source_rgba(cr, lay->text_rgb[i][0], lay->text_rgb[i][1],
                                  lay->text_rgb[i][2], 0.7);
            cairo_fill(cr);
        }
        draw_block(cr, &b[i], lay->text_rgb[i], in->flags);
        g_object_unref(b[i].l);
    }
    for (int i = 0; i < POSTER__NBLOCKS; i++)
        g_free(text[i]);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    err_code_t rc = st == CAIRO_STATUS_SUCCESS
                        ? (photo ? poster_encode_photo : poster_encode)(s, in, out, err)
                        : err_set(err, st == CAIRO_STATUS_NO_MEMORY ? ERR_NOMEM : ERR_INTERNAL,
                                  "poster: %s", cairo_status_to_string(st));
    cairo_surface_destroy(s);
    return rc;
}

static err_code_t compose_art(poster_t *p, const poster_input_t *in, const void *art,
                              size_t len, buf_t *out, poster_layout_t *lay, err_t *err)
{
    cairo_surface_t *src = poster_decode(art, len, err);
    if (!src)
        return err->code;
    err_code_t rc =
        poster_compose_surface(p, in, src, poster_art_is_photo(src, len), out, lay, err);
    cairo_surface_destroy(src);
    return rc;
}

/* Whether s would set a block: poster_clean_text() drops NULL and "". */
static bool has_text(const char *s)
{
    return s && *s;
}

err_code_t poster_compose(poster_t *p, const poster_input_t *in, const void *art,
                          size_t len, buf_t *out, poster_layout_t *lay, err_t *err)
{
    poster_layout_t tmp;
    int w, h;
    if (!lay)
        lay = &tmp;
    memset(lay, 0, sizeof *lay);
    if (!has_text(in->title) && !has_text(in->tagline) && !has_text(in->notes) &&
        !has_text(in->credits) && poster_png_spliceable(art, len, &w, &h)) {
        err_code_t rc = poster_splice(in, art, len, out, &lay->splice_at, &lay->splice_len,
                                      err);
        if (rc == ERR_OK) {
            lay->spliced = true;
            lay->width = w;
            lay->height = h;
        }
        return rc;
    }
    return compose_art(p, in, art, len, out, lay, err);
}

/* A title from the prompt's first clause, cut at a word boundary.  Returns
 * a new string (g_free). */
static char *title_from_prompt(const char *prompt)
{
    char *v = g_utf8_make_valid(prompt ? prompt : "", -1);
    size_t n = strcspn(v, ",.;:!?\n"), sp;
    int cut = n > TITLE_FROM_PROMPT_MAX;
    if (cut) {
        n = TITLE_FROM_PROMPT_MAX;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--;
        sp = n;
        while (sp > TITLE_FROM_PROMPT_MAX / 2 && v[sp] != ' ')
            sp--;
        if (v[sp] == ' ')
            n = sp;
    }
    char *t = g_strdup_printf("%.*s%s", (int)n, v, cut ? "\u2026" : "");
    g_free(v);
    return t;
}

/* The composer's input for job job_id of spec and its art; *title and
 * *notes get what the input borrows from (g_free both). */
poster_input_t poster_job_input(const job_spec_t *spec, const char *job_id,
                                const engine_result_t *art, char **title, char **notes)
{
    int draft = strcmp(art->model, "draft") == 0;
    *title = *notes = NULL;
    if (draft && !(spec->title && *spec->title))
        *title = title_from_prompt(spec->prompt);
    if (draft)
        *notes = spec->negative_prompt && *spec->negative_prompt
                     ? g_strdup_printf("%s\nAvoid: %s", spec->prompt ? spec->prompt : "",
                                       spec->negative_prompt)
                     : g_strdup(spec->prompt ? spec->prompt : "");
    return (poster_input_t){
        .title = *title ? *title : spec->title, .tagline = spec->tagline,
        .credits = spec->credits, .notes = *notes, .notes_label = "ART DIRECTION",
        .layout = spec->layout, .draft = draft, .prompt = spec->prompt,
        .negative_prompt = spec->negative_prompt, .model = art->model,
        .job_id = job_id, .seed = art->seed,
    };
}

err_code_t poster_for_job(poster_t *p, const job_spec_t *spec, const char *job_id,
                          const engine_result_t *art, buf_t *out,
                          const char **content_type, const char **ext,
                          poster_layout_t *lay, err_t *err)
{
    poster_layout_t tmp;
    char *title, *notes;
    if (!lay)
        lay = &tmp;
    poster_input_t in = poster_job_input(spec, job_id, art, &title, &notes);
    err_code_t rc = poster_compose(p, &in, art->image.data, art->image.len, out, lay, err);
    g_free(title);
    g_free(notes);
    if (rc == ERR_OK) {
        *content_type = "image/png";
        *ext = "png";
    }
    return rc;
}

err_code_t poster_for_job_chunks(const job_spec_t *spec, const char *job_id,
                                 const engine_result_t *art, buf_t *chunks,
                                 poster_layout_t *lay, err_t *err)
{
    char *title, *notes;
    int w, h;
    poster_input_t in = poster_job_input(spec, job_id, art, &title, &notes);
    err_code_t rc = ERR_NOTFOUND;
    memset(lay, 0, sizeof *lay);
    if (!has_text(in.title) && !has_text(in.tagline) && !has_text(in.notes) &&
        !has_text(in.credits) && poster_png_spliceable(art->image.data, art->image.len, &w, &h)) {
        size_t start = chunks->len;
        rc = poster_splice_chunks(&in, chunks, err);
        if (rc == ERR_OK) {
            lay->spliced = true;
            lay->splice_at = art->image.len - 12;
            lay->splice_len = chunks->len - start;
            lay->width = w;
            lay->height = h;
        }
    }
    g_free(title);
    g_free(notes);
    return rc;
}
