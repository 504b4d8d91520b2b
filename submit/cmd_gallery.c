/* gallery — a batch as pictures: a static, self-contained HTML contact
 * sheet (index.html, thumbnails made with cairo, and by default copies of
 * the posters) that reads on a phone and needs no network to open.
 *
 *   onesheet gallery BATCH -o DIR [--urls] [--ttl S]
 *
 * With --urls the cards link to fresh URLs from the store (presigned on S3,
 * valid for --ttl seconds) instead of copies in DIR/posters/. */
#include "cli.h"
#include "poster/poster.h"
#include "store/store_renditions.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#define THUMB_W 360
#define THUMB_H 540

static const char gallery_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "background:#f4f1ea;color:#1d1d1f}"
    "header{padding:18px 16px 8px}h1{font-size:1.3em;margin:0 0 4px}"
    "header p{margin:0;color:#555}"
    "main{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));"
    "gap:14px;padding:12px 12px 32px}"
    "figure{margin:0;background:#fff;border-radius:10px;overflow:hidden;"
    "display:flex;flex-direction:column}"
    "figure a{display:block}figure img{display:block;width:100%;height:auto}"
    ".ph{display:flex;align-items:center;justify-content:center;background:#e4e0d6;"
    "color:#6b665c;font-weight:600;letter-spacing:.08em;text-transform:uppercase;"
    "font-size:.8em}"
    "figcaption{padding:8px 10px 10px;font-size:.85em;overflow-wrap:anywhere}"
    ".st{display:inline-block;font-size:.75em;font-weight:700;text-transform:uppercase;"
    "letter-spacing:.06em;padding:1px 6px;border-radius:4px;margin-bottom:4px;"
    "background:#e8e8e8;color:#333}"
    ".st-succeeded{background:#d9f2df;color:#14532d}"
    ".st-failed,.st-filtered{background:#fde2e1;color:#8a1c14}"
    ".st-cancelled{background:#ececec;color:#555}"
    ".t{font-weight:700;margin:2px 0}.p{margin:2px 0;color:#333}"
    ".err{margin:4px 0 0;color:#8a1c14}.id{color:#888;font-size:.8em}"
    ".rd{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-end;margin:6px 0 2px}"
    ".rd a{display:flex;flex-direction:column;align-items:center;font-size:.75em;"
    "color:#555;text-decoration:none}.rd img{display:block;border-radius:3px}"
    ".rv{display:inline-block;font-size:.75em;font-weight:700;text-transform:uppercase;"
    "letter-spacing:.06em;padding:1px 6px;border-radius:4px;margin:0 0 4px 4px}"
    ".rv-approved{background:#1d4ed8;color:#fff}.rv-rejected{background:#555;color:#fff}"
    ".job-rejected img{opacity:.45}.v{color:#555;font-size:.8em;margin:2px 0}";

/* Appends s to out with HTML's five special characters escaped. */
static void html_text(buf_t *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': buf_append_str(out, "&amp;"); break;
        case '<': buf_append_str(out, "&lt;"); break;
        case '>': buf_append_str(out, "&gt;"); break;
        case '"': buf_append_str(out, "&quot;"); break;
        case '\'': buf_append_str(out, "&#39;"); break;
        default: buf_append(out, s, 1);
        }
    }
}

/* Writes data to path through a temporary file and a rename, so a reader
 * never sees half a file. */
static err_code_t write_file(const char *path, const void *data, size_t len, err_t *e)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return err_set(e, ERR_TOOBIG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
    size_t n = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || n != len) {
        remove(tmp);
        return err_set(e, ERR_IO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    }
    return ERR_OK;
}

static err_code_t make_dir(const char *path, err_t *e)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    return ERR_OK;
}

