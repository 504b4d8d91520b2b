/* campaign — scheduled poster campaigns (schema/campaign.schema.json): a
 * name, an OnCalendar schedule, job defaults, prompts and templates, how
 * many posters a firing makes, and budgets.
 *
 * A firing is identified by the campaign's name and its scheduled slot (a
 * unix time the schedule fires at): its batch id is "NAME-YYYYMMDDTHHMMSSZ",
 * so running the same slot twice finds the batch and enqueues nothing new.
 *
 *   campaign.c         parse and validate the file
 *   campaign_expand.c  templates → prompts → job specs (a bulk_t)
 *   campaign_fire.c    budgets, spend, ledger and queue for one firing
 *   campaign_units.c   systemd timer/service text for `campaign install`
 *   campaign_webhook.c checks before a firing registers its batch webhook
 *   campaign_event.c   a firing asked for by a scheduler's event (Lambda) */
#ifndef ONESHEET_CAMPAIGN_H
#define ONESHEET_CAMPAIGN_H

#include "base/buf.h"
#include "jobs/cost.h"
#include "base/err.h"
#include "jobs/job.h"
#include "ledger/ledger.h"
#include "base/oncalendar.h"
#include "queue/queue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAMPAIGN_NAME_MAX 64
#define CAMPAIGN_COUNT_MAX 10000        /* jobs per firing */
#define CAMPAIGN_VALUES_MAX 100000      /* values per variable list */
#define CAMPAIGN_CANDIDATES_MAX 1000000000ULL

typedef enum { CAMPAIGN_CARTESIAN, CAMPAIGN_SAMPLE } campaign_mode_t;

typedef struct {
    char *name;
    char **values;
    size_t nvalues;
} campaign_var_t;

typedef struct {
    char *path;                /* the campaign file, for messages */
    char *name;                /* [a-z0-9][a-z0-9_-]*, ≤ 64 */
    char *schedule;            /* OnCalendar text */
    oncalendar_t cal;
    char *model;               /* NULL: the configured default */
    char *aspect_ratio, *output_format, *title;   /* job defaults (NULL: none) */
    char *negative_prompt, *tagline, *credits, *layout;
    int64_t seed;              /* job seed default, or JOB_SEED_UNSET */
    char **prompts;            /* inline prompts, then prompts_file lines */
    size_t nprompts;
    char **templates;
    size_t ntemplates;
    campaign_var_t *vars;
    size_t nvars;
    campaign_mode_t mode;
    uint64_t sample_seed;
    size_t count;              /* jobs per firing; 0: every candidate */
    double budget_firing_usd;  /* < 0: none */
    double budget_month_usd;   /* < 0: none */
    long url_ttl;              /* seconds; 0: the configured url_ttl */
    char *webhook_url;         /* NULL: none */
    char *webhook_secret_env;  /* NULL, or a variable that must hold webhook_secret */
    long randomized_delay_s;   /* the timer's RandomizedDelaySec= */
} campaign_t;

/* Parses the campaign file at path (lists and prompts_file are read
 * relative to its directory).  Every error names the file and the field:
 * "campaign.json: templates[1]: unknown variable {film}".  c must be freed
 * with campaign_free, also on error.  ERR_NOINPUT when unreadable,
 * ERR_INVALID for a bad file. */
err_code_t campaign_load(const char *path, campaign_t *c, err_t *err);

/* Parses campaign JSON text; dir is where relative files live. */
err_code_t campaign_parse(const char *path, const char *dir, const char *text,
                          size_t len, campaign_t *c, err_t *err);
/* The first half of campaign_parse (campaign.c): the fields, without the
 * expansion check campaign_parse then makes (campaign_load.c). */
err_code_t campaign_parse_fields(const char *path, const char *dir, const char *text,
                                 size_t len, campaign_t *c, err_t *err);

/* The same three, with every file they read (the campaign file,
 * prompts_file, a variable's file) held under root: the path is resolved
 * with realpath (symlinks included) and refused with ERR_INVALID naming the
 * field when it falls outside; errors then quote no file contents (a JSON
 * error gives only line and column).  root NULL: no confinement. */
