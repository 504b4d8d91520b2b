/* config — see config.h. */
#include "setup/config.h"
#include "engine/engine_backends.h"
#include "engine/engine_serves.h"
#include "jobs/webhook.h"
#include "ledger/ledger_backends.h"
#include "queue/queue_backends.h"
#include "store/store_backends.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dupf(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, fmt, a, b ? b : "");
    return s;
}

static err_code_t replace(char **slot, const char *value, err_t *err)
{
    char *copy = strdup(value);
    if (!copy)
        return err_set(err, ERR_NOMEM, "out of memory");
    free(*slot);
    *slot = copy;
    return ERR_OK;
}

static err_code_t parse_long(const char *value, long lo, long hi, long *out,
                             const char *key, const char *origin, err_t *err)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < lo || v > hi)
        return err_set(err, ERR_CONFIG, "%s: %s: must be an integer from %ld to %ld, got \"%s\"",
                       origin, key, lo, hi, value);
    *out = v;
    return ERR_OK;
}

/* "http://" or "https://", a host of letters, digits, '.', '-', ':', '['
 * and ']', then an optional path of URL-safe characters not ending in
 * '/': what onesheet-api may put in front of "/files/..." verbatim. */
static bool public_url_valid(const char *v)
{
    const char *p = strncmp(v, "http://", 7) == 0    ? v + 7
                    : strncmp(v, "https://", 8) == 0 ? v + 8
                                                     : NULL;
    if (!p || !*p || *p == '/')
        return false;
    for (; *p && *p != '/'; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
            return false;
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/-._~", *p))
            return false;
    return v[strlen(v) - 1] != '/';
}

/* A comma-separated list of 64-hex-digit digests, spaces around commas
 * allowed; empty means no keys. */
static bool valid_key_hashes(const char *v)
{
    const char *p = v;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return true;
    for (;;) {
        size_t n = 0;
        while (isspace((unsigned char)*p))
            p++;
        while (isxdigit((unsigned char)p[n]))
            n++;
        if (n != 64)
            return false;
        p += n;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return true;
        if (*p++ != ',')
            return false;
    }
}

/* A quota in calls a minute: a number above 0 and up to
 * CONFIG_QUOTA_RPM_MAX. */
static err_code_t parse_quota(const char *value, const char *key, const char *origin,
                              double *out, err_t *err)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end || !(v > 0) || v > CONFIG_QUOTA_RPM_MAX)
        return err_set(err, ERR_CONFIG, "%s: %s: expected calls a minute above 0 and up "
                       "to %.0f, got \"%s\"", origin, key, CONFIG_QUOTA_RPM_MAX, value);
    *out = v;
    return ERR_OK;
}

/* quota_rpm.MODEL = N: recorded as a "MODEL=N" line of c->quota_models. */
static err_code_t set_model_quota(config_t *c, const char *key, const char *value,
                                  const char *origin, err_t *err)
{
    const char *model = key + 10;
    double v;
    if (!*model || strlen(model) > 200 || strpbrk(model, "=\n, \t"))
        return err_set(err, ERR_CONFIG, "%s: %s: expected quota_rpm.MODEL with a model id "
                       "after the dot", origin, key);
    if (parse_quota(value, key, origin, &v, err) != ERR_OK)
        return ERR_CONFIG;
    size_t have = c->quota_models ? strlen(c->quota_models) : 0;
    size_t need = have + strlen(model) + 40;
    char *m = realloc(c->quota_models, need);
    if (!m)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(m + have, need - have, "%s=%.17g\n", model, v);
    c->quota_models = m;
    return ERR_OK;
}

double config_quota_rpm(const config_t *c, const char *model)
{
    double v = c->quota_rpm;
    size_t ml = model ? strlen(model) : 0;
    for (const char *p = c->quota_models; model && p && *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        if ((size_t)(nl - p) > ml && strncmp(p, model, ml) == 0 && p[ml] == '=')
            v = strtod(p + ml + 1, NULL);   /* the last line for the model wins (a file refuses a second one) */
        p = nl + 1;
    }
    return v;
}

