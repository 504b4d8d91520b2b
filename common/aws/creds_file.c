/* creds_file — the shared `config` and `credentials` files and the profile
 * source.  See creds.h.
 *
 * The files are INI as the AWS CLI reads them: `[section]` headers, `key =
 * value` lines, whole-line `#` or `;` comments, and indented lines after a
 * key being sub-properties (`s3 =` / `  addressing_style = path`), kept as
 * "s3.addressing_style" and ignored by the credential chain.  In `config` a profile is `[profile NAME]` (or
 * `[default]`); other sections (`[sso-session x]`, `[services x]`) are not
 * profiles ([services x] is kept apart, for creds_service_value()).  In
 * `credentials` the section name is the profile name.  For the
 * same key the credentials file wins. */
#include "aws/creds.h"
#include "base/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (1024 * 1024)
#define MAX_CHAIN 8
/* Marks a [services NAME] section's name among the profile names. */
#define SERVICES_SECTION '\x1f'

typedef struct {
    char *profile;   /* owned */
    char *key;       /* owned, lower-case; NULL marks a section header */
    char *value;     /* owned */
} entry_t;

typedef struct {
    char shown[256]; /* path for messages, "~/" for the home directory */
    entry_t *e;
    size_t n, cap;
} ini_t;

typedef struct {
    const creds_options_t *opts;
    ini_t config, credentials;
    const char *profile;
    bool explicit_profile;
} shared_t;

static void ini_free(ini_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->e[i].profile);
        free(f->e[i].key);
        if (f->e[i].value) {
            explicit_bzero(f->e[i].value, strlen(f->e[i].value));
            free(f->e[i].value);
        }
    }
    free(f->e);
    f->e = NULL;
    f->n = f->cap = 0;
}

static err_code_t ini_add(ini_t *f, const char *profile, const char *key,
                          size_t klen, const char *value, size_t vlen, err_t *err)
{
    entry_t *e;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        entry_t *ne = realloc(f->e, cap * sizeof *ne);
        if (!ne)
            return err_set(err, ERR_NOMEM, "%s: out of memory", f->shown);
        f->e = ne;
        f->cap = cap;
    }
    e = &f->e[f->n];
    e->profile = strdup(profile);
    e->key = key ? strndup(key, klen) : NULL;
    e->value = value ? strndup(value, vlen) : NULL;
    if (!e->profile || (key && !e->key) || (value && !e->value)) {
        free(e->profile);
        free(e->key);
        free(e->value);
        return err_set(err, ERR_NOMEM, "%s: out of memory", f->shown);
    }
    for (char *p = e->key; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    f->n++;
    return ERR_OK;
}

