/* Tests for job: strict spec parsing, the validation rules, the canonical
 * form, ids, seeds and queue messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "jobs/job.h"

/* Parses and normalises text; returns the code and leaves the message in e.
 * On success *canon (when given) gets the canonical JSON with id. */
static err_code_t load(const char *text, size_t len, const job_defaults_t *d,
                       err_t *e, char **canon)
{
    job_spec_t s;
    err_code_t rc;
    buf_t b = BUF_INIT;

    job_spec_init(&s);
    err_clear(e);
    rc = job_spec_parse_json(text, len, &s, e);
    if (rc == ERR_OK)
        rc = job_spec_normalise(&s, d, e);
    if (rc == ERR_OK && canon) {
        assert_int_equal(job_spec_to_json_with_id(&s, &b), ERR_OK);
        *canon = buf_steal(&b);
    }
    job_spec_free(&s);
    return rc;
}

static err_code_t load_str(const char *text, err_t *e, char **canon)
{
    return load(text, strlen(text), NULL, e, canon);
}

/* Asserts text fails with a message containing want. */
static void expect_error(const char *text, const char *want)
{
    err_t e;
    err_code_t rc = load_str(text, &e, NULL);
    if (rc != ERR_INVALID || !strstr(e.msg, want))
        fail_msg("%s\n  got rc=%d \"%s\"\n  want \"%s\"", text, rc, e.msg, want);
}

static void expect_ok(const char *text)
{
    err_t e;
    if (load_str(text, &e, NULL) != ERR_OK)
        fail_msg("%s\n  unexpected error \"%s\"", text, e.msg);
}

/* {"prompt":"<n copies of unit>"} */
static char *prompt_of(const char *field, const char *unit, size_t n)
{
    buf_t b = BUF_INIT;
    assert_int_equal(buf_appendf(&b, "{\"prompt\":\"p\",\"%s\":\"", field), ERR_OK);
    if (!strcmp(field, "prompt"))
        b.len = strlen("{\"prompt\":\"");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(buf_append_str(&b, unit), ERR_OK);
    assert_int_equal(buf_append_str(&b, "\"}"), ERR_OK);
    return buf_steal(&b);
}

static void minimal_spec_gets_defaults_in_canonical_form(void **state)
{
    (void)state;
    err_t e;
    char *c = NULL;
    assert_int_equal(load_str("{\"prompt\":\"  a fox in a box \\n\"}", &e, &c), ERR_OK);
    assert_string_equal(c, "{\"prompt\":\"a fox in a box\",\"aspect_ratio\":\"2:3\","
                           "\"output_format\":\"png\"}");
    free(c);
}

static void canonical_order_is_fixed_whatever_the_input_order(void **state)
{
    (void)state;
    const char *a =
        "{\"tags\":{\"z\":\"last\",\"a\":\"first\"},\"layout\":\"bold\","
        "\"credits\":\"Dir. A\",\"tagline\":\"Run.\",\"title\":\"Fox\","
        "\"output_format\":\"webp\",\"seed\":42,\"aspect_ratio\":\"16:9\","
        "\"model\":\"stability.sd3-5-large-v1:0\",\"negative_prompt\":\"blur\","
        "\"prompt\":\"a fox\",\"id\":\"fox-1\"}";
    const char *b =
        "{\"id\":\"fox-1\",\"prompt\":\"a fox\",\"negative_prompt\":\"blur\","
        "\"model\":\"stability.sd3-5-large-v1:0\",\"aspect_ratio\":\"16:9\","
        "\"seed\":42,\"output_format\":\"webp\",\"title\":\"Fox\",\"tagline\":"
        "\"Run.\",\"credits\":\"Dir. A\",\"layout\":\"bold\",\"tags\":{\"a\":"
        "\"first\",\"z\":\"last\"}}";
    err_t e;
    char *ca = NULL, *cb = NULL;
    assert_int_equal(load_str(a, &e, &ca), ERR_OK);
    assert_int_equal(load_str(b, &e, &cb), ERR_OK);
    assert_string_equal(ca, b);
    assert_string_equal(cb, b);
    free(ca);
    free(cb);
}

