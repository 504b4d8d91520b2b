/* campaign — scheduled poster campaigns: `plan` shows what a firing would
 * do, `run` performs one firing (idempotent per campaign and slot),
 * `install` writes the systemd timer (cmd_campaign_install.c). */
#include "campaign/campaign.h"
#include "cli.h"
#include "cli_models.h"
#include "engine/engine_backends.h"
#include "jobs/cost.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define PLAN_SHOW 10

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: onesheet campaign plan FILE [--slot TIME] [--json]\n"
            "       onesheet campaign run FILE [--slot TIME [--force]] [--wait] [--output F]\n"
            "                             [--json]\n"
            "       onesheet campaign install FILE [--system] [--dir DIR] [--campaigns DIR]\n"
            "                                 [--bin PATH] [--dry-run]\n"
            "  TIME is ISO 8601 UTC (2026-11-30T09:00:00Z).  plan shows the next firing\n"
            "  by default; run serves the latest scheduled slot not after now.  run\n"
            "  refuses a --slot that is not a firing of the schedule, or is after now,\n"
            "  unless --force is given; plan shows any slot, with a warning.\n");
}

typedef struct {
    const char *slot_s, *output;
    bool wait, json, force;
} opts_t;

static int parse_opts(cli_t *cli, int argc, char **argv, opts_t *o)
{
    static const struct option opts[] = {
        {"slot", required_argument, NULL, 's'}, {"wait", no_argument, NULL, 'w'},
        {"output", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'},
        {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    memset(o, 0, sizeof *o);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 's': o->slot_s = optarg; break;
        case 'w': o->wait = true; break;
        case 'o': o->output = optarg; break;
        case 'j': o->json = true; break;
        case 'f': o->force = true; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "%s: give exactly one campaign FILE\n", cli->prog);
        usage(stderr);
        return EX_USAGE;
    }
    return 0;
}

/* Holds a --slot to the schedule: one batch per firing only means something
 * if a slot given by hand is a firing a timer would have made, and has come.
 * plan (`next`) shows any slot with a warning; run refuses (65) a slot that
 * is not a firing or is after now, unless --force. */
static int check_slot(cli_t *cli, const opts_t *o, bool next, const campaign_t *c,
                      int64_t slot)
{
    int64_t now = (int64_t)time(NULL);
    bool future;
    err_t e;
    char iso[32], s[32], msg[sizeof e.msg + 100];

    err_clear(&e);
    bool firing = campaign_check_slot(c, "--slot", slot, now, &future, &e) == ERR_OK;
    if (next) {
        if (!firing)
            fprintf(stderr, "%s: warning: %s; campaign run refuses it without --force\n",
                    cli->prog, e.msg);
        return 0;
    }
    if (firing && !future)
        return 0;
    if (firing)
        snprintf(msg, sizeof msg, "%s: --slot %s is in the future (now is %s): the schedule "
                 "has not fired it yet", c->path, oncalendar_iso(slot, s, sizeof s),
                 oncalendar_iso(now, iso, sizeof iso));
    else if (future)
        snprintf(msg, sizeof msg, "%s, and is in the future (now is %s)", e.msg,
                 oncalendar_iso(now, iso, sizeof iso));
    else
        snprintf(msg, sizeof msg, "%s", e.msg);
    if (o->force) {
        fprintf(stderr, "%s: warning: %s; running it because of --force\n", cli->prog, msg);
        return 0;
    }
    fprintf(stderr, "%s: %s; --force runs it anyway\n", cli->prog, msg);
    return EX_DATAERR;
}

/* Loads the campaign and the slot: --slot (checked by check_slot), else the
 * next firing after now (`next`, for plan) or the latest at or before now. */
static int load(cli_t *cli, const char *path, const opts_t *o, bool next, campaign_t *c,
                int64_t *slot)
{
    err_t e;
    err_clear(&e);
    if (campaign_load(path, c, &e) != ERR_OK)
        return cli_fail(cli, &e);
    /* An unknown model would only fail every job in the worker. */
    if (engine_model_check(c->model ? c->model : cli->cfg.model, NULL, 0, &e) != ERR_OK) {
        err_prefix(&e, "%s: model", c->path);
        return cli_fail(cli, &e);
    }
    /* Unlisted on Bedrock: refused by run (unless --force), flagged by plan. */
    int lrc = cli_model_lifecycle(cli, c->model, c->path, next || o->force);
    if (lrc)
        return lrc;
    if (o->slot_s) {
        if (oncalendar_parse_iso(o->slot_s, slot, &e) != ERR_OK) {
            fprintf(stderr, "%s: --slot: %s\n", cli->prog, CLI_SHOWN(e.msg));
            return EX_USAGE;
        }
        return check_slot(cli, o, next, c, *slot);
    }
    err_code_t rc = next ? oncalendar_next(&c->cal, (int64_t)time(NULL), slot, &e)
                         : campaign_default_slot(c, (int64_t)time(NULL), slot, &e);
    return rc == ERR_OK ? 0 : cli_fail(cli, &e);
}

static void budget_line(const char *what, double usd)
{
    char b[32];
    printf("  %-22s %s\n", what, usd >= 0 ? cost_format(usd, b, sizeof b) : "none");
}

static int plan(cli_t *cli, int argc, char **argv)
{
    opts_t o;
    campaign_t c;
    cost_table_t *prices = NULL;
    bulk_t b;
    int64_t slot, t;
    uint64_t candidates = 0;
    double usd = 0;
    char iso[32], h[40], money[32];
    err_t e;
    int rc = parse_opts(cli, argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = cli_open(cli, 0)) != 0)
        return rc;
    bulk_init(&b);
    err_clear(&e);
    if ((rc = load(cli, argv[optind], &o, true, &c, &slot)) != 0)
        goto out;
    if (campaign_candidates(&c, &candidates, &e) != ERR_OK ||
        campaign_build(&c, slot, cli->cfg.model, &b, &e) != ERR_OK ||
        cost_table_default(NULL, &prices, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    bool priced = cost_estimate(&b, NULL, prices, &usd, NULL, &e) == ERR_OK;
    /* A Legacy model's end of life before a planned firing: every firing
     * from then on would fail. */
    int64_t eol = cli_model_end_of_life(cli, c.model), after_eol = 0;
    char eol_s[16], after_s[32];
    if (eol && oncalendar_next(&c.cal, eol - 1, &after_eol, NULL) != ERR_OK)
        after_eol = 0;
    if (after_eol)
        fprintf(stderr, "%s: warning: %s: model %s reaches its end of life on %s, before the "
                "firing at %s; move the campaign to an active model\n", cli->prog, c.path,
                c.model ? c.model : cli->cfg.model, bedrock_catalog_date(eol, eol_s,
                                                                          sizeof eol_s),
                oncalendar_iso(after_eol, after_s, sizeof after_s));
    if (o.json) {
        json_t *next = json_array(), *prompts = json_array();
        t = (int64_t)time(NULL);
        for (int i = 0; i < 5 && oncalendar_next(&c.cal, t, &t, NULL) == ERR_OK; i++)
            json_array_append_new(next, json_string(oncalendar_iso(t, iso, sizeof iso)));
        for (size_t i = 0; i < b.nitems; i++)
            json_array_append_new(prompts, json_string(b.items[i].spec.prompt));
        json_t *v = json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:o, s:s, s:o, s:o}",
                              "campaign", c.name, "schedule", c.schedule, "next", next,
                              "slot", oncalendar_iso(slot, iso, sizeof iso), "batch",
                              b.batch_id, "jobs", (json_int_t)b.nitems, "candidates",
                              (json_int_t)candidates, "estimate_usd",
                              priced ? json_real(usd) : json_null(), "prices",
                              cost_table_source(prices), "prompts", prompts,
                              "budget", json_pack("{s:o, s:o}", "per_firing_usd",
                                  c.budget_firing_usd >= 0 ? json_real(c.budget_firing_usd)
                                                           : json_null(),
                                  "per_month_usd", c.budget_month_usd >= 0
                                      ? json_real(c.budget_month_usd) : json_null()));
        json_object_set_new(v, "model_end_of_life",
                            eol ? json_string(bedrock_catalog_date(eol, eol_s, sizeof eol_s))
                                : json_null());
        json_object_set_new(v, "first_firing_after_end_of_life",
                            after_eol ? json_string(oncalendar_iso(after_eol, after_s,
                                                                   sizeof after_s))
                                      : json_null());
        cli_print_json(v);
        json_decref(v);
        goto out;
    }
    printf("campaign %s (%s)\n", c.name, c.path);
    printf("  schedule               %s (UTC)\n", c.schedule);
    printf("  next firings           ");
    t = (int64_t)time(NULL);
    for (int i = 0; i < 5 && oncalendar_next(&c.cal, t, &t, NULL) == ERR_OK; i++)
        printf("%s%s\n", i ? "                         " : "",
               oncalendar_human(t, h, sizeof h));
    printf("  slot                   %s\n", oncalendar_iso(slot, iso, sizeof iso));
    printf("  batch                  %s\n", b.batch_id);
    printf("  jobs                   %zu of %llu candidates (%s)\n", b.nitems,
           (unsigned long long)candidates,
           c.mode == CAMPAIGN_SAMPLE ? "sampled" : "in order");
    if (priced)
        printf("  estimate               %s (prices: %s)\n", cost_format(usd, money,
               sizeof money), cost_table_source(prices));
    else
        printf("  estimate               unknown: %s\n", e.msg);
    budget_line("budget per firing", c.budget_firing_usd);
    budget_line("budget per month", c.budget_month_usd);
    if (c.webhook_url && (campaign_webhook_origin(c.webhook_url, h, sizeof h), true))
        printf("  webhook                %s/... (delivered by workers, signed with "
               "webhook_secret%s)\n", h, cli->cfg.webhook_secret ? "" : ", not configured now");
    printf("  first prompts\n");
    for (size_t i = 0; i < b.nitems && i < PLAN_SHOW; i++) {
        char shortp[240];
        printf("    %3zu  %s\n", i + 1, cli_ellipsize(b.items[i].spec.prompt, 70, shortp,
                                                    sizeof shortp));
    }
    if (b.nitems > PLAN_SHOW)
        printf("    ... and %zu more\n", b.nitems - PLAN_SHOW);
    if (priced && c.budget_firing_usd >= 0 && usd > c.budget_firing_usd + 1e-9)
        fprintf(stderr, "%s: warning: the estimate is over the per-firing budget; run will "
                "refuse this firing\n", cli->prog);
out:
    cost_table_free(prices);
    bulk_free(&b);
    campaign_free(&c);
    return rc;
}