static void trim(const char **s, const char **end)
{
    while (*s < *end && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

/* Parses one file's text.  Never quotes a line in an error: it may hold a
 * secret. */
static err_code_t ini_parse(ini_t *f, const char *text, size_t len,
                            bool is_config, err_t *err)
{
    char *profile = NULL;     /* current profile section, NULL: none */
    bool in_section = false, have_key = false;
    size_t key_indent = 0;
    char parent[64] = "";     /* the last key, for sub-properties */
    int lineno = 0;
    err_code_t rc = ERR_OK;
    const char *p = text, *end_all = text + len;

    while (p < end_all && rc == ERR_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end_all - p));
        const char *s = p, *end = nl ? nl : end_all;
        size_t indent = 0;

        p = nl ? nl + 1 : end_all;
        lineno++;
        if (end > s && end[-1] == '\r')
            end--;
        while (s < end && (*s == ' ' || *s == '\t'))
            s++, indent++;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (s == end || *s == '#' || *s == ';')
            continue;
        if (indent > 0 && have_key && indent > key_indent) {
            /* A sub-property of the last key (`s3 =` / `  addressing_style
             * = path`), kept as "s3.addressing_style"; other continuation
             * lines are ignored. */
            const char *eq = memchr(s, '=', (size_t)(end - s));
            if (eq && profile) {
                const char *k = s, *ke = eq, *v = eq + 1, *ve = end;
                char sub[128];
                trim(&k, &ke);
                trim(&v, &ve);
                int n = snprintf(sub, sizeof sub, "%s.%.*s", parent, (int)(ke - k), k);
                if (k < ke && n > 0 && (size_t)n < sizeof sub)
                    rc = ini_add(f, profile, sub, (size_t)n, v, (size_t)(ve - v), err);
            }
            continue;
        }
        if (*s == '[') {
            const char *close = memchr(s, ']', (size_t)(end - s));
            const char *n = s + 1, *ne = close;
            if (!close) {
                rc = err_set(err, ERR_CONFIG, "%s:%d: expected ']' to close the section name",
                             f->shown, lineno);
                break;
            }
            trim(&n, &ne);
            if (n == ne) {
                rc = err_set(err, ERR_CONFIG, "%s:%d: empty section name",
                             f->shown, lineno);
                break;
            }
            free(profile);
            profile = NULL;
            in_section = true;
            have_key = false;
            bool is_profile = !is_config || (ne - n == 7 && memcmp(n, "default", 7) == 0);
            if (!is_profile && ne - n > 7 && memcmp(n, "profile", 7) == 0 &&
                (n[7] == ' ' || n[7] == '\t')) {
                n += 8;
                trim(&n, &ne);
                is_profile = true;
            }
            if (!is_profile && is_config && ne - n > 8 &&
                memcmp(n, "services", 8) == 0 && (n[8] == ' ' || n[8] == '\t')) {
                /* [services NAME] is kept under SERVICES_SECTION "NAME",
                 * which no profile name can collide with. */
                n += 9;
                trim(&n, &ne);
                char *sec = malloc((size_t)(ne - n) + 2);
                if (sec) {
                    sec[0] = SERVICES_SECTION;
                    memcpy(sec + 1, n, (size_t)(ne - n));
                    sec[ne - n + 1] = '\0';
                }
                profile = sec;
                if (!sec) {
                    rc = err_set(err, ERR_NOMEM, "%s: out of memory", f->shown);
                    break;
                }
            }
            if (is_profile && !(profile = strndup(n, (size_t)(ne - n)))) {
                rc = err_set(err, ERR_NOMEM, "%s: out of memory", f->shown);
                break;
            }
            if (profile)
                rc = ini_add(f, profile, NULL, 0, NULL, 0, err);
            continue;
        }
        const char *eq = memchr(s, '=', (size_t)(end - s));
        if (!eq) {
            rc = err_set(err, ERR_CONFIG, "%s:%d: expected 'key = value'",
                         f->shown, lineno);
            break;
        }
        const char *k = s, *ke = eq, *v = eq + 1, *ve = end;
        trim(&k, &ke);
        trim(&v, &ve);
        if (k == ke) {
            rc = err_set(err, ERR_CONFIG, "%s:%d: expected 'key = value' (the key is empty)",
                         f->shown, lineno);
            break;
        }
        if (!in_section) {
            rc = err_set(err, ERR_CONFIG, "%s:%d: 'key = value' before any [section]",
                         f->shown, lineno);
            break;
        }
        have_key = true;
        key_indent = indent;
        snprintf(parent, sizeof parent, "%.*s", (int)(ke - k), k);
        if (profile)
            rc = ini_add(f, profile, k, (size_t)(ke - k), v, (size_t)(ve - v), err);
    }
    free(profile);
    return rc;
}

static void show_path(const char *path, const char *home, char *out, size_t cap)
{
    size_t hl = home ? strlen(home) : 0;
    if (hl > 1 && strncmp(path, home, hl) == 0 && path[hl] == '/')
        snprintf(out, cap, "~%s", path + hl);
    else
        snprintf(out, cap, "%s", path);
}

static const char *home_dir(const creds_options_t *opts)
{
    return opts->home && *opts->home ? opts->home : creds_env(opts, "HOME");
}

