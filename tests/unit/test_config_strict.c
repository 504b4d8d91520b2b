/* Tests for the config file's strictness (issue 18): a key set twice is
 * refused naming both lines, a directory given as the config is refused
 * rather than read as empty, and max_input_bytes is checked against its
 * range from the file and the environment. */
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

/* Loads text as the config file; returns config_load's code, e its error. */
static err_code_t load_text(const char *text, const char *const *env, err_t *e,
                            config_t *c, char *path, size_t cap)
{
    char *dir = tu_mkdtemp();
    err_code_t rc;

    snprintf(path, cap, "%s/conf", dir);
    tu_write_file(path, text);
    fake_env = env;
    err_clear(e);
    rc = config_load(c, path, fake_getenv, e);
    free(dir);
    return rc;
}

static void duplicate_key_names_file_both_lines_and_key(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", NULL};
    char path[512], want[700];
    config_t c;
    err_t e;

    assert_int_equal(load_text("model = draft\n# note\nurl_ttl = 60\n  model =  draft\n", env,
                               &e, &c, path, sizeof path),
                     ERR_CONFIG);
    snprintf(want, sizeof want, "%s:4: duplicate key \"model\" (first set on line 1)", path);
    assert_string_equal(e.msg, want);
    config_free(&c);

    /* Different keys, and the same key once each in file and environment,
     * are fine: the environment still wins. */
    const char *env2[] = {"HOME=/h", "ONESHEET_URL_TTL=90", NULL};
    assert_int_equal(load_text("model = draft\nurl_ttl = 60\n", env2, &e, &c, path, sizeof path),
                     ERR_OK);
    assert_int_equal(c.url_ttl, 90);
    config_free(&c);
}

static void directory_as_config_is_refused(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", NULL};
    char *dir = tu_mkdtemp();
    config_t c;
    err_t e;

    fake_env = env;
    err_clear(&e);
    assert_int_equal(config_load(&c, dir, fake_getenv, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "is a directory"));
    assert_non_null(strstr(e.msg, dir));
    config_free(&c);
    tu_rmtree(dir);
    free(dir);
}

static void max_input_bytes_default_range_and_env(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", NULL};
    char path[512];
    config_t c;
    err_t e;

    assert_int_equal(load_text("", env, &e, &c, path, sizeof path), ERR_OK);
    assert_true(c.max_input_bytes == CONFIG_MAX_INPUT_BYTES_DEFAULT);
    config_free(&c);

    assert_int_equal(load_text("max_input_bytes = 4096\n", env, &e, &c, path, sizeof path),
                     ERR_OK);
    assert_true(c.max_input_bytes == 4096);
    config_free(&c);

    const char *bad[] = {"0", "-1", "1x", "", "1099511627777", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128];
        snprintf(text, sizeof text, "max_input_bytes = %s\n", bad[i]);
        assert_int_equal(load_text(text, env, &e, &c, path, sizeof path), ERR_CONFIG);
        assert_non_null(strstr(e.msg, ":1: max_input_bytes: must be an integer from 1 to"));
        config_free(&c);
    }

    const char *env2[] = {"HOME=/h", "ONESHEET_MAX_INPUT_BYTES=12", NULL};
    assert_int_equal(load_text("max_input_bytes = 4096\n", env2, &e, &c, path, sizeof path),
                     ERR_OK);
    assert_true(c.max_input_bytes == 12);
    config_free(&c);

    const char *env3[] = {"HOME=/h", "ONESHEET_MAX_INPUT_BYTES=lots", NULL};
    assert_int_equal(load_text("", env3, &e, &c, path, sizeof path), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "ONESHEET_MAX_INPUT_BYTES: max_input_bytes:"));
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_key_names_file_both_lines_and_key),
        cmocka_unit_test(directory_as_config_is_refused),
        cmocka_unit_test(max_input_bytes_default_range_and_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
