/* Tests for the bulk readers (txt, JSONL, CSV), their error reports, the
 * batch and job ids, the bad-input corpus and the speed on 100,000 lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "jobs/job.h"
#include "testutil.h"

static err_code_t parse_fmt(const char *name, const char *text, size_t len,
                            bulk_format_t fmt, bulk_t *b)
{
    err_t e;
    bulk_init(b);
    err_clear(&e);
    return bulk_parse(name, text, len, fmt, NULL, b, &e);
}

static err_code_t parse(const char *name, const char *text, bulk_t *b)
{
    return parse_fmt(name, text, strlen(text), BULK_AUTO, b);
}

/* Fails unless some recorded error equals want exactly. */
static void assert_has_error(const bulk_t *b, const char *want)
{
    for (size_t i = 0; i < b->nerrors; i++)
        if (!strcmp(b->errors[i].msg, want))
            return;
    for (size_t i = 0; i < b->nerrors; i++)
        print_message("  error[%zu] = %s\n", i, b->errors[i].msg);
    fail_msg("no error \"%s\"", want);
}

static char *canon(const job_spec_t *s)
{
    buf_t b = BUF_INIT;
    assert_int_equal(job_spec_to_json_with_id(s, &b), ERR_OK);
    return buf_steal(&b);
}

static void txt_skips_comments_and_blank_lines(void **state)
{
    (void)state;
    bulk_t b;
    assert_int_equal(parse("p.txt", "# header\n\na lighthouse at dusk\n   \n  # indented\n"
                                    "neon rain\n#\nlast line without newline", &b),
                     ERR_OK);
    assert_int_equal(b.nitems, 3);
    assert_string_equal(b.items[0].spec.prompt, "a lighthouse at dusk");
    assert_int_equal(b.items[0].line, 3);
    assert_string_equal(b.items[1].spec.prompt, "neon rain");
    assert_int_equal(b.items[1].line, 6);
    assert_string_equal(b.items[2].spec.prompt, "last line without newline");
    assert_int_equal(b.items[2].line, 8);
    assert_string_equal(b.items[0].spec.aspect_ratio, "2:3");
    bulk_free(&b);
}

static void txt_long_lines_are_fine_up_to_the_prompt_limit(void **state)
{
    (void)state;
    bulk_t b;
    size_t n = 10000;
    char *text = malloc(2 * n + 8);
    memset(text, 'a', n);
    memcpy(text + n, "\n", 2);
    assert_int_equal(parse("long.txt", text, &b), ERR_OK);
    assert_int_equal(strlen(b.items[0].spec.prompt), n);
    bulk_free(&b);
    memset(text, 'b', n + 1);
    memcpy(text + n + 1, "\n", 2);
    assert_int_equal(parse("long.txt", text, &b), ERR_INVALID);
    assert_has_error(&b, "long.txt:1: prompt: must be at most 10000 characters (got 10001)");
    bulk_free(&b);
    free(text);
}

static void txt_nul_and_invalid_utf8_name_the_line(void **state)
{
    (void)state;
    static const char nul[] = "fine\nbad\0line\nfine too\n";
    bulk_t b;
    assert_int_equal(parse_fmt("n.txt", nul, sizeof nul - 1, BULK_TXT, &b), ERR_INVALID);
    assert_int_equal(b.nerrors, 1);
    assert_string_equal(b.errors[0].msg, "n.txt:2: prompt: contains a NUL byte");
    assert_int_equal(b.errors[0].line, 2);
    assert_int_equal(b.nitems, 2);
    bulk_free(&b);
    assert_int_equal(parse("u.txt", "ok\n\nbad \xff byte\n", &b), ERR_INVALID);
    assert_int_equal(b.nerrors, 1);
    assert_non_null(strstr(b.errors[0].msg, "u.txt:3: prompt: invalid UTF-8"));
    bulk_free(&b);
}