/* Loads one file; a missing file is an empty one. */
static err_code_t ini_load(ini_t *f, const creds_options_t *opts,
                           const char *env, const char *def, bool is_config,
                           err_t *err)
{
    const char *home = home_dir(opts), *set = creds_env(opts, env);
    char path[4096];
    FILE *fp;
    buf_t b = BUF_INIT;
    char chunk[4096];
    size_t n;
    err_code_t rc;

    if (set && set[0] == '~' && set[1] == '/' && home)
        snprintf(path, sizeof path, "%s%s", home, set + 1);
    else if (set)
        snprintf(path, sizeof path, "%s", set);
    else if (home)
        snprintf(path, sizeof path, "%s/%s", home, def);
    else
        return ERR_OK;
    show_path(path, home, f->shown, sizeof f->shown);
    fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT || errno == ENOTDIR)
            return ERR_OK;
        return err_set(err, ERR_CONFIG, "%s: %s", f->shown, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (b.len + n > MAX_FILE) {
            fclose(fp);
            buf_free(&b);
            return err_set(err, ERR_CONFIG, "%s: larger than %d bytes", f->shown, MAX_FILE);
        }
        if (buf_append(&b, chunk, n) != ERR_OK) {
            fclose(fp);
            buf_free(&b);
            return err_set(err, ERR_NOMEM, "%s: out of memory", f->shown);
        }
    }
    rc = ferror(fp) ? err_set(err, ERR_CONFIG, "%s: read error", f->shown) : ERR_OK;
    fclose(fp);
    if (rc == ERR_OK)
        rc = ini_parse(f, b.data ? (char *)b.data : "", b.len, is_config, err);
    if (b.data)
        explicit_bzero(b.data, b.len);
    buf_free(&b);
    return rc;
}

static const char *ini_get(const ini_t *f, const char *profile, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (f->e[i].key && strcmp(f->e[i].profile, profile) == 0 &&
            strcmp(f->e[i].key, key) == 0)
            v = f->e[i].value;   /* the last one wins */
    return v;
}

static bool ini_has(const ini_t *f, const char *profile)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->e[i].profile, profile) == 0)
            return true;
    return false;
}

static const char *get(const shared_t *sh, const char *profile, const char *key)
{
    const char *v = ini_get(&sh->credentials, profile, key);
    if (!v)
        v = ini_get(&sh->config, profile, key);
    return v && *v ? v : NULL;
}

static bool exists(const shared_t *sh, const char *profile)
{
    return ini_has(&sh->credentials, profile) || ini_has(&sh->config, profile);
}

static void shared_free(shared_t *sh)
{
    ini_free(&sh->config);
    ini_free(&sh->credentials);
}

static err_code_t shared_load(shared_t *sh, const creds_options_t *opts, err_t *err)
{
    err_code_t rc;

    memset(sh, 0, sizeof *sh);
    sh->opts = opts;
    snprintf(sh->config.shown, sizeof sh->config.shown, "~/.aws/config");
    snprintf(sh->credentials.shown, sizeof sh->credentials.shown, "~/.aws/credentials");
    sh->profile = opts->profile && *opts->profile ? opts->profile
                                                  : creds_env(opts, "AWS_PROFILE");
    if (!sh->profile)
        sh->profile = creds_env(opts, "AWS_DEFAULT_PROFILE");
    /* Naming "default" explicitly is no stronger than naming nothing. */
    sh->explicit_profile = sh->profile != NULL && strcmp(sh->profile, "default") != 0;
    if (!sh->profile)
        sh->profile = "default";
    rc = ini_load(&sh->config, opts, "AWS_CONFIG_FILE", ".aws/config", true, err);
    if (rc == ERR_OK)
        rc = ini_load(&sh->credentials, opts, "AWS_SHARED_CREDENTIALS_FILE",
                      ".aws/credentials", false, err);
    if (rc != ERR_OK)
        shared_free(sh);
    return rc;
}

static err_code_t resolve(shared_t *sh, const char *name, const char **seen,
                          size_t depth, creds_t *out, err_t *err);

static err_code_t static_keys(shared_t *sh, const char *name, creds_t *out,
                              err_t *err)
{
    const char *akid = get(sh, name, "aws_access_key_id");
    const char *secret = get(sh, name, "aws_secret_access_key");
    if (!akid || !secret)
        return err_set(err, ERR_CONFIG, "profile '%s': %s without %s", name,
                       akid ? "aws_access_key_id" : "aws_secret_access_key",
                       akid ? "aws_secret_access_key" : "aws_access_key_id");
    return creds_set(out, akid, secret, get(sh, name, "aws_session_token"), 0,
                     CREDS_SRC_PROFILE, err);
}