err_code_t config_set(config_t *c, const char *key, const char *value,
                      const char *origin, err_t *err)
{
    long v;

    if (strcmp(key, "queue") == 0) {
        if (!queue_backend_check(value, err))
            return err_prefix(err, "%s", origin);
        return replace(&c->queue, value, err);
    }
    if (strcmp(key, "ledger") == 0) {
        if (!ledger_backend_check(value, err))
            return err_prefix(err, "%s", origin);
        return replace(&c->ledger, value, err);
    }
    if (strcmp(key, "store") == 0) {
        if (!store_backend_check(value, err))
            return err_prefix(err, "%s", origin);
        return replace(&c->store, value, err);
    }
    if (strcmp(key, "model") == 0) {
        if (!engine_backend_check(value, err))
            return err_prefix(err, "%s", origin);
        return replace(&c->model, value, err);
    }
    if (strcmp(key, "state_dir") == 0) {
        if (!*value)
            return err_set(err, ERR_CONFIG, "%s: state_dir: must not be empty", origin);
        return replace(&c->state_dir, value, err);
    }
    if (strcmp(key, "url_ttl") == 0) {
        if (parse_long(value, 1, 604800, &v, key, origin, err))
            return ERR_CONFIG;
        c->url_ttl = v;
        return ERR_OK;
    }
    if (strcmp(key, "checksum") == 0) {
        store_sum_alg_t alg;
        if (store_sum_alg_parse(value, &alg) != ERR_OK)
            return err_set(err, ERR_CONFIG, "%s: checksum: expected crc64nvme or sha256, "
                           "got \"%s\"", origin, value);
        c->checksum = (int)alg;
        return ERR_OK;
    }
    if (strcmp(key, "max_receives") == 0) {
        if (parse_long(value, 1, 1000, &v, key, origin, err))
            return ERR_CONFIG;
        c->max_receives = (int)v;
        return ERR_OK;
    }
    if (strcmp(key, "visibility_timeout") == 0) {
        if (parse_long(value, 1, 43200, &v, key, origin, err))
            return ERR_CONFIG;
        c->visibility_timeout = (int)v;
        return ERR_OK;
    }
    if (strcmp(key, "log_level") == 0) {
        if (strcmp(value, "debug") && strcmp(value, "info") &&
            strcmp(value, "warn") && strcmp(value, "error"))
            return err_set(err, ERR_CONFIG,
                           "%s: log_level: expected debug, info, warn or error, got \"%s\"",
                           origin, value);
        return replace(&c->log_level, value, err);
    }
    if (strcmp(key, "log_json") == 0) {
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            c->log_json = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            c->log_json = false;
        else
            return err_set(err, ERR_CONFIG, "%s: log_json: expected true or false, got \"%s\"",
                           origin, value);
        return ERR_OK;
    }
    if (strcmp(key, "api_keys") == 0) {
        if (!valid_key_hashes(value))
            return err_set(err, ERR_CONFIG,
                           "%s: api_keys: expected comma-separated SHA-256 hex digests "
                           "(64 hex digits each, e.g. from `printf %%s KEY | sha256sum`)",
                           origin);
        return replace(&c->api_keys, value, err);
    }
    if (strcmp(key, "models") == 0) {
        if (engine_models_check(value, err) != ERR_OK)
            return err_prefix(err, "%s", origin);
        return replace(&c->models, value, err);
    }
    if (strcmp(key, "webhook_secret") == 0) {
        webhook_key_t k;
        char what[640];
        snprintf(what, sizeof what, "%s: webhook_secret", origin);
        if (webhook_key_parse(value, what, &k, err) != ERR_OK)
            return ERR_CONFIG;
        return replace(&c->webhook_secret, value, err);
    }
    if (strcmp(key, "webhook_retry_for") == 0) {
        if (parse_long(value, 1, 2592000, &v, key, origin, err))
            return ERR_CONFIG;
        c->webhook_retry_for = v;
        return ERR_OK;
    }
    if (strcmp(key, "max_input_bytes") == 0) {
        char *end;
        errno = 0;
        long long n = strtoll(value, &end, 10);
        if (errno || end == value || *end || n < 1 || n > CONFIG_MAX_INPUT_BYTES_MAX)
            return err_set(err, ERR_CONFIG,
                           "%s: max_input_bytes: must be an integer from 1 to %lld, got \"%s\"",
                           origin, CONFIG_MAX_INPUT_BYTES_MAX, value);
        c->max_input_bytes = n;
        return ERR_OK;
    }
    if (strcmp(key, "public_url") == 0) {
        if (!public_url_valid(value))
            return err_set(err, ERR_CONFIG,
                           "%s: public_url: expected http://HOST[:PORT][/PATH] or "
                           "https://..., without query, fragment or trailing /, got \"%s\"",
                           origin, value);
        return replace(&c->public_url, value, err);
    }
    if (strcmp(key, "quota_rpm") == 0)
        return parse_quota(value, key, origin, &c->quota_rpm, err);
    if (strncmp(key, "quota_rpm.", 10) == 0)
        return set_model_quota(c, key, value, origin, err);
    if (strcmp(key, "model_lifecycle") == 0) {
        if (strcmp(value, "on") && strcmp(value, "off"))
            return err_set(err, ERR_CONFIG, "%s: model_lifecycle: expected on or off, got "
                           "\"%s\"", origin, value);
        c->model_lifecycle_off = strcmp(value, "off") == 0;
        return ERR_OK;
    }
    if (strcmp(key, "model_list_ttl") == 0) {
        if (parse_long(value, 60, 604800, &v, key, origin, err))
            return ERR_CONFIG;
        c->model_list_ttl = v;
        return ERR_OK;
    }
    return err_set(err, ERR_CONFIG, "%s: unknown key \"%s\"", origin, key);
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* The keys a config file has set, so a second setting of one is refused
 * rather than silently winning.  Every known key is far shorter than
 * SEEN_KEY_MAX and there are fewer than SEEN_MAX of them; an unknown key is
 * refused by config_set before it would be recorded. */
enum { SEEN_MAX = 64, SEEN_KEY_MAX = 256 };   /* quota_rpm.MODEL keys are long */
struct seen_keys {
    char key[SEEN_MAX][SEEN_KEY_MAX];
    size_t line[SEEN_MAX];
    size_t n;
};

/* Returns the line that already set key, or 0 after recording it at line. */
static size_t seen_keys_add(struct seen_keys *k, const char *key, size_t line)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->key[i], key) == 0)
            return k->line[i];
    if (k->n < SEEN_MAX && strlen(key) < SEEN_KEY_MAX) {
        memcpy(k->key[k->n], key, strlen(key) + 1);
        k->line[k->n++] = line;
    }
    return 0;
}

