/* Tests for variants (issue 20, item 1): the spec fields variants /
 * variant / variant_of and their bad input, the expansion of a bulk into
 * one job per variant with seeds and ids derived from the prompt's job id
 * (deterministic, so a resubmit is a no-op), and the job JSON's variant
 * and review members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "jobs/job.h"
#include "jobs/variants.h"
#include "ledger/ledger.h"

static err_code_t load(const char *text, err_t *e, char **canon)
{
    job_spec_t s;
    buf_t b = BUF_INIT;
    err_code_t rc;

    job_spec_init(&s);
    err_clear(e);
    rc = job_spec_parse_json(text, strlen(text), &s, e);
    if (rc == ERR_OK)
        rc = job_spec_normalise(&s, NULL, e);
    if (rc == ERR_OK && canon) {
        assert_int_equal(job_spec_to_json_with_id(&s, &b), ERR_OK);
        *canon = buf_steal(&b);
    }
    job_spec_free(&s);
    return rc;
}

static void expect_error(const char *text, const char *want)
{
    err_t e;
    err_code_t rc = load(text, &e, NULL);
    if (rc != ERR_INVALID || !strstr(e.msg, want))
        fail_msg("%s\n  got rc=%d \"%s\"\n  want \"%s\"", text, rc, e.msg, want);
}

static void bad_variant_fields_are_refused_naming_the_field(void **state)
{
    (void)state;
    expect_error("{\"prompt\":\"x\",\"variants\":0}", "variants: must be an integer from 1 to 16");
    expect_error("{\"prompt\":\"x\",\"variants\":17}", "variants: must be an integer from 1 to 16");
    expect_error("{\"prompt\":\"x\",\"variants\":-3}", "variants: must be");
    expect_error("{\"prompt\":\"x\",\"variants\":\"4\"}", "variants: must be");
    expect_error("{\"prompt\":\"x\",\"variants\":2.5}", "variants: must be");
    expect_error("{\"prompt\":\"x\",\"variants\":true}", "variants: must be");
    expect_error("{\"prompt\":\"x\",\"variants\":99999999999999999999}", "variants");
    expect_error("{\"prompt\":\"x\",\"variants\":4,\"variants\":4}", "variants: duplicate");
    expect_error("{\"prompt\":\"x\",\"variant\":2}", "variant: must be an integer from 1 to "
                 "variants");
    expect_error("{\"prompt\":\"x\",\"variants\":2,\"variant\":1}", "variant_of: must be "
                 "the prompt's job id");
    expect_error("{\"prompt\":\"x\",\"variants\":2,\"variant\":3,\"variant_of\":\"j1\"}",
                 "variant: must be an integer from 1 to variants");
    expect_error("{\"prompt\":\"x\",\"variants\":2,\"variant\":1,\"variant_of\":\"../x\"}",
                 "variant_of");
    expect_error("{\"prompt\":\"x\",\"variant_of\":\"j1\"}", "variant_of");
}

static void one_variant_is_the_same_job_as_none(void **state)
{
    char *a = NULL, *b = NULL, *c = NULL;
    err_t e;
    (void)state;
    assert_int_equal(load("{\"prompt\":\"x\"}", &e, &a), ERR_OK);
    assert_int_equal(load("{\"prompt\":\"x\",\"variants\":1}", &e, &b), ERR_OK);
    assert_string_equal(a, b);
    assert_null(strstr(a, "variant"));
    /* The count goes last, so specs without it keep their canonical form. */
    assert_int_equal(load("{\"variants\":3,\"prompt\":\"x\"}", &e, &c), ERR_OK);
    assert_string_equal(c, "{\"prompt\":\"x\",\"aspect_ratio\":\"2:3\",\"output_format\":"
                           "\"png\",\"variants\":3}");
    free(a);
    free(b);
    free(c);
}

/* Parses text (jsonl) with every entry defaulting to n variants, assigns
 * ids and expands. */
static void expand(const char *text, bulk_format_t fmt, int n, bulk_t *b)
{
    err_t e;
    bulk_init(b);
    if (bulk_parse("in", text, strlen(text), fmt, NULL, b, &e) != ERR_OK)
        fail_msg("parse: %s", e.msg);
    bulk_default_variants(b, n);
    assert_int_equal(bulk_assign_ids(b), ERR_OK);
    if (bulk_expand_variants(b, &e) != ERR_OK)
        fail_msg("expand: %s", e.msg);
}

