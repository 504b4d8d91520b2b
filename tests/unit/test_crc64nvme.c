/* Tests for crc64nvme.c: the published check value, the carry-less path
 * against the table on every length and alignment that matters, a running
 * CRC split anywhere, and the base64 form S3 uses (with bad input).  The
 * comparison with the AWS SDK for JavaScript is tests/integration/
 * crc64nvme_sdk.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc64nvme.h"

static void check_value_of_123456789(void **state)
{
    (void)state;
    assert_true(crc64nvme("123456789", 9) == 0xAE8B14860A799888ULL);
    assert_true(crc64nvme_update_table(0, "123456789", 9) == 0xAE8B14860A799888ULL);
    assert_true(crc64nvme(NULL, 0) == 0);
}

/* Values the AWS SDK for JavaScript (@aws-sdk/checksums Crc64Nvme) gives,
 * so the unit tests hold the reference without node: 4096 zero bytes, and
 * 1000 bytes i * 7 mod 256, and "The quick brown fox...". */
static void matches_values_from_the_aws_sdk(void **state)
{
    (void)state;
    uint8_t b[4096];
    memset(b, 0, sizeof b);
    assert_true(crc64nvme(b, 4096) == 0x6482d367eb22b64eULL);
    assert_true(crc64nvme_update_table(0, b, 4096) == 0x6482d367eb22b64eULL);
    for (int i = 0; i < 1000; i++)
        b[i] = (uint8_t)(i * 7);
    assert_true(crc64nvme(b, 1000) == 0x9a9a15922194c6caULL);
    assert_true(crc64nvme_update_table(0, b, 1000) == 0x9a9a15922194c6caULL);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    char s[CRC64NVME_B64_LEN];
    crc64nvme_b64(crc64nvme(fox, strlen(fox)), s);
    assert_string_equal(s, "12xUBUlUwUM=");
}

static void fast_path_equals_table_on_every_length(void **state)
{
    (void)state;
    size_t max = 5000;
    uint8_t *b = malloc(max + 16);
    assert_non_null(b);
    srand(7);
    for (size_t i = 0; i < max + 16; i++)
        b[i] = (uint8_t)rand();
    for (size_t off = 0; off < 16; off += 5)
        for (size_t n = 0; n <= max; n += (n < 600 ? 1 : 97)) {
            uint64_t seed = (uint64_t)rand() << 32 | (uint64_t)rand();
            if (crc64nvme_update(seed, b + off, n) != crc64nvme_update_table(seed, b + off, n))
                fail_msg("%s differs from table at len %zu offset %zu", crc64nvme_impl(), n,
                         off);
        }
    free(b);
}

static void running_crc_splits_anywhere(void **state)
{
    (void)state;
    size_t n = 300000;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 2654435761u >> 13);
    uint64_t whole = crc64nvme(b, n);
    size_t cuts[] = {0, 1, 12, 63, 64, 127, 128, 129, 4095, 150001, n - 12, n - 1, n};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        uint64_t c = crc64nvme_update(CRC64NVME_INIT, b, cuts[i]);
        assert_true(crc64nvme_update(c, b + cuts[i], n - cuts[i]) == whole);
    }
    free(b);
}

static void base64_form_round_trips(void **state)
{
    (void)state;
    char s[CRC64NVME_B64_LEN];
    uint64_t v = 0;
    crc64nvme_b64(0xAE8B14860A799888ULL, s);
    assert_string_equal(s, "rosUhgp5mIg=");
    assert_int_equal(crc64nvme_parse_b64(s, &v), 0);
    assert_true(v == 0xAE8B14860A799888ULL);
    crc64nvme_b64(0, s);
    assert_string_equal(s, "AAAAAAAAAAA=");
}

static void base64_form_refuses_bad_input(void **state)
{
    (void)state;
    uint64_t v = 42;
    const char *bad[] = {NULL, "", "rosUhgp5mIg", "rosUhgp5mIg==", "rosUhgp5mI!=",
                         "rosUhgp5mIh=", /* padding bits not zero */
                         "rosUhgp5mIgA", "ro sUhgp5mI="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(crc64nvme_parse_b64(bad[i], &v), -1);
    assert_true(v == 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_value_of_123456789),
        cmocka_unit_test(matches_values_from_the_aws_sdk),
        cmocka_unit_test(fast_path_equals_table_on_every_length),
        cmocka_unit_test(running_crc_splits_anywhere),
        cmocka_unit_test(base64_form_round_trips),
        cmocka_unit_test(base64_form_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