static void unknown_fields_are_errors_naming_the_field(void **state)
{
    (void)state;
    expect_error("{\"prompt\":\"a\",\"colour\":\"red\"}", "colour: unknown field");
    expect_error("{\"prompt\":\"a\",\"Prompt\":\"b\"}", "Prompt: unknown field");
    expect_error("{\"prompt\":\"a\",\"prompt\":\"b\"}", "prompt: duplicate field");
}

static void wrong_types_are_errors_naming_the_field(void **state)
{
    (void)state;
    expect_error("{\"prompt\":1}", "prompt: must be a string");
    expect_error("{\"prompt\":\"a\",\"id\":7}", "id: must be a string");
    expect_error("{\"prompt\":\"a\",\"title\":[\"x\"]}", "title: must be a string");
    expect_error("{\"prompt\":\"a\",\"model\":{}}", "model: must be a string");
    expect_error("{\"prompt\":\"a\",\"aspect_ratio\":1.5}", "aspect_ratio: must be a string");
    expect_error("{\"prompt\":\"a\",\"tags\":\"x\"}", "tags: must be an object");
    expect_error("{\"prompt\":\"a\",\"tags\":{\"k\":true}}", "tags.k: must be a string");
    expect_error("[\"a\"]", "must be a JSON object");
    expect_error("\"a fox\"", "must be a JSON object");
    expect_error("{\"prompt\":\"a\",}", "invalid JSON");
    expect_error("", "invalid JSON");
}

static void seed_must_be_an_integer_in_range(void **state)
{
    (void)state;
    const char *msg = "seed: must be an integer between 0 and 4294967294";
    expect_ok("{\"prompt\":\"a\",\"seed\":0}");
    expect_ok("{\"prompt\":\"a\",\"seed\":4294967294}");
    expect_error("{\"prompt\":\"a\",\"seed\":4294967295}", msg);
    expect_error("{\"prompt\":\"a\",\"seed\":-1}", msg);
    expect_error("{\"prompt\":\"a\",\"seed\":4.5}", msg);
    expect_error("{\"prompt\":\"a\",\"seed\":42.0}", msg);
    expect_error("{\"prompt\":\"a\",\"seed\":1e3}", msg);
    expect_error("{\"prompt\":\"a\",\"seed\":\"42\"}", msg);
    expect_error("{\"prompt\":\"a\",\"seed\":true}", msg);
    expect_error("{\"prompt\":\"a\",\"seed\":99999999999999999999}", msg);
    expect_error("{\"seed\": 99999999999999999999 ,\"prompt\":\"a\"}", msg);
}

static void nul_bytes_are_refused_clearly(void **state)
{
    (void)state;
    static const char raw[] = "{\"prompt\":\"a\0b\"}";
    err_t e;
    expect_error("{\"prompt\":\"a fox\\u0000 in a box\"}", "prompt: contains a NUL byte");
    expect_error("{\"prompt\":\"a\",\"title\":\"\\u0000\"}", "title: contains a NUL byte");
    expect_error("{\"prompt\":\"a\",\"tags\":{\"k\":\"\\u0000\"}}", "tags.k: contains a NUL byte");
    assert_int_equal(load(raw, sizeof raw - 1, NULL, &e, NULL), ERR_INVALID);
    assert_string_equal(e.msg, "prompt: contains a NUL byte");
}

static void raw_invalid_utf8_names_the_field(void **state)
{
    (void)state;
    expect_error("{\"prompt\":\"a \xff fox\"}", "prompt: invalid UTF-8");
    expect_error("{\"prompt\":\"a\",\"tagline\":\"\xc3\"}", "tagline: invalid UTF-8");
    expect_error("{\"pro\xffmpt\":\"a\"}", "invalid UTF-8 at column 6");
    /* Inside a nested object the top-level member is the one named. */
    expect_error("{\"prompt\":\"a\",\"tags\":{\"k\":\"\xff\"}}", "tags: invalid UTF-8");
}

