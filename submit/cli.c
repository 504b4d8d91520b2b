/* cli — see cli.h. */
#include "cli.h"
#include "base/termesc.h"
#include "ledger/ledger_backends.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

int cli_open(cli_t *cli, unsigned need)
{
    err_t e;
    err_clear(&e);
    if (config_load(&cli->cfg, cli->config_path, NULL, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (config_prepare_state(&cli->cfg, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if ((need & CLI_LEDGER_IF_EXISTS) && !(need & CLI_LEDGER) &&
        ledger_exists(cli->cfg.ledger))
        need |= CLI_LEDGER;
    if ((need & CLI_LEDGER) && !(cli->ledger = ledger_open(cli->cfg.ledger, &e)))
        return cli_fail(cli, &e);
    if ((need & CLI_QUEUE) && !(cli->queue = queue_open(cli->cfg.queue, &e)))
        return cli_fail(cli, &e);
    queue_apply_max_receives(cli->queue, cli->cfg.queue, cli->cfg.max_receives);
    if ((need & CLI_STORE) && !(cli->store = store_open(cli->cfg.store, &e)))
        return cli_fail(cli, &e);
    return 0;
}

void cli_close(cli_t *cli)
{
    store_close(cli->store);
    queue_close(cli->queue);
    ledger_close(cli->ledger);
    config_free(&cli->cfg);
    cli->store = NULL;
    cli->queue = NULL;
    cli->ledger = NULL;
}

int cli_fail(const cli_t *cli, const err_t *e)
{
    char msg[sizeof e->msg * 2];

    /* Messages quote ids, file names, keys and prompts: escape what could
     * drive the terminal.  Out of memory is the system's failure (71), not
     * a bug in onesheet (70) nor a missing input (66). */
    term_escape(e->msg, msg, sizeof msg);
    fprintf(stderr, "%s: %s\n", cli->prog ? cli->prog : "onesheet", msg);
    return e->code == ERR_NOMEM ? EX_OSERR : err_exit_status(e->code);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

json_t *cli_job_json(const ledger_job_t *j)
{
    json_t *o = json_object();
    set_str(o, "batch", j->batch_id);
    set_str(o, "id", j->job_id);
    set_str(o, "state", job_state_name(j->state));
    json_object_set_new(o, "attempts", json_integer(j->attempts));
    if (j->line)
        json_object_set_new(o, "line", json_integer(j->line));
    if (j->spec_json) {
        json_t *spec = json_loads(j->spec_json, 0, NULL);
        if (spec)
            json_object_set_new(o, "spec", spec);
    }
    set_str(o, "url", j->url);
    set_str(o, "sha256", j->sha256);
    set_str(o, "checksum_alg", j->checksum_alg);
    set_str(o, "checksum", j->checksum);
    set_str(o, "art_key", j->art_key);
    if (j->art_key && j->store_key)
        json_object_set_new(o, "art_is_poster",
                            json_boolean(strcmp(j->art_key, j->store_key) == 0));
    if (j->bytes)
        json_object_set_new(o, "bytes", json_integer(j->bytes));
    if (j->state == JOB_SUCCEEDED)
        json_object_set_new(o, "seed", json_integer(j->seed));
    set_str(o, "model", j->model);
    set_str(o, "model_lifecycle", j->model_lifecycle);   /* issue 23 */
    json_t *err = ledger_job_error_json(j);
    if (err)
        json_object_set_new(o, "error", err);
    if (j->created_ms)
        json_object_set_new(o, "created_ms", json_integer(j->created_ms));
    if (j->started_ms)
        json_object_set_new(o, "started_ms", json_integer(j->started_ms));
    if (j->finished_ms)
        json_object_set_new(o, "finished_ms", json_integer(j->finished_ms));
    set_str(o, "finished_by", j->finished_by);
    /* Retry (issue 17): the current run, and every run when there was more
     * than one (the history is read by get_jobs, not by list). */
    json_object_set_new(o, "run", json_integer(j->run > 0 ? j->run : 1));
    if (j->nhistory) {
        json_t *runs = ledger_job_runs_json(j);
        if (runs)
            json_object_set_new(o, "runs", runs);
    }
    return o;
}

void cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
}

const char *cli_ellipsize(const char *s, size_t n, char *out, size_t cap)
{
    size_t chars = 0, o = 0;
    char safe[1024];

    /* Line breaks and tabs read as spaces in a table; every other control
     * (and a bidi override) is escaped first, so it is counted as shown. */
    if (s && !term_safe(s)) {
        size_t k = 0;
        char flat[512];
        for (; s[k] && k + 1 < sizeof flat; k++)
            flat[k] = (s[k] == '\n' || s[k] == '\t') ? ' ' : s[k];
        flat[k] = '\0';
        term_escape(flat, safe, sizeof safe);
        s = safe;
    }
    const unsigned char *p = (const unsigned char *)(s ? s : "");

    while (*p && o + 8 < cap) {
        if ((*p & 0xC0) != 0x80) {
            if (chars == n) {
                /* Replace the tail with an ellipsis. */
                while (o > 0 && chars > n - 1) {
                    o--;
                    if (((unsigned char)out[o] & 0xC0) != 0x80)
                        chars--;
                }
                memcpy(out + o, "\xe2\x80\xa6", 3);
                o += 3;
                break;
            }
            chars++;
        }
        out[o++] = (*p == '\n' || *p == '\t') ? ' ' : (char)*p;
        p++;
    }
    /* Pad to n columns: printf's widths count bytes, not characters. */
    while (chars < n && o + 1 < cap) {
        out[o++] = ' ';
        chars++;
    }
    out[o] = '\0';
    return out;
}

const char *cli_shown(const char *s, char *out, size_t cap)
{
    term_escape(s, out, cap);
    return out;
}

const char *cli_job_prompt(const ledger_job_t *j)
{
    static char text[512];
    json_t *spec = j->spec_json ? json_loads(j->spec_json, 0, NULL) : NULL;
    const char *p = spec ? json_string_value(json_object_get(spec, "prompt")) : NULL;
    snprintf(text, sizeof text, "%s", p ? p : "");
    json_decref(spec);
    return text;
}

int cli_read_limited(FILE *fp, long long max, char **data, size_t *len)
{
    struct stat st;
    size_t cap = 1 << 16, n = 0, limit = (size_t)max;
    char *d;

    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
        if (st.st_size > max)
            return 1;
        cap = (size_t)st.st_size + 1;
    }
    if (!(d = malloc(cap)))
        return -1;
    for (;;) {
        if (n + 1 >= cap) {
            /* Room for one byte past the limit, to tell "exactly max" from
             * "more than max". */
            size_t ncap = cap > limit / 2 ? limit + 2 : cap * 2;
            char *nd = ncap > cap ? realloc(d, ncap) : NULL;
            if (!nd) {
                free(d);
                if (ncap <= cap)
                    return 1;
                errno = ENOMEM;
                return -1;
            }
            d = nd;
            cap = ncap;
        }
        size_t got = fread(d + n, 1, cap - 1 - n, fp);
        n += got;
        if (n > limit) {
            free(d);
            return 1;
        }
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        int saved = errno;
        free(d);
        errno = saved;
        return -1;
    }
    d[n] = '\0';
    *data = d;
    *len = n;
    return 0;
}

