/* fuzz_aws_config — the shared AWS config file as aws_config_load reads it
 * (profiles, `key =` sub-properties, [services NAME] sections, endpoint
 * URLs, s3 addressing_style, retry settings).  The input goes into a memfd
 * named by AWS_CONFIG_FILE through an injected environment; the first
 * byte picks the default profile or a named one. */
#include "aws/aws_config.h"
#include "aws/retry.h"
#include "base/err.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char path[64];
static const char *profile;

static const char *fake_env(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "AWS_CONFIG_FILE") == 0)
        return path;
    if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0 || strcmp(name, "HOME") == 0)
        return "/nonexistent/fuzz";
    if (strcmp(name, "AWS_PROFILE") == 0)
        return profile;
    return NULL;
}

static const char *no_env(const char *name, void *ud)
{
    (void)name;
    (void)ud;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    creds_options_t co = {.getenv = fake_env};
    aws_config_t c;
    err_t err;

    if (fd < 0 && (fd = memfd_create("fuzz_aws_config", 0)) < 0)
        return 0;
    profile = size && (data[0] & 1) ? "dev" : NULL;
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (aws_config_load(&co, &c, &err) == ERR_OK) {
        endpoint_options_t eo = {.region = "us-west-2"};
        endpoint_t ep;
        retry_options_t ro;
        aws_config_endpoint_options(&c, &eo);
        eo.getenv = fake_env;
        for (int s = 0; s < ENDPOINT__COUNT; s++)
            endpoint_resolve((endpoint_service_t)s, &eo, &ep, &err);
        retry_options_from_config(&ro, no_env, NULL, c.retry_mode, c.max_attempts, &err);
        aws_config_free(&c);
    }
    return 0;
}
