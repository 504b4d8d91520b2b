/* ledger_review — what every back-end's review marks and lineage share:
 * freeing, lookup, and the job JSON members the CLI and the API print
 * (see ledger.h). */
#include "ledger/ledger.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void ledger_reviews_free(ledger_review_t *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].batch_id);
        free(r[i].job_id);
        free(r[i].state);
        free(r[i].by);
        free(r[i].promoted_from);
        for (size_t k = 0; k < r[i].npromoted_to; k++)
            free(r[i].promoted_to[k]);
        free(r[i].promoted_to);
    }
    free(r);
}

const ledger_review_t *ledger_review_find(const ledger_review_t *r, size_t n,
                                          const char *job_id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r[mid].job_id, job_id);
        if (c == 0)
            return &r[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The job id of a "BATCH/JOB" reference (the whole text when it has no
 * '/'). */
static const char *ref_job(const char *ref)
{
    const char *slash = strchr(ref, '/');
    return slash ? slash + 1 : ref;
}

/* The variant members of spec_json as {"of", "index", "count"}, or NULL
 * when the spec is not a variant. */
static json_t *variant_json(const char *spec_json)
{
    json_t *spec = spec_json ? json_loads(spec_json, 0, NULL) : NULL;
    json_t *of = json_object_get(spec, "variant_of"), *v = NULL;
    json_int_t index = json_integer_value(json_object_get(spec, "variant"));
    json_int_t count = json_integer_value(json_object_get(spec, "variants"));

    if (json_is_string(of) && index > 0)
        v = json_pack("{s:s, s:I, s:I}", "of", json_string_value(of), "index", index,
                      "count", count > 0 ? count : index);
    json_decref(spec);
    return v;
}

void ledger_review_json_add(json_t *o, const ledger_review_t *r, const char *spec_json)
{
    json_t *v = variant_json(spec_json);
    if (v)
        json_object_set_new(o, "variant", v);
    if (!r)
        return;
    if (r->state) {
        char at[32] = "";
        time_t t = (time_t)(r->at_ms / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(o, "review", json_pack("{s:s, s:s, s:s}", "state", r->state,
                                                   "by", r->by ? r->by : "", "at", at));
    }
    if (r->promoted_from)
        json_object_set_new(o, "promoted_from", json_string(ref_job(r->promoted_from)));
    if (r->npromoted_to) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < r->npromoted_to; i++)
            json_array_append_new(a, json_string(ref_job(r->promoted_to[i])));
        if (a)
            json_object_set_new(o, "promoted_to", a);
    }
}
