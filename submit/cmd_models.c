/* models — `onesheet models [--json] [--refresh]` (issue 23): the image
 * models Bedrock offers in this region, joined with the compiled table
 * (request shape, sizes, seed range, price), and cli_model_lifecycle(),
 * which submit, promote and campaign plan use to judge a model. */
#include "cli.h"
#include "cli_models.h"

#include "aws/aws.h"
#include "engine/bedrock_catalog_fetch.h"
#include "engine/bedrock_models.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

int cli_model_catalog(const cli_t *cli, bool refresh, bool access, bedrock_catalog_t *out)
{
    static bool said;
    err_t e;
    aws_env_t *env = aws_env_default(&e);
    bedrock_catalog_opts_t o = {.state_dir = cli->cfg.state_dir, .refresh = refresh,
                                .access = access, .max_age_s = cli->cfg.model_list_ttl};

    if (cli->cfg.state_dir)
        mkdir(cli->cfg.state_dir, 0700);     /* best effort: the cache is optional */
    if (bedrock_catalog_load(env, &o, out, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (!env) {
        /* aws_env_default's reason (no region, ...) says more. */
        snprintf(out->why, sizeof out->why, "%.200s; using the compiled model table",
                 e.msg);
    }
    if ((out->fallback || out->stale) && !said) {
        said = true;
        fprintf(stderr, "%s: note: cannot list Bedrock's models: %s\n", cli->prog,
                CLI_SHOWN(out->why));
    }
    return 0;
}

int cli_model_lifecycle(const cli_t *cli, const char *model, const char *what, bool force)
{
    bedrock_catalog_t c;
    buf_t warn = BUF_INIT;
    char nearest[200];
    err_t e;
    int rc;

    if (!model)
        model = cli->cfg.model;
    if (!model || !*model || strcmp(model, "draft") == 0 || cli->cfg.model_lifecycle_off ||
        !bedrock_model_lookup(model))
        return 0;
    bedrock_catalog_init(&c);
    if ((rc = cli_model_catalog(cli, false, false, &c)) != 0)
        return rc;
    err_clear(&e);
    if (bedrock_catalog_check(&c, model, (int64_t)time(NULL), &warn, nearest, sizeof nearest,
                              &e) != ERR_OK) {
        if (e.code == ERR_NOMEM) {
            rc = cli_fail(cli, &e);
        } else if (force) {
            fprintf(stderr, "%s: warning: %s: %s; going ahead (--force)\n", cli->prog, what,
                    CLI_SHOWN(e.msg));
        } else {
            fprintf(stderr, "%s: %s: %s; nothing enqueued (--force to submit anyway)\n",
                    cli->prog, what, CLI_SHOWN(e.msg));
            rc = EX_DATAERR;
        }
    } else if (warn.len) {
        fprintf(stderr, "%s: warning: %s\n", cli->prog, CLI_SHOWN((char *)warn.data));
    }
    buf_free(&warn);
    bedrock_catalog_free(&c);
    return rc;
}

int64_t cli_model_end_of_life(const cli_t *cli, const char *model)
{
    bedrock_catalog_t c;
    int64_t eol = 0;
    if (!model)
        model = cli->cfg.model;
    if (!model || !*model || strcmp(model, "draft") == 0 || cli->cfg.model_lifecycle_off ||
        !bedrock_model_lookup(model))
        return 0;
    bedrock_catalog_init(&c);
    if (cli_model_catalog(cli, false, false, &c) == 0) {
        const bedrock_listed_t *m = bedrock_catalog_find(&c, model);
        if (m && m->status == BEDROCK_LIFE_LEGACY)
            eol = m->eol_time;
    }
    bedrock_catalog_free(&c);
    return eol;
}

static const char *status_name(const bedrock_listed_t *m)
{
    return m->status == BEDROCK_LIFE_LEGACY ? "LEGACY" : "ACTIVE";
}

static const char *access_name(bedrock_access_t a)
{
    return a == BEDROCK_ACCESS_YES ? "yes" : a == BEDROCK_ACCESS_NO ? "no" : "unknown";
}

static const char *shape_name(const bedrock_model_t *k)
{
    return !k ? NULL : k->shape == BEDROCK_SHAPE_STABILITY ? "stability"
           : k->shape == BEDROCK_SHAPE_SDXL ? "sdxl" : "titan";
}

static json_t *date_json(int64_t t)
{
    char d[16];
    return t ? json_string(bedrock_catalog_date(t, d, sizeof d)) : json_null();
}

/* One row: the listed model m (NULL for a compiled-table row when the list
 * is not available) joined with the compiled entry k (NULL: onesheet cannot
 * drive it). */
static json_t *row_json(const bedrock_listed_t *m, const bedrock_model_t *k)
{
    json_t *r = json_pack("{s:s, s:s, s:s}", "id", m ? m->id : k->id, "name",
                          m && *m->name ? m->name : k ? k->name : "", "provider",
                          m ? m->provider : "");
    json_object_set_new(r, "status", m ? json_string(status_name(m))
                                       : json_string(k->retired ? "RETIRED" : "UNKNOWN"));
    json_object_set_new(r, "legacy_time", date_json(m ? m->legacy_time : 0));
    json_object_set_new(r, "extended_access_time", date_json(m ? m->extended_time : 0));
    json_object_set_new(r, "end_of_life_time", date_json(m ? m->eol_time : 0));
    json_object_set_new(r, "supported", json_boolean(k && !k->retired));
    json_object_set_new(r, "access", json_string(access_name(m ? m->access : 0)));
    if (k) {
        json_t *sizes = json_array();
        for (size_t i = 0; i < k->nsizes; i++) {
            char s[32];
            snprintf(s, sizeof s, "%dx%d", k->sizes[i].w, k->sizes[i].h);
            json_array_append_new(sizes, json_string(s));
        }
        json_object_set_new(r, "shape", json_string(shape_name(k)));
        json_object_set_new(r, "sizes", sizes);
        json_object_set_new(r, "seed_max", json_integer(k->seed_max));
        json_object_set_new(r, "price_usd", json_real(k->price_usd));
        json_object_set_new(r, "price_estimated", json_boolean(k->price_estimated));
    }
    return r;
}

static json_t *rows(const bedrock_catalog_t *c)
{
    json_t *a = json_array();
    if (c->fallback) {
        for (size_t i = 0; i < bedrock_model_count(); i++)
            json_array_append_new(a, row_json(NULL, bedrock_model_at(i)));
        return a;
    }
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(a, row_json(&c->models[i],
                                          bedrock_model_lookup(c->models[i].id)));
    return a;
}

static void print_table(json_t *list)
{
    size_t i;
    json_t *r;
    char id[160], name[120];
    printf("%-38s %-26s %-7s %-10s %-10s %-9s %-7s %s\n", "MODEL", "NAME", "STATUS",
           "LEGACY", "END-OF-LIFE", "SUPPORTED", "ACCESS", "USD/IMAGE");
    json_array_foreach(list, i, r) {
        json_t *p = json_object_get(r, "price_usd");
        char price[16] = "-";
        if (p)
            snprintf(price, sizeof price, "%.3f%s", json_real_value(p),
                     json_is_true(json_object_get(r, "price_estimated")) ? "~" : "");
        const char *lt = json_string_value(json_object_get(r, "legacy_time"));
        const char *eol = json_string_value(json_object_get(r, "end_of_life_time"));
        printf("%s %s %-7s %-10s %-11s %-9s %-7s %s\n",
               cli_ellipsize(json_string_value(json_object_get(r, "id")), 38, id, sizeof id),
               cli_ellipsize(json_string_value(json_object_get(r, "name")), 26, name,
                             sizeof name),
               json_string_value(json_object_get(r, "status")), lt ? lt : "-",
               eol ? eol : "-", json_is_true(json_object_get(r, "supported")) ? "yes" : "no",
               json_string_value(json_object_get(r, "access")), price);
    }
}

int cmd_models(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"refresh", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false, refresh = false;
    bedrock_catalog_t c;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = true; break;
        case 'r': refresh = true; break;
        case 'h':
            printf("usage: onesheet models [--json] [--refresh]\n"
                   "  the image models Bedrock offers in this region, their lifecycle,\n"
                   "  whether onesheet can drive them and the account may call them,\n"
                   "  and their price; --refresh renews the cached list\n");
            return 0;
        default: return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", cli->prog, CLI_SHOWN(argv[optind]));
        return EX_USAGE;
    }
    if ((rc = cli_open(cli, 0)) != 0)
        return rc;
    bedrock_catalog_init(&c);
    if ((rc = cli_model_catalog(cli, refresh, true, &c)) != 0)
        return rc;
    json_t *list = rows(&c);
    if (json) {
        json_t *o = json_pack("{s:s, s:O}", "source",
                              c.fallback ? "compiled" : c.stale ? "stale-cache" : "bedrock",
                              "models", list);
        if (c.fetched_at)
            json_object_set_new(o, "fetched_at", json_integer(c.fetched_at));
        cli_print_json(o);
        json_decref(o);
    } else {
        print_table(list);
    }
    json_decref(list);
    bedrock_catalog_free(&c);
    return 0;
}