static err_code_t role_from(shared_t *sh, const char *name, creds_role_t *role,
                            char *session, size_t cap, err_t *err)
{
    const char *dur = get(sh, name, "duration_seconds");

    memset(role, 0, sizeof *role);
    role->role_arn = get(sh, name, "role_arn");
    role->session_name = get(sh, name, "role_session_name");
    role->external_id = get(sh, name, "external_id");
    /* Every AssumeRole of a chain goes to STS in the session's region, as
     * botocore's one STS client for the chain does: the variables, else the
     * active profile's region -- not the region of the profile being
     * assumed, which for the middle hop of a chain is another profile. */
    role->region = get(sh, sh->profile, "region");
    if (!role->session_name) {
        snprintf(session, cap, "onesheet-%lld", (long long)creds_now(sh->opts));
        role->session_name = session;
    }
    if (dur) {
        char *endp;
        long v = strtol(dur, &endp, 10);
        if (*endp || v < 900 || v > 43200)
            return err_set(err, ERR_CONFIG,
                           "profile '%s': duration_seconds must be 900..43200", name);
        role->duration_seconds = v;
    }
    if (get(sh, name, "mfa_serial"))
        return err_set(err, ERR_CONFIG,
                       "profile '%s': mfa_serial needs an MFA code typed in, which "
                       "onesheet cannot ask for", name);
    return ERR_OK;
}

static err_code_t assume(shared_t *sh, const char *name, const char **seen,
                         size_t depth, creds_t *out, err_t *err)
{
    const char *src = get(sh, name, "source_profile");
    const char *csrc = get(sh, name, "credential_source");
    const char *wif = get(sh, name, "web_identity_token_file");
    creds_role_t role;
    char session[64];
    creds_t base = CREDS_INIT;
    err_code_t rc;

    rc = role_from(sh, name, &role, session, sizeof session, err);
    if (rc != ERR_OK)
        return rc;
    if ((src != NULL) + (csrc != NULL) + (wif != NULL) > 1)
        return err_set(err, ERR_CONFIG, "profile '%s': set only one of source_profile, "
                       "credential_source and web_identity_token_file", name);
    if (wif)
        return creds_sts_assume_role_web_identity(sh->opts, &role, wif, out, err);
    if (src && strcmp(src, name) == 0)
        rc = static_keys(sh, name, &base, err);
    else if (src)
        rc = resolve(sh, src, seen, depth + 1, &base, err);
    else if (csrc && strcmp(csrc, "Environment") == 0)
        rc = creds_from_env(sh->opts, &base, err);
    else if (csrc && strcmp(csrc, "Ec2InstanceMetadata") == 0)
        rc = creds_from_imds(sh->opts, &base, err);
    else if (csrc && strcmp(csrc, "EcsContainer") == 0)
        rc = creds_from_container(sh->opts, &base, err);
    else if (csrc)
        return err_set(err, ERR_CONFIG, "profile '%s': credential_source must be "
                       "Environment, Ec2InstanceMetadata or EcsContainer", name);
    else
        return err_set(err, ERR_CONFIG, "profile '%s': role_arn needs source_profile, "
                       "credential_source or web_identity_token_file", name);
    if (rc == ERR_NOTFOUND)
        /* The named source must supply something; err->msg says why not. */
        rc = err->code = ERR_CONFIG;
    if (rc != ERR_OK) {
        err_prefix(err, "profile '%s': %s %s", name,
                   src ? "source_profile" : "credential_source", src ? src : csrc);
        return rc;
    }
    rc = creds_sts_assume_role(sh->opts, &base, &role, out, err);
    creds_free(&base);
    if (rc != ERR_OK)
        err_prefix(err, "profile '%s'", name);
    return rc;
}

/* depth 0 is the active profile; deeper ones are source profiles, for which
 * a missing profile or missing credentials are configuration errors. */