static void utf8_rules_refuse_overlongs_surrogates_and_beyond_unicode(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", /* overlong */
        "\xed\xa0\x80", "\xed\xbf\xbf",                             /* surrogates */
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",             /* > U+10FFFF */
        "\xe2\x82", "\x80", "\xe2\x28\xa1",                         /* broken */
    };
    static const char *const good[] = {"\xc2\x80x", "\xe2\x82\xac", "\xed\x9f\xbf",
                                       "\xee\x80\x80", "\xf0\x9f\x8e\xac",
                                       "\xf4\x8f\xbf\xbf"};
    char text[64];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, "{\"prompt\":\"x%sy\"}", bad[i]);
        expect_error(text, "prompt: invalid UTF-8");
    }
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        /* U+0080 is a C1 control: valid UTF-8, refused for another reason. */
        snprintf(text, sizeof text, "{\"prompt\":\"x%sy\"}", good[i]);
        if (i == 0)
            expect_error(text, "prompt: contains a control character (U+0080)");
        else
            expect_ok(text);
    }
}

static void control_characters_other_than_newline_and_tab_are_refused(void **state)
{
    (void)state;
    expect_ok("{\"prompt\":\"line one\\nline two\\tend\"}");
    expect_error("{\"prompt\":\"a\\rb\"}", "prompt: contains a control character (U+000D)");
    expect_error("{\"prompt\":\"a\\u001bb\"}", "prompt: contains a control character (U+001B)");
    expect_error("{\"prompt\":\"a\\u007fb\"}", "prompt: contains a control character (U+007F)");
    expect_error("{\"prompt\":\"a\\u009fb\"}", "prompt: contains a control character (U+009F)");
    expect_error("{\"prompt\":\"a\",\"credits\":\"\\u0007\"}", "credits: contains a control");
}

static void prompt_is_required_and_not_blank(void **state)
{
    (void)state;
    expect_error("{}", "prompt: is required");
    expect_error("{\"title\":\"T\"}", "prompt: is required");
    expect_error("{\"prompt\":null}", "prompt: is required");
    expect_error("{\"prompt\":\"\"}", "prompt: must not be empty");
    expect_error("{\"prompt\":\" \\n\\t \"}", "prompt: must not be empty");
}

static void prompt_limit_is_ten_thousand_code_points(void **state)
{
    (void)state;
    char *t;
    t = prompt_of("prompt", "a", 10000);
    expect_ok(t);
    free(t);
    t = prompt_of("prompt", "a", 10001);
    expect_error(t, "prompt: must be at most 10000 characters (got 10001)");
    free(t);
    /* 10,000 two-byte and four-byte characters are 20,000 and 40,000 bytes. */
    t = prompt_of("prompt", "\xc3\xa9", 10000);
    expect_ok(t);
    free(t);
    t = prompt_of("prompt", "\xf0\x9f\x8e\xac", 10000);
    expect_ok(t);
    free(t);
    t = prompt_of("prompt", "\xc3\xa9", 10001);
    expect_error(t, "prompt: must be at most 10000 characters");
    free(t);
    t = prompt_of("negative_prompt", "n", 10001);
    expect_error(t, "negative_prompt: must be at most 10000 characters");
    free(t);
}

static void poster_text_is_limited_to_three_hundred_characters(void **state)
{
    (void)state;
    static const char *const fields[] = {"title", "tagline", "credits"};
    char *t;
    for (size_t i = 0; i < 3; i++) {
        char want[64];
        t = prompt_of(fields[i], "\xc3\xbc", 300);
        expect_ok(t);
        free(t);
        t = prompt_of(fields[i], "x", 301);
        snprintf(want, sizeof want, "%s: must be at most 300 characters", fields[i]);
        expect_error(t, want);
        free(t);
    }
}

