/* Tests for rendition.c and the spec field "renditions" (issue 20): the
 * list's rules and messages, the aspect chosen when the spec names none,
 * the sizes and keys, the canonical form and bulk files' line numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "jobs/job.h"
#include "jobs/rendition.h"

/* Parses and normalises one spec; returns the code, the message in e and
 * the canonical JSON (with id) in canon when given (caller frees). */
static err_code_t load(const char *text, const job_defaults_t *d, err_t *e, job_spec_t *s,
                       char **canon)
{
    buf_t b = BUF_INIT;
    job_spec_init(s);
    err_clear(e);
    err_code_t rc = job_spec_parse_json(text, strlen(text), s, e);
    if (rc == ERR_OK)
        rc = job_spec_normalise(s, d, e);
    if (rc == ERR_OK && canon) {
        assert_int_equal(job_spec_to_json_with_id(s, &b), ERR_OK);
        *canon = strdup((const char *)b.data);
    }
    buf_free(&b);
    return rc;
}

static void spec_list_is_parsed_in_order_and_written_canonically(void **state)
{
    (void)state;
    job_spec_t s;
    err_t e;
    char *canon = NULL;
    assert_int_equal(load("{\"prompt\":\"x\",\"renditions\":[\"16:9\",\"2:3\",\"1:1\"],"
                          "\"aspect_ratio\":\"3:2\"}", NULL, &e, &s, &canon), ERR_OK);
    assert_int_equal(s.nrenditions, 3);
    assert_string_equal(s.renditions[0], "16:9");
    assert_string_equal(s.renditions[2], "1:1");
    assert_string_equal(s.aspect_ratio, "3:2");   /* the spec's own aspect stands */
    assert_string_equal(canon, "{\"prompt\":\"x\",\"aspect_ratio\":\"3:2\",\"output_format\":"
                               "\"png\",\"renditions\":[\"16:9\",\"2:3\",\"1:1\"]}");
    free(canon);
    job_spec_free(&s);
    assert_int_equal(s.nrenditions, 0);

    /* No renditions: the canonical form, and so every job id, is as before. */
    assert_int_equal(load("{\"prompt\":\"x\"}", NULL, &e, &s, &canon), ERR_OK);
    assert_string_equal(canon, "{\"prompt\":\"x\",\"aspect_ratio\":\"2:3\","
                               "\"output_format\":\"png\"}");
    free(canon);
    job_spec_free(&s);
}

static void bad_lists_name_the_field_and_say_why(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *want;
    } bad[] = {
        {"{\"prompt\":\"x\",\"renditions\":[\"7:5\"]}", "renditions: unknown ratio \"7:5\""},
        {"{\"prompt\":\"x\",\"renditions\":[\"2:3\",\"16:9\",\"2:3\"]}",
         "renditions: \"2:3\" is listed twice"},
        {"{\"prompt\":\"x\",\"renditions\":[]}", "renditions: must be a non-empty array"},
        {"{\"prompt\":\"x\",\"renditions\":\"2:3\"}", "renditions: must be a non-empty array"},
        {"{\"prompt\":\"x\",\"renditions\":[\"2:3\",7]}", "renditions: item 2 is not a string"},
        {"{\"prompt\":\"x\",\"renditions\":[\"16:9 \"]}", "renditions: unknown ratio"},
        {"{\"prompt\":\"x\",\"renditions\":[\"\"]}", "renditions: unknown ratio"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        job_spec_t s;
        err_t e;
        assert_int_equal(load(bad[i].spec, NULL, &e, &s, NULL), ERR_INVALID);
        if (!strstr(e.msg, bad[i].want))
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].spec, e.msg, bad[i].want);
        job_spec_free(&s);
    }
}

