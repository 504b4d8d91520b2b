/* store_conformance — see store_conformance.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "store_conformance.h"

int store_conformance_setup(void **state)
{
    store_fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->be = *state;
    fx->be->open(fx);
    assert_non_null(fx->s);
    *state = fx;
    return 0;
}

int store_conformance_teardown(void **state)
{
    store_fixture_t *fx = *state;
    fx->be->close(fx);
    free(fx);
    return 0;
}

uint8_t *sc_bytes(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    unsigned x = seed * 2654435761u + 1;
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

err_code_t sc_put(store_t *s, const char *key, const void *data, size_t n, err_t *err)
{
    uint8_t sha[SHA256_LEN];
    assert_int_equal(crypto_sha256(data, n, sha), ERR_OK);
    return store_put(s, key, data, n, sha, "image/png", err);
}

static void put_ok(store_t *s, const char *key, const void *data, size_t n)
{
    err_t e;
    err_clear(&e);
    if (sc_put(s, key, data, n, &e) != ERR_OK)
        fail_msg("put %s (%zu bytes): %s", key, n, e.msg);
}

/* Gets key, which must hold exactly the n bytes at want. */
static void assert_holds(store_t *s, const char *key, const void *want, size_t n)
{
    uint8_t *got = NULL;
    size_t len = 0;
    err_t e;
    err_clear(&e);
    if (store_get(s, key, &got, &len, &e) != ERR_OK)
        fail_msg("get %s: %s", key, e.msg);
    if (len != n)
        fail_msg("get %s: %zu bytes, want %zu", key, len, n);
    if (n)
        assert_memory_equal(got, want, n);
    free(got);
}

static void assert_absent(store_t *s, const char *key)
{
    uint8_t *got = NULL;
    size_t len = 0;
    err_t e;
    err_clear(&e);
    assert_int_equal(store_get(s, key, &got, &len, &e), ERR_NOTFOUND);
    assert_null(got);
}

void store_conformance_a_put_is_read_back_byte_for_byte(void **state)
{
    static const size_t sizes[] = {0, 1, 4096, 300 * 1024 + 7, 3 * 1024 * 1024 + 1};
    store_fixture_t *fx = *state;
    char key[64];

    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *p = sc_bytes(sizes[i], (unsigned)i + 1);
        snprintf(key, sizeof key, "b1/j%zu.png", i);
        put_ok(fx->s, key, p, sizes[i]);
        assert_holds(fx->s, key, p, sizes[i]);
        free(p);
    }
    /* The poster and its art side by side, each its own object. */
    put_ok(fx->s, "b2/j1.raw.png", "art", 3);
    put_ok(fx->s, "b2/j1.png", "poster", 6);
    assert_holds(fx->s, "b2/j1.raw.png", "art", 3);
    assert_holds(fx->s, "b2/j1.png", "poster", 6);
}

void store_conformance_get_of_a_missing_key_is_notfound(void **state)
{
    store_fixture_t *fx = *state;
    assert_absent(fx->s, "nobatch/none.png");
    put_ok(fx->s, "b1/j1.png", "x", 1);
    assert_absent(fx->s, "b1/j2.png");        /* its batch exists */
    assert_absent(fx->s, "b1/j1.png/more");   /* under an object */
    assert_absent(fx->s, "b1");               /* a prefix that holds objects */
}

void store_conformance_a_re_put_of_the_same_bytes_is_a_no_op(void **state)
{
    store_fixture_t *fx = *state;
    size_t n = 64 * 1024;
    uint8_t *p = sc_bytes(n, 7);
    char before[256], after[256];

    put_ok(fx->s, "b1/j1.png", p, n);
    bool stamped = fx->be->stamp && fx->be->stamp(fx, "b1/j1.png", before, sizeof before);
    if (fx->be->stamp)
        assert_true(stamped);
    /* A retried job stores the same poster again: success, nothing
     * rewritten. */
    put_ok(fx->s, "b1/j1.png", p, n);
    put_ok(fx->s, "b1/j1.png", p, n);
    if (stamped) {
        assert_true(fx->be->stamp(fx, "b1/j1.png", after, sizeof after));
        assert_string_equal(after, before);
    }
    assert_holds(fx->s, "b1/j1.png", p, n);
    free(p);
}

/* store.h: "with a different checksum the new bytes replace it (same job,
 * regenerated)". */