static void bom_and_crlf_are_accepted_in_every_format(void **state)
{
    (void)state;
    static const char *const files[] = {"bom_crlf.txt", "bom_crlf.jsonl", "bom_crlf.csv"};
    for (size_t i = 0; i < 3; i++) {
        char path[64];
        size_t len;
        bulk_t b;
        snprintf(path, sizeof path, "bulk/%s", files[i]);
        char *text = tu_read_file(tu_fixture(path), &len);
        assert_non_null(text);
        assert_int_equal(parse_fmt(files[i], text, len, BULK_AUTO, &b), ERR_OK);
        assert_int_equal(b.nitems, 2);
        assert_int_equal(b.nerrors, 0);
        /* No BOM or CR survives into the specs. */
        assert_int_equal(strncmp(b.items[0].spec.prompt, "a lighthouse keeper", 19), 0);
        assert_null(strchr(b.items[0].spec.prompt, '\r'));
        assert_string_equal(b.items[1].spec.prompt, "neon rain over a night market");
        if (i == 2) {
            assert_string_equal(b.items[0].spec.prompt, "a lighthouse keeper\nat dusk");
            assert_int_equal(b.items[1].line, 4);
        }
        bulk_free(&b);
        free(text);
    }
}

static void empty_and_comment_only_inputs_have_no_prompts(void **state)
{
    (void)state;
    static const char *const inputs[] = {"", "\xef\xbb\xbf", "\n\n  \n",
                                         "# just\n# comments\r\n"};
    bulk_t b;
    err_t e;
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        assert_int_equal(parse("in.txt", inputs[i], &b), ERR_INVALID);
        assert_int_equal(b.nerrors, 1);
        assert_string_equal(b.errors[0].msg, "in.txt: no prompts found");
        bulk_free(&b);
    }
    assert_int_equal(parse("e.jsonl", "\n", &b), ERR_INVALID);
    assert_string_equal(b.errors[0].msg, "e.jsonl: no prompts found");
    bulk_free(&b);
    assert_int_equal(parse("e.csv", "prompt,title\n", &b), ERR_INVALID);
    assert_string_equal(b.errors[0].msg, "e.csv: no prompts found");
    bulk_free(&b);
    bulk_init(&b);
    err_clear(&e);
    assert_int_equal(bulk_parse("-", "", 0, BULK_TXT, NULL, &b, &e), ERR_INVALID);
    assert_string_equal(e.msg, "-: no prompts found");
    bulk_free(&b);
}

static void every_bad_line_is_reported_and_parsing_goes_on(void **state)
{
    (void)state;
    const char *text = "{\"prompt\":\"one\"}\n"
                       "{\"prompt\":\"two\",\"seed\":1.5}\n"
                       "\n"
                       "{\"prompt\":\"three\",\"aspect_ratio\":\"4:3\"}\n"
                       "{\"prompt\":\"four\",\"colour\":\"red\"}\n"
                       "{\"prompt\":\"five\"}\n";
    bulk_t b;
    err_t e;
    bulk_init(&b);
    assert_int_equal(bulk_parse("s.jsonl", text, strlen(text), BULK_AUTO, NULL, &b, &e),
                     ERR_INVALID);
    assert_int_equal(b.nitems, 2);
    assert_int_equal(b.nerrors, 3);
    assert_string_equal(b.errors[0].msg,
                        "s.jsonl:2: seed: must be an integer between 0 and 4294967294");
    assert_int_equal(strncmp(b.errors[1].msg, "s.jsonl:4: aspect_ratio: must be one of", 39), 0);
    assert_string_equal(b.errors[2].msg, "s.jsonl:5: colour: unknown field");
    assert_int_equal(b.items[1].line, 6);
    assert_non_null(strstr(e.msg, "s.jsonl:2: seed"));
    assert_non_null(strstr(e.msg, "(and 2 more errors)"));
    bulk_free(&b);
    /* A name echoed from the input cannot break the one-line message. */
    assert_int_equal(parse("s.jsonl", "{\"prompt\":\"a\",\"x\\ny\":1}\n", &b), ERR_INVALID);
    assert_string_equal(b.errors[0].msg, "s.jsonl:1: x?y: unknown field");
    bulk_free(&b);
}

