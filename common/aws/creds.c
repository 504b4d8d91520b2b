/* creds — the default chain, the environment source and shared helpers.
 * See creds.h; the other sources live in creds_file.c (shared files),
 * creds_process.c, creds_sts.c, creds_remote.c (container, IMDS) and the
 * cache in creds_cache.c. */
#include "aws/creds.h"
#include "base/buf.h"
#include "base/redact.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void creds_free(creds_t *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    wipe_free(c->secret_access_key);
    wipe_free(c->session_token);
    *c = (creds_t)CREDS_INIT;
}

static char *dup_or_null(const char *s, bool *fail)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *fail = true;
    return d;
}

err_code_t creds_copy(creds_t *dst, const creds_t *src)
{
    bool fail = false;
    creds_t c = CREDS_INIT;

    c.access_key_id = dup_or_null(src->access_key_id, &fail);
    c.secret_access_key = dup_or_null(src->secret_access_key, &fail);
    c.session_token = dup_or_null(src->session_token, &fail);
    c.expiration = src->expiration;
    memcpy(c.source, src->source, sizeof c.source);
    if (fail) {
        creds_free(&c);
        *dst = (creds_t)CREDS_INIT;
        return ERR_NOMEM;
    }
    *dst = c;
    return ERR_OK;
}

const char *creds_env(const creds_options_t *opts, const char *name)
{
    const char *v;
    if (opts && opts->getenv)
        v = opts->getenv(opts->getenv_ctx, name);
    else
        v = getenv(name);
    return v && *v ? v : NULL;
}

int64_t creds_now(const creds_options_t *opts)
{
    if (opts && opts->now)
        return opts->now(opts->now_ctx);
    return (int64_t)time(NULL);
}

err_code_t creds_set(creds_t *out, const char *akid, const char *secret,
                     const char *token, int64_t expiration, const char *source,
                     err_t *err)
{
    creds_t c = CREDS_INIT;
    bool fail = false;

    *out = (creds_t)CREDS_INIT;
    if (!akid || !*akid || !secret || !*secret)
        return err_set(err, ERR_INVALID, "%s: access key id or secret is empty",
                       source);
    if (token && !*token)
        token = NULL;
    /* Register before anything could quote them. */
    redact_add_secret(secret);
    redact_add_secret(token);
    c.access_key_id = dup_or_null(akid, &fail);
    c.secret_access_key = dup_or_null(secret, &fail);
    c.session_token = dup_or_null(token, &fail);
    c.expiration = expiration;
    snprintf(c.source, sizeof c.source, "%s", source);
    if (fail) {
        creds_free(&c);
        return err_set(err, ERR_NOMEM, "%s: out of memory", source);
    }
    *out = c;
    return ERR_OK;
}

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool creds_parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    const char *p = s;
    struct tm tm;

    if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
        *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) ||
        *p++ != ':' || !digits(&p, 2, &sec))
        return false;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (!digits(&p, 2, &om))
            return false;
    } else {
        return false;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60 || oh > 23 || om > 59)
        return false;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm) - sign * (int64_t)(oh * 3600 + om * 60);
    return true;
}

static const char *json_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

err_code_t creds_parse_json(const char *text, size_t len, const char *what,
                            const char *source, creds_t *out, err_t *err)
{
    json_error_t jerr;
    json_t *root;
    const char *akid, *secret, *token, *exp, *code;
    int64_t expiration = 0;
    err_code_t rc;

    *out = (creds_t)CREDS_INIT;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        /* jerr.text can quote the input, which may hold a secret. */
        return err_set(err, ERR_INVALID, "%s: reply is not JSON (line %d column %d)",
                       what, jerr.line, jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(err, ERR_INVALID, "%s: reply is not a JSON object", what);
    }
    code = json_str(root, "Code");
    if (code && strcmp(code, "Success") != 0) {
        char c[64];
        snprintf(c, sizeof c, "%s", code);
        json_decref(root);
        return err_set(err, ERR_AUTH, "%s: Code is \"%s\", not Success", what, c);
    }
    akid = json_str(root, "AccessKeyId");
    secret = json_str(root, "SecretAccessKey");
    token = json_str(root, "SessionToken");
    if (!token)
        token = json_str(root, "Token");
    exp = json_str(root, "Expiration");
    if (secret)
        redact_add_secret(secret);
    if (token)
        redact_add_secret(token);
    if (!akid || !*akid || !secret || !*secret) {
        json_decref(root);
        return err_set(err, ERR_INVALID,
                       "%s: reply lacks AccessKeyId or SecretAccessKey", what);
    }
    if (exp && !creds_parse_time(exp, &expiration)) {
        json_decref(root);
        return err_set(err, ERR_INVALID,
                       "%s: Expiration is not an ISO 8601 time", what);
    }
    if (json_object_get(root, "Expiration") && !exp) {
        json_decref(root);
        return err_set(err, ERR_INVALID, "%s: Expiration is not a string", what);
    }
    rc = creds_set(out, akid, secret, token, expiration, source, err);
    json_decref(root);
    return rc;
}

