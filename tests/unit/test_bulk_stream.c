/* Tests for bulk_stream (bulk_stream.h): on every input the streamed reader
 * must agree with the in-memory one (bulk_parse + bulk_assign_ids): the
 * same jobs in the same order with the same ids and batch id, the same
 * errors in line order, the same folded duplicates; a check callback makes
 * entries invalid; and its own bad inputs (too big, a spool directory that
 * does not exist, an empty input, a scan before open) give clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "jobs/bulk_stream.h"
#include "jobs/job.h"

/* The streamed jobs, collected for comparison. */
typedef struct {
    bulk_item_t v[64];
    size_t n;
} got_t;

static err_code_t collect(void *ud, const bulk_item_t *it, err_t *err)
{
    got_t *g = ud;
    (void)err;
    assert_true(g->n < 64);
    g->v[g->n].line = it->line;
    memcpy(g->v[g->n].job_id, it->job_id, sizeof it->job_id);
    job_spec_init(&g->v[g->n].spec);
    g->v[g->n].spec.prompt = strdup(it->spec.prompt); /* enough to compare */
    g->n++;
    return ERR_OK;
}

static void got_free(got_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        job_spec_free(&g->v[i].spec);
}

/* Opens text as a stream named name from a memory FILE. */
static err_code_t open_text(const char *name, const char *text, long long max,
                            const char *dir, bulk_stream_t **s, err_t *e)
{
    FILE *fp = fmemopen((void *)text, strlen(text) ? strlen(text) : 1, "rb");
    err_code_t rc;
    assert_non_null(fp);
    if (!*text)
        fgetc(fp); /* fmemopen needs a size of at least 1: read it away */
    rc = bulk_stream_open(fp, name, BULK_AUTO, NULL, max, dir, s, e);
    fclose(fp);
    return rc;
}

/* Streams text and parses it in memory; every answer must agree. */
static void agree(const char *name, const char *text)
{
    bulk_t b;
    got_t g = {.n = 0};
    bulk_stream_t *s = NULL;
    const bulk_summary_t *sum = NULL;
    err_t e;

    bulk_init(&b);
    err_clear(&e);
    bulk_parse(name, text, strlen(text), BULK_AUTO, NULL, &b, &e);
    assert_int_equal(bulk_assign_ids(&b), ERR_OK);
    assert_int_equal(open_text(name, text, 1 << 20, NULL, &s, &e), ERR_OK);
    assert_int_equal(bulk_stream_scan(s, NULL, NULL, &sum, &e), ERR_OK);
    assert_int_equal(sum->nitems, b.nitems);
    assert_int_equal(sum->nerrors, b.nerrors);
    assert_int_equal(sum->nduplicates, b.nduplicates);
    assert_int_equal(sum->nshown, b.nerrors);
    for (size_t i = 0; i < b.nerrors; i++) {
        assert_string_equal(sum->errors[i].msg, b.errors[i].msg);
        assert_int_equal(sum->errors[i].line, b.errors[i].line);
    }
    if (b.nitems)
        assert_string_equal(sum->batch_id, b.batch_id);
    assert_int_equal(bulk_stream_each(s, collect, &g, &e), ERR_OK);
    assert_int_equal(g.n, b.nitems);
    for (size_t i = 0; i < g.n; i++) {
        assert_int_equal(g.v[i].line, b.items[i].line);
        assert_string_equal(g.v[i].job_id, b.items[i].job_id);
        assert_string_equal(g.v[i].spec.prompt, b.items[i].spec.prompt);
    }
    got_free(&g);
    bulk_stream_close(s);
    bulk_free(&b);
}

static void streamed_and_in_memory_readers_agree(void **state)
{
    (void)state;
    agree("p.txt", "# header\n\na lighthouse\n  \nneon rain\r\na lighthouse\nlast");
    agree("p.txt", "\xEF\xBB\xBFone\ntwo\n");
    agree("p.txt", "ok\nbad\x01\n\xff\xfe\nok\n");
    agree("s.jsonl", "{\"prompt\":\"a\",\"id\":\"x\"}\n{\"prompt\":\"b\"}\n"
                     "{\"prompt\":\"b\"}\n{\"prompt\":\"c\",\"id\":\"x\"}\n"
                     "{\"prompt\":\"d\",\"seed\":\"no\"}\nnot json\n\n"
                     "{\"prompt\":\"e\",\"aspect_ratio\":\"16:9\",\"tags\":{\"k\":\"v\"}}\n");
    agree("c.csv", "id,prompt,tags.team\r\na1,\"over\ntwo lines\",red\r\n"
                   "a2,\"comma, inside\",blue\r\n,,\r\na1,dup,x\r\na3,\"open");
    agree("c.csv", "prompt,colour\nx,y\n");
    agree("p.txt", "");
    agree("p.txt", "# only a comment\n");
}

/* The check makes entries invalid with its message, as the CLI's model
 * check does; duplicates are found before it, as in memory. */