static void duplicate_client_ids_are_errors_on_the_later_line(void **state)
{
    (void)state;
    bulk_t b;
    assert_int_equal(parse("d.jsonl", "{\"id\":\"a\",\"prompt\":\"x\"}\n"
                                      "{\"id\":\"b\",\"prompt\":\"x\"}\n"
                                      "{\"id\":\"c\",\"prompt\":\"y\"}\n"
                                      "{\"id\":\"c\",\"prompt\":\"z\"}\n"
                                      "{\"id\":\"a\",\"prompt\":\"x\"}\n", &b),
                     ERR_INVALID);
    assert_int_equal(b.nitems, 3);
    assert_int_equal(b.nerrors, 2);
    assert_string_equal(b.errors[0].msg, "d.jsonl:4: id: duplicate of line 3");
    assert_string_equal(b.errors[1].msg, "d.jsonl:5: id: duplicate of line 1");
    bulk_free(&b);
}

static void identical_specs_without_ids_fold_into_one(void **state)
{
    (void)state;
    bulk_t b;
    assert_int_equal(parse("f.txt", "a fox\nb box\n  a fox  \na fox\n", &b), ERR_OK);
    assert_int_equal(b.nitems, 2);
    assert_int_equal(b.nduplicates, 2);
    bulk_free(&b);
    /* The same text in a different field set is a different job. */
    assert_int_equal(parse("f.jsonl", "{\"prompt\":\"a fox\"}\n"
                                      "{\"prompt\":\"a fox\",\"seed\":1}\n"
                                      "{\"prompt\":\"a fox\",\"id\":\"x\"}\n"
                                      "{\"aspect_ratio\":\"2:3\",\"prompt\":\"a fox\"}\n", &b),
                     ERR_OK);
    assert_int_equal(b.nitems, 3);
    assert_int_equal(b.nduplicates, 1);
    bulk_free(&b);
}

static void csv_quoting_edge_cases(void **state)
{
    (void)state;
    size_t len;
    bulk_t b;
    char *text = tu_read_file(tu_fixture("bulk/quoting.csv"), &len);
    char *c;
    assert_non_null(text);
    assert_int_equal(parse_fmt("quoting.csv", text, len, BULK_AUTO, &b), ERR_OK);
    assert_int_equal(b.nitems, 5);
    c = canon(&b.items[0].spec);
    assert_string_equal(c, "{\"id\":\"q1\",\"prompt\":\"a fox, a box, and a sox\","
                           "\"aspect_ratio\":\"2:3\",\"seed\":42,\"output_format\":"
                           "\"png\",\"title\":\"He said \\\"hi\\\"\",\"tags\":{\"sku\":"
                           "\"SKU-1\"}}");
    free(c);
    assert_string_equal(b.items[1].spec.prompt, "a poem\nacross two lines");
    assert_null(b.items[1].spec.title);
    assert_null(b.items[1].spec.tags_json);
    assert_int_equal(b.items[1].spec.seed, JOB_SEED_UNSET);
    assert_int_equal(b.items[1].line, 3);
    assert_string_equal(b.items[2].spec.prompt, "spaced quotes");
    assert_string_equal(b.items[2].spec.title, "plain");
    assert_int_equal(b.items[2].spec.seed, 7);
    assert_int_equal(b.items[2].line, 5);
    assert_string_equal(b.items[3].spec.prompt, "\"quoted\" prompt");
    assert_int_equal(b.items[3].line, 6);
    assert_string_equal(b.items[4].spec.id, "q5");
    assert_string_equal(b.items[4].spec.tags_json, "{\"sku\":\"SKU-5\"}");
    assert_int_equal(b.items[4].line, 9);
    bulk_free(&b);
    free(text);
}

