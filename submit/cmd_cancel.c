/* cancel and urls — act on jobs the ledger holds. */
#include "cli.h"

#include "api/api.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

/* Cancelling only changes the ledger: the worker deletes a cancelled job's
 * message when it receives it, and a running job's conditional completion
 * then fails, so its result is never recorded. */
int cmd_cancel(cli_t *cli, int argc, char **argv)
{
    int rc, status = 0;
    err_t e;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: onesheet cancel JOB|BATCH ...\n");
        return argc < 2 ? EX_USAGE : 0;
    }
    if ((rc = cli_open(cli, CLI_LEDGER)) != 0)
        return rc;
    for (int i = 1; i < argc; i++) {
        ledger_batch_t b;
        size_t n = 0;
        memset(&b, 0, sizeof b);
        err_clear(&e);
        bool is_batch = ledger_get_batch(cli->ledger, argv[i], &b, &e) == ERR_OK;
        ledger_batch_free(&b);
        if (!is_batch && e.code != ERR_NOTFOUND)
            return cli_fail(cli, &e);
        err_clear(&e);
        if (is_batch) {
            if (ledger_cancel(cli->ledger, argv[i], NULL, &n, &e) != ERR_OK)
                return cli_fail(cli, &e);
        } else {
            /* A job id names a job in every batch that holds it. */
            ledger_job_t *jobs = NULL;
            size_t nj = 0;
            if (ledger_get_jobs(cli->ledger, NULL, argv[i], &jobs, &nj, &e) !=
                ERR_OK)
                return cli_fail(cli, &e);
            if (nj == 0) {
                fprintf(stderr, "%s: %s: no such job or batch in %s\n", cli->prog,
                        CLI_SHOWN(argv[i]), CLI_SHOWN(cli_searched(cli)));
                status = EX_DATAERR;
                continue;
            }
            for (size_t k = 0; k < nj; k++) {
                size_t one = 0;
                if (ledger_cancel(cli->ledger, jobs[k].batch_id, jobs[k].job_id,
                                             &one, &e) != ERR_OK) {
                    ledger_jobs_free(jobs, nj);
                    return cli_fail(cli, &e);
                }
                n += one;
            }
            ledger_jobs_free(jobs, nj);
        }
        printf("%s: cancelled %zu %s\n", argv[i], n, n == 1 ? "job" : "jobs");
    }
    return status;
}

int cmd_urls(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"ttl", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"http", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    long ttl = 0;
    bool json = false, http = false;
    int opt, rc;
    err_t e;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 't': {
            char *end;
            ttl = strtol(optarg, &end, 10);
            if (*end || ttl <= 0 || ttl > 604800) {
                fprintf(stderr, "%s: --ttl: expected seconds from 1 to 604800\n", cli->prog);
                return EX_USAGE;
            }
            break;
        }
        case 'j': json = true; break;
        case 'H': http = true; break;
        case 'h':
            printf("usage: onesheet urls BATCH [--ttl S] [--json] [--http]\n"
                   "  --http   on the file store, signed links onesheet-api serves at\n"
                   "           public_url (instead of file:// paths)\n");
            return 0;
        default: return EX_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "usage: onesheet urls BATCH [--ttl S] [--json] [--http]\n");
        return EX_USAGE;
    }
    if ((rc = cli_open(cli, CLI_LEDGER | CLI_STORE)) != 0)
        return rc;
    if (http && !cli->cfg.public_url) {
        fprintf(stderr, "%s: --http: set public_url (or ONESHEET_PUBLIC_URL) to the address "
                        "onesheet-api is reached at\n", cli->prog);
        return EX_CONFIG;
    }
    if (!ttl)
        ttl = cli->cfg.url_ttl;
    ledger_filter_t f = {.batch_id = argv[optind], .state = JOB_SUCCEEDED};
    ledger_job_t *jobs = NULL;
    size_t n = 0;
    ledger_batch_t b;
    memset(&b, 0, sizeof b);
    err_clear(&e);
    if (ledger_get_batch(cli->ledger, argv[optind], &b, &e) != ERR_OK) {
        if (e.code == ERR_NOTFOUND)
            err_set(&e, ERR_NOTFOUND, "%s: no such batch in %s", argv[optind],
                    cli_searched(cli));
        return cli_fail(cli, &e);
    }
    ledger_batch_free(&b);
    if (ledger_list(cli->ledger, &f, &jobs, &n, &e) != ERR_OK)
        return cli_fail(cli, &e);
    for (size_t i = 0; i < n; i++) {
        char *url = NULL;
        int64_t expires = 0;
        if (!jobs[i].store_key ||
            store_url(cli->store, jobs[i].store_key, ttl, &url, &expires, &e) !=
                ERR_OK) {
            fprintf(stderr, "%s: %s: %s\n", cli->prog, jobs[i].job_id,
                    jobs[i].store_key ? e.msg : "no stored result");
            continue;
        }
        if (http && strncmp(url, "file://", 7) == 0) {
            /* The file store's local path becomes the API's signed link. */
            expires = (int64_t)time(NULL) + ttl;
            char *link = api_files_link(cli->cfg.state_dir, cli->cfg.public_url,
                                        jobs[i].store_key, expires, &e);
            free(url);
            if (!link) {
                fprintf(stderr, "%s: %s: %s\n", cli->prog, jobs[i].job_id, e.msg);
                ledger_jobs_free(jobs, n);
                return e.code == ERR_CONFIG ? EX_CONFIG : EX_SOFTWARE;
            }
            url = link;
        }
        if (json)
            printf("{\"id\":\"%s\",\"url\":\"%s\",\"expires\":%lld}\n", jobs[i].job_id, url,
                   (long long)expires);
        else
            printf("%s %s\n", jobs[i].job_id, url);
        free(url);
    }
    ledger_jobs_free(jobs, n);
    return 0;
}
