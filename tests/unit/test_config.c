/* Tests for config: defaults, file → env → flags precedence, and clear
 * errors naming the file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "setup/config.h"
#include "store/store.h"
#include "testutil.h"

/* A fake environment: NAME=VALUE pairs. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t n = strlen(name);
    for (const char *const *p = fake_env; p && *p; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return *p + n + 1;
    return NULL;
}

static void defaults_derive_from_state_dir(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/home/ann", "ONESHEET_CONFIG=/dev/null", NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_string_equal(c.state_dir, "/home/ann/.local/state/onesheet");
    assert_string_equal(c.queue, "sqlite:/home/ann/.local/state/onesheet/onesheet.db");
    assert_string_equal(c.ledger, c.queue);
    assert_string_equal(c.store, "file:/home/ann/.local/state/onesheet/posters");
    assert_string_equal(c.model, "draft");
    assert_int_equal(c.url_ttl, 3600);
    config_free(&c);

    const char *env2[] = {"HOME=/home/ann", "XDG_STATE_HOME=/xdg", "ONESHEET_CONFIG=/dev/null", NULL};
    fake_env = env2;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_string_equal(c.state_dir, "/xdg/onesheet");
    config_free(&c);
}

static void env_overrides_file_and_flags_override_env(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/conf", dir);
    tu_write_file(path, "# comment\n\nmodel = stability.sd3-5-large-v1:0\nurl_ttl = 600\n"
                        "store = \"file:/srv/posters\"\n");
    const char *env[] = {"HOME=/h", "ONESHEET_URL_TTL=900", NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, path, fake_getenv, &e), ERR_OK);
    assert_string_equal(c.model, "stability.sd3-5-large-v1:0");
    assert_int_equal(c.url_ttl, 900);
    assert_string_equal(c.store, "file:/srv/posters");
    assert_string_equal(c.config_path, path);
    assert_int_equal(config_set(&c, "url_ttl", "60", "--url-ttl", &e), ERR_OK);
    assert_int_equal(c.url_ttl, 60);
    config_free(&c);
    tu_rmtree(dir);
    free(dir);
}

static void bad_file_values_name_file_line_and_key(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } cases[] = {
        {"model = draft\nurl_ttl = 604801\n", ":2: url_ttl: must be an integer from 1 to 604800"},
        {"queue = redis://x\n", ":1: queue: expected sqlite:PATH"},
        {"just words\n", ":1: expected \"key = value\""},
        {" = value\n", ":1: missing key"},
        {"colour = red\n", ":1: unknown key \"colour\""},
        {"ledger = sqlite:\n", ":1: ledger:"},
        {"store = s3:/x\n", ":1: store:"},
        {"model = bad model\n", ":1: model:"},
        {"log_json = maybe\n", ":1: log_json:"},
        {"max_receives = 0\n", ":1: max_receives:"},
        {"visibility_timeout = 12x\n", ":1: visibility_timeout:"},
        {"checksum = md5\n", ":1: checksum: expected crc64nvme or sha256, got \"md5\""},
        {"checksum = CRC64NVME\n", ":1: checksum: expected crc64nvme or sha256"},
    };
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    const char *env[] = {"HOME=/h", NULL};
    fake_env = env;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        config_t c;
        err_t e;
        tu_write_file(path, cases[i].text);
        assert_int_equal(config_load(&c, path, fake_getenv, &e), ERR_CONFIG);
        if (!strstr(e.msg, cases[i].want) || !strstr(e.msg, "bad.conf"))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, e.msg, cases[i].want);
        config_free(&c);
    }
    tu_rmtree(dir);
    free(dir);
}

/* A NUL byte hides the rest of its line from the parser; the error must say
 * so (it used to read "line too long" for a short line). */
static void nul_byte_in_file_is_named_not_called_too_long(void **state)
{
    (void)state;
    static const char text[] = "model = draft\nmodel = dr\0aft\nurl_ttl = 60\n";
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/nul.conf", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, sizeof text - 1, fp), sizeof text - 1);
    fclose(fp);
    const char *env[] = {"HOME=/h", NULL};
    fake_env = env;
    config_t c;
    err_t e;
    assert_int_equal(config_load(&c, path, fake_getenv, &e), ERR_CONFIG);
    if (!strstr(e.msg, "nul.conf:2: NUL byte"))
        fail_msg("message \"%s\"", e.msg);
    config_free(&c);
    tu_rmtree(dir);
    free(dir);
}

static void bad_env_value_names_the_variable(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", "ONESHEET_URL_TTL=soon", NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "ONESHEET_URL_TTL: url_ttl"));
    config_free(&c);
}

/* Issue 21: the checksum posters are stored with, crc64nvme unless told
 * (file or ONESHEET_CHECKSUM); a bad environment value names the variable. */
static void checksum_defaults_to_crc64nvme_and_takes_sha256(void **state)
{
    (void)state;
    config_t c;
    err_t e;
    const char *none[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", NULL};
    fake_env = none;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_int_equal(c.checksum, STORE_SUM_CRC64NVME);
    config_free(&c);
    const char *sha[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", "ONESHEET_CHECKSUM=sha256",
                         NULL};
    fake_env = sha;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_int_equal(c.checksum, STORE_SUM_SHA256);
    config_free(&c);
    const char *bad[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", "ONESHEET_CHECKSUM=crc32",
                         NULL};
    fake_env = bad;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "ONESHEET_CHECKSUM: checksum"));
    config_free(&c);
}