static void csv_errors_name_the_line_where_the_record_starts(void **state)
{
    (void)state;
    bulk_t b;
    assert_int_equal(parse("c.csv", "id,prompt\nok1,fine\nbad,\"spans\nlines\",x\nok2,\"x\"y\n"
                                    "ok3,\"never closed\nat all\n", &b), ERR_INVALID);
    assert_int_equal(b.nitems, 1);
    assert_has_error(&b, "c.csv:3: expected 2 fields as in the header, found 3");
    assert_has_error(&b, "c.csv:5: unexpected text after a closing quote");
    assert_has_error(&b, "c.csv:6: unterminated quoted field (a \" is never closed)");
    bulk_free(&b);
    assert_int_equal(parse("c.csv", "prompt,seed\na,4.5\nb,abc\nc,-1\nd, 12 \n", &b), ERR_INVALID);
    assert_int_equal(b.nerrors, 3);
    assert_has_error(&b, "c.csv:2: seed: must be an integer between 0 and 4294967294");
    assert_has_error(&b, "c.csv:4: seed: must be an integer between 0 and 4294967294");
    assert_int_equal(b.nitems, 1);
    assert_int_equal(b.items[0].spec.seed, 12);
    bulk_free(&b);
}

static void csv_header_must_name_known_columns_and_prompt(void **state)
{
    (void)state;
    bulk_t b;
    assert_int_equal(parse("h.csv", "prompt,colour,tags.sku\na,red,1\n", &b), ERR_INVALID);
    assert_int_equal(b.nerrors, 1);
    assert_int_equal(b.nitems, 0);
    assert_int_equal(strncmp(b.errors[0].msg, "h.csv:1: unknown column \"colour\"", 32), 0);
    bulk_free(&b);
    assert_int_equal(parse("h.csv", "id,title\np1,T\n", &b), ERR_INVALID);
    assert_int_equal(b.nerrors, 1);
    assert_string_equal(b.errors[0].msg, "h.csv:1: prompt: missing required column");
    bulk_free(&b);
    assert_int_equal(parse("h.csv", "prompt,tags.a,tags.a\nx,1,2\n", &b), ERR_INVALID);
    assert_string_equal(b.errors[0].msg, "h.csv:1: duplicate column \"tags.a\"");
    bulk_free(&b);
    /* Header names are matched without regard to case or padding. */
    assert_int_equal(parse("h.csv", " Prompt , Aspect_Ratio ,tags.SKU\nx,16:9,A\n", &b), ERR_OK);
    assert_string_equal(b.items[0].spec.aspect_ratio, "16:9");
    assert_string_equal(b.items[0].spec.tags_json, "{\"SKU\":\"A\"}");
    bulk_free(&b);
}

static void format_is_picked_by_extension_or_named(void **state)
{
    (void)state;
    bulk_t b;
    const char *json = "{\"prompt\":\"a\"}\n";
    assert_int_equal(parse("x.JSONL", json, &b), ERR_OK);
    assert_string_equal(b.items[0].spec.prompt, "a");
    bulk_free(&b);
    assert_int_equal(parse("dir.csv/x.txt", json, &b), ERR_OK);
    /* A .txt file is prompts, even when a line looks like JSON. */
    assert_string_equal(b.items[0].spec.prompt, "{\"prompt\":\"a\"}");
    bulk_free(&b);
    assert_int_equal(parse_fmt("-", json, strlen(json), BULK_JSONL, &b), ERR_OK);
    assert_string_equal(b.items[0].spec.prompt, "a");
    bulk_free(&b);
    assert_int_equal(bulk_format_parse("txt"), BULK_TXT);
    assert_int_equal(bulk_format_parse("jsonl"), BULK_JSONL);
    assert_int_equal(bulk_format_parse("csv"), BULK_CSV);
    assert_int_equal(bulk_format_parse("auto"), BULK_AUTO);
    assert_int_equal(bulk_format_parse("xml"), -1);
    assert_int_equal(bulk_format_parse(NULL), -1);
}

