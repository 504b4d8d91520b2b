/* Tests for the request-head screener in front of libmicrohttpd
 * (common/api/api_screen.c): sound heads pass whole and in pieces (every
 * split point, including one inside CRLF), bad heads are refused with the
 * right status and code as soon as a byte proves them bad, framing that two
 * parsers could read two ways is refused, and the answer is the JSON error
 * shape with Connection: close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_screen.h"

/* Screens the first n bytes of head in one call. */
static api_screen_result_t screen(const char *head, size_t n, api_screen_t *s)
{
    api_screen_init(s);
    return api_screen_feed(s, head, n);
}

static void want_refused(const char *head, size_t n, int status, const char *code)
{
    api_screen_t s;
    api_screen_result_t r = screen(head, n, &s);
    if (r != API_SCREEN_REFUSE || s.status != status || strcmp(s.code, code) != 0)
        fail_msg("%.60s...: result %d status %d code %s message %s, wanted %d %s", head, r,
                 s.status, s.code ? s.code : "-", s.message, status, code);
    assert_true(s.message[0] != '\0');
}

static void sound_heads_pass_and_body_bytes_are_not_read(void **state)
{
    (void)state;
    static const char *heads[] = {
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/1.0\r\n\r\n",
        "HEAD /jobs/abc?x=1 HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Tab:\tv a l\t\r\n\r\n",
        "POST /jobs HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}",
        "DELETE /jobs/j HTTP/1.1\r\nX-Utf8: caf\xc3\xa9\r\n\r\n\x00\x01 body",
    };
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        api_screen_t s;
        const char *h = heads[i];
        size_t n = strlen(h) + (i == 4 ? 8 : 0);
        assert_int_equal(screen(h, n, &s), API_SCREEN_OK);
        const char *end = strstr(h, "\r\n\r\n");
        assert_int_equal(s.head_len, (size_t)(end - h) + 4);
        assert_int_equal(s.head_method, i == 2);
    }
}

/* Fed a byte at a time (len growing by one each call), a sound head stays
 * MORE until its blank line and then is OK; in particular a CR that is the
 * last byte so far is not a bare CR, and "HTTP/1." is not a bad version. */
static void sound_head_in_pieces_passes_at_every_split(void **state)
{
    (void)state;
    const char *h = "POST /generate-poster HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    size_t head = strstr(h, "\r\n\r\n") - h + 4;
    api_screen_t s;
    api_screen_init(&s);
    for (size_t n = 1; n < head; n++)
        if (api_screen_feed(&s, h, n) != API_SCREEN_MORE)
            fail_msg("refused after %zu bytes: %s", n, s.message);
    assert_int_equal(api_screen_feed(&s, h, head), API_SCREEN_OK);
    assert_int_equal(s.head_len, head);
    /* Two pieces, split at every point. */
    for (size_t k = 1; k < head; k++) {
        api_screen_init(&s);
        assert_int_equal(api_screen_feed(&s, h, k), API_SCREEN_MORE);
        assert_int_equal(api_screen_feed(&s, h, strlen(h)), API_SCREEN_OK);
    }
}

/* Valid only because it arrives in pieces: judged whole at its first piece
 * ("...HTTP/1.1\r"), this request line would end in a bare CR. */
static void cr_at_the_end_of_a_piece_waits_for_its_lf(void **state)
{
    (void)state;
    const char *h = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    api_screen_t s;
    api_screen_init(&s);
    assert_int_equal(api_screen_feed(&s, h, 22), API_SCREEN_MORE); /* ends in \r */
    assert_int_equal(api_screen_feed(&s, h, 31), API_SCREEN_MORE); /* "Host: x\r" */
    assert_int_equal(api_screen_feed(&s, h, strlen(h)), API_SCREEN_OK);
    /* The same bytes with something other than LF after the CR are bad. */
    want_refused("GET /healthz HTTP/1.1\rX", 23, 400, "bad_request");
}

static void bad_heads_are_refused_with_their_status(void **state)
{
    (void)state;
    static const struct { const char *head; int status; const char *code; } cases[] = {
        {"GET /healthz HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"},
        {"GET /healthz HTTP/1.2\r\n\r\n", 505, "http_version_not_supported"},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "http_version_not_supported"},
        {"GET /healthz HTTP/1.10\r\n\r\n", 400, "bad_request"},
        {"GET /healthz http/1.1\r\n\r\n", 400, "bad_request"},
        {"GET /healthz\r\n\r\n", 400, "bad_request"},
        {"GET  /healthz HTTP/1.1\r\n\r\n", 400, "bad_request"},
        {" GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_request"},
        {"hello there\r\n\r\n", 400, "bad_request"},
        {"\r\nGET / HTTP/1.1\r\n\r\n", 400, "bad_request"},
        {"GET http://x/ HTTP/1.1\r\n\r\n", 400, "bad_request"},
        {"GET /a\x7f HTTP/1.1\r\n\r\n", 400, "bad_request"},
        {"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\nHost: x\n\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\nHost: x\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\nX-A : 1\r\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\n: empty name\r\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\nX-A: a\x7fz\r\n\r\n", 400, "bad_request"},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
         "bad_framing"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n", 400,
         "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n", 400,
         "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n", 400,
         "bad_framing"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 411, "length_required"},
        {"POST / HTTP/1.0\r\ntransfer-encoding: gzip\r\n\r\n", 411, "length_required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        want_refused(cases[i].head, strlen(cases[i].head), cases[i].status, cases[i].code);
    /* NUL bytes, which strlen() would hide. */
    static const char nul_target[] = "GET /a\0b HTTP/1.1\r\n\r\n";
    static const char nul_header[] = "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
    want_refused(nul_target, sizeof nul_target - 1, 400, "bad_request");
    want_refused(nul_header, sizeof nul_header - 1, 400, "bad_request");
}

