/* A session token read from a shared credentials or config file is
 * redacted wherever it could be quoted: in an error message (err_set) and
 * in a log line.  The environment, credential_process and STS register
 * their tokens themselves; a profile's aws_session_token is registered only
 * where the credentials are built (creds_set in common/aws/creds.c), so
 * this is the test that notices if that registration goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aws/creds.h"
#include "base/err.h"
#include "base/log.h"
#include "base/redact.h"
#include "fakeenv.h"
#include "testutil.h"

#define TOKEN "fileSessionTokenNEVERSHOWN/Zq+9==XXXXXXXXXXXXXXXXXXXX"
#define SECRET "fileSecretNEVERSHOWNXXXXXXXXXXXXXXXXXXXXXX"

typedef struct {
    char *home;
    fakeenv_t env;
    creds_options_t opts;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char path[1024];
    assert_non_null(f);
    f->home = tu_mkdtemp();
    snprintf(path, sizeof path, "%s/.aws", f->home);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/.aws/credentials", f->home);
    tu_write_file(path, "[default]\naws_access_key_id = AKIDFILE\n"
                        "aws_secret_access_key = " SECRET "\naws_session_token = " TOKEN "\n");
    snprintf(path, sizeof path, "%s/.aws/config", f->home);
    tu_write_file(path, "[profile cfg]\naws_access_key_id = AKIDCFG\n"
                        "aws_secret_access_key = " SECRET "\naws_session_token = " TOKEN "\n");
    fakeenv_set(&f->env, "AWS_EC2_METADATA_DISABLED", "true");
    f->opts.getenv = fakeenv_get;
    f->opts.getenv_ctx = &f->env;
    f->opts.home = f->home;
    redact_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    tu_rmtree(f->home);
    free(f->home);
    free(f);
    redact_reset();
    return 0;
}

/* Resolves the credentials, then quotes the token in an error and in a log
 * line: both must say [redacted] and never the token. */
static void resolve_and_quote(fx_t *f)
{
    creds_t c;
    err_t e;
    if (creds_resolve(&f->opts, &c, &e) != ERR_OK)
        fail_msg("resolve: %s", e.msg);
    assert_string_equal(c.session_token, TOKEN);

    err_set(&e, ERR_AUTH, "ExpiredToken: the security token %s has expired", c.session_token);
    if (strstr(e.msg, "NEVERSHOWN") || !strstr(e.msg, "[redacted]"))
        fail_msg("error message: %s", e.msg);

    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_non_null(fp);
    log_init("test", LOG_DEBUG, false);
    log_set_stream(fp);
    log_warn("auth_failed", "token=%s secret=%s", c.session_token, c.secret_access_key);
    log_set_stream(NULL);
    fclose(fp);
    if (strstr(text, "NEVERSHOWN") || !strstr(text, "token=[redacted]"))
        fail_msg("log line: %s", text);
    free(text);
    creds_free(&c);
}

static void credentials_file_token_is_redacted_in_errors_and_logs(void **state)
{
    resolve_and_quote(*state);
}

static void config_file_profile_token_is_redacted_too(void **state)
{
    fx_t *f = *state;
    fakeenv_set(&f->env, "AWS_PROFILE", "cfg");
    resolve_and_quote(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(credentials_file_token_is_redacted_in_errors_and_logs),
        T(config_file_profile_token_is_redacted_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
