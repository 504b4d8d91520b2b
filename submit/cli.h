/* cli — what the `onesheet` subcommands share: configuration, the opened
 * back-ends, error printing and job rendering. */
#ifndef ONESHEET_CLI_H
#define ONESHEET_CLI_H

#include "setup/config.h"
#include "jobs/job.h"
#include "ledger/ledger.h"
#include "queue/queue.h"
#include "store/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* CLI_LEDGER_IF_EXISTS: the ledger only when it already exists
 * (ledger_exists()), so a reader creates no state; cli->ledger stays NULL
 * otherwise. */
enum { CLI_QUEUE = 1, CLI_LEDGER = 2, CLI_STORE = 4, CLI_LEDGER_IF_EXISTS = 8 };

typedef struct {
    config_t cfg;
    queue_t *queue;
    ledger_t *ledger;
    store_t *store;
    const char *config_path;  /* --config */
    const char *prog;         /* "onesheet submit" etc. for messages */
} cli_t;

/* A subcommand: argv[0] is its name.  Returns the process exit status. */
typedef int (*cli_cmd_fn)(cli_t *cli, int argc, char **argv);

/* Loads configuration (with --config) and opens the back-ends in need.
 * On failure prints the error and returns its exit status (else 0). */
int cli_open(cli_t *cli, unsigned need);
void cli_close(cli_t *cli);

/* Prints "onesheet: MSG" to stderr and returns the exit status for e. */
int cli_fail(const cli_t *cli, const err_t *e);

/* A job as a JSON object (new reference). */
json_t *cli_job_json(const ledger_job_t *j);
/* A succeeded job's renditions as store_renditions_json() gives them, with
 * URLs from the store (opened on first use, quietly skipped when it will
 * not open); NULL when the job is not succeeded or lists none.  New
 * reference (cli_renditions.c). */
json_t *cli_job_renditions(cli_t *cli, const ledger_job_t *j);
/* Prints a JSON value on stdout, one line. */
void cli_print_json(json_t *v);
/* Fits s into exactly n characters (UTF-8 aware): cut with an ellipsis or
 * padded with spaces, into out.  Returns out. */
const char *cli_ellipsize(const char *s, size_t n, char *out, size_t cap);
/* Writes s escaped for the terminal (term_escape: controls, bidi
 * overrides, bad UTF-8) into out (cap bytes, cut between escapes when
 * short).  Returns out, for use as a printf argument. */
const char *cli_shown(const char *s, char *out, size_t cap);
/* Reads fp into *data (a new buffer, NUL-terminated; caller frees) and its
 * length into *len, reading at most max bytes.  A regular file is sized
 * first, so it is read into one buffer of its size rather than a doubling
 * one, and one over max is refused before it is read.  Returns 0, 1 (nothing
 * allocated) when the input is longer than max, or -1 (errno set: ENOMEM,
 * or the read error; nothing allocated). */
int cli_read_limited(FILE *fp, long long max, char **data, size_t *len);
/* Room for any err_t message, escaped. */
#define CLI_SHOWN_MAX 1200
/* cli_shown() into a buffer that lives until the end of the enclosing
 * block: fprintf(stderr, "%s\n", CLI_SHOWN(name)). */
#define CLI_SHOWN(s) cli_shown((s), (char[CLI_SHOWN_MAX]){0}, CLI_SHOWN_MAX)
/* Prompt text from a job's spec JSON (borrowed from a static buffer). */
const char *cli_job_prompt(const ledger_job_t *j);

/* Batch progress for `wait` and `submit --wait`: polls until every job of
 * the batch is terminal (or timeout_s passes, 0 = forever), showing a
 * progress bar on a terminal; writes the results manifest when output is
 * set.  Returns 0 all succeeded, 1 some did not, 75 timed out. */
int cli_wait_batch(cli_t *cli, const char *batch_id, const char *output,
                   double timeout_s, bool json);

/* Writes batch_id's results manifest to path ("-": JSONL on stdout), through
 * a temporary file and a rename: CSV when path ends in ".csv", JSONL
 * otherwise (the columns and keys are in cli_manifest.c).  Returns 0, or
 * the exit status after printing why. */
int cli_write_manifest(cli_t *cli, const char *batch_id, const char *path);

/* Estimates b's cost from the price table (cost.h).  With dry, prints the
 * estimate; with budget >= 0 (USD), refuses an estimate over it or an
 * unknown one.  Returns 0, or the exit status after printing why. */
int cli_cost_check(cli_t *cli, const bulk_t *b, double budget, bool dry);
/* The same for the items whose counted[i] is true (counted NULL: all);
 * with dry and skipped > 0, the printed estimate says that many jobs were
 * already submitted and are not counted. */