err_code_t campaign_load_in(const char *path, const char *root, campaign_t *c, err_t *err);
err_code_t campaign_parse_in(const char *path, const char *dir, const char *root,
                             const char *text, size_t len, campaign_t *c, err_t *err);
err_code_t campaign_parse_fields_in(const char *path, const char *dir, const char *task_root,
                                    const char *text, size_t len, campaign_t *c, err_t *err);

/* Resolves path (realpath, symlinks followed) into out and checks that it
 * lies under root (also resolved).  ERR_INVALID "FIELD: PATH is outside the
 * task root ..." when not, ERR_NOINPUT when path cannot be resolved,
 * ERR_CONFIG when root cannot.  Never reads the file. */
err_code_t campaign_confine(const char *root, const char *field, const char *path,
                            char *out, size_t outsz, err_t *err);

void campaign_free(campaign_t *c);

/* How many prompts the campaign can produce (inline prompts plus every
 * template's combinations) into *n.  ERR_TOOBIG over
 * CAMPAIGN_CANDIDATES_MAX. */
err_code_t campaign_candidates(const campaign_t *c, uint64_t *n, err_t *err);

/* The prompts of the firing at slot: the first `count` candidates
 * (cartesian), or `count` distinct candidates drawn with the expansion seed
 * and the slot (sample: the same seed and slot always draw the same
 * prompts, in candidate order).  *out: new array of new strings
 * (campaign_strings_free). */
err_code_t campaign_expand(const campaign_t *c, int64_t slot, char ***out, size_t *n,
                           err_t *err);
void campaign_strings_free(char **v, size_t n);

/* The batch id of the firing at slot, "NAME-YYYYMMDDTHHMMSSZ". */
void campaign_batch_id(const campaign_t *c, int64_t slot, char out[JOB_ID_MAX + 1]);

/* Builds the firing's jobs: expands, applies the campaign's defaults (model
 * NULL in the file: default_model), validates each spec, and assigns the
 * batch id and job ids; identical prompts fold into one job (counted in
 * b->nduplicates).  b comes from bulk_init() (bulk_free after). */
err_code_t campaign_build(const campaign_t *c, int64_t slot, const char *default_model,
                          bulk_t *b, err_t *err);

/* Fills s (initialised here; job_spec_free it, also on error) with prompt
 * and the campaign's defaults (model NULL in the file: default_model), and
 * normalises it. */
err_code_t campaign_spec(const campaign_t *c, const char *prompt, const char *default_model,
                         job_spec_t *s, err_t *err);

/* The slot `campaign run` serves by default: the latest firing at or before
 * now. */
err_code_t campaign_default_slot(const campaign_t *c, int64_t now, int64_t *slot,
                                 err_t *err);

/* Whether slot is one of the schedule's firings, so that a slot given by
 * hand names a firing a timer would have made (one batch per firing).
 * ERR_OK when it is; else ERR_INVALID with a message naming the file, what
 * gave the slot (`what`, "--slot"), the slot, the schedule and the nearest
 * firings before and after: 'campaign.json: --slot 2026-12-07T09:30:00Z is
 * not a firing of "Mon *-*-* 09:00:00 UTC" (the nearest are
 * 2026-11-30T09:00:00Z and 2026-12-07T09:00:00Z)'.  *future is set either
 * way: whether slot is after now (the caller decides what that means). */
err_code_t campaign_check_slot(const campaign_t *c, const char *what, int64_t slot,
                               int64_t now, bool *future, err_t *err);

/* ---- firing (campaign_fire.c) ---- */

typedef struct {
    char batch_id[JOB_ID_MAX + 1];
    char slot[32];             /* ISO 8601 UTC */
    size_t jobs;               /* jobs in the firing */
    size_t added;              /* new in the ledger this time */
    size_t sent;               /* messages sent this time */
    double usd;                /* estimated cost of the firing */
    double month_usd;          /* the month's recorded spend afterwards */
    bool already;              /* the slot had fired before */
    bool spend_recorded;       /* false when the ledger keeps no spend */
} campaign_fire_t;