/* "W/H" for a spec's aspect ratio ("2:3" → "2/3"), for the placeholders. */
static void css_aspect(json_t *spec, char *out, size_t cap)
{
    const char *a = json_string_value(json_object_get(spec, "aspect_ratio"));
    unsigned w = 2, h = 3;
    if (a && sscanf(a, "%u:%u", &w, &h) != 2)
        w = 2, h = 3;
    snprintf(out, cap, "%u/%u", w ? w : 2, h ? h : 3);
}

typedef struct {
    cli_t *cli;
    const char *dir;
    bool urls;
    long ttl;
    size_t thumbs, placeholders;
    cli_reviews_t marks;        /* the batch's review marks (issue 20) */
} gallery_t;

/* The picture part of one card: a linked thumbnail when the poster is in
 * the store and decodes, else a placeholder naming why not. */
static void card_picture(gallery_t *g, const ledger_job_t *j, json_t *spec, buf_t *html)
{
    char path[4200], aspect[32], href[4200] = "";
    const char *why = job_state_name(j->state);
    uint8_t *data = NULL;
    size_t len = 0;
    err_t e;
    err_clear(&e);
    css_aspect(spec, aspect, sizeof aspect);
    if (j->state == JOB_SUCCEEDED && j->store_key) {
        why = "no preview";
        if (store_get(g->cli->store, j->store_key, &data, &len, &e) != ERR_OK) {
            why = "missing from store";
        } else {
            const char *ext = strrchr(j->store_key, '.');
            if (g->urls) {
                char *url = NULL;
                int64_t exp = 0;
                if (store_url(g->cli->store, j->store_key, g->ttl, &url, &exp,
                                            &e) == ERR_OK)
                    snprintf(href, sizeof href, "%s", url);
                free(url);
            } else {
                snprintf(path, sizeof path, "%s/posters/%s%s", g->dir, j->job_id,
                         ext ? ext : "");
                if (write_file(path, data, len, &e) == ERR_OK)
                    snprintf(href, sizeof href, "posters/%s%s", j->job_id, ext ? ext : "");
            }
            buf_t th = BUF_INIT;
            int tw = 0, thh = 0;
            snprintf(path, sizeof path, "%s/thumbs/%s.png", g->dir, j->job_id);
            if (poster_thumbnail(data, len, THUMB_W, THUMB_H, &th, &tw, &thh, &e) == ERR_OK &&
                write_file(path, th.data, th.len, &e) == ERR_OK) {
                if (*href) {
                    buf_append_str(html, "<a href=\"");
                    html_text(html, href);
                    buf_append_str(html, "\">");
                }
                buf_appendf(html, "<img src=\"thumbs/%s.png\" width=\"%d\" height=\"%d\" "
                            "loading=\"lazy\" alt=\"", j->job_id, tw, thh);
                html_text(html, cli_job_prompt(j));
                buf_append_str(html, *href ? "\"></a>" : "\">");
                g->thumbs++;
                buf_free(&th);
                free(data);
                return;
            }
            buf_free(&th);
            free(data);
        }
    }
    g->placeholders++;
    buf_appendf(html, "<div class=\"ph\" style=\"aspect-ratio:%s\">", aspect);
    if (*href) {
        buf_append_str(html, "<a href=\"");
        html_text(html, href);
        buf_append_str(html, "\">");
        html_text(html, why);
        buf_append_str(html, "</a>");
    } else {
        html_text(html, why);
    }
    buf_append_str(html, "</div>");
}

#define RENDITION_THUMB 96

/* The job's other renditions (issue 20), when it has them: a small
 * thumbnail of each, labelled with its ratio, linked to its copy in
 * DIR/posters/ or (--urls) its URL. */