static void defaults_apply_to_every_line(void **state)
{
    (void)state;
    job_defaults_t d = {"draft", "16:9", JOB_SEED_UNSET, NULL, "House Style", NULL};
    bulk_t b;
    err_t e;
    const char *text = "{\"prompt\":\"a\"}\n{\"prompt\":\"b\",\"aspect_ratio\":\"1:1\"}\n";
    bulk_init(&b);
    assert_int_equal(bulk_parse("d.jsonl", text, strlen(text), BULK_AUTO, &d, &b, &e), ERR_OK);
    assert_string_equal(b.items[0].spec.aspect_ratio, "16:9");
    assert_string_equal(b.items[1].spec.aspect_ratio, "1:1");
    assert_string_equal(b.items[1].spec.model, "draft");
    assert_string_equal(b.items[1].spec.title, "House Style");
    bulk_free(&b);
}

/* Parses text and assigns ids; returns the batch id (static) and copies the
 * first job id into first. */
static const char *ids_of(const char *name, const char *text, char *first)
{
    static char batch[JOB_ID_MAX + 1];
    bulk_t b;
    assert_int_equal(parse(name, text, &b), ERR_OK);
    assert_int_equal(bulk_assign_ids(&b), ERR_OK);
    memcpy(batch, b.batch_id, sizeof batch);
    if (first)
        memcpy(first, b.items[0].job_id, JOB_ID_MAX + 1);
    bulk_free(&b);
    return batch;
}

static void ids_are_stable_and_follow_content_and_order(void **state)
{
    (void)state;
    const char *text = "{\"prompt\":\"a fox\",\"seed\":1}\n{\"prompt\":\"a box\"}\n"
                       "{\"id\":\"mine\",\"prompt\":\"a sox\"}\n";
    static const char *const changed[] = {
        "{\"prompt\":\"a fox\",\"seed\":2}\n{\"prompt\":\"a box\"}\n{\"id\":\"mine\",\"prompt\":\"a sox\"}\n",
        "{\"prompt\":\"a fox\",\"seed\":1}\n{\"prompt\":\"a box!\"}\n{\"id\":\"mine\",\"prompt\":\"a sox\"}\n",
        "{\"prompt\":\"a fox\",\"seed\":1}\n{\"prompt\":\"a box\"}\n{\"id\":\"yours\",\"prompt\":\"a sox\"}\n",
        "{\"prompt\":\"a fox\",\"seed\":1,\"title\":\"T\"}\n{\"prompt\":\"a box\"}\n{\"id\":\"mine\",\"prompt\":\"a sox\"}\n",
        /* the same lines in another order */
        "{\"prompt\":\"a box\"}\n{\"prompt\":\"a fox\",\"seed\":1}\n{\"id\":\"mine\",\"prompt\":\"a sox\"}\n",
    };
    char batch[JOB_ID_MAX + 1], j1[JOB_ID_MAX + 1], j2[JOB_ID_MAX + 1];
    bulk_t b;

    memcpy(batch, ids_of("s.jsonl", text, j1), sizeof batch);
    assert_string_equal(ids_of("other-name.jsonl", text, j2), batch);
    assert_string_equal(j1, j2);
    assert_int_equal(strlen(batch), 17);
    assert_int_equal(batch[0], 'b');
    assert_int_equal(strspn(batch + 1, "0123456789abcdef"), 16);
    /* Blank lines, CRLF and key order do not change the ids. */
    assert_string_equal(ids_of("s.jsonl", "\xef\xbb\xbf{\"seed\":1,\"prompt\":\"a fox\"}\r\n\r\n"
                                          "{\"prompt\":\"a box\"}\r\n{\"prompt\":\"a sox\","
                                          "\"id\":\"mine\"}\r\n", NULL), batch);
    for (size_t i = 0; i < sizeof changed / sizeof *changed; i++)
        if (!strcmp(ids_of("s.jsonl", changed[i], NULL), batch))
            fail_msg("change %zu kept batch id %s", i, batch);

    assert_int_equal(parse("s.jsonl", text, &b), ERR_OK);
    assert_int_equal(bulk_assign_ids(&b), ERR_OK);
    assert_string_equal(b.items[2].job_id, "mine");
    assert_int_equal(b.items[0].job_id[0], 'j');
    assert_string_not_equal(b.items[0].job_id, b.items[1].job_id);
    assert_int_equal(job_id_for(b.batch_id, &b.items[1].spec, j2), ERR_OK);
    assert_string_equal(j2, b.items[1].job_id);
    bulk_free(&b);
}

