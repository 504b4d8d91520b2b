/* store_renditions — see store_renditions.h. */
#include "store/store_renditions.h"
#include "jobs/job.h"
#include "jobs/rendition.h"

#include <stdlib.h>
#include <string.h>

json_t *store_renditions_json(store_t *st, const char *batch_id, const char *job_id,
                              const char *spec_json, const char *first_url, long ttl_s)
{
    job_spec_t spec;
    err_t e;
    json_t *arr = NULL;

    if (!spec_json || !batch_id || !job_id)
        return NULL;
    job_spec_init(&spec);
    if (job_spec_parse_json(spec_json, strlen(spec_json), &spec, &e) != ERR_OK ||
        spec.nrenditions == 0 || !(arr = json_array())) {
        job_spec_free(&spec);
        return NULL;
    }
    for (size_t i = 0; i < spec.nrenditions; i++) {
        const char *ratio = spec.renditions[i];
        char key[512], *url = NULL;
        int64_t expires;
        int w = 0, h = 0;
        if (rendition_key(batch_id, job_id, ratio, i == 0, key, sizeof key) != ERR_OK)
            continue;
        rendition_size(ratio, &w, &h);
        if (st && store_url(st, key, ttl_s, &url, &expires, &e) != ERR_OK)
            url = NULL;
        if (!url && i == 0 && first_url)
            url = strdup(first_url);
        json_t *o = json_pack("{s:s,s:s}", "ratio", ratio, "key", key);
        if (o && url)
            json_object_set_new(o, "url", json_string(url));
        if (o) {
            json_object_set_new(o, "width", json_integer(w));
            json_object_set_new(o, "height", json_integer(h));
            json_array_append_new(arr, o);
        }
        free(url);
    }
    job_spec_free(&spec);
    return arr;
}
