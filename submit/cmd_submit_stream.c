/* cmd_submit_stream — `onesheet submit FILE|-` in bounded memory (see
 * cmd_submit.h).  The input is spooled and scanned once (bulk_stream_scan:
 * every entry validated, the configured or --model default applied, models
 * checked, duplicates folded, the batch id and the cost estimate summed),
 * and only then, when nothing refuses it, recorded and sent
 * (submit_stream).  The messages and exit statuses are those of the
 * in-memory path in cmd_submit.c, which --prompt still uses. */
#include "cli.h"
#include "cmd_submit.h"
#include "cli_models.h"
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
    bool pricing;           /* false: judge models only */
    bool variants;          /* an entry asks for several variants */
    size_t posters;         /* priced jobs' posters: renditions are one generation */
    const char *dflt;       /* the default model (borrowed) */
    char *models[32];       /* other models the entries name, judged after the scan */
    size_t nmodels;
} tally_t;

/* bulk_check_fn: an unknown or retired model makes the entry invalid
 * ("model: ..."); a kept one is priced when there is a --budget. */
static err_code_t check_spec(void *ud, const job_spec_t *spec, err_t *err)
{
    tally_t *t = ud;
    double p;

    if (engine_model_check(spec->model, NULL, 0, err) != ERR_OK)
        return err_prefix(err, "model");
    t->variants |= spec->variants > 1;
    if (spec->model && !(t->dflt && strcmp(spec->model, t->dflt) == 0) && t->nmodels < 32) {
        bool seen = false;
        for (size_t k = 0; !seen && k < t->nmodels; k++)
            seen = strcmp(t->models[k], spec->model) == 0;
        if (!seen && !(t->models[t->nmodels++] = strdup(spec->model)))
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (t->pricing)
        t->posters += spec->nrenditions ? spec->nrenditions : 1;
    if (!t->prices || !t->pricing || t->unpriced)
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
    int rc;

    if ((rc = submit_webhook(cli, o, sum->batch_id)) != 0)
        return rc;
    err_clear(&e);
    if (submit_stream(cli->queue, cli->ledger, s, sum, o->source, &res, &e) != ERR_OK)
        return cli_fail(cli, &e);
    return submit_report(cli, o, sum->batch_id, sum->nitems, sum->nerrors, &res);
}

/* ---- --dry-run ---- */

/* The batch's jobs as the ledger holds them, read a page at a time in
 * their order (line, job id), which is the order a scan keeps them in: a
 * batch id is the hash of its specs in order, so the same batch holds the
 * same jobs in the same order (or a prefix of them, after a submit killed
 * while recording). */
typedef struct {
    ledger_t *l;                  /* NULL: no ledger, every job is new */
    const char *batch_id;
    ledger_job_t *page;
    size_t n, at;
    bool more;
    char cursor[JOB_ID_MAX + 1];
    tally_t *t;                   /* the new jobs' estimate */
    const struct submit_opts *o;
    size_t nnew, pass;            /* pass 1 counts and prices, 2 prints */
} dry_t;

static void dry_rewind(dry_t *r)
{
    ledger_jobs_free(r->page, r->n);
    r->page = NULL;
    r->n = r->at = 0;
    r->more = r->l != NULL;
    r->cursor[0] = '\0';
}

/* Whether the job a submit would send: not in the ledger, or recorded and
 * never sent.  Moves past the ledger's entry when it is this job. */
static err_code_t dry_is_new(dry_t *r, const char *job_id, bool *is_new, err_t *err)
{
    if (r->at == r->n && r->more) {
        ledger_filter_t f = {.batch_id = r->batch_id, .state = -1, .limit = SUBMIT_STREAM_CHUNK,
                             .after_job_id = r->cursor[0] ? r->cursor : NULL};
        err_code_t rc;
        ledger_jobs_free(r->page, r->n);
        r->page = NULL;
        r->n = r->at = 0;
        if ((rc = ledger_list(r->l, &f, &r->page, &r->n, err)) != ERR_OK)
            return rc;
        r->more = r->n == SUBMIT_STREAM_CHUNK;
        if (r->n)
            snprintf(r->cursor, sizeof r->cursor, "%s", r->page[r->n - 1].job_id);
    }
    *is_new = true;
    if (r->at < r->n && strcmp(r->page[r->at].job_id, job_id) == 0) {
        const ledger_job_t *j = &r->page[r->at++];
        *is_new = j->state == JOB_QUEUED && j->enqueued_ms == 0;
    }
    return ERR_OK;
}

/* bulk_item_fn: pass 1 counts and prices the new jobs; pass 2 prints each
 * job as submit_dry_run() does. */
static err_code_t dry_item(void *ud, const bulk_item_t *it, err_t *err)
{
    dry_t *r = ud;
    bool is_new;
    err_code_t rc = dry_is_new(r, it->job_id, &is_new, err);

    if (rc != ERR_OK)
        return rc;
    if (r->pass == 1) {
        r->nnew += is_new;
        return is_new ? check_spec(r->t, &it->spec, err) : ERR_OK;
    }
    if (r->o->json) {
        buf_t spec = BUF_INIT;
        if (job_spec_to_json_with_id(&it->spec, &spec) != ERR_OK) {
            buf_free(&spec);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        printf("{\"batch\":\"%s\",\"id\":\"%s\",\"line\":%zu,\"new\":%s,\"spec\":%s}\n",
               r->batch_id, it->job_id, it->line, is_new ? "true" : "false",
               (char *)spec.data);
        buf_free(&spec);
    } else {
        char shortp[200];
        printf("%-24s line %-6zu %-9s %s\n", it->job_id, it->line,
               is_new ? "new" : "submitted",
               cli_ellipsize(it->spec.prompt, 60, shortp, sizeof shortp));
    }
    return ERR_OK;
}

/* The estimate for the new jobs, as cli_cost_check_some() words it with
 * dry set.  Returns 0 or EX_DATAERR (over --budget, or no price with one). */
static int dry_estimate(const cli_t *cli, const struct submit_opts *o, const tally_t *t,
                        size_t skipped)
{
    char money[32], limit[32], note[64] = "";

    if (t->unpriced) {
        if (o->budget >= 0) {
            fprintf(stderr, "%s: --budget: cannot estimate the cost: %s; nothing enqueued\n",
                    cli->prog, t->price_err.msg);
            return EX_DATAERR;
        }
        fprintf(stderr, "%s: estimated cost: unknown (%s)\n", cli->prog, t->price_err.msg);
        return 0;
    }
    cost_format(t->usd, money, sizeof money);
    if (skipped)
        snprintf(note, sizeof note, "%zu already submitted, not counted; ", skipped);
    fprintf(stderr, "%s: estimated cost: %s for %zu %s%s (%sprices: %s)\n", cli->prog, money,
            t->priced, skipped ? "new " : "", t->priced == 1 ? "job" : "jobs", note,
            cost_table_source(t->prices));
    if (t->posters > t->priced) /* renditions (issue 20): one generation each job */
        fprintf(stderr, "%s: renditions: %zu posters from %zu %s, costed as one each\n",
                cli->prog, t->posters, t->priced, t->priced == 1 ? "generation" : "generations");
    if (o->budget >= 0 && t->usd > o->budget + 1e-9) {
        snprintf(limit, sizeof limit, "$%.2f", o->budget);
        fprintf(stderr, "%s: over budget: %zu %s%s would cost about %s, over --budget %s; "
                "nothing enqueued\n", cli->prog, t->priced, skipped ? "new " : "",
                t->priced == 1 ? "job" : "jobs", money, limit);
        return EX_DATAERR;
    }
    return 0;
}

/* The dry run over a scanned stream: which jobs are new (a pass merging
 * the stream with the ledger's pages), their estimate against --budget,
 * then every job and the summary, as submit_dry_run() prints them. */
static int dry_run(cli_t *cli, const struct submit_opts *o, bulk_stream_t *s,
                   const bulk_summary_t *sum, tally_t *t)
{
    dry_t r = {.l = cli->ledger, .batch_id = sum->batch_id, .t = t, .o = o, .pass = 1};
    err_t e;
    int rc = 0;

    err_clear(&e);
    dry_rewind(&r);
    if (bulk_stream_each(s, dry_item, &r, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    if ((rc = dry_estimate(cli, o, t, sum->nitems - r.nnew)) != 0)
        goto out;
    dry_rewind(&r);
    r.pass = 2;
    if (bulk_stream_each(s, dry_item, &r, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    if (o->json)
        printf("{\"batch\":\"%s\",\"dry_run\":true,\"jobs\":%zu,\"new\":%zu,"
               "\"submitted\":%zu,\"invalid\":%zu}\n",
               sum->batch_id, sum->nitems, r.nnew, sum->nitems - r.nnew, sum->nerrors);
    fprintf(stderr, "%s: dry run: would enqueue %zu %s in batch %s (%zu already submitted, "
            "%zu skipped as invalid)\n", cli->prog, r.nnew, r.nnew == 1 ? "job" : "jobs",
            sum->batch_id, sum->nitems - r.nnew, sum->nerrors);
out:
    ledger_jobs_free(r.page, r.n);
    return rc;
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
    t.dflt = d.model;
    err_clear(&e);
    err_clear(&t.price_err);
    if ((o->budget >= 0 || o->dry) && cost_table_default(NULL, &t.prices, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if ((rc = open_input(cli, o, &d, &s)) != 0)
        goto out;
    /* A dry run prices only the new jobs, once it knows which they are. */
    t.pricing = !o->dry;
    if (bulk_stream_scan(s, check_spec, &t, &sum, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    /* The models the entries name, against Bedrock's live list (the
     * default was judged before the input was read). */
    for (size_t k = 0; k < t.nmodels; k++)
        if ((rc = cli_model_lifecycle(cli, t.models[k], "an entry's model", o->force)) != 0)
            goto out;
    if (t.variants) {
        /* One entry makes several jobs: the in-memory path expands them,
         * reading the spool (stdin is read once). */
        struct submit_opts whole = *o;
        if (!(whole.in = bulk_stream_reopen(s))) {
            fprintf(stderr, "%s: %s: cannot read the spooled input again: %s; nothing "
                    "enqueued\n", cli->prog, CLI_SHOWN(o->source), strerror(errno));
            rc = EX_IOERR;
            goto out;
        }
        rc = submit_in_memory(cli, &whole);
        fclose(whole.in);
        goto out;
    }
    if ((rc = report_invalid(cli, o, sum)) != 0)
        goto out;
    if (sum->nduplicates)
        fprintf(stderr, "%s: %zu duplicate %s folded into one job each\n", cli->prog,
                sum->nduplicates, sum->nduplicates == 1 ? "entry" : "entries");
    if (o->dry) {
        t.pricing = true;
        rc = dry_run(cli, o, s, sum, &t);
    } else if ((rc = check_budget(cli, o, &t)) == 0) {
        rc = enqueue(cli, o, s, sum);
    }
out:
    for (size_t k = 0; k < t.nmodels; k++)
        free(t.models[k]);
    bulk_stream_close(s);
    cost_table_free(t.prices);
    return rc;
}