static err_code_t load_file(config_t *c, const char *path, err_t *err)
{
    FILE *fp = fopen(path, "r");
    char line[4096], origin[600];
    size_t lineno = 0, first;
    struct seen_keys seen = {.n = 0};
    struct stat st;

    if (!fp)
        return err_set(err, ERR_CONFIG, "%s: cannot read: %s", path, strerror(errno));
    /* fopen() opens a directory for reading on Linux and fgets() then
     * simply ends, which read as an empty config. */
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return err_set(err, ERR_CONFIG, "%s: is a directory; give the config file itself",
                       path);
    }
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        snprintf(origin, sizeof origin, "%s:%zu", path, lineno);
        /* fgets stops at the newline, not at a NUL, so a line whose newline
         * comes after a NUL byte looked "too long"; say what it is. */
        size_t len = strlen(line);
        if (len + 1 < sizeof line && !feof(fp) && (len == 0 || line[len - 1] != '\n')) {
            fclose(fp);
            return err_set(err, ERR_CONFIG, "%s: NUL byte in the line", origin);
        }
        if (!strchr(line, '\n') && !feof(fp)) {
            fclose(fp);
            return err_set(err, ERR_CONFIG, "%s: line too long", origin);
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fclose(fp);
            return err_set(err, ERR_CONFIG, "%s: expected \"key = value\"", origin);
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        if (!*key) {
            fclose(fp);
            return err_set(err, ERR_CONFIG, "%s: missing key before \"=\"", origin);
        }
        if ((first = seen_keys_add(&seen, key, lineno)) != 0) {
            fclose(fp);
            return err_set(err, ERR_CONFIG, "%s: duplicate key \"%s\" (first set on line %zu)",
                           origin, key, first);
        }
        if (config_set(c, key, value, origin, err) != ERR_OK) {
            fclose(fp);
            return ERR_CONFIG;
        }
    }
    if (ferror(fp)) {
        fclose(fp);
        return err_set(err, ERR_CONFIG, "%s: cannot read: %s", path, strerror(errno));
    }
    fclose(fp);
    return replace(&c->config_path, path, err);
}

