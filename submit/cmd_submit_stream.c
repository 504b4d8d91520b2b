/* cmd_submit_stream — `onesheet submit FILE|-` in bounded memory (see
 * cmd_submit.h).  The input is spooled and scanned once (bulk_stream_scan:
 * every entry validated, the configured or --model default applied, models
 * checked, duplicates folded, the batch id and the cost estimate summed),
 * and only then, when nothing refuses it, recorded and sent
 * (submit_stream).  The messages and exit statuses are those of the
 * in-memory path in cmd_submit.c, which --dry-run and --prompt still use. */
#include "cli.h"
#include "cmd_submit.h"
#include "base/termesc.h"
#include "engine/engine_backends.h"
#include "jobs/bulk_stream.h"
#include "jobs/cost.h"
#include "jobs/submit_stream.h"
#include "jobs/webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* What the scan's check adds up beside judging models. */
typedef struct {
    cost_table_t *prices;   /* NULL: no --budget, nothing to price */
    double usd;
    size_t priced;
    err_t price_err;        /* the first model without a price */
    bool unpriced;
} tally_t;

/* bulk_check_fn: an unknown or retired model makes the entry invalid
 * ("model: ..."); a kept one is priced when there is a --budget. */
static err_code_t check_spec(void *ud, const job_spec_t *spec, err_t *err)
{
    tally_t *t = ud;
    double p;

    if (engine_model_check(spec->model, NULL, 0, err) != ERR_OK)
        return err_prefix(err, "model");
    if (!t->prices || t->unpriced)
        return ERR_OK;
    if (cost_price(t->prices, spec->model ? spec->model : "draft", &p, &t->price_err) !=
        ERR_OK) {
        t->unpriced = true;
        return ERR_OK;
    }
    t->usd += p;
    t->priced++;
    return ERR_OK;
}

/* Opens and spools o's input into *s.  Returns 0, or the exit status after
 * printing why not, with "nothing enqueued". */
static int open_input(const cli_t *cli, const struct submit_opts *o,
                      const job_defaults_t *d, bulk_stream_t **s)
{
    bool is_stdin = strcmp(o->source, "-") == 0;
    int fmt = o->fmt == BULK_AUTO && is_stdin ? BULK_TXT : o->fmt;
    FILE *fp = is_stdin ? stdin : fopen(o->source, "rb");
    char *shown = term_escape_dup(o->source);
    err_t e;
    err_code_t rc;

    err_clear(&e);
    if (!shown || !fp) {
        int saved = errno;
        if (fp && fp != stdin)
            fclose(fp);
        if (!shown) {
            fprintf(stderr, "%s: out of memory\n", cli->prog);
            return EX_OSERR;
        }
        fprintf(stderr, "%s: %s: %s\n", cli->prog, shown, strerror(saved));
        free(shown);
        return EX_NOINPUT;
    }
    rc = bulk_stream_open(fp, o->source, (bulk_format_t)fmt, d, cli->cfg.max_input_bytes,
                          NULL, s, &e);
    if (fp != stdin)
        fclose(fp);
    if (rc == ERR_TOOBIG)
        fprintf(stderr, "%s: %s: input is larger than max_input_bytes (%lld bytes; set "
                "it in the config or ONESHEET_MAX_INPUT_BYTES); nothing enqueued\n",
                cli->prog, shown, cli->cfg.max_input_bytes);
    else if (rc == ERR_NOMEM)
        fprintf(stderr, "%s: %s: out of memory reading the input; nothing enqueued\n",
                cli->prog, shown);
    else if (rc != ERR_OK)
        fprintf(stderr, "%s: %s: %s; nothing enqueued\n", cli->prog, shown,
                CLI_SHOWN(e.msg));
    free(shown);
    switch (rc) {
    case ERR_OK: return 0;
    case ERR_TOOBIG: return EX_DATAERR;
    case ERR_NOMEM: return EX_OSERR;
    default: return EX_IOERR;
    }
}

/* Prints the scan's errors as submit_report_invalid() does and decides
 * whether the batch may go on.  Returns 0 or EX_DATAERR. */