static err_code_t resolve(shared_t *sh, const char *name, const char **seen,
                          size_t depth, creds_t *out, err_t *err)
{
    if (depth >= MAX_CHAIN)
        return err_set(err, ERR_CONFIG, "profile '%s': source_profile chain longer "
                       "than %d", name, MAX_CHAIN);
    for (size_t i = 0; i < depth; i++)
        if (strcmp(seen[i], name) == 0)
            return err_set(err, ERR_CONFIG, "profile '%s': source_profile loops back "
                           "to itself", name);
    seen[depth] = name;
    if (!exists(sh, name)) {
        if (depth == 0 && !sh->explicit_profile)
            return err_set(err, ERR_NOTFOUND, "no [default] profile in %s or %s",
                           sh->config.shown, sh->credentials.shown);
        return err_set(err, ERR_CONFIG, "profile '%s' not found in %s or %s", name,
                       sh->config.shown, sh->credentials.shown);
    }
    if (get(sh, name, "role_arn"))
        return assume(sh, name, seen, depth, out, err);
    if (get(sh, name, "aws_access_key_id") || get(sh, name, "aws_secret_access_key"))
        return static_keys(sh, name, out, err);
    if (get(sh, name, "credential_process")) {
        err_code_t rc = creds_process_run(sh->opts, get(sh, name, "credential_process"),
                                          out, err);
        if (rc != ERR_OK)
            err_prefix(err, "profile '%s': credential_process", name);
        return rc;
    }
    if (get(sh, name, "sso_start_url") || get(sh, name, "sso_session"))
        return err_set(err, ERR_CONFIG, "profile '%s' uses IAM Identity Center (SSO), "
                       "which onesheet does not support; wrap `aws configure "
                       "export-credentials` in a credential_process", name);
    if (depth == 0)
        return err_set(err, ERR_NOTFOUND, "profile '%s' has no credentials", name);
    return err_set(err, ERR_CONFIG, "source profile '%s' has no credentials", name);
}

err_code_t creds_from_profile(const creds_options_t *opts, creds_t *out, err_t *err)
{
    shared_t sh;
    const char *seen[MAX_CHAIN];
    err_t local;
    err_code_t rc;

    if (!err)
        err = &local;   /* resolve() reads err->msg and err->code */
    *out = (creds_t)CREDS_INIT;
    rc = shared_load(&sh, opts, err);
    if (rc != ERR_OK)
        return rc;
    rc = resolve(&sh, sh.profile, seen, 0, out, err);
    shared_free(&sh);
    return rc;
}

err_code_t creds_profile_value(const creds_options_t *opts, const char *key,
                               char **value, err_t *err)
{
    shared_t sh;
    const char *v;
    err_code_t rc;

    *value = NULL;
    rc = shared_load(&sh, opts, err);
    if (rc != ERR_OK)
        return rc;
    if (sh.explicit_profile && !exists(&sh, sh.profile)) {
        rc = err_set(err, ERR_CONFIG, "profile '%s' not found in %s or %s", sh.profile,
                     sh.config.shown, sh.credentials.shown);
    } else if ((v = get(&sh, sh.profile, key)) != NULL) {
        *value = strdup(v);
        if (!*value)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    shared_free(&sh);
    return rc;
}

err_code_t creds_service_value(const creds_options_t *opts, const char *service,
                               const char *key, char **value, err_t *err)
{
    shared_t sh;
    const char *sec, *v = NULL;
    char name[256], full[128];
    err_code_t rc;

    *value = NULL;
    rc = shared_load(&sh, opts, err);
    if (rc != ERR_OK)
        return rc;
    sec = get(&sh, sh.profile, "services");
    if (sec && (size_t)snprintf(name, sizeof name, "%c%s", SERVICES_SECTION, sec) <
                   sizeof name &&
        (size_t)snprintf(full, sizeof full, "%s.%s", service, key) < sizeof full) {
        if (!ini_has(&sh.config, name))
            rc = err_set(err, ERR_CONFIG, "%s: profile '%s' names services '%.64s', "
                         "but there is no [services %.64s] section", sh.config.shown,
                         sh.profile, sec, sec);
        else
            v = ini_get(&sh.config, name, full);
    }
    if (rc == ERR_OK && v && *v && !(*value = strdup(v)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    shared_free(&sh);
    return rc;
}
