/* cli_manifest — a batch's results manifest, written by `wait --output` and
 * `submit --wait --output`: one row per job with what went in (the input
 * line, the job id, the spec's fields and tags) beside what came out (state,
 * URL, error, attempts), so a catalogue in gives a catalogue out.
 *
 * JSONL (the default): {"line", "id", "batch", "tags", "state", "url",
 * "error", "attempts"} a line, and "renditions" (store_renditions.h) for a
 * finished job that has them.  CSV (a path ending in ".csv"): "line", "id",
 * the spec fields any job has (in the bulk reader's column names, so
 * "prompt", "title", ...), a "tags.KEY" column per tag key in first-seen
 * order, then "state", "url", "error", "attempts". */
#include "base/csv.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

/* The spec fields a CSV manifest can carry, in the spec's canonical order
 * ("id" is the job id, its own column). */
static const char *const spec_cols[] = {
    "prompt", "negative_prompt", "model", "aspect_ratio", "seed",
    "output_format", "title", "tagline", "credits", "layout",
};
#define NSPEC (sizeof spec_cols / sizeof *spec_cols)

/* Each job's spec parsed (NULL when unparseable: its row leaves the spec
 * columns empty). */
typedef struct {
    ledger_job_t *jobs;
    json_t **specs;
    size_t n;
    cli_t *cli;              /* for the renditions' URLs */
} rows_t;

static json_t *row_tags(const rows_t *r, size_t i)
{
    json_t *t = r->specs[i] ? json_object_get(r->specs[i], "tags") : NULL;
    return json_is_object(t) ? t : NULL;
}

static json_t *error_json(const ledger_job_t *j)
{
    if (!j->error_code && !j->error_message)
        return json_null();
    return json_pack("{s:s, s:s}", "code", j->error_code ? j->error_code : "", "message",
                     j->error_message ? j->error_message : "");
}

static err_code_t jsonl(const rows_t *r, buf_t *out)
{
    err_code_t rc = ERR_OK;
    for (size_t i = 0; i < r->n && rc == ERR_OK; i++) {
        const ledger_job_t *j = &r->jobs[i];
        json_t *tags = row_tags(r, i);
        tags = tags ? json_incref(tags) : json_object();
        json_t *o = json_pack("{s:o, s:s, s:s, s:o, s:s, s:o, s:o, s:i}",
                              "line", j->line > 0 ? json_integer(j->line) : json_null(),
                              "id", j->job_id, "batch", j->batch_id,
                              "tags", tags,
                              "state", job_state_name(j->state),
                              "url", j->url ? json_string(j->url) : json_null(),
                              "error", error_json(j), "attempts", j->attempts);
        json_t *rd = o ? cli_job_renditions(r->cli, j) : NULL;
        if (rd)
            json_object_set_new(o, "renditions", rd);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!s)
            return ERR_NOMEM;
        rc = buf_append_str(out, s);
        if (rc == ERR_OK)
            rc = buf_append(out, "\n", 1);
        free(s);
    }
    return rc;
}

/* A spec value as CSV text: strings as they are, integers in decimal, into
 * num when needed.  NULL for absent or other values. */
static const char *cell(json_t *v, char *num, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(num, cap, "%lld", (long long)json_integer_value(v));
        return num;
    }
    return NULL;
}

/* The tag keys of every row, first-seen order (keys within a row come
 * sorted: the canonical spec sorts them).  Borrowed from the specs. */
static err_code_t tag_keys(const rows_t *r, const char ***keys, size_t *nkeys)
{
    size_t cap = 0;
    *keys = NULL;
    *nkeys = 0;
    for (size_t i = 0; i < r->n; i++) {
        json_t *tags = row_tags(r, i), *v;
        const char *k;
        if (!tags)
            continue;
        json_object_foreach(tags, k, v) {
            size_t at = 0;
            while (at < *nkeys && strcmp((*keys)[at], k))
                at++;
            if (at < *nkeys)
                continue;
            if (*nkeys == cap) {
                cap = cap ? cap * 2 : 8;
                const char **grown = realloc(*keys, cap * sizeof *grown);
                if (!grown)
                    return ERR_NOMEM;
                *keys = grown;
            }
            (*keys)[(*nkeys)++] = k;
        }
    }
    return ERR_OK;
}

