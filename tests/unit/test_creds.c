/* Tests for the local credential sources: environment, the shared config and
 * credentials files (profiles, malformed files), credential_process, and the
 * chain's order and errors among them.  Nothing here touches the network:
 * IMDS is disabled through the injected environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds.h"
#include "fakeenv.h"
#include "base/redact.h"
#include "testutil.h"

#define SECRET_LIKE "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"

typedef struct {
    char *home;
    fakeenv_t env;
    creds_options_t opts;
    char path[1024];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    char aws[1024];

    assert_non_null(f);
    f->home = tu_mkdtemp();
    snprintf(aws, sizeof aws, "%s/.aws", f->home);
    assert_int_equal(mkdir(aws, 0700), 0);
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

/* Path of rel inside the fixture's home (static per fixture). */
static const char *at_home(fx_t *f, const char *rel)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->home, rel);
    return f->path;
}

static void install(fx_t *f, const char *fixture, const char *as)
{
    size_t len;
    char *text = tu_read_file(tu_fixture(fixture), &len);
    assert_non_null(text);
    tu_write_file(at_home(f, as), text);
    free(text);
}

static void install_both(fx_t *f)
{
    install(f, "creds/config", ".aws/config");
    install(f, "creds/credentials", ".aws/credentials");
}

static void env_keys_are_used_with_session_token(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    fakeenv_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", "envSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    fakeenv_set(&f->env, "AWS_SESSION_TOKEN", "envTokenXXXXXXXX");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.secret_access_key, "envSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    assert_string_equal(c.session_token, "envTokenXXXXXXXX");
    assert_int_equal(c.expiration, 0);
    assert_string_equal(c.source, CREDS_SRC_ENV);
    creds_free(&c);
    assert_null(c.access_key_id);
}

static void env_half_pair_is_a_config_error(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "AWS_SECRET_ACCESS_KEY"));
}

static void env_beats_shared_files(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
    fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", "envSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    creds_free(&c);
    fakeenv_set(&f->env, "AWS_ACCESS_KEY_ID", NULL);
    fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", NULL);
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_string_equal(c.source, CREDS_SRC_PROFILE);
    assert_null(c.session_token);
    creds_free(&c);
}

static void aws_profile_selects_a_section_and_config_needs_the_prefix(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_PROFILE", "dev");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    /* From credentials [dev]; the config file's bare [dev] is not a profile. */
    assert_string_equal(c.access_key_id, "AKIDDEV");
    assert_string_equal(c.session_token, "devSessionTokenXXXXXXXXXXXXXXXXXXXXXXXXXX");
    creds_free(&c);

    /* Without the credentials file, [dev] in config still does not count. */
    unlink(at_home(f, ".aws/credentials"));
    assert_int_equal(creds_from_profile(&f->opts, &c, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "'dev' has no credentials"));
}

static void config_profile_prefix_and_spacing_are_understood(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    f->opts.profile = "cfgonly";   /* opts->profile beats AWS_PROFILE */
    fakeenv_set(&f->env, "AWS_PROFILE", "dev");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDCFGONLY");
    creds_free(&c);
    f->opts.profile = "spaced";
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDSPACED");
    creds_free(&c);
}

static void credentials_file_wins_over_config_for_one_profile(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_PROFILE", "both");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDFROMCREDENTIALS");
    assert_string_equal(c.secret_access_key, "bothCredsSecretXXXXXXXXXXXXXXXXXXXXXXXXXX");
    creds_free(&c);
}

static void credentials_file_takes_section_names_literally(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_PROFILE", "profile literal");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDLITERAL");
    creds_free(&c);
    fakeenv_set(&f->env, "AWS_PROFILE", "literal");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
}

static void unknown_profile_is_named_in_the_error(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_PROFILE", "nosuch");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "profile 'nosuch' not found"));
    assert_non_null(strstr(e.msg, "~/.aws/config"));
    assert_non_null(strstr(e.msg, "~/.aws/credentials"));
}

static void profile_without_credentials_falls_through(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_PROFILE", "regiononly");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "profile 'regiononly' has no credentials"));
}

