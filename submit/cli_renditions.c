/* cli_renditions — a finished job's renditions (issue 20) for the CLI's
 * JSON: status, list and the manifest show each rendition with a URL. */
#include "cli.h"
#include "store/store_renditions.h"

#include <string.h>

json_t *cli_job_renditions(cli_t *cli, const ledger_job_t *j)
{
    err_t e;
    if (j->state != JOB_SUCCEEDED || !j->spec_json || !strstr(j->spec_json, "\"renditions\""))
        return NULL;
    /* The store only for URLs: without it the keys and sizes still show. */
    if (!cli->store)
        cli->store = store_open(cli->cfg.store, &e);
    return store_renditions_json(cli->store, j->batch_id, j->job_id, j->spec_json, j->url,
                                 cli->cfg.url_ttl);
}