static void enumerated_fields_accept_only_their_values(void **state)
{
    (void)state;
    static const char *const ratios[] = {"16:9", "1:1", "21:9", "2:3", "3:2",
                                         "4:5",  "5:4", "9:16", "9:21"};
    char t[96];
    for (size_t i = 0; i < sizeof ratios / sizeof *ratios; i++) {
        snprintf(t, sizeof t, "{\"prompt\":\"a\",\"aspect_ratio\":\"%s\"}", ratios[i]);
        expect_ok(t);
    }
    expect_error("{\"prompt\":\"a\",\"aspect_ratio\":\"7:3\"}",
                 "aspect_ratio: must be one of 16:9, 1:1");
    expect_error("{\"prompt\":\"a\",\"aspect_ratio\":\"\"}", "aspect_ratio: must be one of");
    expect_error("{\"prompt\":\"a\",\"aspect_ratio\":\"16:9:16:9:16:9\"}",
                 "aspect_ratio: must be one of");
    expect_ok("{\"prompt\":\"a\",\"output_format\":\"jpeg\"}");
    expect_ok("{\"prompt\":\"a\",\"output_format\":\"webp\"}");
    expect_error("{\"prompt\":\"a\",\"output_format\":\"gif\"}", "output_format: must be one of png, jpeg, webp");
    expect_error("{\"prompt\":\"a\",\"output_format\":\"PNG\"}", "output_format: must be one of");
    expect_ok("{\"prompt\":\"a\",\"layout\":\"classic\"}");
    expect_ok("{\"prompt\":\"a\",\"layout\":\"minimal\"}");
    expect_error("{\"prompt\":\"a\",\"layout\":\"fancy\"}", "layout: must be one of classic, minimal, bold");
}

static void ids_and_models_use_a_safe_alphabet(void **state)
{
    (void)state;
    char long_id[140], t[300];
    expect_ok("{\"prompt\":\"a\",\"id\":\"SKU-17_b.v2:final\"}");
    expect_error("{\"prompt\":\"a\",\"id\":\"poster 1\"}", "id: must be 1 to 128 characters");
    expect_error("{\"prompt\":\"a\",\"id\":\"\"}", "id: must be 1 to 128");
    expect_error("{\"prompt\":\"a\",\"id\":\".hidden\"}", "id: must be");
    expect_error("{\"prompt\":\"a\",\"id\":\"..\"}", "id: must be");
    expect_error("{\"prompt\":\"a\",\"id\":\"a/b\"}", "id: must be");
    expect_error("{\"prompt\":\"a\",\"id\":\"caf\xc3\xa9\"}", "id: must be");
    memset(long_id, 'x', 128);
    long_id[128] = '\0';
    snprintf(t, sizeof t, "{\"prompt\":\"a\",\"id\":\"%s\"}", long_id);
    expect_ok(t);
    assert_true(job_id_valid(long_id));
    long_id[128] = 'x';
    long_id[129] = '\0';
    snprintf(t, sizeof t, "{\"prompt\":\"a\",\"id\":\"%s\"}", long_id);
    expect_error(t, "id: must be");
    assert_false(job_id_valid(long_id));
    assert_false(job_id_valid(NULL));

    expect_ok("{\"prompt\":\"a\",\"model\":\"draft\"}");
    expect_ok("{\"prompt\":\"a\",\"model\":\"stability.sd3-5-large-v1:0\"}");
    expect_ok("{\"prompt\":\"a\",\"model\":\"us.stability.stable-image-ultra-v1:1\"}");
    expect_error("{\"prompt\":\"a\",\"model\":\"\"}", "model: must be 1 to 256 characters");
    expect_error("{\"prompt\":\"a\",\"model\":\"a b\"}", "model: must be");
    expect_error("{\"prompt\":\"a\",\"model\":\"arn/x\"}", "model: must be");
}