/* True when msg starts with "name:DIGITS:". */
static bool names_file_and_line(const char *msg, const char *name)
{
    size_t n = strlen(name), d;
    if (strncmp(msg, name, n) || msg[n] != ':')
        return false;
    d = strspn(msg + n + 1, "0123456789");
    return d > 0 && msg[n + 1 + d] == ':';
}

/* Each file of tests/fixtures/bad/prompts/ must be refused with an error
 * naming its line; bulk/bad_prompts_expected.tsv pins what the error says. */
static void every_file_in_the_bad_input_corpus_is_refused(void **state)
{
    (void)state;
    char dirpath[4096], *want[128], *wfile[128], *save = NULL;
    bool found[128] = {false};
    size_t nwant = 0, seen = 0, len;
    char *tsv = tu_read_file(tu_fixture("bulk/bad_prompts_expected.tsv"), &len);
    struct dirent *de;
    DIR *dir;

    assert_non_null(tsv);
    for (char *l = strtok_r(tsv, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(l, '\t');
        if (l[0] == '#' || !tab)
            continue;
        assert_true(nwant < 128);
        *tab = '\0';
        wfile[nwant] = l;
        want[nwant++] = tab + 1;
    }
    snprintf(dirpath, sizeof dirpath, "%s", tu_fixture("bad/prompts"));
    assert_non_null(dir = opendir(dirpath));
    while ((de = readdir(dir))) {
        char path[8192];
        bulk_t b;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dirpath, de->d_name);
        char *text = tu_read_file(path, &len);
        assert_non_null(text);
        if (parse_fmt(de->d_name, text, len, BULK_AUTO, &b) != ERR_INVALID ||
            b.nerrors == 0)
            fail_msg("%s was accepted", de->d_name);
        if (!names_file_and_line(b.errors[0].msg, de->d_name))
            fail_msg("%s: message lacks NAME:LINE: \"%s\"", de->d_name, b.errors[0].msg);
        for (size_t i = 0; i < nwant; i++) {
            if (strcmp(wfile[i], de->d_name))
                continue;
            found[i] = true;
            if (strncmp(b.errors[0].msg, want[i], strlen(want[i])))
                fail_msg("%s:\n  got  \"%s\"\n  want \"%s...\"", de->d_name,
                         b.errors[0].msg, want[i]);
        }
        seen++;
        bulk_free(&b);
        free(text);
    }
    closedir(dir);
    for (size_t i = 0; i < nwant; i++)
        if (!found[i])
            fail_msg("corpus file %s is missing", wfile[i]);
    print_message("bad-input corpus: %zu files refused (%zu with pinned messages)\n",
                  seen, nwant);
    free(tsv);
}