/* Sizes are judged as the bytes arrive: an endless target or header line
 * is refused once it passes its limit, not when (or if) it ends. */
static void oversized_heads_are_refused_before_they_end(void **state)
{
    (void)state;
    size_t big = 64 * 1024;
    char *h = malloc(big);
    assert_non_null(h);
    memcpy(h, "GET /", 5);
    memset(h + 5, 'a', big - 5);
    want_refused(h, 5 + API_SCREEN_MAX_TARGET + 1, 414, "uri_too_long");
    api_screen_t s;
    assert_int_equal(screen(h, 5 + API_SCREEN_MAX_TARGET - 1, &s), API_SCREEN_MORE);

    int n = snprintf(h, big, "GET / HTTP/1.1\r\nX-Big: ");
    memset(h + n, 'a', big - (size_t)n);
    assert_int_equal(screen(h, API_SCREEN_MAX_HEAD, &s), API_SCREEN_MORE);
    want_refused(h, API_SCREEN_MAX_HEAD + 1, 431, "headers_too_large");

    /* Many small header lines. */
    size_t o = (size_t)snprintf(h, big, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= API_SCREEN_MAX_FIELDS; i++)
        o += (size_t)snprintf(h + o, big - o, "X-%d: 1\r\n", i);
    o += (size_t)snprintf(h + o, big - o, "\r\n");
    want_refused(h, o, 431, "headers_too_large");

    /* A method that never ends. */
    memset(h, 'G', 100);
    want_refused(h, API_SCREEN_MAX_METHOD + 1, 400, "bad_request");
    free(h);
}

static void eof_inside_the_head_is_a_400_and_a_verdict_stays(void **state)
{
    (void)state;
    api_screen_t s;
    const char *h = "GET / HTTP/1.1\r\nHost: x\r\n";
    assert_int_equal(screen(h, strlen(h), &s), API_SCREEN_MORE);
    assert_int_equal(api_screen_eof(&s), API_SCREEN_REFUSE);
    assert_int_equal(s.status, 400);
    assert_non_null(strstr(s.message, "after line 2"));
    /* Once refused, more bytes change nothing. */
    const char *bad = "GET / HTTP/2.0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    assert_int_equal(screen(bad, strlen(bad), &s), API_SCREEN_REFUSE);
    assert_int_equal(api_screen_feed(&s, bad, strlen(bad)), API_SCREEN_REFUSE);
    assert_int_equal(api_screen_eof(&s), API_SCREEN_REFUSE);
    assert_int_equal(s.status, 505);
}

static void answer_is_the_json_error_shape_and_closes(void **state)
{
    (void)state;
    char out[2048];
    size_t n = api_screen_answer(431, "headers_too_large", "a \"quoted\"\\ message\x01", 0,
                                 true, out, sizeof out);
    assert_true(n > 0 && n == strlen(out));
    assert_memory_equal(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46);
    assert_non_null(strstr(out, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
    const char *body = strstr(out, "\r\n\r\n") + 4;
    json_error_t je;
    json_t *j = json_loads(body, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "headers_too_large");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "error"), "message")),
        "a \"quoted\"\\ message\x01");
    char cl[32];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(body));
    assert_non_null(strstr(out, cl));
    json_decref(j);

    /* HEAD: the same Content-Length, no body; Retry-After when asked. */
    n = api_screen_answer(503, "too_many_connections", "retry", 1, false, out, sizeof out);
    assert_true(n > 0);
    assert_non_null(strstr(out, "\r\nRetry-After: 1\r\n"));
    assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\n");
    /* Too small a buffer: 0, never a cut answer. */
    assert_int_equal(api_screen_answer(400, "bad_request", "m", 0, true, out, 40), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sound_heads_pass_and_body_bytes_are_not_read),
        cmocka_unit_test(sound_head_in_pieces_passes_at_every_split),
        cmocka_unit_test(cr_at_the_end_of_a_piece_waits_for_its_lf),
        cmocka_unit_test(bad_heads_are_refused_with_their_status),
        cmocka_unit_test(oversized_heads_are_refused_before_they_end),
        cmocka_unit_test(eof_inside_the_head_is_a_400_and_a_verdict_stays),
        cmocka_unit_test(answer_is_the_json_error_shape_and_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
