/* Tests for the back-end tables (base/backend.c and each interface's
 * X_backends.c): which row claims a value, what config checking refuses
 * and with which message, which rows provision, where max_receives
 * applies, and that X_open goes through the same rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/backend.h"
#include "engine/engine_backends.h"
#include "ledger/ledger_backends.h"
#include "queue/queue_backends.h"
#include "store/store_backends.h"
#include "testutil.h"

#define HAS(s, sub) do { if (!strstr((s), (sub))) \
    fail_msg("\"%s\" lacks \"%s\"", (s), (sub)); } while (0)

static void shapes_are_listed_once_in_english(void **state)
{
    (void)state;
    static const backend_row_t rows[] = {
        {"a:", false, "a:X", NULL, NULL},
        {"b:", false, "b:Y", NULL, NULL},
        {"c:", false, "b:Y", NULL, NULL},
        {"d:", false, "d:Z", NULL, NULL},
    };
    char out[64];
    backend_shapes(rows, 4, sizeof *rows, out, sizeof out);
    assert_string_equal(out, "a:X, b:Y or d:Z");
    backend_shapes(rows, 1, sizeof *rows, out, sizeof out);
    assert_string_equal(out, "a:X");
    backend_shapes(rows, 2, sizeof *rows, out, sizeof out);
    assert_string_equal(out, "a:X or b:Y");
    backend_shapes(rows, 4, sizeof *rows, out, 5); /* truncates, stays a string */
    assert_int_equal(strlen(out), 4);
}

static void first_claiming_row_wins_and_exact_rows_match_whole_values(void **state)
{
    (void)state;
    static const backend_row_t rows[] = {
        {"file://", false, "file:DIR", NULL, NULL},
        {"file:", false, "file:DIR", NULL, NULL},
        {"draft", true, "\"draft\"", NULL, NULL},
        {NULL, false, "anything", NULL, NULL},
    };
    assert_ptr_equal(backend_find(rows, 4, sizeof *rows, "file:///x"), &rows[0]);
    assert_ptr_equal(backend_find(rows, 4, sizeof *rows, "file:x"), &rows[1]);
    assert_ptr_equal(backend_find(rows, 4, sizeof *rows, "draft"), &rows[2]);
    assert_ptr_equal(backend_find(rows, 4, sizeof *rows, "drafty"), &rows[3]);
    assert_null(backend_find(rows, 4, sizeof *rows, ""));
    assert_null(backend_find(rows, 4, sizeof *rows, NULL));
    assert_null(backend_find(rows, 2, sizeof *rows, "s3://b"));
}

