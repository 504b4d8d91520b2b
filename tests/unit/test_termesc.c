/* Tests for termesc: controls, DEL, C1, bidi overrides and bad UTF-8 are
 * escaped; plain text (non-ASCII included) is copied; a short buffer is cut
 * only between whole escapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/termesc.h"

static void plain_text_is_copied_unchanged(void **state)
{
    (void)state;
    const char *in[] = {"", "hello world", "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x8e\xac",
                        "back\\slash", "\xe2\x80\x8b"};
    char out[128];
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        assert_int_equal(term_escape(in[i], out, sizeof out), strlen(in[i]));
        assert_string_equal(out, in[i]);
        assert_true(term_safe(in[i]));
    }
    assert_int_equal(term_escape(NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void controls_del_c1_and_bidi_are_escaped(void **state)
{
    (void)state;
    static const struct { const char *in, *want; } cases[] = {
        {"a\x1b[31mred", "a\\e[31mred"},
        {"line\nnext\r\tx", "line\\nnext\\r\\tx"},
        {"\x01\x07\x7f", "\\x01\\x07\\x7f"},
        {"c1\xc2\x9b" "2J", "c1\\u009b2J"},
        {"exe\xe2\x80\xaetxt", "exe\\u202etxt"},
        {"\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9\xe2\x80\x8f\xd8\x9c",
         "\\u202a\\u2066\\u2069\\u200f\\u061c"},
        {"bad\xff\xc3", "bad\\xff\\xc3"},
        {"over\xc0\xaflong", "over\\xc0\\xaflong"},
        {"sur\xed\xa0\x80", "sur\\xed\\xa0\\x80"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(term_escape(cases[i].in, out, sizeof out), strlen(cases[i].want));
        assert_string_equal(out, cases[i].want);
        assert_false(term_safe(cases[i].in));
        char *d = term_escape_dup(cases[i].in);
        assert_non_null(d);
        assert_string_equal(d, cases[i].want);
        free(d);
    }
}

static void short_buffer_cuts_between_escapes(void **state)
{
    (void)state;
    char out[6];
    /* "ab\e..." needs 2 + 2 + ...; with 6 bytes "ab\e" fits, the next "c"
     * fits too, the rest does not. */
    size_t need = term_escape("ab\x1b" "cdef", out, sizeof out);
    assert_int_equal(need, 8);
    assert_string_equal(out, "ab\\ec");
    char small[4];
    term_escape("a\xe2\x80\xae", small, sizeof small);
    assert_string_equal(small, "a");
    char one[1];
    assert_int_equal(term_escape("\x01", one, sizeof one), 4);
    assert_string_equal(one, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_is_copied_unchanged),
        cmocka_unit_test(controls_del_c1_and_bidi_are_escaped),
        cmocka_unit_test(short_buffer_cuts_between_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