static err_code_t csv(const rows_t *r, buf_t *out)
{
    bool has[NSPEC] = {false};
    const char **keys = NULL, **f = NULL;
    char **names = NULL;
    size_t nkeys = 0, ncols = 0;
    err_code_t rc = tag_keys(r, &keys, &nkeys);

    for (size_t i = 0; i < r->n; i++)
        for (size_t c = 0; c < NSPEC; c++)
            has[c] = has[c] || (r->specs[i] && json_object_get(r->specs[i], spec_cols[c]));
    if (rc == ERR_OK && (!(f = calloc(2 + NSPEC + nkeys + 4, sizeof *f)) ||
                         !(names = calloc(nkeys ? nkeys : 1, sizeof *names))))
        rc = ERR_NOMEM;
    for (size_t k = 0; k < nkeys && rc == ERR_OK; k++) {
        size_t len = strlen(keys[k]) + 6;
        if (!(names[k] = malloc(len)))
            rc = ERR_NOMEM;
        else
            snprintf(names[k], len, "tags.%s", keys[k]);
    }
    if (rc == ERR_OK) {
        f[ncols++] = "line";
        f[ncols++] = "id";
        for (size_t c = 0; c < NSPEC; c++)
            if (has[c])
                f[ncols++] = spec_cols[c];
        for (size_t k = 0; k < nkeys; k++)
            f[ncols++] = names[k];
        f[ncols++] = "state";
        f[ncols++] = "url";
        f[ncols++] = "error";
        f[ncols++] = "attempts";
        rc = csv_write_record(out, f, ncols);
    }
    for (size_t i = 0; i < r->n && rc == ERR_OK; i++) {
        const ledger_job_t *j = &r->jobs[i];
        char line[24], attempts[24], nums[NSPEC][24], *err = NULL;
        size_t at = 0;
        json_t *tags = row_tags(r, i);

        snprintf(line, sizeof line, "%d", j->line);
        snprintf(attempts, sizeof attempts, "%d", j->attempts);
        f[at++] = j->line > 0 ? line : "";
        f[at++] = j->job_id;
        for (size_t c = 0; c < NSPEC; c++)
            if (has[c])
                f[at++] = r->specs[i] ? cell(json_object_get(r->specs[i], spec_cols[c]),
                                             nums[c], sizeof nums[c]) : NULL;
        for (size_t k = 0; k < nkeys; k++)
            f[at++] = tags ? json_string_value(json_object_get(tags, keys[k])) : NULL;
        f[at++] = job_state_name(j->state);
        f[at++] = j->url;
        if (j->error_code && j->error_message) {
            size_t len = strlen(j->error_code) + strlen(j->error_message) + 3;
            if (!(err = malloc(len))) {
                rc = ERR_NOMEM;
                break;
            }
            snprintf(err, len, "%s: %s", j->error_code, j->error_message);
        }
        f[at++] = err ? err : j->error_code ? j->error_code : j->error_message;
        f[at++] = attempts;
        rc = csv_write_record(out, f, at);
        free(err);
    }
    for (size_t k = 0; names && k < nkeys; k++)
        free(names[k]);
    free(names);
    free(f);
    free(keys);
    return rc;
}

/* Writes data to path through a temporary file and a rename, so a reader
 * never sees half a manifest.  Returns 0 or an exit status (printed). */
static int write_atomic(const char *path, const buf_t *data)
{
    char tmp[4096];
    FILE *fp;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp) {
        fprintf(stderr, "%s: path too long\n", path);
        return EX_CANTCREAT;
    }
    if (!(fp = fopen(tmp, "w"))) {
        perror(path);
        return EX_CANTCREAT;
    }
    if ((data->len && fwrite(data->data, 1, data->len, fp) != data->len) || fflush(fp) != 0 ||
        fsync(fileno(fp)) != 0) {
        perror(path);
        fclose(fp);
        unlink(tmp);
        return EX_IOERR;
    }
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        perror(path);
        unlink(tmp);
        return EX_IOERR;
    }
    return 0;
}

static bool is_csv(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && !strcasecmp(path + n - 4, ".csv");
}

int cli_write_manifest(cli_t *cli, const char *batch_id, const char *path)
{
    ledger_filter_t filter = {.batch_id = batch_id, .state = -1};
    rows_t r = {.cli = cli};
    buf_t out = BUF_INIT;
    err_t e;
    err_code_t rc = ERR_OK;
    int status = 0;

    err_clear(&e);
    if (ledger_list(cli->ledger, &filter, &r.jobs, &r.n, &e) != ERR_OK)
        return cli_fail(cli, &e);
    if (r.n && !(r.specs = calloc(r.n, sizeof *r.specs)))
        rc = ERR_NOMEM;
    for (size_t i = 0; i < r.n && rc == ERR_OK; i++)
        if (r.jobs[i].spec_json)
            r.specs[i] = json_loads(r.jobs[i].spec_json, 0, NULL);
    if (rc == ERR_OK)
        rc = strcmp(path, "-") && is_csv(path) ? csv(&r, &out) : jsonl(&r, &out);
    if (rc != ERR_OK) {
        fprintf(stderr, "%s: %s: %s\n", cli->prog, path,
                rc == ERR_NOMEM ? "out of memory" : "a field cannot be written as CSV");
        status = rc == ERR_NOMEM ? EX_OSERR : EX_DATAERR;
    } else if (strcmp(path, "-") == 0) {
        if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len)
            status = EX_IOERR;
    } else {
        status = write_atomic(path, &out);
    }
    for (size_t i = 0; r.specs && i < r.n; i++)
        json_decref(r.specs[i]);
    free(r.specs);
    ledger_jobs_free(r.jobs, r.n);
    buf_free(&out);
    return status;
}
