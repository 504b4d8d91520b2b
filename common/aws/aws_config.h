/* aws_config — the settings the AWS SDKs read from the shared config file
 * beside credentials, read once when an aws_env_t is made: the region
 * (used after AWS_REGION and AWS_DEFAULT_REGION), endpoint URLs
 * (the profile's endpoint_url and its [services NAME] section),
 * ignore_configured_endpoint_urls, S3 addressing_style (`s3 =` /
 * `  addressing_style = path`), retry_mode and max_attempts.
 *
 * Precedence between these and the environment variables is applied where
 * each is used (endpoint.h, retry.h), as botocore does: a variable always
 * wins over the file. */
#ifndef ONESHEET_AWS_CONFIG_H
#define ONESHEET_AWS_CONFIG_H

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "base/err.h"

typedef struct {
    char *service_url[ENDPOINT__COUNT];  /* [services] SVC.endpoint_url */
    char *url;                           /* the profile's endpoint_url */
    char *ignore_endpoints;              /* ignore_configured_endpoint_urls */
    char *retry_mode;
    char *max_attempts;
    char *region;                        /* the profile's region */
    endpoint_s3_addressing_t s3_addressing;
} aws_config_t;

/* Reads the active profile's settings (co as for creds_profile_value) into
 * *out (strings owned by *out, NULL when unset).  ERR_CONFIG for a
 * malformed file, a profile named but missing, a `services` name with no
 * section, or an s3 addressing_style other than auto, path or virtual (the
 * message names the key).  On error *out is left empty. */
err_code_t aws_config_load(const creds_options_t *co, aws_config_t *out,
                           err_t *err);

/* Frees the strings of c and empties it; NULL is allowed. */
void aws_config_free(aws_config_t *c);

/* Points eo's config fields at c's strings (borrowed: c must outlive eo). */
void aws_config_endpoint_options(const aws_config_t *c, endpoint_options_t *eo);

#endif
