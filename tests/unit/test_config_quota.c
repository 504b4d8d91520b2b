/* The shared quota's settings (issue 21): quota_rpm, quota_rpm.MODEL and
 * ONESHEET_QUOTA_RPM, how config_quota_rpm() picks one for a model, and
 * bad values refused naming the file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "setup/config.h"
#include "testutil.h"

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t n = strlen(name);
    for (const char *const *p = fake_env; p && *p; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return *p + n + 1;
    return NULL;
}

static void per_model_lines_override_the_default(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/conf", dir);
    tu_write_file(path, "quota_rpm = 120\n"
                        "quota_rpm.stability.sd3-5-large-v1:0 = 60\n"
                        "quota_rpm.us.stability.stable-image-ultra-v1:1 = 7.5\n");
    const char *env[] = {"HOME=/h", NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, path, fake_getenv, &e), ERR_OK);
    assert_true(config_quota_rpm(&c, "stability.sd3-5-large-v1:0") == 60);
    assert_true(config_quota_rpm(&c, "us.stability.stable-image-ultra-v1:1") == 7.5);
    /* A prefix of a listed model is another model. */
    assert_true(config_quota_rpm(&c, "stability.sd3-5-large-v1") == 120);
    assert_true(config_quota_rpm(&c, "stability.stable-image-core-v1:1") == 120);
    assert_true(config_quota_rpm(&c, NULL) == 120);
    config_free(&c);

    /* No quota at all: 0 for every model. */
    const char *none[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", NULL};
    fake_env = none;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_true(config_quota_rpm(&c, "stability.sd3-5-large-v1:0") == 0);
    config_free(&c);
    tu_rmtree(dir);
    free(dir);
}

static void the_environment_sets_the_default(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", "ONESHEET_QUOTA_RPM=300",
                         NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_true(c.quota_rpm == 300);
    assert_int_equal(config_set(&c, "quota_rpm", "90", "--quota-rpm", &e), ERR_OK);
    assert_true(config_quota_rpm(&c, "m") == 90);
    config_free(&c);
}

static void bad_quotas_name_file_line_and_key(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } bad[] = {
        {"quota_rpm = 0\n", ":1: quota_rpm: expected calls a minute above 0 and up to 1000000"},
        {"quota_rpm = -5\n", ":1: quota_rpm: expected calls a minute"},
        {"quota_rpm = lots\n", ":1: quota_rpm: expected calls a minute"},
        {"quota_rpm = 2000000\n", ":1: quota_rpm: expected calls a minute"},
        {"quota_rpm = nan\n", ":1: quota_rpm: expected calls a minute"},
        {"\nquota_rpm. = 5\n", ":2: quota_rpm.: expected quota_rpm.MODEL"},
        {"quota_rpm.m = 5\nquota_rpm.m = 6\n", "quota_rpm.m"},
        {"quota_rpm.a,b = 5\n", "expected quota_rpm.MODEL"},
    };
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/conf", dir);
    const char *env[] = {"HOME=/h", NULL};
    fake_env = env;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        config_t c;
        err_t e;
        tu_write_file(path, bad[i].text);
        assert_int_equal(config_load(&c, path, fake_getenv, &e), ERR_CONFIG);
        if (!strstr(e.msg, bad[i].want) || !strstr(e.msg, path))
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].text, e.msg, bad[i].want);
        config_free(&c);
    }
    const char *benv[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", "ONESHEET_QUOTA_RPM=0",
                          NULL};
    config_t c;
    err_t e;
    fake_env = benv;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "ONESHEET_QUOTA_RPM: quota_rpm: expected calls a minute"));
    config_free(&c);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_model_lines_override_the_default),
        cmocka_unit_test(the_environment_sets_the_default),
        cmocka_unit_test(bad_quotas_name_file_line_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