const char *creds_sts_region(const creds_options_t *opts, const char *role_region)
{
    const char *r;
    if (opts && opts->region && *opts->region)
        return opts->region;
    if ((r = creds_env(opts, "AWS_REGION")) != NULL)
        return r;
    if ((r = creds_env(opts, "AWS_DEFAULT_REGION")) != NULL)
        return r;
    return role_region && *role_region ? role_region : NULL;
}

err_code_t creds_read_small_file(const char *path, size_t max, char **out,
                                 err_t *err)
{
    FILE *fp;
    buf_t b = BUF_INIT;
    char chunk[4096];
    size_t n, start = 0, end;

    *out = NULL;
    fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, ERR_NOINPUT, "%s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (b.len + n > max) {
            fclose(fp);
            buf_free(&b);
            return err_set(err, ERR_TOOBIG, "%s: larger than %zu bytes", path, max);
        }
        if (buf_append(&b, chunk, n) != ERR_OK) {
            fclose(fp);
            buf_free(&b);
            return err_set(err, ERR_NOMEM, "%s: out of memory", path);
        }
    }
    if (ferror(fp)) {
        fclose(fp);
        buf_free(&b);
        return err_set(err, ERR_IO, "%s: read error", path);
    }
    fclose(fp);
    end = b.len;
    while (start < end && strchr(" \t\r\n", b.data[start]))
        start++;
    while (end > start && strchr(" \t\r\n", b.data[end - 1]))
        end--;
    *out = strndup(b.data ? (char *)b.data + start : "", end - start);
    explicit_bzero(b.data, b.len);
    buf_free(&b);
    if (!*out)
        return err_set(err, ERR_NOMEM, "%s: out of memory", path);
    return ERR_OK;
}

err_code_t creds_from_env(const creds_options_t *opts, creds_t *out, err_t *err)
{
    const char *akid = creds_env(opts, "AWS_ACCESS_KEY_ID");
    const char *secret = creds_env(opts, "AWS_SECRET_ACCESS_KEY");
    const char *token = creds_env(opts, "AWS_SESSION_TOKEN");
    int64_t expiration = 0;
    const char *exp = creds_env(opts, "AWS_CREDENTIAL_EXPIRATION");

    *out = (creds_t)CREDS_INIT;
    redact_add_secret(secret);
    redact_add_secret(token);
    if (!akid && !secret)
        return err_set(err, ERR_NOTFOUND, "AWS_ACCESS_KEY_ID not set");
    if (!akid || !secret)
        return err_set(err, ERR_CONFIG, "environment: %s is set but %s is not",
                       akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                       akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (exp && !creds_parse_time(exp, &expiration))
        return err_set(err, ERR_CONFIG,
                       "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
    return creds_set(out, akid, secret, token, expiration, CREDS_SRC_ENV, err);
}

typedef err_code_t (*source_fn)(const creds_options_t *, creds_t *, err_t *);

err_code_t creds_resolve(const creds_options_t *opts, creds_t *out, err_t *err)
{
    static const struct {
        const char *name;
        source_fn fn;
        bool last;   /* any failure of the last source just ends the chain */
    } chain[] = {
        {"environment", creds_from_env, false},
        {"shared files", creds_from_profile, false},
        {"web identity", creds_from_web_identity, false},
        {"container", creds_from_container, false},
        {"imds", creds_from_imds, true},
    };
    creds_options_t defaults;
    char tried[sizeof err->msg];
    size_t used = 0;
    err_t e;

    if (!opts) {
        memset(&defaults, 0, sizeof defaults);
        opts = &defaults;
    }
    *out = (creds_t)CREDS_INIT;
    tried[0] = '\0';
    for (size_t i = 0; i < sizeof chain / sizeof *chain; i++) {
        err_clear(&e);
        err_code_t rc = chain[i].fn(opts, out, &e);
        if (rc == ERR_OK)
            return ERR_OK;
        if (rc != ERR_NOTFOUND && !chain[i].last) {
            if (err)
                *err = e;
            return rc;
        }
        int n = snprintf(tried + used, sizeof tried - used, "%s%s (%s)",
                         used ? "; " : "", chain[i].name, e.msg);
        if (n > 0)
            used = used + (size_t)n < sizeof tried ? used + (size_t)n
                                                  : sizeof tried - 1;
    }
    return err_set(err, ERR_AUTH, "no AWS credentials found; tried %s", tried);
}