static err_code_t no_b(void *ud, const job_spec_t *spec, err_t *err)
{
    (*(int *)ud)++;
    if (spec->prompt[0] == 'b')
        return err_set(err, ERR_INVALID, "model: no b please");
    return ERR_OK;
}

static void a_check_makes_entries_invalid(void **state)
{
    (void)state;
    bulk_stream_t *s = NULL;
    const bulk_summary_t *sum = NULL;
    got_t g = {.n = 0};
    int calls = 0;
    err_t e;

    assert_int_equal(open_text("m.jsonl", "{\"prompt\":\"a\"}\n{\"prompt\":\"b\",\"id\":\"i\"}\n"
                               "{\"prompt\":\"c\",\"id\":\"i\"}\n{\"prompt\":\"a\"}\n",
                               1 << 20, NULL, &s, &e), ERR_OK);
    assert_int_equal(bulk_stream_scan(s, no_b, &calls, &sum, &e), ERR_OK);
    assert_int_equal(calls, 2); /* a and b: the duplicates never reach it */
    assert_int_equal(sum->nitems, 1);
    assert_int_equal(sum->nerrors, 2);
    assert_int_equal(sum->nduplicates, 1);
    assert_string_equal(sum->errors[0].msg, "m.jsonl:2: model: no b please");
    assert_string_equal(sum->errors[1].msg, "m.jsonl:3: id: duplicate of line 2");
    assert_int_equal(bulk_stream_each(s, collect, &g, &e), ERR_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.v[0].line, 1);
    got_free(&g);
    bulk_stream_close(s);
}

/* Only the first BULK_STREAM_ERRORS_KEPT messages are kept; all counted. */
static void errors_past_the_shown_ones_are_counted(void **state)
{
    (void)state;
    buf_t text = BUF_INIT;
    bulk_stream_t *s = NULL;
    const bulk_summary_t *sum = NULL;
    err_t e;

    for (int i = 0; i < BULK_STREAM_ERRORS_KEPT + 50; i++)
        assert_int_equal(buf_append_str(&text, "{\"seed\":1}\n"), ERR_OK);
    assert_int_equal(buf_append_str(&text, "{\"prompt\":\"fine\"}\n"), ERR_OK);
    assert_int_equal(buf_append(&text, "", 1), ERR_OK);
    assert_int_equal(open_text("e.jsonl", (const char *)text.data, 1 << 20, NULL, &s, &e),
                     ERR_OK);
    assert_int_equal(bulk_stream_scan(s, NULL, NULL, &sum, &e), ERR_OK);
    assert_int_equal(sum->nerrors, BULK_STREAM_ERRORS_KEPT + 50);
    assert_int_equal(sum->nshown, BULK_STREAM_ERRORS_KEPT);
    assert_int_equal(sum->nitems, 1);
    assert_int_equal(sum->errors[BULK_STREAM_ERRORS_KEPT - 1].line, BULK_STREAM_ERRORS_KEPT);
    bulk_stream_close(s);
    buf_free(&text);
}

static void bad_inputs_say_what_is_wrong(void **state)
{
    (void)state;
    bulk_stream_t *s = NULL;
    const bulk_summary_t *sum = NULL;
    err_t e;

    /* Over the limit by one byte; exactly the limit is taken. */
    assert_int_equal(open_text("big.txt", "12345\n", 5, NULL, &s, &e), ERR_TOOBIG);
    assert_null(s);
    assert_non_null(strstr(e.msg, "larger than 5 bytes"));
    assert_int_equal(open_text("big.txt", "12345\n", 6, NULL, &s, &e), ERR_OK);
    bulk_stream_close(s);
    s = NULL;
    /* A spool directory that is not there names it. */
    assert_int_equal(open_text("p.txt", "x\n", 100, "/nonexistent/spool", &s, &e), ERR_IO);
    assert_null(s);
    assert_non_null(strstr(e.msg, "cannot spool the input to /nonexistent/spool"));
    /* Nothing at all: an error of its own, no jobs. */
    assert_int_equal(open_text("empty.txt", "", 100, NULL, &s, &e), ERR_OK);
    assert_int_equal(bulk_stream_each(s, collect, NULL, &e), ERR_INTERNAL);
    assert_int_equal(bulk_stream_scan(s, NULL, NULL, &sum, &e), ERR_OK);
    assert_int_equal(sum->nitems, 0);
    assert_int_equal(sum->nerrors, 1);
    assert_string_equal(sum->errors[0].msg, "empty.txt: no prompts found");
    assert_int_equal(bulk_stream_scan(s, NULL, NULL, &sum, &e), ERR_INTERNAL);
    bulk_stream_close(s);
    bulk_stream_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streamed_and_in_memory_readers_agree),
        cmocka_unit_test(a_check_makes_entries_invalid),
        cmocka_unit_test(errors_past_the_shown_ones_are_counted),
        cmocka_unit_test(bad_inputs_say_what_is_wrong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
