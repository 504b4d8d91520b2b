/* quota — the worker's shared-quota clients (see quota.h).
 *
 * --rpm and the shared quota are separate limits, both applied: --rpm is
 * this worker's own ceiling (its local bucket, ratelimit.c), the quota the
 * account's, which every worker with a quota takes its tokens from. */
#include "worker.h"
#include "quota.h"

#include "base/log.h"
#include "jobs/quota_bucket.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int worker_quota_open(worker_t *w, err_t *err)
{
    char owner[QUOTA_OWNER_MAX];
    size_t idlen = strlen(w->reg.id);

    err_clear(err);

    if (w->quota.flag_rpm > 0)
        w->cfg.quota_rpm = w->quota.flag_rpm;
    /* The registry id, or its tail (pid and random part) when long. */
    snprintf(owner, sizeof owner, "%s",
             idlen < sizeof owner ? w->reg.id : w->reg.id + idlen - (sizeof owner - 1));
    char *list = strdup(w->models ? w->models : "");
    if (!list) {
        err_set(err, ERR_NOMEM, "out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        double rpm = config_quota_rpm(&w->cfg, m);
        if (!(rpm > 0) || strcmp(m, "draft") == 0)
            continue;
        if (w->quota.n == WORKER_QUOTA_MAX) {
            err_set(err, ERR_CONFIG, "quota: more than %d models with a shared quota",
                    WORKER_QUOTA_MAX);
            break;
        }
        if (!w->quota.ledger) {
            if (!(w->quota.ledger = ledger_open(w->cfg.ledger, err)))
                break;
            if (!ledger_has_quota(w->quota.ledger)) {
                err_set(err, ERR_CONFIG, "quota: the ledger %s keeps no shared quota",
                        w->cfg.ledger);
                break;
            }
        }
        if (!(w->quota.q[w->quota.n] = quota_shared_new(w->quota.ledger, m, rpm, owner, NULL, NULL))) {
            err_set(err, ERR_NOMEM, "out of memory");
            break;
        }
        w->quota.n++;
        log_info("quota_shared", "model=%s quota_rpm=%g owner=%s", m, rpm, owner);
    }
    free(list);
    return err->code == ERR_OK ? 0 : -1;
}

quota_shared_t *worker_quota_for(worker_t *w, const char *model)
{
    if (!model)
        model = w->cfg.model ? w->cfg.model : "draft";
    for (int i = 0; i < w->quota.n; i++)
        if (strcmp(quota_shared_key(w->quota.q[i]), model) == 0)
            return w->quota.q[i];
    return NULL;
}

double worker_quota_rpm(quota_shared_t *q)
{
    quota_shared_stats_t st;
    if (!q)
        return 0;
    quota_shared_stats(q, &st);
    return st.rate;
}

void worker_quota_idle(worker_t *w)
{
    for (int i = 0; i < w->quota.n; i++) {
        err_t e;
        err_clear(&e);
        quota_shared_settle(w->quota.q[i], &e);
        if (e.code != ERR_OK)
            log_warn("quota_failed", "model=%s error=\"%s\"", quota_shared_key(w->quota.q[i]),
                     e.msg);
    }
}

void worker_quota_close(worker_t *w)
{
    for (int i = 0; i < w->quota.n; i++) {
        quota_shared_stats_t st;
        quota_shared_stats(w->quota.q[i], &st);
        if (st.reads > 0)
            log_info("quota_stats", "model=%s granted=%lld ledger_reads=%lld "
                     "ledger_writes=%lld conflicts=%lld errors=%lld shared_rpm=%.1f "
                     "quota_rpm=%.1f cuts=%lld", quota_shared_key(w->quota.q[i]),
                     (long long)st.granted, (long long)st.reads, (long long)st.takes,
                     (long long)st.conflicts, (long long)st.errors, st.rate, st.ceiling,
                     (long long)st.cuts);
        quota_shared_free(w->quota.q[i]);
    }
    w->quota.n = 0;
    ledger_close(w->quota.ledger);
    w->quota.ledger = NULL;
}

static void put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len >= cap)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len = *len + (size_t)k < cap ? *len + (size_t)k : cap;
}

void worker_quota_metrics(worker_t *w, char *out, size_t cap, size_t *len)
{
    if (w->quota.n == 0)
        return;
    static const struct { const char *name, *type, *help; } fam[] = {
        {"onesheet_quota_shared_rpm", "gauge",
         "The shared quota's rate now (every worker's), calls a minute."},
        {"onesheet_quota_ceiling_rpm", "gauge", "The account's quota, calls a minute."},
        {"onesheet_quota_cuts_total", "counter", "429 cuts of the shared rate (all workers)."},
        {"onesheet_quota_granted_total", "counter", "Tokens this worker was granted."},
        {"onesheet_quota_ledger_reads_total", "counter", "Bucket reads this worker made."},
        {"onesheet_quota_ledger_writes_total", "counter", "Bucket writes this worker made."},
        {"onesheet_quota_conflicts_total", "counter", "Bucket writes lost to another worker."},
        {"onesheet_quota_errors_total", "counter", "Bucket reads or writes that failed."},
    };
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        put(out, cap, len, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help,
            fam[f].name, fam[f].type);
        for (int i = 0; i < w->quota.n; i++) {
            quota_shared_stats_t st;
            quota_shared_stats(w->quota.q[i], &st);
            double v[] = {st.rate, st.ceiling, (double)st.cuts, (double)st.granted,
                          (double)st.reads, (double)st.takes, (double)st.conflicts, (double)st.errors};
            put(out, cap, len, "%s{model=\"%s\"} %.2f\n", fam[f].name,
                quota_shared_key(w->quota.q[i]), v[f]);
        }
    }
}