static const char *env_or_null(config_getenv_fn ge, const char *name)
{
    const char *v = ge(name);
    return v && *v ? v : NULL;
}

/* Every key a config file may set, with the environment variable that
 * sets it; config_key() lists it for the manual page onesheet.conf(5). */
static const struct { const char *env, *key; } envmap[] = {
    {"ONESHEET_STATE_DIR", "state_dir"}, {"ONESHEET_QUEUE", "queue"},
    {"ONESHEET_LEDGER", "ledger"}, {"ONESHEET_STORE", "store"},
    {"ONESHEET_MODEL", "model"}, {"ONESHEET_URL_TTL", "url_ttl"},
    {"ONESHEET_MAX_RECEIVES", "max_receives"},
    {"ONESHEET_VISIBILITY_TIMEOUT", "visibility_timeout"},
    {"ONESHEET_LOG_LEVEL", "log_level"}, {"ONESHEET_LOG_JSON", "log_json"},
    {"ONESHEET_API_KEYS", "api_keys"},
    {"ONESHEET_MODELS", "models"},
    {"ONESHEET_WEBHOOK_SECRET", "webhook_secret"},
    {"ONESHEET_WEBHOOK_RETRY_FOR", "webhook_retry_for"},
    {"ONESHEET_MAX_INPUT_BYTES", "max_input_bytes"},
    {"ONESHEET_PUBLIC_URL", "public_url"},
    {"ONESHEET_QUOTA_RPM", "quota_rpm"},
    {"ONESHEET_CHECKSUM", "checksum"},
    {"ONESHEET_MODEL_LIFECYCLE", "model_lifecycle"},
    {"ONESHEET_MODEL_LIST_TTL", "model_list_ttl"},
};
#define N_ENVMAP (sizeof envmap / sizeof envmap[0])

const char *config_key(size_t i, const char **env)
{
    if (i >= N_ENVMAP)
        return NULL;
    if (env)
        *env = envmap[i].env;
    return envmap[i].key;
}