static void tags_are_limited_and_written_sorted(void **state)
{
    (void)state;
    buf_t b = BUF_INIT;
    err_t e;
    char *c = NULL;

    assert_int_equal(load_str("{\"prompt\":\"a\",\"tags\":{\"sku\":\"A-17\",\"campaign\":"
                              "\"spring \\\"26\\\"\",\"Z\":\"\"}}", &e, &c), ERR_OK);
    assert_non_null(strstr(c, "\"tags\":{\"Z\":\"\",\"campaign\":\"spring \\\"26\\\"\","
                              "\"sku\":\"A-17\"}}"));
    free(c);
    /* An empty object is the same as no tags. */
    assert_int_equal(load_str("{\"prompt\":\"a\",\"tags\":{}}", &e, &c), ERR_OK);
    assert_null(strstr(c, "tags"));
    free(c);

    for (int n = 50; n <= 51; n++) {
        buf_reset(&b);
        buf_append_str(&b, "{\"prompt\":\"a\",\"tags\":{");
        for (int i = 0; i < n; i++)
            buf_appendf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
        buf_append_str(&b, "}}");
        if (n == 50)
            expect_ok((char *)b.data);
        else
            expect_error((char *)b.data, "tags: at most 50 keys (got 51)");
    }
    buf_free(&b);
    char *t = malloc(600);
    snprintf(t, 600, "{\"prompt\":\"a\",\"tags\":{\"sku\":\"%0256d\"}}", 0);
    expect_ok(t);
    snprintf(t, 600, "{\"prompt\":\"a\",\"tags\":{\"sku\":\"%0257d\"}}", 0);
    expect_error(t, "tags.sku: must be at most 256 characters");
    snprintf(t, 600, "{\"prompt\":\"a\",\"tags\":{\"%0129d\":\"v\"}}", 0);
    expect_error(t, "must be at most 128 characters");
    free(t);
    expect_error("{\"prompt\":\"a\",\"tags\":{\"\":\"v\"}}", "tags: keys must not be empty");
}

static void defaults_fill_only_missing_fields(void **state)
{
    (void)state;
    job_defaults_t d = {"stability.sd3-5-large-v1:0", "16:9", 7, "jpeg", "Default", NULL};
    err_t e;
    char *c = NULL;
    assert_int_equal(load("{\"prompt\":\"a\"}", 14, &d, &e, &c), ERR_OK);
    assert_string_equal(c, "{\"prompt\":\"a\",\"model\":\"stability.sd3-5-large-v1:0\","
                           "\"aspect_ratio\":\"16:9\",\"seed\":7,\"output_format\":"
                           "\"jpeg\",\"title\":\"Default\"}");
    free(c);
    const char *own = "{\"prompt\":\"a\",\"model\":\"draft\",\"aspect_ratio\":\"1:1\","
                      "\"seed\":1,\"output_format\":\"png\",\"title\":\"Mine\"}";
    assert_int_equal(load(own, strlen(own), &d, &e, &c), ERR_OK);
    assert_string_equal(c, "{\"prompt\":\"a\",\"model\":\"draft\",\"aspect_ratio\":\"1:1\","
                           "\"seed\":1,\"output_format\":\"png\",\"title\":\"Mine\"}");
    free(c);
    d.aspect_ratio = "7:3";
    assert_int_equal(load("{\"prompt\":\"a\"}", 14, &d, &e, NULL), ERR_INVALID);
    assert_non_null(strstr(e.msg, "aspect_ratio: must be one of"));
}

static void parse_reads_only_the_given_length(void **state)
{
    (void)state;
    const char *text = "{\"prompt\":\"a fox\"}GARBAGE";
    err_t e;
    char *c = NULL;
    assert_int_equal(load(text, 18, NULL, &e, &c), ERR_OK);
    assert_string_equal(c, "{\"prompt\":\"a fox\",\"aspect_ratio\":\"2:3\",\"output_format\":\"png\"}");
    free(c);
}

/* Parses and normalises a spec into s (which the caller frees). */
static void spec_from(const char *text, job_spec_t *s)
{
    err_t e;
    job_spec_init(s);
    err_clear(&e);
    if (job_spec_parse_json(text, strlen(text), s, &e) != ERR_OK ||
        job_spec_normalise(s, NULL, &e) != ERR_OK)
        fail_msg("%s: %s", text, e.msg);
}