static void variants_get_distinct_deterministic_seeds_and_ids(void **state)
{
    bulk_t a, b, one;
    (void)state;
    expand("a red fox\nblue whale\n", BULK_TXT, 4, &a);
    expand("a red fox\nblue whale\n", BULK_TXT, 4, &b);
    expand("a red fox\nblue whale\n", BULK_TXT, 1, &one);
    assert_int_equal(a.nitems, 8);
    assert_int_equal(one.nitems, 2);
    /* The count is part of the batch: 4 variants is another batch than 1. */
    assert_string_not_equal(a.batch_id, one.batch_id);
    assert_string_equal(a.batch_id, b.batch_id);
    for (size_t i = 0; i < a.nitems; i++) {
        const job_spec_t *s = &a.items[i].spec;
        assert_string_equal(a.items[i].job_id, b.items[i].job_id);
        assert_int_equal(s->seed, b.items[i].spec.seed);
        assert_int_equal(s->variant, (int)(i % 4) + 1);
        assert_int_equal(s->variants, 4);
        assert_non_null(s->variant_of);
        assert_int_equal(a.items[i].line, i / 4 + 1);
        /* The prompt's own job id in this batch. */
        assert_string_equal(s->variant_of, a.items[i - i % 4].spec.variant_of);
        assert_int_equal(s->variant_of[0], 'j');
        assert_int_equal(s->seed, job_variant_seed(s->variant_of, JOB_SEED_UNSET, s->variant));
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(a.items[i].job_id, a.items[k].job_id);
            assert_true(s->seed != a.items[k].spec.seed);
        }
        /* A recorded variant reads back as itself: expanding again is a
         * no-op. */
        buf_t j = BUF_INIT;
        job_spec_t back;
        err_t e;
        char id[JOB_ID_MAX + 1];
        job_spec_init(&back);
        assert_int_equal(job_spec_to_json_with_id(s, &j), ERR_OK);
        assert_int_equal(job_spec_parse_json((char *)j.data, j.len, &back, &e), ERR_OK);
        assert_int_equal(job_spec_normalise(&back, NULL, &e), ERR_OK);
        assert_int_equal(job_id_for(a.batch_id, &back, id), ERR_OK);
        assert_string_equal(id, a.items[i].job_id);
        job_spec_free(&back);
        buf_free(&j);
    }
    size_t before = a.nitems;
    err_t e;
    assert_int_equal(bulk_expand_variants(&a, &e), ERR_OK);
    assert_int_equal(a.nitems, before);
    bulk_free(&a);
    bulk_free(&b);
    bulk_free(&one);
}

static void an_explicit_seed_counts_up_and_wraps(void **state)
{
    bulk_t b;
    char text[200];
    (void)state;
    snprintf(text, sizeof text, "{\"prompt\":\"x\",\"seed\":%lld,\"variants\":3}\n"
             "{\"prompt\":\"y\",\"seed\":10,\"variants\":2}\n", JOB_SEED_MAX - 1);
    expand(text, BULK_JSONL, 0, &b);
    assert_int_equal(b.nitems, 5);
    assert_int_equal(b.items[0].spec.seed, JOB_SEED_MAX - 1);
    assert_int_equal(b.items[1].spec.seed, JOB_SEED_MAX);
    assert_int_equal(b.items[2].spec.seed, 0);
    assert_int_equal(b.items[3].spec.seed, 10);
    assert_int_equal(b.items[4].spec.seed, 11);
    bulk_free(&b);
}

static void the_spec_field_wins_over_the_flag(void **state)
{
    bulk_t b;
    (void)state;
    expand("{\"prompt\":\"x\",\"variants\":2}\n{\"prompt\":\"y\"}\n", BULK_JSONL, 3, &b);
    assert_int_equal(b.nitems, 5);
    assert_int_equal(b.items[0].spec.variants, 2);
    assert_int_equal(b.items[2].spec.variants, 3);
    bulk_free(&b);
}

static void client_ids_take_a_suffix_or_are_refused(void **state)
{
    bulk_t b;
    char text[400], id[JOB_ID_MAX + 1];
    err_t e;
    (void)state;
    expand("{\"id\":\"sku-1\",\"prompt\":\"x\",\"variants\":2}\n", BULK_JSONL, 0, &b);
    assert_int_equal(b.nitems, 2);
    assert_string_equal(b.items[0].job_id, "sku-1-v1");
    assert_string_equal(b.items[1].job_id, "sku-1-v2");
    assert_string_equal(b.items[1].spec.variant_of, "sku-1");
    bulk_free(&b);

    memset(id, 'a', JOB_ID_MAX);
    id[JOB_ID_MAX] = '\0';
    snprintf(text, sizeof text, "{\"id\":\"%s\",\"prompt\":\"x\",\"variants\":2}\n", id);
    bulk_init(&b);
    assert_int_equal(bulk_parse("in", text, strlen(text), BULK_JSONL, NULL, &b, &e), ERR_OK);
    assert_int_equal(bulk_assign_ids(&b), ERR_OK);
    assert_int_equal(bulk_expand_variants(&b, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "line 1: id: too long"));
    assert_int_equal(b.nitems, 1); /* unchanged */
    bulk_free(&b);
}

static void job_json_shows_variant_and_review(void **state)
{
    char *to[] = {"p1/jx", "p2/jy"};
    ledger_review_t r = {.batch_id = "b1", .job_id = "j1", .state = "approved",
                         .by = "ann@host", .at_ms = 1796000000999,
                         .promoted_from = "b0/j0", .promoted_to = to, .npromoted_to = 2};
    json_t *o = json_object();
    (void)state;
    ledger_review_json_add(o, &r, "{\"prompt\":\"x\",\"variants\":4,\"variant\":2,"
                                  "\"variant_of\":\"jp\"}");
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"promoted_from\":\"j0\",\"promoted_to\":[\"jx\",\"jy\"],"
                           "\"review\":{\"at\":\"2026-11-30T00:53:20Z\",\"by\":\"ann@host\","
                           "\"state\":\"approved\"},\"variant\":{\"count\":4,\"index\":2,"
                           "\"of\":\"jp\"}}");
    free(s);
    json_decref(o);
    /* Unreviewed, not a variant: nothing added. */
    o = json_object();
    ledger_review_json_add(o, NULL, "{\"prompt\":\"x\"}");
    ledger_review_json_add(o, NULL, "not json");
    ledger_review_json_add(o, NULL, NULL);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_variant_fields_are_refused_naming_the_field),
        cmocka_unit_test(one_variant_is_the_same_job_as_none),
        cmocka_unit_test(variants_get_distinct_deterministic_seeds_and_ids),
        cmocka_unit_test(an_explicit_seed_counts_up_and_wraps),
        cmocka_unit_test(the_spec_field_wins_over_the_flag),
        cmocka_unit_test(client_ids_take_a_suffix_or_are_refused),
        cmocka_unit_test(job_json_shows_variant_and_review),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