int cli_cost_check_some(cli_t *cli, const bulk_t *b, const bool *counted, size_t skipped,
                        double budget, bool dry);

/* Worker liveness: prints to stderr a warning containing "no worker" for
 * each model the unfinished jobs of batch_id name that no live worker
 * serves (when it was last seen, what to start).  said (said_cap bytes,
 * "" at first) remembers what was said, so a caller that asks again while
 * waiting repeats nothing until the news changes.  Silent when the ledger
 * keeps no registry or the batch has nothing unfinished. */
void cli_warn_no_worker(cli_t *cli, const char *batch_id, char *said, size_t said_cap);
/* A batch's webhook deliveries (cli_webhook.c): one line on stdout
 * ("webhook: ORIGIN: N delivered, M pending (next try in S s, last error:
 * ...), K given up"), or a "webhook" member set on o; nothing when the
 * batch has no webhook. */
void cli_webhook_print(cli_t *cli, const char *batch_id);
void cli_webhook_json(cli_t *cli, const char *batch_id, json_t *o);

/* ---- review marks and variants (cli_review.c) ---- */
/* The review marks of one batch at a time, read on demand. */
typedef struct {
    char *batch;
    ledger_review_t *r;
    size_t n;
} cli_reviews_t;
/* j's mark and lineage (NULL: none), reading its batch's marks into c
 * when c holds another batch's; a ledger without marks, or one that
 * fails, shows none.  Borrowed from c until the next call. */
const ledger_review_t *cli_review_for(cli_t *cli, cli_reviews_t *c, const ledger_job_t *j);
void cli_reviews_free(cli_reviews_t *c);
/* Orders a batch's jobs (from ledger_list) so that the variants of one
 * prompt come together in index order; the rest keep their order.  The
 * jobs are moved, not copied. */
void cli_variant_sort(ledger_job_t *jobs, size_t n);
/* "v2/4 of PROMPTKEY" for a variant, "" otherwise, into out. */
const char *cli_variant_label(const ledger_job_t *j, char *out, size_t cap);
/* cli_opts.c.  Every subcommand parses its options with getopt_long; the
 * macro below routes that call through cli_getopt_long, which is
 * getopt_long itself unless cli_dump_options(out) was called: then it
 * writes the command's option table to out ("--name" a line, "=" after
 * those taking a value; then "-x" for short options) and exits 0, so the manual pages and
 * completions (tools/gen-docs.sh) come from the tables the code parses
 * with, including those of commands added later. */
void cli_dump_options(FILE *out);
int cli_getopt_long(int argc, char *const *argv, const char *shortopts,
                    const struct option *longopts, int *longind);
#define getopt_long cli_getopt_long
/* Takes the global options (--config FILE, --config=FILE) out of argv
 * wherever they stand after the command name, up to a "--", setting
 * cli->config_path; *argc shrinks to match.  Returns 0, or EX_USAGE after
 * saying what is wrong. */
int cli_take_globals(cli_t *cli, int *argc, char **argv);
/* What a lookup searched, for "not found" messages: "state directory DIR
 * (ledger sqlite:DIR/onesheet.db)" or "ledger dynamodb:TABLE".  A static
 * buffer; call after cli_open. */
const char *cli_searched(const cli_t *cli);
/* Whether fd may be drawn on (a progress bar redrawn in place, a line
 * cleared): a terminal, not TERM=dumb.  The CLI prints no colour at all,
 * so NO_COLOR holds whatever this says; a pipe or file gets plain lines. */
bool cli_tty(int fd);

int cmd_submit(cli_t *cli, int argc, char **argv);
int cmd_status(cli_t *cli, int argc, char **argv);
int cmd_wait(cli_t *cli, int argc, char **argv);
int cmd_list(cli_t *cli, int argc, char **argv);
int cmd_cancel(cli_t *cli, int argc, char **argv);
int cmd_urls(cli_t *cli, int argc, char **argv);
int cmd_gallery(cli_t *cli, int argc, char **argv);
int cmd_init(cli_t *cli, int argc, char **argv);
int cmd_campaign(cli_t *cli, int argc, char **argv);
int cmd_campaign_install(cli_t *cli, int argc, char **argv);
int cmd_retry(cli_t *cli, int argc, char **argv);
int cmd_workers(cli_t *cli, int argc, char **argv);
int cmd_approve(cli_t *cli, int argc, char **argv);
int cmd_reject(cli_t *cli, int argc, char **argv);
int cmd_promote(cli_t *cli, int argc, char **argv);
/* cmd_workers_quota.c: prints the shared quota's buckets, one line (or JSON
 * object) each; nothing when the ledger keeps none. */
void cli_print_quotas(cli_t *cli, bool json, int64_t now);
int cmd_models(cli_t *cli, int argc, char **argv);

#endif
