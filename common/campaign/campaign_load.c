/* campaign_load — reading and checking a campaign file whole: the fields
 * (campaign.c), then the expansion a firing would make (campaign_expand.c),
 * so a bad template or default is reported against the file.  It sits above
 * both, which keeps the parser and the expander out of each other's way. */
#include "campaign/campaign.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (16u << 20)

/* Checks the templates and the defaults as a job would see them, so that a
 * bad slot or aspect ratio is reported against the campaign file, not
 * against every expanded job. */
static err_code_t check_all(const char *path, const campaign_t *c, err_t *err)
{
    job_spec_t s;
    uint64_t n;
    err_code_t rc = campaign_candidates(c, &n, err);
    if (rc != ERR_OK)
        return rc;
    rc = campaign_spec(c, "probe", NULL, &s, err);
    job_spec_free(&s);
    if (rc == ERR_INVALID)
        return err_prefix(err, "%s: defaults", path);
    return rc;
}

err_code_t campaign_parse(const char *path, const char *dir, const char *text, size_t len,
                          campaign_t *c, err_t *err)
{
    return campaign_parse_in(path, dir, NULL, text, len, c, err);
}

err_code_t campaign_parse_in(const char *path, const char *dir, const char *root,
                             const char *text, size_t len, campaign_t *c, err_t *err)
{
    err_code_t rc = campaign_parse_fields_in(path, dir, root, text, len, c, err);
    if (rc == ERR_OK)
        rc = check_all(path, c, err);
    return rc;
}

err_code_t campaign_confine(const char *root, const char *field, const char *path,
                            char *out, size_t outsz, err_t *err)
{
    char rr[PATH_MAX], rp[PATH_MAX];
    if (!realpath(root, rr))
        return err_set(err, ERR_CONFIG, "%s: the task root %s cannot be resolved: %s", field,
                       root, strerror(errno));
    if (!realpath(path, rp))
        return err_set(err, ERR_NOINPUT, "%s: %s: %s", field, path, strerror(errno));
    size_t n = strlen(rr);
    bool under = strcmp(rr, "/") == 0 || (strncmp(rp, rr, n) == 0 && rp[n] == '/');
    if (!under)
        return err_set(err, ERR_INVALID, "%s: %s is outside the task root %s (symlinks "
                       "resolved); an event may only name files in the function package",
                       field, path, rr);
    if ((size_t)snprintf(out, outsz, "%s", rp) >= outsz)
        return err_set(err, ERR_INVALID, "%s: path too long", field);
    return ERR_OK;
}

err_code_t campaign_load(const char *path, campaign_t *c, err_t *err)
{
    return campaign_load_in(path, NULL, c, err);
}

err_code_t campaign_load_in(const char *path, const char *root, campaign_t *c, err_t *err)
{
    char real[PATH_MAX];
    memset(c, 0, sizeof *c);
    if (root) {
        err_code_t rc = campaign_confine(root, "campaign_file", path, real, sizeof real, err);
        if (rc != ERR_OK)
            return rc;
        path = real;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, ERR_NOINPUT, "%s: %s", path, strerror(errno));
    char *data = malloc(FILE_MAX);
    size_t len = data ? fread(data, 1, FILE_MAX, fp) : 0;
    bool failed = !data || ferror(fp) || len == FILE_MAX;
    fclose(fp);
    if (failed) {
        free(data);
        return err_set(err, data ? ERR_INVALID : ERR_NOMEM, "%s: cannot read (or over 16 MiB)",
                       path);
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    err_code_t rc = campaign_parse_in(path, dir, root, data, len, c, err);
    free(data);
    return rc;
}
