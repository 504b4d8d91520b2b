/* variants — see variants.h. */
#include "jobs/variants.h"
#include "base/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bulk_default_variants(bulk_t *b, int n)
{
    if (n <= 1)
        return;
    for (size_t i = 0; i < b->nitems; i++)
        if (b->items[i].spec.variants == 0 && b->items[i].spec.variant == 0)
            b->items[i].spec.variants = n;
}

int64_t job_variant_seed(const char *prompt_id, int64_t base, int index)
{
    const uint64_t range = (uint64_t)JOB_SEED_MAX + 1;
    uint8_t d[SHA256_LEN];
    char key[JOB_ID_MAX + 16];
    uint64_t v;

    if (base >= 0)
        return (int64_t)(((uint64_t)base + (uint64_t)(index - 1)) % range);
    snprintf(key, sizeof key, "%s#v%d", prompt_id ? prompt_id : "", index);
    if (crypto_sha256(key, strlen(key), d) != ERR_OK)
        return 0;
    v = ((uint64_t)d[0] << 24) | ((uint64_t)d[1] << 16) | ((uint64_t)d[2] << 8) | d[3];
    return (int64_t)(v % range);
}

static bool expands(const bulk_item_t *it)
{
    return it->spec.variants > 1 && it->spec.variant == 0;
}

/* A deep copy of s into out (from job_spec_init()) through its canonical
 * JSON, so that fields added to job_spec_t later are copied too.  false
 * when out of memory (out then holds what was copied: free it). */
static bool spec_copy(const job_spec_t *s, job_spec_t *out)
{
    buf_t j = BUF_INIT;
    err_t e;
    bool ok = job_spec_to_json_with_id(s, &j) == ERR_OK &&
              job_spec_parse_json((const char *)j.data, j.len, out, &e) == ERR_OK &&
              job_spec_normalise(out, NULL, &e) == ERR_OK;
    buf_free(&j);
    out->url_ttl = s->url_ttl;
    return ok;
}

/* Makes variant `index` of item src into dst. */
static err_code_t make_variant(const bulk_t *b, const bulk_item_t *src, int index,
                               bulk_item_t *dst, err_t *err)
{
    job_spec_t *s = &dst->spec;

    dst->line = src->line;
    if (!spec_copy(&src->spec, s))
        return err_set(err, ERR_NOMEM, "out of memory");
    free(s->variant_of);
    if (!(s->variant_of = strdup(src->job_id)))
        return err_set(err, ERR_NOMEM, "out of memory");
    s->variant = index;
    s->seed = job_variant_seed(src->job_id, src->spec.seed, index);
    if (s->id) {
        char id[JOB_ID_MAX + 16];
        int w = snprintf(id, sizeof id, "%s-v%d", s->id, index);
        if (w < 0 || (size_t)w > JOB_ID_MAX)
            return err_set(err, ERR_INVALID, "line %zu: id: too long to name %d variants "
                           "(at most %d characters with \"-vN\")", src->line,
                           s->variants, JOB_ID_MAX);
        free(s->id);
        if (!(s->id = strdup(id)))
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    return job_id_for(b->batch_id, s, dst->job_id) == ERR_OK
               ? ERR_OK : err_set(err, ERR_INVALID, "line %zu: id: not a valid id", src->line);
}

err_code_t bulk_expand_variants(bulk_t *b, err_t *err)
{
    size_t total = 0, at = 0;
    bulk_item_t *items;
    err_code_t rc = ERR_OK;

    for (size_t i = 0; i < b->nitems; i++)
        total += expands(&b->items[i]) ? (size_t)b->items[i].spec.variants : 1;
    if (total == b->nitems)
        return ERR_OK;
    if (!(items = calloc(total, sizeof *items)))
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < total; i++)
        job_spec_init(&items[i].spec);
    for (size_t i = 0; i < b->nitems && rc == ERR_OK; i++) {
        const bulk_item_t *it = &b->items[i];
        if (!expands(it)) {
            items[at].line = it->line;
            memcpy(items[at].job_id, it->job_id, sizeof it->job_id);
            rc = spec_copy(&it->spec, &items[at++].spec)
                     ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory");
            continue;
        }
        for (int v = 1; v <= it->spec.variants && rc == ERR_OK; v++)
            rc = make_variant(b, it, v, &items[at++], err);
    }
    if (rc != ERR_OK) {
        for (size_t i = 0; i < total; i++)
            job_spec_free(&items[i].spec);
        free(items);
        return rc;
    }
    for (size_t i = 0; i < b->nitems; i++)
        job_spec_free(&b->items[i].spec);
    free(b->items);
    b->items = items;
    b->nitems = total;
    return ERR_OK;
}