err_code_t config_load(config_t *c, const char *path, config_getenv_fn ge, err_t *err)
{
    const char *home, *v;
    char *def = NULL;
    err_code_t rc;

    memset(c, 0, sizeof *c);
    if (!ge)
        ge = (config_getenv_fn)getenv;
    c->url_ttl = 3600;
    c->max_receives = 5;
    c->visibility_timeout = 60;
    c->webhook_retry_for = 86400;
    c->max_input_bytes = CONFIG_MAX_INPUT_BYTES_DEFAULT;
    c->checksum = STORE_SUM_CRC64NVME;
    c->model_list_ttl = 86400;
    home = env_or_null(ge, "HOME");

    if (!path)
        path = env_or_null(ge, "ONESHEET_CONFIG");
    if (path) {
        if ((rc = load_file(c, path, err)) != ERR_OK)
            return rc;
    } else {
        if (home) {
            def = dupf("%s/.config/onesheet/config", home, NULL);
            if (!def)
                return err_set(err, ERR_NOMEM, "out of memory");
        }
        const char *cands[] = {def, "/etc/onesheet/onesheet.conf"};
        for (size_t i = 0; i < 2; i++) {
            if (cands[i] && access(cands[i], F_OK) == 0) {
                rc = load_file(c, cands[i], err);
                free(def);
                if (rc != ERR_OK)
                    return rc;
                def = NULL;
                break;
            }
        }
        free(def);
    }
    for (size_t i = 0; i < sizeof envmap / sizeof *envmap; i++)
        if ((v = env_or_null(ge, envmap[i].env)) &&
            config_set(c, envmap[i].key, v, envmap[i].env, err) != ERR_OK)
            return ERR_CONFIG;

    /* The state directory anchors the embedded defaults. */
    if (!c->state_dir) {
        if ((v = env_or_null(ge, "XDG_STATE_HOME")))
            c->state_dir = dupf("%s/onesheet", v, NULL);
        else if (home)
            c->state_dir = dupf("%s/.local/state/onesheet", home, NULL);
        else
            return err_set(err, ERR_CONFIG,
                           "state_dir: HOME is not set; set ONESHEET_STATE_DIR");
        if (!c->state_dir)
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (!c->queue && !(c->queue = dupf("sqlite:%s/onesheet.db", c->state_dir, NULL)))
        return err_set(err, ERR_NOMEM, "out of memory");
    if (!c->ledger && !(c->ledger = dupf("sqlite:%s/onesheet.db", c->state_dir, NULL)))
        return err_set(err, ERR_NOMEM, "out of memory");
    if (!c->store && !(c->store = dupf("file:%s/posters", c->state_dir, NULL)))
        return err_set(err, ERR_NOMEM, "out of memory");
    if (!c->model && !(c->model = strdup("draft")))
        return err_set(err, ERR_NOMEM, "out of memory");
    if (!c->log_level && !(c->log_level = strdup("info")))
        return err_set(err, ERR_NOMEM, "out of memory");
    return ERR_OK;
}

err_code_t config_prepare_state(const config_t *c, err_t *err)
{
    char path[PATH_MAX];
    size_t n = strlen(c->state_dir);

    if (n >= sizeof path)
        return err_set(err, ERR_CONFIG, "state_dir: path too long");
    memcpy(path, c->state_dir, n + 1);
    /* mkdir -p, the last component private. */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return err_set(err, ERR_IO, "state_dir: cannot create %s: %s", path,
                           strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return err_set(err, ERR_IO, "state_dir: cannot create %s: %s", path,
                       strerror(errno));
    /* An existing one others can write is refused, not tightened: whoever
     * could write there may already have planted a database or a link. */
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
        return err_set(err, ERR_CONFIG, "state_dir: %s is writable by %s (mode %04o); "
                       "others could plant files the worker trusts: check its contents, "
                       "then chmod go-w %s", path,
                       st.st_mode & S_IWOTH ? "everyone" : "its group",
                       (unsigned)(st.st_mode & 07777), path);
    return ERR_OK;
}

void config_free(config_t *c)
{
    free(c->state_dir);
    free(c->queue);
    free(c->ledger);
    free(c->store);
    free(c->model);
    free(c->models);
    free(c->log_level);
    free(c->config_path);
    free(c->api_keys);
    free(c->webhook_secret);
    free(c->public_url);
    free(c->quota_models);
    memset(c, 0, sizeof *c);
}