static void missing_explicit_file_is_an_error(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, "/nonexistent/onesheet.conf", fake_getenv, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "/nonexistent/onesheet.conf"));
    config_free(&c);
}

static void prepare_state_creates_private_directory(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char sd[512];
    snprintf(sd, sizeof sd, "%s/a/b/onesheet", dir);
    const char *env[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", NULL};
    config_t c;
    err_t e;
    struct stat st;
    fake_env = env;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_int_equal(config_set(&c, "state_dir", sd, "test", &e), ERR_OK);
    assert_int_equal(config_prepare_state(&c, &e), ERR_OK);
    assert_int_equal(stat(sd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    config_free(&c);
    tu_rmtree(dir);
    free(dir);
}

static void api_keys_accept_hash_lists_and_reject_anything_else(void **state)
{
    (void)state;
    const char *h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    char two[200];
    snprintf(two, sizeof two, "%s , %s", h, h);
    const char *env[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null", two, NULL};
    char envline[220];
    snprintf(envline, sizeof envline, "ONESHEET_API_KEYS=%s", two);
    env[2] = envline;
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_string_equal(c.api_keys, two);
    assert_int_equal(config_set(&c, "api_keys", "", "test", &e), ERR_OK);
    const char *bad[] = {"secret", "9f86d0", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_set(&c, "api_keys", bad[i], "test", &e), ERR_CONFIG);
        assert_non_null(strstr(e.msg, "api_keys"));
        /* A rejected value, which may be a raw key, is never echoed. */
        assert_null(strstr(e.msg, bad[i]));
    }
    config_free(&c);
}

static void models_lists_known_ids_of_one_kind(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null",
                         "ONESHEET_MODELS=us.amazon.nova-canvas-v1:0, stability.sd3-5-large-v1:0",
                         NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_string_equal(c.models, "us.amazon.nova-canvas-v1:0, stability.sd3-5-large-v1:0");
    assert_int_equal(config_set(&c, "models", "draft", "--models", &e), ERR_OK);
    assert_string_equal(c.models, "draft");

    /* Unknown: the field, the id and the nearest known one. */
    assert_int_equal(config_set(&c, "models", "draft,stability.sd3-5-larg-v1:0", "--models",
                                &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "--models: models: unknown model"));
    assert_non_null(strstr(e.msg, "stability.sd3-5-larg-v1:0"));
    assert_non_null(strstr(e.msg, "did you mean \"stability.sd3-5-large-v1:0\""));
    /* Draft and Bedrock in one worker, an empty id, an empty list. */
    assert_int_equal(config_set(&c, "models", "draft,amazon.nova-canvas-v1:0", "--models", &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "draft cannot be served with Bedrock models"));
    assert_int_equal(config_set(&c, "models", "draft,,draft", "--models", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "empty model id"));
    assert_int_equal(config_set(&c, "models", "", "--models", &e), ERR_CONFIG);
    /* Nothing changed by a refused value. */
    assert_string_equal(c.models, "draft");
    config_free(&c);
}

static void webhook_secret_is_checked_and_never_echoed(void **state)
{
    (void)state;
    const char *env[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null",
                         "ONESHEET_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                         "ONESHEET_WEBHOOK_RETRY_FOR=600", NULL};
    config_t c;
    err_t e;
    fake_env = env;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_OK);
    assert_string_equal(c.webhook_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_int_equal(c.webhook_retry_for, 600);
    const char *bad[] = {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_tooSHORT=", "whsec_%%%%",
                         "whsec_"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_set(&c, "webhook_secret", bad[i], "f.conf:3", &e), ERR_CONFIG);
        assert_non_null(strstr(e.msg, "f.conf:3: webhook_secret"));
        if (strlen(bad[i]) > 6)
            assert_null(strstr(e.msg, bad[i] + 6));
    }
    /* The good one stays. */
    assert_string_equal(c.webhook_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_int_equal(config_set(&c, "webhook_retry_for", "0", "x", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "webhook_retry_for: must be an integer from 1 to 2592000"));
    config_free(&c);
    const char *env2[] = {"HOME=/h", "ONESHEET_CONFIG=/dev/null",
                          "ONESHEET_WEBHOOK_SECRET=whsec_c2hvcnQ=", NULL};
    fake_env = env2;
    assert_int_equal(config_load(&c, NULL, fake_getenv, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "ONESHEET_WEBHOOK_SECRET: webhook_secret"));
    assert_null(strstr(e.msg, "c2hvcnQ"));
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_derive_from_state_dir),
        cmocka_unit_test(env_overrides_file_and_flags_override_env),
        cmocka_unit_test(bad_file_values_name_file_line_and_key),
        cmocka_unit_test(nul_byte_in_file_is_named_not_called_too_long),
        cmocka_unit_test(bad_env_value_names_the_variable),
        cmocka_unit_test(missing_explicit_file_is_an_error),
        cmocka_unit_test(prepare_state_creates_private_directory),
        cmocka_unit_test(api_keys_accept_hash_lists_and_reject_anything_else),
        cmocka_unit_test(models_lists_known_ids_of_one_kind),
        cmocka_unit_test(webhook_secret_is_checked_and_never_echoed),
        cmocka_unit_test(checksum_defaults_to_crc64nvme_and_takes_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