/* One firing: builds the jobs, refuses (ERR_TOOBIG, nothing written) when
 * the estimate is over the per-firing budget, returns early (r->already)
 * when the slot's batch exists — re-sending only jobs never sent, so a
 * crash between ledger and queue is repaired — else records the spend
 * (refused with ERR_TOOBIG over the monthly budget, nothing enqueued),
 * adds the batch to the ledger and sends its messages.  SQLite and
 * DynamoDB record spend; a ledger without spend ops can run campaigns
 * without a monthly budget only (ERR_CONFIG).
 *
 * When c has a webhook, campaign_webhook_check(c, webhook_secret) runs
 * before anything is recorded, and the URL is registered as the batch's
 * webhook (ledger_set_batch_webhook) after the spend and before the jobs
 * are added, so workers deliver its job.* events and batch.completed from
 * the outbox.  Firing the slot again registers the same URL again (no
 * change); a changed URL is ERR_INVALID naming webhook.url (a batch's
 * webhook is immutable) and enqueues nothing.  webhook_secret: the configured webhook_secret
 * (NULL: none). */
err_code_t campaign_fire(const campaign_t *c, int64_t slot, const char *default_model,
                         const char *webhook_secret, const cost_table_t *prices, ledger_t *l,
                         queue_t *q, campaign_fire_t *r, err_t *err);

/* The firing's result as compact JSON, appended to out: {"campaign",
 * "slot", "batch", "jobs", "new", "enqueued", "estimate_usd", "month_usd"
 * (null when the ledger keeps no spend), "already"}.  What `campaign run
 * --json` prints and the Lambda answers. */
err_code_t campaign_fire_json(const campaign_t *c, const campaign_fire_t *r, buf_t *out);

/* ---- scheduler events (campaign_event.c) ---- */

/* True when json is a onesheet event (an object with a "onesheet" member
 * that is not an API Gateway request), so the Lambda loop can tell it from
 * proxy events. */
bool campaign_event_match(const char *json, size_t len);

/* Parses a scheduler's event {"onesheet": "campaign-run", "campaign":
 * {...} | "campaign_file": "PATH", "slot": "ISO 8601 UTC"} into c (loaded
 * as campaign_load/campaign_parse would; relative paths under dir, NULL:
 * ".") and *slot (absent or null: the latest firing at or before now).
 * Unknown fields, both or neither campaign source, and a slot that is not
 * an ISO 8601 UTC time are ERR_INVALID starting "event: ".  c must be freed
 * with campaign_free, also on error. */
err_code_t campaign_event_parse(const char *json, size_t len, const char *dir, int64_t now,
                                campaign_t *c, int64_t *slot, err_t *err);

/* ---- systemd units (campaign_units.c) ---- */

/* The text of onesheet-campaign@NAME.timer and .service for c, whose file
 * will be read at campaign_path by onesheet at bin (absolute paths).
 * Appends to timer and service. */
err_code_t campaign_units(const campaign_t *c, const char *campaign_path,
                          const char *bin, buf_t *timer, buf_t *service, err_t *err);
/* The same for a user's systemd (campaign_units_user.c): the same timer,
 * and a service without User=/Group= or the hardening only the system
 * manager applies; state and environment files under the user's %S and
 * %E.  Errors as campaign_units. */
err_code_t campaign_units_user(const campaign_t *c, const char *campaign_path,
                               const char *bin, buf_t *timer, buf_t *service, err_t *err);

/* ---- webhook (campaign_webhook.c) ---- */

/* The scheme, host and port of url ("https://hooks.example:8443"), for
 * messages: the path and query may carry a token.  Writes "" when url has
 * no "://". */
void campaign_webhook_origin(const char *url, char *out, size_t cap);

/* The checks a firing of c makes before recording anything when c has a
 * webhook (ERR_OK at once when it has none): the URL (ERR_INVALID naming
 * webhook.url: https://, or http:// to a loopback host), that secret (the
 * configured webhook_secret, which workers sign with) is set and of the
 * form "whsec_BASE64" (ERR_CONFIG), that the variable webhook.secret_env
 * names, when given, holds that same secret (ERR_CONFIG), and that the
 * ledger keeps webhooks (ERR_CONFIG).  Borrows everything; never echoes a
 * secret. */
err_code_t campaign_webhook_check(const campaign_t *c, const char *secret, ledger_t *l,
                                  err_t *err);

#endif