static void card_renditions(gallery_t *g, const ledger_job_t *j, buf_t *html)
{
    json_t *rd = j->state == JOB_SUCCEEDED
                     ? store_renditions_json(g->urls ? g->cli->store : NULL, j->batch_id, j->job_id,
                                             j->spec_json, NULL, g->ttl)
                     : NULL;
    json_t *r;
    size_t i;
    if (!rd)
        return;
    buf_append_str(html, "<div class=\"rd\">");
    json_array_foreach(rd, i, r) {
        const char *key = json_string_value(json_object_get(r, "key"));
        const char *url = json_string_value(json_object_get(r, "url"));
        const char *base = key ? strrchr(key, '/') : NULL;
        char path[4200], href[4200] = "";
        uint8_t *data = NULL;
        size_t len = 0;
        err_t e;
        if (i == 0 || !base || store_get(g->cli->store, key, &data, &len, &e) != ERR_OK)
            continue;   /* the first is the card's own picture */
        base++;
        if (g->urls && url) {
            snprintf(href, sizeof href, "%s", url);
        } else if (!g->urls) {
            snprintf(path, sizeof path, "%s/posters/%s", g->dir, base);
            if (write_file(path, data, len, &e) == ERR_OK)
                snprintf(href, sizeof href, "posters/%s", base);
        }
        buf_t th = BUF_INIT;
        int tw = 0, thh = 0;
        snprintf(path, sizeof path, "%s/thumbs/%s", g->dir, base);
        if (poster_thumbnail(data, len, RENDITION_THUMB, RENDITION_THUMB, &th, &tw, &thh,
                             &e) == ERR_OK &&
            write_file(path, th.data, th.len, &e) == ERR_OK) {
            buf_append_str(html, "<a href=\"");
            html_text(html, href);
            buf_appendf(html, "\"><img src=\"thumbs/%s\" width=\"%d\" height=\"%d\" "
                        "loading=\"lazy\" alt=\"%s\">%s</a>", base, tw, thh,
                        json_string_value(json_object_get(r, "ratio")),
                        json_string_value(json_object_get(r, "ratio")));
        }
        buf_free(&th);
        free(data);
    }
    buf_append_str(html, "</div>");
    json_decref(rd);
}

static void card(gallery_t *g, const ledger_job_t *j, buf_t *html)
{
    json_t *spec = j->spec_json ? json_loads(j->spec_json, 0, NULL) : NULL;
    const char *title = json_string_value(json_object_get(spec, "title"));
    const char *st = job_state_name(j->state);

    const ledger_review_t *r = cli_review_for(g->cli, &g->marks, j);
    char v[JOB_ID_MAX + 32];

    buf_appendf(html, "<figure id=\"%s\" class=\"job job-%s%s%s\">", j->job_id, st,
                r && r->state ? " job-" : "", r && r->state ? r->state : "");
    card_picture(g, j, spec, html);
    buf_appendf(html, "<figcaption><span class=\"st st-%s\">%s</span>", st, st);
    if (r && r->state) {
        buf_appendf(html, "<span class=\"rv rv-%s\" title=\"", r->state);
        html_text(html, r->by);
        buf_appendf(html, "\">%s</span>", r->state);
    }
    if (*cli_variant_label(j, v, sizeof v)) {
        buf_append_str(html, "<p class=\"v\">");
        html_text(html, v);
        buf_append_str(html, "</p>");
    }
    if (title) {
        buf_append_str(html, "<p class=\"t\">");
        html_text(html, title);
        buf_append_str(html, "</p>");
    }
    buf_append_str(html, "<p class=\"p\">");
    html_text(html, cli_job_prompt(j));
    buf_append_str(html, "</p>");
    card_renditions(g, j, html);
    if (j->state != JOB_SUCCEEDED && (j->error_code || j->error_message)) {
        buf_append_str(html, "<p class=\"err\">");
        html_text(html, j->error_code ? j->error_code : "");
        buf_append_str(html, j->error_code && j->error_message ? ": " : "");
        html_text(html, j->error_message ? j->error_message : "");
        buf_append_str(html, "</p>");
    }
    buf_appendf(html, "<p class=\"id\">%s</p></figcaption></figure>\n", j->job_id);
    json_decref(spec);
}

