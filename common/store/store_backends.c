/* store_backends — the store back-end table; see store_backends.h. */
#include "store/store_backends.h"
#include "store/store_file.h"
#include "store/store_s3.h"

#include <string.h>

/* Only the empty host is local; file://host/x names another machine. */
static err_code_t validate_file_url(const char *value, err_t *err)
{
    if (value[strlen("file://")] != '/')
        return err_set(err, ERR_CONFIG,
                       "a file URL needs an absolute path (file:///DIR) or use file:DIR");
    return ERR_OK;
}

static store_t *open_file_url(const char *value, err_t *err)
{
    return store_file_open(value + strlen("file://"), err);
}

static store_t *open_file(const char *value, err_t *err)
{
    return store_file_open(value + strlen("file:"), err);
}

static err_code_t validate_s3(const char *value, err_t *err)
{
    char bucket[256], prefix[1024];
    return store_s3_parse_url(value, bucket, sizeof bucket, prefix, sizeof prefix, err);
}

/* Creates the bucket when missing. */
static err_code_t provision_s3(const char *value, const backend_setup_t *setup, char *line,
                               size_t cap, err_t *err)
{
    char bucket[256], prefix[1024];
    if (store_s3_parse_url(value, bucket, sizeof bucket, prefix, sizeof prefix, err) != ERR_OK)
        return err->code;
    aws_env_t *env = aws_env_default(err);
    if (!env || store_s3_ensure(env, bucket, line, cap, err) != ERR_OK)
        return err_prefix(err, "store %s", bucket);
    return ERR_OK;
}

/* file:// before file:, which would claim it too. */
static const store_backend_t backends[] = {
    {{"file://", false, "file:DIR", validate_file_url, NULL}, open_file_url},
    {{"file:", false, "file:DIR", NULL, NULL}, open_file},
    {{"s3://", false, "s3://BUCKET/PREFIX", validate_s3, provision_s3}, store_s3_open},
};
#define NBACKENDS (sizeof backends / sizeof *backends)

const store_backend_t *store_backend_check(const char *value, err_t *err)
{
    return (const store_backend_t *)backend_check(backends, NBACKENDS, sizeof *backends,
                                                  "store", value, err);
}

/* Opens the back-end whose row claims url:
 *   file:DIR, file:///ABS/DIR   a local directory (store_file.c)
 *   s3://BUCKET/PREFIX          Amazon S3 or any S3-compatible endpoint (store_s3.c)
 * Returns a new store the caller closes with store_close(), or NULL with err
 * set: ERR_CONFIG for a value that names no usable back-end, or whatever the
 * back-end's open reports (ERR_IO when the directory cannot be created). */
store_t *store_open(const char *url, err_t *err)
{
    const store_backend_t *b = store_backend_check(url, err);
    return b ? b->open(url, err) : NULL;
}