static void job_id_is_a_stable_hash_of_batch_and_spec(void **state)
{
    (void)state;
    /* Each variant differs from the base in exactly one field. */
    static const char *const variants[] = {
        "{\"prompt\":\"a fox.\"}",
        "{\"prompt\":\"a fox\",\"negative_prompt\":\"blur\"}",
        "{\"prompt\":\"a fox\",\"model\":\"draft\"}",
        "{\"prompt\":\"a fox\",\"aspect_ratio\":\"1:1\"}",
        "{\"prompt\":\"a fox\",\"seed\":0}",
        "{\"prompt\":\"a fox\",\"output_format\":\"jpeg\"}",
        "{\"prompt\":\"a fox\",\"title\":\"T\"}",
        "{\"prompt\":\"a fox\",\"tagline\":\"T\"}",
        "{\"prompt\":\"a fox\",\"credits\":\"T\"}",
        "{\"prompt\":\"a fox\",\"layout\":\"bold\"}",
        "{\"prompt\":\"a fox\",\"tags\":{\"k\":\"v\"}}",
    };
    job_spec_t base, again, v;
    char id1[JOB_ID_MAX + 1], id2[JOB_ID_MAX + 1], idv[JOB_ID_MAX + 1];

    spec_from("{\"prompt\":\"a fox\"}", &base);
    spec_from("{\"prompt\":\"  a fox  \",\"output_format\":\"png\"}", &again);
    assert_int_equal(job_id_for("b0123456789abcdef", &base, id1), ERR_OK);
    assert_int_equal(job_id_for("b0123456789abcdef", &again, id2), ERR_OK);
    assert_string_equal(id1, id2);
    assert_int_equal(strlen(id1), 21);
    assert_int_equal(id1[0], 'j');
    assert_int_equal(strspn(id1 + 1, "0123456789abcdef"), 20);
    assert_true(job_id_valid(id1));

    assert_int_equal(job_id_for("b0123456789abcdee", &base, id2), ERR_OK);
    assert_string_not_equal(id1, id2);
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        spec_from(variants[i], &v);
        assert_int_equal(job_id_for("b0123456789abcdef", &v, idv), ERR_OK);
        if (!strcmp(idv, id1))
            fail_msg("variant %s has the base id", variants[i]);
        job_spec_free(&v);
    }
    spec_from("{\"prompt\":\"a fox\",\"id\":\"fox-1\"}", &v);
    assert_int_equal(job_id_for("b0123456789abcdef", &v, idv), ERR_OK);
    assert_string_equal(idv, "fox-1");
    job_spec_free(&v);
    job_spec_free(&base);
    job_spec_free(&again);
}

static void job_id_matches_the_documented_hash(void **state)
{
    (void)state;
    /* sha256("b1\n{\"prompt\":\"x\",\"aspect_ratio\":\"2:3\",\"output_format\":\"png\"}")
     * computed independently (python3 hashlib). */
    job_spec_t s;
    char id[JOB_ID_MAX + 1];
    spec_from("{\"prompt\":\"x\"}", &s);
    assert_int_equal(job_id_for("b1", &s, id), ERR_OK);
    assert_string_equal(id, "j9ed1e68a71779acbdf63");
    job_spec_free(&s);
}

static void effective_seed_is_the_spec_seed_or_derived_from_the_job_id(void **state)
{
    (void)state;
    job_spec_t s;
    int64_t a, b, c;
    spec_from("{\"prompt\":\"a fox\",\"seed\":1234}", &s);
    assert_int_equal(job_effective_seed(&s, "j00"), 1234);
    s.seed = 0;
    assert_int_equal(job_effective_seed(&s, "j00"), 0);
    s.seed = JOB_SEED_UNSET;
    a = job_effective_seed(&s, "j0123456789abcdef0123");
    b = job_effective_seed(&s, "j0123456789abcdef0123");
    c = job_effective_seed(&s, "j0123456789abcdef0124");
    assert_int_equal(a, b);
    assert_true(a != c);
    assert_in_range(a, 0, JOB_SEED_MAX);
    assert_in_range(c, 0, JOB_SEED_MAX);
    job_spec_free(&s);
}