static void queue_values_are_checked_by_their_row(void **state)
{
    (void)state;
    err_t e;
    const queue_backend_t *sqlite = queue_backend_check("sqlite:/tmp/q.db", &e);
    assert_non_null(sqlite);
    assert_null(sqlite->row.provision);          /* embedded: nothing to create */
    assert_true(sqlite->worker_dead_letters);
    const queue_backend_t *sqs = queue_backend_check("sqs:jobs", &e);
    assert_non_null(sqs);
    assert_non_null(sqs->row.provision);
    assert_false(sqs->worker_dead_letters);      /* SQS's redrive policy does */
    assert_ptr_equal(queue_backend_check("https://sqs.us-east-1.amazonaws.com/1/q", &e)->open,
                     sqs->open);

    assert_null(queue_backend_check("redis://x", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_string_equal(e.msg, "queue: expected sqlite:PATH, sqs:NAME or an SQS queue URL, "
                               "got \"redis://x\"");
    assert_null(queue_backend_check("sqlite:", &e));
    assert_string_equal(e.msg, "queue: expected sqlite:PATH, got \"sqlite:\"");
    assert_null(queue_backend_check("", &e));
    HAS(e.msg, "queue: empty value");
    assert_null(queue_open("sqs:", &e));
    assert_string_equal(e.msg, "queue: expected sqs:NAME, got \"sqs:\"");
}

static void max_receives_applies_only_where_the_worker_dead_letters(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), url[512];
    err_t e;
    snprintf(url, sizeof url, "sqlite:%s/q.db", dir);
    queue_t *q = queue_open(url, &e);
    assert_non_null(q);
    int before = q->max_receives;
    queue_apply_max_receives(q, "sqs:elsewhere", before + 3);
    assert_int_equal(q->max_receives, before);
    queue_apply_max_receives(q, url, before + 3);
    assert_int_equal(q->max_receives, before + 3);
    queue_close(q);
    tu_rmtree(dir);
    free(dir);
}

static void ledger_and_store_values_are_checked_by_their_row(void **state)
{
    (void)state;
    err_t e;
    assert_non_null(ledger_backend_check("sqlite:/x.db", &e));
    assert_non_null(ledger_backend_check("dynamodb:onesheet", &e)->row.provision);
    assert_null(ledger_backend_check("postgres://x", &e));
    assert_string_equal(e.msg, "ledger: expected sqlite:PATH or dynamodb:TABLE, "
                               "got \"postgres://x\"");
    assert_null(ledger_open("dynamodb:", &e));
    assert_int_equal(e.code, ERR_CONFIG);

    assert_non_null(store_backend_check("file:posters", &e));
    assert_non_null(store_backend_check("file:///var/posters", &e));
    assert_null(store_backend_check("file://host/x", &e));
    HAS(e.msg, "store: a file URL needs an absolute path");
    HAS(e.msg, "got \"file://host/x\"");
    assert_non_null(store_backend_check("s3://bucket/prefix", &e)->row.provision);
    assert_null(store_backend_check("s3://", &e));  /* the S3 row's own check */
    HAS(e.msg, "store: ");
    assert_null(store_backend_check("gs://b", &e));
    assert_string_equal(e.msg, "store: expected file:DIR or s3://BUCKET/PREFIX, "
                               "got \"gs://b\"");
}

static void models_are_draft_exactly_or_a_bedrock_id(void **state)
{
    (void)state;
    err_t e;
    const engine_backend_t *draft = engine_backend_check("draft", &e);
    const engine_backend_t *bedrock = engine_backend_check("stability.sd3-5-large-v1:0", &e);
    assert_non_null(draft);
    assert_non_null(bedrock);
    assert_ptr_not_equal(draft, bedrock);
    assert_ptr_equal(engine_backend_check("drafts", &e), bedrock);
    assert_null(engine_backend_check("bad model", &e));
    assert_string_equal(e.msg, "model: expected \"draft\" or a Bedrock model id, "
                               "got \"bad model\"");
    /* Syntax is config's question; whether the model exists is open's. */
    assert_null(engine_open("stability.sd3-5-larg-v1:0", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    HAS(e.msg, "unknown model \"stability.sd3-5-larg-v1:0\" (known: draft, ");
    engine_t *eng = engine_open(NULL, &e);   /* the default is draft */
    assert_non_null(eng);
    assert_false(engine_is_async(eng));
    engine_close(eng);
}

static void unknown_models_are_refused_naming_the_nearest_known_id(void **state)
{
    (void)state;
    char near[64];
    err_t e;

    assert_int_equal(engine_model_check("draft", near, sizeof near, &e), ERR_OK);
    assert_int_equal(engine_model_check(NULL, near, sizeof near, &e), ERR_OK);
    assert_int_equal(engine_model_check("", near, sizeof near, &e), ERR_OK);
    assert_int_equal(engine_model_check("stability.sd3-5-large-v1:0", NULL, 0, &e), ERR_OK);
    assert_int_equal(engine_model_check("us.stability.sd3-5-large-v1:0", NULL, 0, &e), ERR_OK);
    /* Titan Image v2 and Nova Canvas are retired too (BEDROCK.md). */
    assert_int_equal(engine_model_check("apac.amazon.nova-canvas-v1:0", NULL, 0, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "is retired on Bedrock"));
    assert_int_equal(engine_model_check("amazon.titan-image-generator-v2:0", NULL, 0, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "is retired on Bedrock"));
    /* A retired model is refused saying so and naming the replacement. */
    assert_int_equal(engine_model_check("stability.stable-diffusion-xl-v1", near, sizeof near,
                                        &e), ERR_INVALID);
    assert_string_equal(near, "stability.sd3-5-large-v1:0");
    assert_string_equal(e.msg, "model \"stability.stable-diffusion-xl-v1\" (Stable Diffusion "
                               "XL 1.0) is retired on Bedrock; use "
                               "\"stability.sd3-5-large-v1:0\" instead");
    assert_int_equal(engine_model_check("us.stability.stable-diffusion-xl-v1", NULL, 0, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "retired"));

    err_clear(&e);
    assert_int_equal(engine_model_check("stability.sd3-5-larg-v1:0", near, sizeof near, &e),
                     ERR_INVALID);
    assert_string_equal(near, "stability.sd3-5-large-v1:0");
    assert_string_equal(e.msg, "unknown model \"stability.sd3-5-larg-v1:0\" "
                               "(did you mean \"stability.sd3-5-large-v1:0\"?)");
    /* A profile prefix is part of the id the distance is measured over. */
    assert_int_equal(engine_model_check("us.stability.stable-image-ultra-v1:2", near,
                                        sizeof near, &e), ERR_INVALID);
    assert_string_equal(near, "us.stability.stable-image-ultra-v1:1");
    assert_int_equal(engine_model_check("eu.amazon.nova-canvas", near, sizeof near, &e),
                     ERR_INVALID);
    assert_string_equal(near, "eu.amazon.nova-canvas-v1:0");
    /* Ties go to the table's order: current models before retired ones. */
    assert_int_equal(engine_model_check("stability.stable-image-core-v1:9", near,
                                        sizeof near, &e), ERR_INVALID);
    assert_string_equal(near, "stability.stable-image-core-v1:1");
    assert_int_equal(engine_model_check("drafty", near, sizeof near, &e), ERR_INVALID);
    assert_string_equal(near, "draft");
    assert_int_equal(engine_model_check("Draft", near, sizeof near, &e), ERR_INVALID);
    assert_string_equal(near, "draft");
    /* Ids the engine would refuse are refused here too: no bare prefix,
     * no unknown prefix, no ARN. */
    assert_int_equal(engine_model_check("us.", near, sizeof near, &e), ERR_INVALID);
    assert_int_equal(engine_model_check("xx.stability.sd3-5-large-v1:0", near, sizeof near,
                                        &e), ERR_INVALID);
    assert_string_equal(near, "us.stability.sd3-5-large-v1:0");  /* 2 edits, not 3 */
    /* The suggestion is cut to the caller's buffer; the message stays one
     * line whatever the id holds. */
    assert_int_equal(engine_model_check("stability.sd3-5-larg-v1:0", near, 10, &e),
                     ERR_INVALID);
    assert_string_equal(near, "stability");
    assert_int_equal(engine_model_check("a\nb", NULL, 0, &e), ERR_INVALID);
    assert_null(strchr(e.msg, '\n'));
    HAS(e.msg, "unknown model \"a?b\"");
}

static void bulk_entries_naming_unknown_models_become_line_errors(void **state)
{
    (void)state;
    static const char data[] =
        "{\"prompt\":\"one\"}\n"
        "{\"prompt\":\"two\",\"model\":\"stability.sd3-5-larg-v1:0\"}\n"
        "{\"prompt\":\"three\",\"seed\":-4}\n"
        "{\"prompt\":\"four\",\"model\":\"us.stability.sd3-5-large-v1:0\"}\n"
        "{\"prompt\":\"five\",\"model\":\"nope\"}\n";
    bulk_t b;
    err_t e;

    bulk_init(&b);
    assert_int_equal(bulk_parse("p.jsonl", data, sizeof data - 1, BULK_JSONL, NULL, &b, &e),
                     ERR_INVALID);
    assert_int_equal(b.nitems, 4);
    assert_int_equal(b.nerrors, 1);
    assert_int_equal(engine_bulk_check_models(&b, "p.jsonl", &e), ERR_INVALID);
    assert_string_equal(e.msg, "p.jsonl:2: model: unknown model \"stability.sd3-5-larg-v1:0\" "
                               "(did you mean \"stability.sd3-5-large-v1:0\"?) "
                               "(and 1 more unknown models)");
    assert_int_equal(b.nitems, 2);
    assert_string_equal(b.items[0].spec.prompt, "one");
    assert_string_equal(b.items[1].spec.prompt, "four");
    assert_int_equal(b.nerrors, 3);
    assert_int_equal(b.errors[0].line, 2);
    assert_int_equal(b.errors[1].line, 3);
    HAS(b.errors[1].msg, "p.jsonl:3: seed:");
    assert_int_equal(b.errors[2].line, 5);
    HAS(b.errors[2].msg, "p.jsonl:5: model: unknown model \"nope\"");
    /* Nothing left to refuse: a second pass changes nothing. */
    assert_int_equal(engine_bulk_check_models(&b, "p.jsonl", &e), ERR_OK);
    assert_int_equal(b.nitems, 2);
    assert_int_equal(b.nerrors, 3);
    bulk_free(&b);

    /* A default model applies like a spec's own. */
    job_defaults_t d = {.model = "stability.sd3-5-larg-v1:0", .seed = JOB_SEED_UNSET};
    bulk_init(&b);
    assert_int_equal(bulk_parse("t.txt", "a\nb\n", 4, BULK_TXT, &d, &b, &e), ERR_OK);
    assert_int_equal(engine_bulk_check_models(&b, "t.txt", &e), ERR_INVALID);
    assert_int_equal(b.nitems, 0);
    assert_int_equal(b.nerrors, 2);
    HAS(b.errors[0].msg, "t.txt:1: model: unknown model");
    bulk_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shapes_are_listed_once_in_english),
        cmocka_unit_test(first_claiming_row_wins_and_exact_rows_match_whole_values),
        cmocka_unit_test(queue_values_are_checked_by_their_row),
        cmocka_unit_test(max_receives_applies_only_where_the_worker_dead_letters),
        cmocka_unit_test(ledger_and_store_values_are_checked_by_their_row),
        cmocka_unit_test(models_are_draft_exactly_or_a_bedrock_id),
        cmocka_unit_test(unknown_models_are_refused_naming_the_nearest_known_id),
        cmocka_unit_test(bulk_entries_naming_unknown_models_become_line_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