void store_conformance_a_re_put_of_other_bytes_replaces_the_object(void **state)
{
    store_fixture_t *fx = *state;
    size_t na = 50 * 1024, nb = 20 * 1024 + 3;
    uint8_t *a = sc_bytes(na, 1), *b = sc_bytes(nb, 2), *c = sc_bytes(na, 3);
    char s1[256], s2[256];

    put_ok(fx->s, "b1/j1.png", a, na);
    bool stamped = fx->be->stamp && fx->be->stamp(fx, "b1/j1.png", s1, sizeof s1);
    put_ok(fx->s, "b1/j1.png", b, nb);       /* shorter */
    assert_holds(fx->s, "b1/j1.png", b, nb);
    if (stamped) {
        assert_true(fx->be->stamp(fx, "b1/j1.png", s2, sizeof s2));
        assert_string_not_equal(s1, s2);
    }
    put_ok(fx->s, "b1/j1.png", c, na);       /* longer again */
    assert_holds(fx->s, "b1/j1.png", c, na);
    put_ok(fx->s, "b1/j1.png", a, na);       /* and back */
    assert_holds(fx->s, "b1/j1.png", a, na);
    free(a);
    free(b);
    free(c);
}

/* ---- a reader racing the writer ---- */

typedef struct {
    store_t *s;
    const char *key;
    const uint8_t *a, *b;
    size_t na, nb;
    atomic_bool stop;
    atomic_long reads;
    long bad;                 /* reads that were neither a nor b */
    char why[300];            /* the first one */
} racer_t;