static void message_round_trips_every_field(void **state)
{
    (void)state;
    const char *text =
        "{\"id\":\"fox-1\",\"prompt\":\"a fox \\\"quoted\\\"\\nwith \xf0\x9f\xa6\x8a\","
        "\"negative_prompt\":\"blur\",\"model\":\"us.stability.stable-image-ultra-v1:1\","
        "\"aspect_ratio\":\"9:16\",\"seed\":4294967294,\"output_format\":\"webp\","
        "\"title\":\"FOX\",\"tagline\":\"It runs.\",\"credits\":\"Dir. \xc3\x89mile\","
        "\"layout\":\"minimal\",\"tags\":{\"sku\":\"A-17\"}}";
    job_spec_t s, back;
    buf_t m = BUF_INIT, j1 = BUF_INIT, j2 = BUF_INIT;
    char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
    err_t e;

    spec_from(text, &s);
    assert_int_equal(job_message_encode("b0011223344556677", "fox-1", &s, &m), ERR_OK);
    assert_int_equal(strncmp((char *)m.data, "{\"v\":1,\"batch\":\"b0011223344556677\","
                                             "\"job\":\"fox-1\",\"spec\":{", 54), 0);
    assert_int_equal(job_message_decode((char *)m.data, m.len, batch, job, &back, &e),
                     ERR_OK);
    assert_string_equal(batch, "b0011223344556677");
    assert_string_equal(job, "fox-1");
    assert_int_equal(job_spec_to_json_with_id(&s, &j1), ERR_OK);
    assert_int_equal(job_spec_to_json_with_id(&back, &j2), ERR_OK);
    assert_string_equal(j1.data, j2.data);
    assert_string_equal(j1.data, text);
    assert_int_equal(back.seed, 4294967294LL);
    buf_free(&m);
    buf_free(&j1);
    buf_free(&j2);
    job_spec_free(&s);
    job_spec_free(&back);
}

static void message_carries_url_ttl_outside_the_spec(void **state)
{
    (void)state;
    job_spec_t s, back;
    buf_t m = BUF_INIT, plain = BUF_INIT;
    char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1], id1[JOB_ID_MAX + 1], id2[JOB_ID_MAX + 1];
    err_t e;

    spec_from("{\"prompt\":\"a fox\"}", &s);
    assert_int_equal(job_id_for("b1", &s, id1), ERR_OK);
    assert_int_equal(job_message_encode("b1", "j1", &s, &plain), ERR_OK);
    assert_null(strstr((char *)plain.data, "url_ttl"));
    s.url_ttl = 900;
    /* A delivery option: neither the canonical spec nor the job id change. */
    assert_int_equal(job_id_for("b1", &s, id2), ERR_OK);
    assert_string_equal(id1, id2);
    assert_int_equal(job_message_encode("b1", "j1", &s, &m), ERR_OK);
    assert_non_null(strstr((char *)m.data, "},\"url_ttl\":900}"));
    assert_int_equal(job_message_decode((char *)m.data, m.len, batch, job, &back, &e), ERR_OK);
    assert_int_equal(back.url_ttl, 900);
    job_spec_free(&back);
    assert_int_equal(job_message_decode((char *)plain.data, plain.len, batch, job, &back, &e),
                     ERR_OK);
    assert_int_equal(back.url_ttl, 0);
    job_spec_free(&back);
    buf_reset(&m);
    s.url_ttl = 604801;
    assert_int_equal(job_message_encode("b1", "j1", &s, &m), ERR_INVALID);
    assert_int_equal(job_spec_normalise(&s, NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "url_ttl: must be an integer from 1 to 604800"));
    s.url_ttl = -1;
    assert_int_equal(job_message_encode("b1", "j1", &s, &m), ERR_INVALID);
    /* Only the message carries it: a spec naming it is an unknown field. */
    job_spec_t in;
    job_spec_init(&in);
    const char *with_ttl = "{\"prompt\":\"a\",\"url_ttl\":60}";
    assert_int_equal(job_spec_parse_json(with_ttl, strlen(with_ttl), &in, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "url_ttl: unknown field"));
    job_spec_free(&in);
    buf_free(&m);
    buf_free(&plain);
    job_spec_free(&s);
}