static int usage(FILE *fp, int status)
{
    fprintf(fp, "usage: onesheet gallery BATCH -o|--output DIR [--urls] [--ttl S]\n");
    return status;
}

int cmd_gallery(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"urls", no_argument, NULL, 'u'},
        {"ttl", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    gallery_t g = {.cli = cli};
    int opt, rc;
    err_t e;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': g.dir = optarg; break;
        case 'u': g.urls = true; break;
        case 't': {
            char *end;
            g.ttl = strtol(optarg, &end, 10);
            if (*end || g.ttl <= 0 || g.ttl > 604800) {
                fprintf(stderr, "%s: --ttl: expected seconds from 1 to 604800\n", cli->prog);
                return EX_USAGE;
            }
            break;
        }
        case 'h': return usage(stdout, 0);
        default: return usage(stderr, EX_USAGE);
        }
    }
    if (argc - optind != 1 || !g.dir)
        return usage(stderr, EX_USAGE);
    const char *batch = argv[optind];
    if ((rc = cli_open(cli, CLI_LEDGER | CLI_STORE)) != 0)
        return rc;
    if (!g.ttl)
        g.ttl = cli->cfg.url_ttl;

    ledger_batch_t b;
    memset(&b, 0, sizeof b);
    err_clear(&e);
    if (ledger_get_batch(cli->ledger, batch, &b, &e) != ERR_OK) {
        if (e.code == ERR_NOTFOUND)
            err_set(&e, ERR_NOTFOUND, "%s: no such batch in %s", batch, cli_searched(cli));
        return cli_fail(cli, &e);
    }
    char sub[4200];
    if (make_dir(g.dir, &e) != ERR_OK ||
        (snprintf(sub, sizeof sub, "%s/thumbs", g.dir), make_dir(sub, &e)) != ERR_OK ||
        (!g.urls && (snprintf(sub, sizeof sub, "%s/posters", g.dir), make_dir(sub, &e)) != ERR_OK)) {
        ledger_batch_free(&b);
        return cli_fail(cli, &e);
    }
    ledger_filter_t f = {.batch_id = batch, .state = -1};
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    if (ledger_list(cli->ledger, &f, &jobs, &n, &e) != ERR_OK) {
        ledger_batch_free(&b);
        return cli_fail(cli, &e);
    }

    buf_t html = BUF_INIT;
    buf_append_str(&html, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                          "<title>onesheet ");
    html_text(&html, batch);
    buf_appendf(&html, "</title><style>%s</style></head><body><header><h1>Batch ", gallery_css);
    html_text(&html, batch);
    buf_appendf(&html, "</h1><p>%lld jobs: %lld succeeded, %lld failed, %lld filtered, "
                       "%lld cancelled, %lld queued or running &middot; source ",
                (long long)b.total, (long long)b.by_state[JOB_SUCCEEDED],
                (long long)b.by_state[JOB_FAILED], (long long)b.by_state[JOB_FILTERED],
                (long long)b.by_state[JOB_CANCELLED],
                (long long)(b.by_state[JOB_QUEUED] + b.by_state[JOB_RUNNING]));
    html_text(&html, b.source ? b.source : "");
    buf_append_str(&html, "</p></header>\n<main>\n");
    cli_variant_sort(jobs, n);
    for (size_t i = 0; i < n; i++)
        card(&g, &jobs[i], &html);
    cli_reviews_free(&g.marks);
    buf_append_str(&html, "</main></body></html>\n");

    snprintf(sub, sizeof sub, "%s/index.html", g.dir);
    rc = 0;
    if (write_file(sub, html.data, html.len, &e) != ERR_OK)
        rc = cli_fail(cli, &e);
    else {
        printf("%s\n", sub);
        fprintf(stderr, "%s: %zu jobs, %zu thumbnails, %zu placeholders\n", cli->prog, n,
                g.thumbs, g.placeholders);
    }
    buf_free(&html);
    ledger_jobs_free(jobs, n);
    ledger_batch_free(&b);
    return rc;
}
