/* api_fixture — see api_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api_fixture.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cfg_init(api_fx_t *f, bool broken_ledger, const char *keys)
{
    char s[600];
    memset(&f->cfg, 0, sizeof f->cfg);
    snprintf(s, sizeof s, "sqlite:%s/onesheet.db", f->dir);
    f->cfg.queue = strdup(s);
    if (broken_ledger) {
        char file[600];
        snprintf(file, sizeof file, "%s/notadir", f->dir);
        tu_write_file(file, "x");
        snprintf(s, sizeof s, "sqlite:%s/notadir/onesheet.db", f->dir);
    }
    f->cfg.ledger = strdup(s);
    snprintf(s, sizeof s, "file:%s/posters", f->dir);
    f->cfg.store = strdup(s);
    f->cfg.model = strdup("draft");
    f->cfg.state_dir = strdup(f->dir);
    f->cfg.log_level = strdup("info");
    f->cfg.url_ttl = 3600;
    f->cfg.max_receives = 5;
    f->cfg.visibility_timeout = 60;
    f->cfg.api_keys = keys ? strdup(keys) : NULL;
}

api_fx_t *api_fx_new(api_options_t o, bool broken_ledger, const char *keys)
{
    api_fx_t *f = calloc(1, sizeof *f);
    err_t e;
    assert_non_null(f);
    err_clear(&e);
    f->dir = tu_mkdtemp();
    cfg_init(f, broken_ledger, keys);
    f->pool = api_pool_new(&f->cfg, 4, &e);
    if (!f->pool)
        fail_msg("api_pool_new: %s", e.msg);
    o.cfg = &f->cfg;
    f->api = api_new(&o, f->pool, &e);
    if (!f->api)
        fail_msg("api_new: %s", e.msg);
    return f;
}

void api_fx_free(api_fx_t *f)
{
    api_free(f->api);
    api_pool_free(f->pool);
    config_free(&f->cfg);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
}

int api_fx_call(api_fx_t *f, const char *method, const char *path, const char *ctype,
                const char *body, const char *key, const char *client, api_response_t *r)
{
    api_header_t h[2];
    size_t n = 0;
    if (ctype)
        h[n++] = (api_header_t){"Content-Type", ctype};
    if (key)
        h[n++] = (api_header_t){"X-Api-Key", key};
    api_request_t req = {.method = method, .path = path, .headers = h, .nheaders = n,
                         .body = body, .body_len = body ? strlen(body) : 0,
                         .client = client ? client : "127.0.0.1", .base_path = ""};
    api_response_free(r);
    api_handle(f->api, &req, r);
    return r->status;
}