static void flag_list_parses_and_refuses_like_the_field(void **state)
{
    (void)state;
    rendition_list_t l;
    size_t n;
    err_t e;
    assert_int_equal(rendition_list_parse("2:3, 16:9 ,1:1", l, &n, &e), ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(l[1], "16:9");
    assert_int_equal(rendition_list_parse("2:3,,1:1", l, &n, &e), ERR_INVALID);
    assert_int_equal(n, 0);
    assert_non_null(strstr(e.msg, "renditions: empty ratio"));
    assert_int_equal(rendition_list_parse("", l, &n, &e), ERR_INVALID);
    assert_int_equal(rendition_list_parse("1:1,1:1", l, &n, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "listed twice"));
    assert_int_equal(rendition_list_parse("4:3", l, &n, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "unknown ratio \"4:3\""));
    /* All nine are allowed, once each. */
    assert_int_equal(rendition_list_parse("16:9,1:1,21:9,2:3,3:2,4:5,5:4,9:16,9:21", l, &n,
                                          &e), ERR_OK);
    assert_int_equal(n, RENDITION_MAX);

    /* As a default: applied to specs naming none, refused when bad. */
    job_spec_t s;
    job_defaults_t d = {.seed = JOB_SEED_UNSET, .renditions = "1:1,9:16"};
    assert_int_equal(load("{\"prompt\":\"x\"}", &d, &e, &s, NULL), ERR_OK);
    assert_int_equal(s.nrenditions, 2);
    job_spec_free(&s);
    assert_int_equal(load("{\"prompt\":\"x\",\"renditions\":[\"21:9\"]}", &d, &e, &s, NULL),
                     ERR_OK);
    assert_int_equal(s.nrenditions, 1);
    assert_string_equal(s.renditions[0], "21:9");
    job_spec_free(&s);
    d.renditions = "1:1,oops";
    assert_int_equal(load("{\"prompt\":\"x\"}", &d, &e, &s, NULL), ERR_INVALID);
    job_spec_free(&s);
}

static void generation_aspect_loses_least_across_the_set(void **state)
{
    (void)state;
    rendition_list_t l;
    size_t n;
    err_t e;
    static const struct {
        const char *list, *want;
    } cases[] = {
        {"2:3,16:9,1:1", "1:1"},     /* their geometric mean is 1.06 */
        {"9:16,2:3", "2:3"},         /* a tie between the two goes to the listed, first */
        {"16:9,21:9", "16:9"},
        {"4:5", "4:5"},
        {"9:21,21:9", "1:1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(rendition_list_parse(cases[i].list, l, &n, &e), ERR_OK);
        const char *got = rendition_best_aspect(l, n);
        if (strcmp(got, cases[i].want))
            fail_msg("%s: got %s, want %s", cases[i].list, got, cases[i].want);
    }
    assert_true(fabs(rendition_loss("2:3", "16:9") - (1 - (2.0 / 3) / (16.0 / 9))) < 1e-12);
    assert_true(rendition_loss("1:1", "1:1") == 0);
    assert_true(rendition_loss("1:1", "7:5") < 0);

    /* The spec: no aspect given anywhere, so the best one is written. */
    job_spec_t s;
    assert_int_equal(load("{\"prompt\":\"x\",\"renditions\":[\"2:3\",\"16:9\",\"1:1\"]}", NULL,
                          &e, &s, NULL), ERR_OK);
    assert_string_equal(s.aspect_ratio, "1:1");
    job_spec_free(&s);
    /* --aspect (a default) wins over the choice. */
    job_defaults_t d = {.seed = JOB_SEED_UNSET, .aspect_ratio = "9:16"};
    assert_int_equal(load("{\"prompt\":\"x\",\"renditions\":[\"2:3\",\"16:9\",\"1:1\"]}", &d,
                          &e, &s, NULL), ERR_OK);
    assert_string_equal(s.aspect_ratio, "9:16");
    job_spec_free(&s);
}

static void sizes_have_the_exact_ratio_near_one_megapixel(void **state)
{
    (void)state;
    static const char *const all[] = {"16:9", "1:1", "21:9", "2:3", "3:2",
                                      "4:5",  "5:4", "9:16", "9:21"};
    for (size_t i = 0; i < 9; i++) {
        int w, h, a, b;
        assert_true(rendition_size(all[i], &w, &h));
        assert_true(rendition_ratio_parse(all[i], &a, &b));
        assert_int_equal((long)w * b, (long)h * a);
        assert_int_equal(w % 16, 0);
        assert_int_equal(h % 16, 0);
        double mp = (double)w * h / RENDITION_PIXELS;
        if (mp < 0.8 || mp > 1.25)
            fail_msg("%s: %dx%d is %.2f MP", all[i], w, h, mp);
    }
    int w = 0, h = 0;
    assert_true(rendition_size("2:3", &w, &h));
    assert_int_equal(w, 832);   /* the models' own 2:3 */
    assert_int_equal(h, 1248);
    assert_false(rendition_size("4:3", &w, &h));
}

static void keys_name_the_first_as_the_poster_and_the_rest_by_ratio(void **state)
{
    (void)state;
    char k[64];
    assert_int_equal(rendition_key("b1", "j1", "2:3", true, k, sizeof k), ERR_OK);
    assert_string_equal(k, "b1/j1.png");
    assert_int_equal(rendition_key("b1", "j1", "16:9", false, k, sizeof k), ERR_OK);
    assert_string_equal(k, "b1/j1.16x9.png");
    assert_int_equal(rendition_key("b1", "j1", "9:21", false, k, sizeof k), ERR_OK);
    assert_string_equal(k, "b1/j1.9x21.png");
    assert_int_equal(rendition_key("b1", "j1", "4:3", false, k, sizeof k), ERR_INVALID);
    assert_int_equal(rendition_key("b/1", "j1", "1:1", false, k, sizeof k), ERR_INVALID);
    assert_int_equal(rendition_key("b1", "j1", "16:9", false, k, 8), ERR_TOOBIG);
}

static void bulk_errors_carry_the_file_and_line(void **state)
{
    (void)state;
    const char *in = "{\"prompt\":\"ok\",\"renditions\":[\"1:1\"]}\n"
                     "{\"prompt\":\"bad\",\"renditions\":[\"1:1\",\"1:1\"]}\n";
    bulk_t b;
    err_t e;
    bulk_init(&b);
    assert_int_equal(bulk_parse("cat.jsonl", in, strlen(in), BULK_JSONL, NULL, &b, &e),
                     ERR_INVALID);
    assert_int_equal(b.nerrors, 1);
    assert_int_equal(b.errors[0].line, 2);
    assert_non_null(strstr(b.errors[0].msg, "cat.jsonl:2: renditions: \"1:1\" is listed twice"));
    bulk_free(&b);
}

static void csv_cells_list_them_comma_separated(void **state)
{
    (void)state;
    const char *in = "prompt,renditions\n"
                     "a fox,\"2:3,16:9\"\n"
                     "an owl,\n"
                     "a hare,\"1:1, 5:3\"\n";
    bulk_t b;
    err_t e;
    bulk_init(&b);
    assert_int_equal(bulk_parse("cat.csv", in, strlen(in), BULK_CSV, NULL, &b, &e),
                     ERR_INVALID);
    assert_int_equal(b.nerrors, 1);
    assert_int_equal(b.errors[0].line, 4);
    assert_non_null(strstr(b.errors[0].msg, "cat.csv:4: renditions: unknown ratio \"5:3\""));
    assert_int_equal(b.nitems, 2);
    assert_int_equal(b.items[0].spec.nrenditions, 2);
    assert_string_equal(b.items[0].spec.renditions[1], "16:9");
    assert_int_equal(b.items[1].spec.nrenditions, 0);   /* an empty cell: none */
    bulk_free(&b);
}

static void queue_messages_carry_the_list(void **state)
{
    (void)state;
    job_spec_t s, back;
    err_t e;
    buf_t m = BUF_INIT;
    char bid[JOB_ID_MAX + 1], jid[JOB_ID_MAX + 1];
    assert_int_equal(load("{\"prompt\":\"x\",\"renditions\":[\"9:16\",\"16:9\"]}", NULL, &e,
                          &s, NULL), ERR_OK);
    assert_int_equal(job_message_encode("b1", "j1", &s, &m), ERR_OK);
    assert_int_equal(job_message_decode((const char *)m.data, m.len, bid, jid, &back, &e), ERR_OK);
    assert_int_equal(back.nrenditions, 2);
    assert_string_equal(back.renditions[1], "16:9");
    assert_string_equal(back.aspect_ratio, s.aspect_ratio);
    job_spec_free(&back);
    job_spec_free(&s);
    buf_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_list_is_parsed_in_order_and_written_canonically),
        cmocka_unit_test(bad_lists_name_the_field_and_say_why),
        cmocka_unit_test(flag_list_parses_and_refuses_like_the_field),
        cmocka_unit_test(generation_aspect_loses_least_across_the_set),
        cmocka_unit_test(sizes_have_the_exact_ratio_near_one_megapixel),
        cmocka_unit_test(keys_name_the_first_as_the_poster_and_the_rest_by_ratio),
        cmocka_unit_test(bulk_errors_carry_the_file_and_line),
        cmocka_unit_test(csv_cells_list_them_comma_separated),
        cmocka_unit_test(queue_messages_carry_the_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
