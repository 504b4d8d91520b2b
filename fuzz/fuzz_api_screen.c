/* fuzz_api_screen — the request-head screener in front of libmicrohttpd:
 * fed whole, in two pieces (split where the first byte says) and a byte at
 * a time, it must reach the same verdict (result, status, head length),
 * and an accepted head must end in a blank line inside the input. */
#include "api/api_screen.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static api_screen_result_t feed_pieces(api_screen_t *s, const char *d, size_t n, size_t step)
{
    api_screen_init(s);
    api_screen_result_t r = API_SCREEN_MORE;
    for (size_t len = step < n ? step : n; r == API_SCREEN_MORE; len += step) {
        r = api_screen_feed(s, d, len < n ? len : n);
        if (len >= n)
            break;
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 40000)
        return 0;
    size_t split = 1 + data[0] % 64;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    api_screen_t whole, two, bytes;
    api_screen_result_t rw = feed_pieces(&whole, d, n, n ? n : 1);
    api_screen_result_t r2 = feed_pieces(&two, d, n, split);
    if (rw != r2 || (rw == API_SCREEN_OK && whole.head_len != two.head_len) ||
        (rw == API_SCREEN_REFUSE && whole.status != two.status))
        abort();
    if (n <= 2048) {
        api_screen_result_t rb = feed_pieces(&bytes, d, n, 1);
        if (rb != rw || (rw == API_SCREEN_REFUSE && bytes.status != whole.status))
            abort();
    }
    if (rw == API_SCREEN_OK &&
        (whole.head_len < 4 || whole.head_len > n || memcmp(d + whole.head_len - 4, "\r\n\r\n", 4)))
        abort();
    char out[1400];
    if (rw == API_SCREEN_REFUSE &&
        !api_screen_answer(whole.status, whole.code, whole.message, 0, true, out, sizeof out))
        abort();
    return 0;
}
