/* Tests for the CSV writer (csv_write_field, csv_write_record): exact bytes
 * for each quoting rule, bad input that leaves the buffer as it was, and a
 * round trip through the project's own reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"

/* The field s written alone, as a string the test owns. */
static char *field(const char *s)
{
    buf_t b = BUF_INIT;
    assert_int_equal(csv_write_field(&b, s, s ? strlen(s) : 0), ERR_OK);
    char *out = strdup(b.data ? (char *)b.data : "");
    buf_free(&b);
    return out;
}

static void assert_field(const char *in, const char *want)
{
    char *got = field(in);
    assert_string_equal(got, want);
    free(got);
}

static void field_quotes_only_what_needs_it(void **state)
{
    (void)state;
    assert_field("plain", "plain");
    assert_field("", "");
    assert_field(NULL, "");
    assert_field("a,b", "\"a,b\"");
    assert_field("say \"hi\"", "\"say \"\"hi\"\"\"");
    assert_field("\"", "\"\"\"\"");
    assert_field("two\nlines", "\"two\nlines\"");
    assert_field("cr\rhere", "\"cr\rhere\"");
    assert_field("crlf\r\n", "\"crlf\r\n\"");
    assert_field(" padded", "\" padded\"");
    assert_field("padded\t", "\"padded\t\"");
    assert_field("in side", "in side");
    assert_field("Fig & Cedar — ünïcode", "Fig & Cedar — ünïcode");
}

static void field_starting_with_formula_characters_is_data(void **state)
{
    (void)state;
    assert_field("=SUM(A1:A2)", "=SUM(A1:A2)");
    assert_field("+1", "+1");
    assert_field("-2", "-2");
    assert_field("@x", "@x");
    assert_field("=a,b", "\"=a,b\"");
}

static void bad_input_leaves_the_buffer_as_it_was(void **state)
{
    (void)state;
    buf_t b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "kept"), ERR_OK);
    assert_int_equal(csv_write_field(&b, "a\0b", 3), ERR_INVALID);
    assert_int_equal(csv_write_field(&b, NULL, 2), ERR_INVALID);
    assert_int_equal(b.len, 4);
    assert_string_equal((char *)b.data, "kept");

    const char *some[] = {"a", "b"};
    assert_int_equal(csv_write_record(&b, some, 0), ERR_INVALID);
    assert_int_equal(b.len, 4);
    assert_string_equal((char *)b.data, "kept");
    buf_free(&b);
}

static void record_joins_fields_and_ends_with_crlf(void **state)
{
    (void)state;
    buf_t b = BUF_INIT;
    const char *r1[] = {"line", "id", "prompt"};
    const char *r2[] = {"1", NULL, "a, \"b\""};
    const char *empty[] = {""};
    const char *nothing[] = {NULL};
    assert_int_equal(csv_write_record(&b, r1, 3), ERR_OK);
    assert_int_equal(csv_write_record(&b, r2, 3), ERR_OK);
    assert_int_equal(csv_write_record(&b, empty, 1), ERR_OK);
    assert_int_equal(csv_write_record(&b, nothing, 1), ERR_OK);
    assert_string_equal((char *)b.data, "line,id,prompt\r\n1,,\"a, \"\"b\"\"\"\r\n\"\"\r\n\"\"\r\n");
    buf_free(&b);
}

/* Every written record reads back field for field; a CRLF inside a field
 * comes back as "\n", as csv.h says of the reader. */
static void records_round_trip_through_the_reader(void **state)
{
    (void)state;
    static const char *const rows[][4] = {
        {"1", "plain", "", "x"},
        {"2", "a,b", "\"quoted\"", "  spaced  "},
        {"3", "multi\nline", "cr\rmid", "=formula"},
        {"4", "", "", ""},
        {"5", "\"", ",", "\n"},
    };
    buf_t b = BUF_INIT;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        assert_int_equal(csv_write_record(&b, rows[i], 4), ERR_OK);

    csv_reader_t r;
    csv_record_t rec;
    err_t e;
    csv_reader_init(&r, (const char *)b.data, b.len);
    csv_record_init(&rec);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        err_clear(&e);
        assert_int_equal(csv_next(&r, &rec, &e), ERR_OK);
        assert_int_equal(rec.n, 4);
        for (size_t f = 0; f < 4; f++) {
            size_t len;
            const char *v = csv_field(&rec, f, &len);
            assert_int_equal(len, strlen(rows[i][f]));
            assert_memory_equal(v, rows[i][f], len);
        }
    }
    assert_int_equal(csv_next(&r, &rec, &e), ERR_NOTFOUND);
    csv_record_free(&rec);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_quotes_only_what_needs_it),
        cmocka_unit_test(field_starting_with_formula_characters_is_data),
        cmocka_unit_test(bad_input_leaves_the_buffer_as_it_was),
        cmocka_unit_test(record_joins_fields_and_ends_with_crlf),
        cmocka_unit_test(records_round_trip_through_the_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