static void *read_loop(void *arg)
{
    racer_t *r = arg;
    while (!atomic_load(&r->stop)) {
        uint8_t *d = NULL;
        size_t n = 0;
        err_t e;
        err_clear(&e);
        err_code_t rc = store_get(r->s, r->key, &d, &n, &e);
        bool whole = rc == ERR_OK && ((n == r->na && memcmp(d, r->a, n) == 0) ||
                                      (n == r->nb && memcmp(d, r->b, n) == 0));
        if (!whole && r->bad++ == 0) {
            if (rc != ERR_OK)
                snprintf(r->why, sizeof r->why, "get: %s", e.msg);
            else
                snprintf(r->why, sizeof r->why, "get: %zu bytes that are neither "
                         "object (%zu or %zu bytes)", n, r->na, r->nb);
        }
        free(d);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

void store_conformance_a_reader_never_sees_a_half_written_object(void **state)
{
    enum { MIN_PUTS = 16, MIN_READS = 16 };
    store_fixture_t *fx = *state;
    if (fx->be->server_rewrites_in_place)
        skip();
    racer_t r = {.key = "b1/race.png", .na = 1024 * 1024, .nb = 768 * 1024 + 5};
    uint8_t *a = sc_bytes(r.na, 11), *b = sc_bytes(r.nb, 12);
    pthread_t th;
    int puts = 0;

    r.a = a;
    r.b = b;
    atomic_init(&r.stop, false);
    atomic_init(&r.reads, 0);
    put_ok(fx->s, r.key, a, r.na);
    r.s = fx->be->open_another(fx);
    assert_non_null(r.s);
    assert_int_equal(pthread_create(&th, NULL, read_loop, &r), 0);
    /* Regenerated again and again while another thread reads: every read
     * is one whole object or the other. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        puts++;
        put_ok(fx->s, r.key, puts % 2 ? b : a, puts % 2 ? r.nb : r.na);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((puts >= MIN_PUTS && atomic_load(&r.reads) >= MIN_READS) ||
            t.tv_sec - t0.tv_sec > 20)
            break;
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    store_close(r.s);
    printf("# %d puts, %ld reads racing them\n", puts, (long)atomic_load(&r.reads));
    if (r.bad)
        fail_msg("%ld of %ld reads saw a half-written object; first: %s", r.bad,
                 (long)atomic_load(&r.reads), r.why);
    assert_true(atomic_load(&r.reads) >= 1);
    free(a);
    free(b);
}

void store_conformance_a_put_whose_checksum_does_not_match_stores_nothing(void **state)
{
    store_fixture_t *fx = *state;
    uint8_t sha[SHA256_LEN];
    err_t e;

    /* The caller's bytes changed after it hashed them: refused (file:
     * ERR_INVALID, S3: ERR_PERMANENT from the service), never stored. */
    assert_int_equal(crypto_sha256("the bytes hashed", 16, sha), ERR_OK);
    err_clear(&e);
    assert_int_not_equal(store_put(fx->s, "b1/j1.png", "the bytes sent", 14, sha,
                                   "image/png", &e), ERR_OK);
    assert_true(e.msg[0] != '\0');
    assert_absent(fx->s, "b1/j1.png");
    /* Nor does it replace what is there. */
    put_ok(fx->s, "b1/j1.png", "first", 5);
    assert_int_not_equal(store_put(fx->s, "b1/j1.png", "the bytes sent", 14, sha,
                                   "image/png", &e), ERR_OK);
    assert_holds(fx->s, "b1/j1.png", "first", 5);
}

/* Fetches url, which must give exactly the n bytes at want. */
static void assert_fetches(store_fixture_t *fx, const char *url, const void *want, size_t n)
{
    uint8_t *body = NULL;
    size_t len = 0;
    long st = fx->be->fetch(fx, url, &body, &len);
    if (st != 200)
        fail_msg("fetch of the store's URL: %ld", st);
    assert_int_equal(len, n);
    assert_memory_equal(body, want, n);
    free(body);
}

static char *url_of(store_fixture_t *fx, const char *key, long ttl, int64_t *expires)
{
    char *url = NULL;
    err_t e;
    err_clear(&e);
    if (store_url(fx->s, key, ttl, &url, expires, &e) != ERR_OK)
        fail_msg("url %s: %s", key, e.msg);
    assert_non_null(url);
    return url;
}

void store_conformance_a_url_fetches_the_object(void **state)
{
    static const char *const keys[] = {"b1/j1.png", "b1/poster one+two.png"};
    store_fixture_t *fx = *state;
    size_t n = 200 * 1024 + 1;
    uint8_t *p = sc_bytes(n, 5);
    int64_t expires = -1;

    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        /* The object need not exist when its URL is made. */
        time_t now = time(NULL);
        char *url = url_of(fx, keys[i], 600, &expires);
        uint8_t *body = NULL;
        size_t len = 0;
        if (fx->be->urls_expire)
            assert_true(expires >= now + 599 && expires <= time(NULL) + 601);
        else
            assert_int_equal(expires, 0);
        assert_int_equal(fx->be->fetch(fx, url, &body, &len), 404);
        free(body);
        put_ok(fx->s, keys[i], p, n);
        assert_fetches(fx, url, p, n);
        free(url);
        /* A URL made after the put says the same. */
        url = url_of(fx, keys[i], 600, NULL);
        assert_fetches(fx, url, p, n);
        free(url);
        p[0]++;
    }
    free(p);
}

void store_conformance_a_url_lives_as_long_as_its_ttl_says(void **state)
{
    store_fixture_t *fx = *state;
    uint8_t *body = NULL;
    size_t len = 0;
    int64_t expires = -1;

    put_ok(fx->s, "b1/j1.png", "poster", 6);
    time_t made = time(NULL);
    char *url = url_of(fx, "b1/j1.png", 2, &expires);
    assert_fetches(fx, url, "poster", 6);
    if (!fx->be->urls_expire) {
        assert_int_equal(expires, 0);   /* file URLs never expire */
        free(url);
        return;
    }
    assert_true(expires >= made + 2 && expires <= time(NULL) + 2);
    /* Past its expiry (whole seconds, as X-Amz-Date counts): refused. */
    while (time(NULL) <= expires + 1)
        usleep(100 * 1000);
    long st = fx->be->fetch(fx, url, &body, &len);
    free(body);
    if (st != 403)
        fail_msg("an expired URL answered %ld, want 403", st);
    free(url);
}

void store_conformance_keys_that_could_leave_the_store_are_invalid(void **state)
{
    store_fixture_t *fx = *state;
    char long_key[1200];
    const char *bad[] = {
        "../x", "b1/../../x", "..", "b1/..", "b1/./j1.png", "/etc/passwd", "",
        "b1//j1.png", "b1/", "b1/j1\n.png", "b1/j\t1.png", "b1/j1\x7f.png", long_key,
    };
    /* Over every back-end's key limit (S3: 1024 bytes), in short segments. */
    for (size_t i = 0; i < sizeof long_key - 1; i++)
        long_key[i] = i % 64 == 63 ? '/' : 'k';
    long_key[sizeof long_key - 1] = '\0';

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t *got = NULL;
        size_t len = 0;
        char *url = NULL;
        err_t e;
        err_clear(&e);
        if (sc_put(fx->s, bad[i], "x", 1, &e) != ERR_INVALID)
            fail_msg("put of key %zu (%.40s) was not refused as invalid: %s", i, bad[i],
                     e.msg);
        assert_int_equal(store_get(fx->s, bad[i], &got, &len, &e), ERR_INVALID);
        assert_null(got);
        assert_int_equal(store_url(fx->s, bad[i], 600, &url, NULL, &e), ERR_INVALID);
        free(url);
    }
    assert_absent(fx->s, "x");
    /* Keys as the worker makes them are fine. */
    char key[64];
    assert_int_equal(store_key("b0123456789abcdef", "j0123456789abcdef0123", "png", key,
                               sizeof key), ERR_OK);
    put_ok(fx->s, key, "ok", 2);
    assert_holds(fx->s, key, "ok", 2);
}