static int report_invalid(const cli_t *cli, const struct submit_opts *o,
                          const bulk_summary_t *sum)
{
    for (size_t i = 0; i < sum->nshown; i++) {
        char msg[1024];
        term_escape(sum->errors[i].msg, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
    }
    if (sum->nerrors > sum->nshown)
        fprintf(stderr, "%s: ... and %zu more invalid entries\n", cli->prog,
                sum->nerrors - sum->nshown);
    if (sum->nerrors && (!o->skip_invalid || sum->nitems == 0)) {
        fprintf(stderr, "%s: %zu invalid %s; nothing enqueued%s\n", cli->prog, sum->nerrors,
                sum->nerrors == 1 ? "entry" : "entries",
                sum->nitems && !o->skip_invalid ? " (--skip-invalid enqueues the valid ones)"
                                                : "");
        return EX_DATAERR;
    }
    return 0;
}

/* --budget against the scan's estimate, as cli_cost_check() words it.
 * Returns 0 or EX_DATAERR. */
static int check_budget(const cli_t *cli, const struct submit_opts *o, const tally_t *t)
{
    char money[32], limit[32];

    if (o->budget < 0)
        return 0;
    if (t->unpriced) {
        fprintf(stderr, "%s: --budget: cannot estimate the cost: %s; nothing enqueued\n",
                cli->prog, t->price_err.msg);
        return EX_DATAERR;
    }
    if (t->usd <= o->budget + 1e-9)
        return 0;
    cost_format(t->usd, money, sizeof money);
    snprintf(limit, sizeof limit, "$%.2f", o->budget);
    fprintf(stderr, "%s: over budget: %zu %s would cost about %s, over --budget %s; "
            "nothing enqueued\n", cli->prog, t->priced, t->priced == 1 ? "job" : "jobs",
            money, limit);
    return EX_DATAERR;
}

/* The webhook, the ledger and the queue, and what submit_enqueue() prints. */
static int enqueue(cli_t *cli, const struct submit_opts *o, bulk_stream_t *s,
                   const bulk_summary_t *sum)
{
    submit_result_t res;
    err_t e;

    err_clear(&e);
    if (o->webhook && webhook_register(cli->ledger, sum->batch_id, o->webhook,
                                       cli->cfg.webhook_secret, "--webhook", &e) != ERR_OK) {
        if (e.code != ERR_CONFLICT)
            return cli_fail(cli, &e);
        fprintf(stderr, "%s: --webhook: %s; nothing enqueued\n", cli->prog,
                CLI_SHOWN(e.msg));
        return EX_DATAERR;
    }
    if (submit_stream(cli->queue, cli->ledger, s, sum, o->source, &res, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (o->json)
        printf("{\"batch\":\"%s\",\"jobs\":%zu,\"new\":%zu,\"enqueued\":%zu,\"invalid\":%zu}\n",
               sum->batch_id, sum->nitems, res.added, res.sent, sum->nerrors);
    else
        printf("%s\n", sum->batch_id);
    if (res.sent == 0)
        fprintf(stderr, "%s: batch %s already submitted: nothing new to enqueue (%zu jobs)\n",
                cli->prog, sum->batch_id, sum->nitems);
    else
        fprintf(stderr, "%s: batch %s: enqueued %zu of %zu %s%s%s\n", cli->prog,
                sum->batch_id, res.sent, sum->nitems, sum->nitems == 1 ? "job" : "jobs",
                sum->nerrors ? ", skipped invalid: " : "", sum->nerrors ? "see above" : "");
    return o->wait ? cli_wait_batch(cli, sum->batch_id, o->output, 0, false) : 0;
}

int submit_streamed(cli_t *cli, const struct submit_opts *o)
{
    job_defaults_t d = o->d;
    const bulk_summary_t *sum = NULL;
    bulk_stream_t *s = NULL;
    tally_t t = {0};
    err_t e;
    int rc;

    if ((rc = submit_check_default_model(cli, o)) != 0)
        return rc;
    if (!d.model)
        d.model = cli->cfg.model;
    err_clear(&e);
    err_clear(&t.price_err);
    if (o->budget >= 0 && cost_table_default(NULL, &t.prices, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if ((rc = open_input(cli, o, &d, &s)) != 0)
        goto out;
    if (bulk_stream_scan(s, check_spec, &t, &sum, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    if ((rc = report_invalid(cli, o, sum)) != 0)
        goto out;
    if (sum->nduplicates)
        fprintf(stderr, "%s: %zu duplicate %s folded into one job each\n", cli->prog,
                sum->nduplicates, sum->nduplicates == 1 ? "entry" : "entries");
    if ((rc = check_budget(cli, o, &t)) == 0)
        rc = enqueue(cli, o, s, sum);
out:
    bulk_stream_close(s);
    cost_table_free(t.prices);
    return rc;
}
