/* cli_review — review marks, lineage and variants as the CLI shows them
 * (status, list, gallery): the batch's marks read once per batch, and a
 * batch's variants put together in index order. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_reviews_free(cli_reviews_t *c)
{
    ledger_reviews_free(c->r, c->n);
    free(c->batch);
    memset(c, 0, sizeof *c);
}

const ledger_review_t *cli_review_for(cli_t *cli, cli_reviews_t *c, const ledger_job_t *j)
{
    err_t e;

    if (!cli->ledger || !ledger_has_review(cli->ledger))
        return NULL;
    if (!c->batch || strcmp(c->batch, j->batch_id) != 0) {
        cli_reviews_free(c);
        if (!(c->batch = strdup(j->batch_id)))
            return NULL;
        err_clear(&e);
        /* A ledger that cannot say shows no marks rather than failing a
         * status that would otherwise print. */
        if (ledger_reviews(cli->ledger, j->batch_id, NULL, &c->r, &c->n, &e) != ERR_OK)
            c->n = 0;
    }
    return ledger_review_find(c->r, c->n, j->job_id);
}

/* The variant group key and index of j from its spec ("" and 0 when it is
 * not a variant), into key (cap bytes). */
static int variant_of(const ledger_job_t *j, char *key, size_t cap)
{
    json_t *spec = j->spec_json ? json_loads(j->spec_json, 0, NULL) : NULL;
    const char *of = json_string_value(json_object_get(spec, "variant_of"));
    int index = (int)json_integer_value(json_object_get(spec, "variant"));
    snprintf(key, cap, "%s", of && index > 0 ? of : "");
    json_decref(spec);
    return of ? index : 0;
}

struct sortable {
    ledger_job_t job;
    char key[JOB_ID_MAX + 1];
    int index;
    size_t at;
};

static int cmp_variant(const void *a, const void *b)
{
    const struct sortable *x = a, *y = b;
    int c;
    if (x->job.line != y->job.line)
        return x->job.line < y->job.line ? -1 : 1;
    /* The variants of one prompt sit together, in index order; other jobs
     * (key "", index 0) keep the ledger's order.  A total order, as qsort
     * needs: (line, key, index, position). */
    if ((c = strcmp(x->key, y->key)) != 0)
        return c;
    if (x->index != y->index)
        return x->index - y->index;
    return x->at < y->at ? -1 : x->at > y->at;
}

void cli_variant_sort(ledger_job_t *jobs, size_t n)
{
    struct sortable *s = n > 1 ? malloc(n * sizeof *s) : NULL;
    if (!s)
        return; /* the ledger's order is still a fine order */
    for (size_t i = 0; i < n; i++) {
        s[i].job = jobs[i];
        s[i].index = variant_of(&jobs[i], s[i].key, sizeof s[i].key);
        s[i].at = i;
    }
    /* The ledger's order is (line, job id): a prompt's variants share
     * their line, so they are already next to each other. */
    qsort(s, n, sizeof *s, cmp_variant);
    for (size_t i = 0; i < n; i++)
        jobs[i] = s[i].job;
    free(s);
}

const char *cli_variant_label(const ledger_job_t *j, char *out, size_t cap)
{
    json_t *spec = j->spec_json ? json_loads(j->spec_json, 0, NULL) : NULL;
    const char *of = json_string_value(json_object_get(spec, "variant_of"));
    json_int_t index = json_integer_value(json_object_get(spec, "variant"));
    json_int_t count = json_integer_value(json_object_get(spec, "variants"));
    out[0] = '\0';
    if (of && index > 0)
        snprintf(out, cap, "v%lld/%lld of %s", (long long)index,
                 (long long)(count > 0 ? count : index), of);
    json_decref(spec);
    return out;
}