static void shipped_examples_parse_cleanly(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t min_items;
    } ex[] = {{"prompts.txt", 15}, {"prompts.jsonl", 6}, {"catalogue.csv", 8}};
    for (size_t i = 0; i < sizeof ex / sizeof *ex; i++) {
        char rel[64];
        size_t len;
        bulk_t b;
        snprintf(rel, sizeof rel, "../../examples/%s", ex[i].file);
        char *text = tu_read_file(tu_fixture(rel), &len);
        if (!text)
            fail_msg("cannot read examples/%s", ex[i].file);
        if (parse_fmt(ex[i].file, text, len, BULK_AUTO, &b) != ERR_OK)
            fail_msg("examples/%s: %s", ex[i].file, b.nerrors ? b.errors[0].msg : "?");
        assert_true(b.nitems >= ex[i].min_items);
        assert_int_equal(b.nduplicates, 0);
        assert_int_equal(bulk_assign_ids(&b), ERR_OK);
        bulk_free(&b);
        free(text);
    }
}

static double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Informational: prints the time; the assertions are about correctness. */
static void parses_a_hundred_thousand_lines(void **state)
{
    (void)state;
    static const char *const fmts[] = {"big.txt", "big.jsonl", "big.csv"};
    const size_t n = 100000;
    for (size_t f = 0; f < 3; f++) {
        buf_t text = BUF_INIT;
        bulk_t b;
        double t0, t1, t2, c0, c1;
        if (f == 0)
            buf_append_str(&text, "# generated\n");
        if (f == 2)
            buf_append_str(&text, "id,prompt,seed,tags.sku\n");
        for (size_t i = 0; i < n; i++) {
            if (f == 0)
                buf_appendf(&text, "poster %zu: a lone astronaut in a field of "
                                   "sunflowers, 1970s film grain, wide shot\n", i);
            else if (f == 1)
                buf_appendf(&text, "{\"prompt\":\"poster %zu: a lone astronaut in a "
                                   "field of sunflowers\",\"seed\":%zu,\"tags\":"
                                   "{\"sku\":\"S-%zu\"}}\n", i, i, i);
            else
                buf_appendf(&text, "p%zu,\"poster %zu: a lone astronaut, sunflowers\","
                                   "%zu,S-%zu\n", i, i, i, i);
        }
        t0 = now_ms(CLOCK_MONOTONIC);
        c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        assert_int_equal(parse_fmt(fmts[f], (char *)text.data, text.len, BULK_AUTO, &b),
                         ERR_OK);
        t1 = now_ms(CLOCK_MONOTONIC);
        c1 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        assert_int_equal(bulk_assign_ids(&b), ERR_OK);
        t2 = now_ms(CLOCK_MONOTONIC);
        assert_int_equal(b.nitems, n);
        print_message("%s: %zu lines (%zu bytes) parsed in %.0f ms (%.0f ms CPU), "
                      "ids in %.0f ms\n", fmts[f], n, text.len, t1 - t0, c1 - c0,
                      t2 - t1);
        bulk_free(&b);
        buf_free(&text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(txt_skips_comments_and_blank_lines),
        cmocka_unit_test(txt_long_lines_are_fine_up_to_the_prompt_limit),
        cmocka_unit_test(txt_nul_and_invalid_utf8_name_the_line),
        cmocka_unit_test(bom_and_crlf_are_accepted_in_every_format),
        cmocka_unit_test(empty_and_comment_only_inputs_have_no_prompts),
        cmocka_unit_test(every_bad_line_is_reported_and_parsing_goes_on),
        cmocka_unit_test(duplicate_client_ids_are_errors_on_the_later_line),
        cmocka_unit_test(identical_specs_without_ids_fold_into_one),
        cmocka_unit_test(csv_quoting_edge_cases),
        cmocka_unit_test(csv_errors_name_the_line_where_the_record_starts),
        cmocka_unit_test(csv_header_must_name_known_columns_and_prompt),
        cmocka_unit_test(format_is_picked_by_extension_or_named),
        cmocka_unit_test(defaults_apply_to_every_line),
        cmocka_unit_test(ids_are_stable_and_follow_content_and_order),
        cmocka_unit_test(every_file_in_the_bad_input_corpus_is_refused),
        cmocka_unit_test(shipped_examples_parse_cleanly),
        cmocka_unit_test(parses_a_hundred_thousand_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