static void broken_profiles_explain_themselves(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    install_both(f);
    fakeenv_set(&f->env, "AWS_PROFILE", "halfkey");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "aws_access_key_id without aws_secret_access_key"));
    fakeenv_set(&f->env, "AWS_PROFILE", "sso");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "SSO"));
}

static void file_locations_come_from_the_environment(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    assert_int_equal(mkdir(at_home(f, "elsewhere"), 0700), 0);
    install(f, "creds/credentials", "elsewhere/creds");
    install(f, "creds/config", "elsewhere/conf");
    /* Defaults under ~/.aws hold something else that must not be read. */
    tu_write_file(at_home(f, ".aws/credentials"),
                  "[default]\naws_access_key_id = AKIDWRONG\n"
                  "aws_secret_access_key = wrongSecretXXXXXXXXXXXXXXXX\n");
    fakeenv_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere/creds");
    fakeenv_set(&f->env, "AWS_CONFIG_FILE", "~/elsewhere/conf");
    fakeenv_set(&f->env, "AWS_PROFILE", "cfgonly");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDCFGONLY");
    creds_free(&c);
    fakeenv_set(&f->env, "AWS_PROFILE", NULL);
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    creds_free(&c);
}

static void malformed_config_files_name_the_file_and_line(void **state)
{
    fx_t *f = *state;
    static const char *const cases[][2] = {
        {"creds/bad_missing_equals", "~/.aws/config:7: expected 'key = value'"},
        {"creds/bad_unclosed_section", "~/.aws/config:7: expected ']'"},
        {"creds/bad_key_before_section", "~/.aws/config:7: 'key = value' before any [section]"},
        {"creds/bad_empty_key", "~/.aws/config:7: expected 'key = value'"},
        {"creds/bad_empty_section", "~/.aws/config:7: empty section name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        creds_t c;
        err_t e;
        install(f, cases[i][0], ".aws/config");
        assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
        if (strncmp(e.msg, cases[i][1], strlen(cases[i][1])) != 0)
            fail_msg("%s: got \"%s\"", cases[i][0], e.msg);
        assert_null(strstr(e.msg, SECRET_LIKE));
    }
}

static void malformed_credentials_file_is_named_too(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;
    char *value = NULL;

    install(f, "creds/config", ".aws/config");
    install(f, "creds/bad_missing_equals", ".aws/credentials");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_string_equal(e.msg, "~/.aws/credentials:7: expected 'key = value'");
    assert_int_equal(creds_profile_value(&f->opts, "region", &value, &e), ERR_CONFIG);
    assert_null(value);
}

static void no_source_lists_every_source_tried(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;
    static const char *const names[] = {
        "environment", "shared files", "web identity", "container", "imds",
        "AWS_EC2_METADATA_DISABLED",
    };

    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_null(c.access_key_id);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strstr(e.msg, names[i]))
            fail_msg("\"%s\" missing from \"%s\"", names[i], e.msg);
}

static void profile_values_ignore_sub_properties(void **state)
{
    fx_t *f = *state;
    char *v = NULL;
    err_t e;

    install_both(f);
    assert_int_equal(creds_profile_value(&f->opts, "region", &v, &e), ERR_OK);
    assert_string_equal(v, "eu-west-1");
    free(v);
    f->opts.profile = "dev";
    assert_int_equal(creds_profile_value(&f->opts, "region", &v, &e), ERR_OK);
    assert_string_equal(v, "us-west-2");
    free(v);
    assert_int_equal(creds_profile_value(&f->opts, "addressing_style", &v, &e), ERR_OK);
    assert_null(v);
    f->opts.profile = "nosuch";
    assert_int_equal(creds_profile_value(&f->opts, "region", &v, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "nosuch"));
}

/* Writes a credential_process script and a config whose [profile proc] runs
 * it; returns the command. */
static const char *proc_profile(fx_t *f, const char *script)
{
    static char cmd[1200], conf[1400];
    tu_write_file(at_home(f, "proc.sh"), script);
    snprintf(cmd, sizeof cmd, "/bin/sh '%s'", at_home(f, "proc.sh"));
    snprintf(conf, sizeof conf, "[profile proc]\ncredential_process = %s\n", cmd);
    tu_write_file(at_home(f, ".aws/config"), conf);
    fakeenv_set(&f->env, "AWS_PROFILE", "proc");
    return cmd;
}

