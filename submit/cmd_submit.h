/* cmd_submit — what cmd_submit.c and cmd_submit_stream.c share. */
#ifndef ONESHEET_CMD_SUBMIT_H
#define ONESHEET_CMD_SUBMIT_H

#include "cli.h"
#include "jobs/job.h"
#include "jobs/submit.h"

#include <stdbool.h>

/* The SQLite page cache (KiB a connection) of a streamed submit. */
#define SUBMIT_STREAM_CACHE_KIB 16384

/* What `onesheet submit` was asked to do.  Every string is borrowed from
 * argv, so it lives as long as the command. */
struct submit_opts {
    const char *prompt;     /* --prompt TEXT, or NULL when reading a file */
    const char *source;     /* FILE, "-" or "--prompt": for messages and the ledger */
    const char *output;     /* --output: the manifest --wait writes */
    const char *webhook;    /* --webhook URL: signed batch and job events */
    int fmt;                /* bulk_format_t from --format; BULK_AUTO */
    bool skip_invalid, dry, wait, json;
    double budget;          /* --budget in USD; -1 when not given */
    job_defaults_t d;       /* --model, --aspect, --seed, --title, --renditions */
    int variants;           /* --variants N for entries naming none; 0 when not given */
    FILE *in;               /* the input already open (a spool), or NULL: open source */
    bool force;             /* --force: submit to a model Bedrock no longer lists */
};

/* `onesheet submit` of o's input held in memory: the path of --prompt and
 * of inputs asking for variants (which the streamed path leaves to it:
 * one entry becomes several jobs, and a batch of variants is small).
 * Reads o->in when set (not closed), else o->source.  Needs cli_open() done
 * as submit_streamed() does.  Returns the exit status as cmd_submit(). */
int submit_in_memory(cli_t *cli, const struct submit_opts *o);

/* Registers --webhook URL as batch_id's webhook, before its jobs are
 * recorded so none can finish unseen.  Returns 0, or the exit status after
 * saying why (another URL already set: EX_DATAERR, nothing enqueued). */
int submit_webhook(cli_t *cli, const struct submit_opts *o, const char *batch_id);

/* What a submit prints once its jobs are recorded and sent (res): the batch
 * id (the JSON summary with --json) and what was enqueued of njobs (nerrors
 * invalid entries skipped); then --wait.  Returns 0 or cli_wait_batch()'s
 * status. */
int submit_report(cli_t *cli, const struct submit_opts *o, const char *batch_id,
                  size_t njobs, size_t nerrors, const submit_result_t *res);

/* Refuses --model naming no known model (EX_DATAERR, after printing
 * "--model: unknown model ... (did you mean ...?)"), before any input is
 * read; warns once when the configured default is unknown, since then
 * every entry naming no model is invalid.  Returns 0 or EX_DATAERR. */
int submit_check_default_model(const cli_t *cli, const struct submit_opts *o);

/* `onesheet submit FILE|-`, in memory bounded whatever the input's size
 * (bulk_stream.h, submit_stream.h), with the answers, messages and exit
 * statuses of the in-memory path: the input spooled and validated in full
 * (every error reported, nothing written when one entry is invalid without
 * --skip-invalid), the estimate checked against --budget, then the
 * webhook, the ledger and the queue, then --wait.  With --dry-run: which
 * jobs are new (the stream merged with the batch's ledger pages), their
 * estimate, then every job, one a line, and the summary.
 * Needs cli_open() done with the queue and ledger (a dry run: the ledger
 * if it exists).  Returns the exit
 * status: 0, EX_NOINPUT, EX_DATAERR (bad or too big input, unknown model,
 * over budget), EX_IOERR (the input cannot be read or spooled), EX_OSERR
 * (out of memory), cli_fail()'s, or cli_wait_batch()'s with --wait. */
int submit_streamed(cli_t *cli, const struct submit_opts *o);

#endif