static int run(cli_t *cli, int argc, char **argv)
{
    opts_t o;
    campaign_t c;
    cost_table_t *prices = NULL;
    campaign_fire_t r;
    int64_t slot;
    char money[32], month[32];
    err_t e;
    int rc = parse_opts(cli, argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = cli_open(cli, CLI_QUEUE | CLI_LEDGER)) != 0)
        return rc;
    err_clear(&e);
    if ((rc = load(cli, argv[optind], &o, false, &c, &slot)) != 0)
        goto out;
    if (cost_table_default(NULL, &prices, &e) != ERR_OK ||
        campaign_fire(&c, slot, cli->cfg.model, cli->cfg.webhook_secret, prices, cli->ledger,
                      cli->queue, &r, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    if (o.json) {
        buf_t j = BUF_INIT;
        if (campaign_fire_json(&c, &r, &j) != ERR_OK) {
            fprintf(stderr, "%s: out of memory\n", cli->prog);
            rc = EX_OSERR;
            buf_free(&j);
            goto out;
        }
        printf("%s\n", (const char *)j.data);
        buf_free(&j);
    } else {
        printf("%s\n", r.batch_id);
    }
    snprintf(month, sizeof month, "%s", r.spend_recorded ? "" : " (spend not recorded)");
    if (r.already)
        fprintf(stderr, "%s: campaign %s slot %s already fired (batch %s): nothing new to "
                "enqueue%s\n", cli->prog, c.name, r.slot, r.batch_id,
                r.sent ? "; re-sent jobs that were never sent" : "");
    else
        fprintf(stderr, "%s: campaign %s slot %s: enqueued %zu of %zu jobs in batch %s, "
                "about %s%s\n", cli->prog, c.name, r.slot, r.sent, r.jobs, r.batch_id,
                cost_format(r.usd, money, sizeof money), month);
    if (c.webhook_url) {
        char origin[300];
        campaign_webhook_origin(c.webhook_url, origin, sizeof origin);
        fprintf(stderr, "%s: webhook: workers deliver the batch's job events and "
                "batch.completed to %s from the outbox (see status %s)\n", cli->prog, origin,
                r.batch_id);
    }
    if (o.wait)
        rc = cli_wait_batch(cli, r.batch_id, o.output, 0, false);
out:
    cost_table_free(prices);
    campaign_free(&c);
    return rc;
}

int cmd_campaign(cli_t *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : 0;
    }
    if (strcmp(argv[1], "plan") == 0)
        return plan(cli, argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return run(cli, argc - 1, argv + 1);
    if (strcmp(argv[1], "install") == 0)
        return cmd_campaign_install(cli, argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown subcommand \"%s\" (plan, run, install)\n", cli->prog, argv[1]);
    return EX_USAGE;
}