static void credential_process_supplies_temporary_credentials(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    proc_profile(f, "cat <<EOF\n{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\",\n"
                    " \"SecretAccessKey\": \"procSecretXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\",\n"
                    " \"SessionToken\": \"procTokenXXXXXXXXXXXX\",\n"
                    " \"Expiration\": \"2099-01-01T00:00:00Z\"}\nEOF\n");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDPROC");
    assert_string_equal(c.session_token, "procTokenXXXXXXXXXXXX");
    assert_int_equal(c.expiration, 4070908800LL);
    assert_string_equal(c.source, CREDS_SRC_PROCESS);
    creds_free(&c);
}

static void credential_process_without_expiration_never_expires(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    assert_int_equal(creds_process_run(&f->opts,
        "printf '{\"Version\":1,\"AccessKeyId\":\"AKIDP2\",\"SecretAccessKey\":\"s2XXXXXXXXXX\"}'",
        &c, &e), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDP2");
    assert_null(c.session_token);
    assert_int_equal(c.expiration, 0);
    creds_free(&c);
}

static void credential_process_failure_reports_exit_and_stderr(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    proc_profile(f, "echo 'please run: corp-login' >&2\nexit 3\n");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "profile 'proc'"));
    assert_non_null(strstr(e.msg, "status 3"));
    assert_non_null(strstr(e.msg, "please run: corp-login"));
    assert_int_equal(creds_process_run(&f->opts, "kill -9 $$", &c, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, "signal 9"));
}

static void credential_process_garbage_is_invalid(void **state)
{
    fx_t *f = *state;
    static const char *const bad[] = {
        "echo not json at all",
        "echo '[1,2]'",
        "echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"B\"}'",
        "echo '{\"Version\": 1, \"AccessKeyId\": \"AKID\"}'",
        "echo '{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": "
        "\"sXXXXXXXXX\", \"Expiration\": \"tomorrow\"}'",
        "true",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        creds_t c;
        err_t e;
        assert_int_equal(creds_process_run(&f->opts, bad[i], &c, &e), ERR_INVALID);
        assert_non_null(strstr(e.msg, "credential_process"));
        assert_null(c.access_key_id);
    }
}

static bool process_gone(pid_t pid)
{
    char path[64], *stat;
    size_t len;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    stat = tu_read_file(path, &len);
    if (!stat)
        return true;
    char *rp = strrchr(stat, ')');
    bool zombie = rp && rp[1] == ' ' && rp[2] == 'Z';
    free(stat);
    return zombie;
}

static void credential_process_timeout_kills_it_and_its_children(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;
    char cmd[1200];
    struct timespec t0, t1;

    snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > '%s'; wait", at_home(f, "pid"));
    f->opts.process_timeout_ms = 300;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(creds_process_run(&f->opts, cmd, &c, &e), ERR_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    assert_non_null(strstr(e.msg, "300 ms"));
    size_t len;
    char *pid = tu_read_file(at_home(f, "pid"), &len);
    assert_non_null(pid);
    pid_t p = (pid_t)atoi(pid);
    free(pid);
    for (int i = 0; i < 100 && !process_gone(p); i++)
        usleep(10000);
    assert_true(process_gone(p));
}

static void credential_process_output_is_capped(void **state)
{
    fx_t *f = *state;
    creds_t c;
    err_t e;

    f->opts.process_max_output = 4096;
    assert_int_equal(creds_process_run(&f->opts, "yes '{}' | head -c 100000", &c, &e),
                     ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "4096"));
    f->opts.process_max_output = 0;   /* default 64 KiB */
    assert_int_equal(creds_process_run(&f->opts, "yes | head -c 70000", &c, &e),
                     ERR_TOOBIG);
}

