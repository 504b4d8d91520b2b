/* aws_config — SDK settings from the shared config file (see aws_config.h). */
#include "aws/aws_config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void aws_config_free(aws_config_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < ENDPOINT__COUNT; i++)
        free(c->service_url[i]);
    free(c->url);
    free(c->ignore_endpoints);
    free(c->retry_mode);
    free(c->max_attempts);
    free(c->region);
    memset(c, 0, sizeof *c);
}

err_code_t aws_config_load(const creds_options_t *co, aws_config_t *out,
                           err_t *err)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"endpoint_url", offsetof(aws_config_t, url)},
        {"ignore_configured_endpoint_urls",
         offsetof(aws_config_t, ignore_endpoints)},
        {"retry_mode", offsetof(aws_config_t, retry_mode)},
        {"max_attempts", offsetof(aws_config_t, max_attempts)},
        {"region", offsetof(aws_config_t, region)},
    };
    err_code_t rc = ERR_OK;
    char *style = NULL;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; rc == ERR_OK && i < sizeof keys / sizeof keys[0]; i++)
        rc = creds_profile_value(co, keys[i].key,
                                 (char **)((char *)out + keys[i].off), err);
    for (int s = 0; rc == ERR_OK && s < ENDPOINT__COUNT; s++)
        rc = creds_service_value(co, endpoint_config_id((endpoint_service_t)s),
                                 "endpoint_url", &out->service_url[s], err);
    if (rc == ERR_OK)
        rc = creds_profile_value(co, "s3.addressing_style", &style, err);
    if (rc == ERR_OK && style &&
        !endpoint_s3_addressing_parse(style, &out->s3_addressing))
        rc = err_set(err, ERR_CONFIG, "AWS config file: s3 addressing_style must be "
                     "auto, path or virtual, not '%.32s'", style);
    free(style);
    if (rc != ERR_OK)
        aws_config_free(out);
    return rc;
}

void aws_config_endpoint_options(const aws_config_t *c, endpoint_options_t *eo)
{
    for (int i = 0; i < ENDPOINT__COUNT; i++)
        eo->config_service_url[i] = c->service_url[i];
    eo->config_url = c->url;
    eo->config_ignore_endpoints = c->ignore_endpoints;
    if (eo->s3_addressing == ENDPOINT_S3_AUTO)
        eo->s3_addressing = c->s3_addressing;
}