static void poison_messages_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"", "message: invalid JSON"},
        {"not json", "message: invalid JSON"},
        {"[1]", "message: must be a JSON object"},
        {"{\"v\":2,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"}}", "v: unsupported version"},
        {"{\"v\":\"1\",\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"}}", "v: unsupported version"},
        {"{\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"}}", "v: missing"},
        {"{\"v\":1,\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"}}", "batch: missing"},
        {"{\"v\":1,\"batch\":\"b1\",\"spec\":{\"prompt\":\"a\"}}", "job: missing"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\"}", "spec: missing"},
        {"{\"v\":1,\"batch\":\"../x\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"}}", "batch: not a valid id"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":7,\"spec\":{\"prompt\":\"a\"}}", "job: not a valid id"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"\",\"spec\":{\"prompt\":\"a\"}}", "job: not a valid id"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"},\"x\":1}", "x: unknown field"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"\"}}", "spec: prompt: must not be empty"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\",\"seed\":-5}}", "spec: seed: must be"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":[]}", "spec: spec: must be a JSON object"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"}", "message: invalid JSON"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"},\"url_ttl\":0}", "url_ttl: must be an integer from 1"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"},\"url_ttl\":604801}", "url_ttl: must be"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"},\"url_ttl\":\"60\"}", "url_ttl: must be"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"},\"url_ttl\":60.5}", "url_ttl: must be"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"},\"url_ttl\":-3}", "url_ttl: must be"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\"},\"url_ttl\":null}", "url_ttl: must be"},
        {"{\"v\":1,\"batch\":\"b1\",\"job\":\"j1\",\"spec\":{\"prompt\":\"a\",\"url_ttl\":60}}", "url_ttl: unknown field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char batch[JOB_ID_MAX + 1], job[JOB_ID_MAX + 1];
        job_spec_t s;
        err_t e;
        err_clear(&e);
        err_code_t rc = job_message_decode(cases[i].body, strlen(cases[i].body),
                                           batch, job, &s, &e);
        if (rc != ERR_INVALID || !strstr(e.msg, cases[i].want))
            fail_msg("%s\n  got rc=%d \"%s\"\n  want \"%s\"", cases[i].body, rc,
                     e.msg, cases[i].want);
        assert_string_equal(batch, "");
        assert_string_equal(job, "");
        assert_null(s.prompt);
        job_spec_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_spec_gets_defaults_in_canonical_form),
        cmocka_unit_test(canonical_order_is_fixed_whatever_the_input_order),
        cmocka_unit_test(unknown_fields_are_errors_naming_the_field),
        cmocka_unit_test(wrong_types_are_errors_naming_the_field),
        cmocka_unit_test(seed_must_be_an_integer_in_range),
        cmocka_unit_test(nul_bytes_are_refused_clearly),
        cmocka_unit_test(raw_invalid_utf8_names_the_field),
        cmocka_unit_test(utf8_rules_refuse_overlongs_surrogates_and_beyond_unicode),
        cmocka_unit_test(control_characters_other_than_newline_and_tab_are_refused),
        cmocka_unit_test(prompt_is_required_and_not_blank),
        cmocka_unit_test(prompt_limit_is_ten_thousand_code_points),
        cmocka_unit_test(poster_text_is_limited_to_three_hundred_characters),
        cmocka_unit_test(enumerated_fields_accept_only_their_values),
        cmocka_unit_test(ids_and_models_use_a_safe_alphabet),
        cmocka_unit_test(tags_are_limited_and_written_sorted),
        cmocka_unit_test(defaults_fill_only_missing_fields),
        cmocka_unit_test(parse_reads_only_the_given_length),
        cmocka_unit_test(job_id_is_a_stable_hash_of_batch_and_spec),
        cmocka_unit_test(job_id_matches_the_documented_hash),
        cmocka_unit_test(effective_seed_is_the_spec_seed_or_derived_from_the_job_id),
        cmocka_unit_test(message_round_trips_every_field),
        cmocka_unit_test(message_carries_url_ttl_outside_the_spec),
        cmocka_unit_test(poison_messages_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