static void errors_never_contain_secrets(void **state)
{
    fx_t *f = *state;
    const char *secret = "procSecretNEVERSHOWNXXXXXXXXXXXXXXXXXXXX";
    const char *token = "procTokenNEVERSHOWNXXXXXXXXXX";
    char cmds[6][512];
    creds_t c;
    err_t e;

    snprintf(cmds[0], sizeof cmds[0], "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
             "\"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\", garbage'", secret, token);
    snprintf(cmds[1], sizeof cmds[1], "echo '{\"Version\": 2, \"AccessKeyId\": \"A\", "
             "\"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\"}'", secret, token);
    snprintf(cmds[2], sizeof cmds[2], "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
             "\"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\"}' >&2; exit 1",
             secret, token);
    snprintf(cmds[3], sizeof cmds[3], "echo '%s %s' >&2; exit 1", secret, token);
    snprintf(cmds[4], sizeof cmds[4], "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
             "\"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\", "
             "\"Expiration\": \"soon\"}'", secret, token);
    snprintf(cmds[5], sizeof cmds[5], "echo '{\"Version\": 1, \"SecretAccessKey\": "
             "\"%s\", \"SessionToken\": \"%s\"}'", secret, token);
    for (size_t i = 0; i < 6; i++) {
        assert_int_not_equal(creds_process_run(&f->opts, cmds[i], &c, &e), ERR_OK);
        if (strstr(e.msg, secret) || strstr(e.msg, token) || strstr(e.msg, "NEVERSHOWN"))
            fail_msg("case %zu leaked: %s", i, e.msg);
    }

    /* Half-set environment and half-set profiles. */
    fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", secret);
    fakeenv_set(&f->env, "AWS_SESSION_TOKEN", token);
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_null(strstr(e.msg, "NEVERSHOWN"));
    fakeenv_set(&f->env, "AWS_SECRET_ACCESS_KEY", NULL);
    fakeenv_set(&f->env, "AWS_SESSION_TOKEN", NULL);
    tu_write_file(at_home(f, ".aws/credentials"),
                  "[default]\naws_secret_access_key = procSecretNEVERSHOWNXXXXXXXXXXXXXXXXXXXX\n"
                  "aws_session_token = procTokenNEVERSHOWNXXXXXXXXXX\n");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_null(strstr(e.msg, "NEVERSHOWN"));
    tu_write_file(at_home(f, ".aws/credentials"),
                  "[default]\nprocSecretNEVERSHOWNXXXXXXXXXXXXXXXXXXXX\n");
    assert_int_equal(creds_resolve(&f->opts, &c, &e), ERR_CONFIG);
    assert_null(strstr(e.msg, "NEVERSHOWN"));
}

static void iso8601_times_parse_with_offsets_and_fractions(void **state)
{
    (void)state;
    int64_t t;
    assert_true(creds_parse_time("2024-05-01T12:00:00Z", &t));
    assert_int_equal(t, 1714564800LL);
    assert_true(creds_parse_time("2024-05-01T12:00:00.123Z", &t));
    assert_int_equal(t, 1714564800LL);
    assert_true(creds_parse_time("2024-05-01T14:00:00+02:00", &t));
    assert_int_equal(t, 1714564800LL);
    assert_false(creds_parse_time("2024-05-01 12:00", &t));
    assert_false(creds_parse_time("2024-13-01T12:00:00Z", &t));
    assert_false(creds_parse_time("2024-05-01T12:00:00", &t));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(env_keys_are_used_with_session_token),
        T(env_half_pair_is_a_config_error),
        T(env_beats_shared_files),
        T(aws_profile_selects_a_section_and_config_needs_the_prefix),
        T(config_profile_prefix_and_spacing_are_understood),
        T(credentials_file_wins_over_config_for_one_profile),
        T(credentials_file_takes_section_names_literally),
        T(unknown_profile_is_named_in_the_error),
        T(profile_without_credentials_falls_through),
        T(broken_profiles_explain_themselves),
        T(file_locations_come_from_the_environment),
        T(malformed_config_files_name_the_file_and_line),
        T(malformed_credentials_file_is_named_too),
        T(no_source_lists_every_source_tried),
        T(profile_values_ignore_sub_properties),
        T(credential_process_supplies_temporary_credentials),
        T(credential_process_without_expiration_never_expires),
        T(credential_process_failure_reports_exit_and_stderr),
        T(credential_process_garbage_is_invalid),
        T(credential_process_timeout_kills_it_and_its_children),
        T(credential_process_output_is_capped),
        T(errors_never_contain_secrets),
        T(iso8601_times_parse_with_offsets_and_fractions),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
