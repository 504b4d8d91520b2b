/* store_conformance — the behaviours every store back-end must show (the
 * promises of store.h), as cmocka tests any back-end's test program runs:
 * a put is read back byte for byte and never seen half-written, a re-put of
 * the same bytes is a no-op and of other bytes replaces the object (as
 * store.h says today), URLs fetch the object (and presigned ones stop
 * working after their ttl), a missing key is ERR_NOTFOUND and a key that
 * could climb out of the store is ERR_INVALID.
 * tests/unit/test_store_conformance.c runs them on the file store,
 * tests/live/live_s3.c on S3 (s3rver behind sigproxy); what only one
 * back-end shows stays in its own file.
 *
 * Only the store.h wrappers are used, never the ops table.
 *
 * Use: describe the back-end in a store_backend_t and put
 * STORE_CONFORMANCE_TESTS(&backend) in the test array; a back-end's own
 * tests can share the fixture with STORE_CONFORMANCE_TEST_F. */
#ifndef ONESHEET_STORE_CONFORMANCE_H
#define ONESHEET_STORE_CONFORMANCE_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_backend store_backend_t;

/* A test's state: a fresh, empty store. */
typedef struct {
    store_t *s;
    char where[512];               /* the store's URL (file:DIR, s3://...) */
    void *data;                    /* the back-end's own (a directory, ...) */
    const store_backend_t *be;
} store_fixture_t;

struct store_backend {
    /* Opens a fresh, empty store into fx->s (setting fx->where and
     * fx->data as it likes); fails the test when it cannot. */
    void (*open)(store_fixture_t *fx);
    /* Closes fx->s and removes whatever open made. */
    void (*close)(store_fixture_t *fx);
    /* A second store on the same objects, for another thread (a store is
     * used by one thread at a time); the caller closes it. */
    store_t *(*open_another)(store_fixture_t *fx);
    /* Fetches url as the user given it would (file: reads the path, s3:
     * an HTTP GET).  Returns 200 with *body (new buffer, caller frees) and
     * *len, else the failure: the HTTP status, or 404 for a missing
     * file. */
    long (*fetch)(store_fixture_t *fx, const char *url, uint8_t **body, size_t *len);
    /* Writes into out (cap bytes) something that changes whenever key's
     * object is written again (file: inode and mtime).  NULL when the
     * back-end cannot tell; false when the object is not there. */
    bool (*stamp)(store_fixture_t *fx, const char *key, char *out, size_t cap);
    /* URLs are presigned and stop working after their ttl (S3); false:
     * they never expire and *expires_unix is 0 (file). */
    bool urls_expire;
    /* The server behind the back-end rewrites an object in place, so a
     * read racing a put can see part of it: the racing-reader test is
     * skipped.  s3rver does (S3 itself replaces objects atomically). */
    bool server_rewrites_in_place;
};

/* cmocka setup and teardown: *state starts as the store_backend_t and is a
 * store_fixture_t during the test. */
int store_conformance_setup(void **state);
int store_conformance_teardown(void **state);

/* n deterministic pseudo-random bytes from seed (caller frees). */
uint8_t *sc_bytes(size_t n, unsigned seed);
/* Puts n bytes under key with their SHA-256; returns the put's result. */
err_code_t sc_put(store_t *s, const char *key, const void *data, size_t n, err_t *err);

/* The conformance tests: X(name, arg) for each. */
#define SC_TESTS_(X, arg) \
    X(a_put_is_read_back_byte_for_byte, arg) \
    X(get_of_a_missing_key_is_notfound, arg) \
    X(a_re_put_of_the_same_bytes_is_a_no_op, arg) \
    X(a_re_put_of_other_bytes_replaces_the_object, arg) \
    X(a_reader_never_sees_a_half_written_object, arg) \
    X(a_put_whose_checksum_does_not_match_stores_nothing, arg) \
    X(a_url_fetches_the_object, arg) \
    X(a_url_lives_as_long_as_its_ttl_says, arg) \
    X(keys_that_could_leave_the_store_are_invalid, arg)

#define SC_DECLARE_(name, arg) void store_conformance_##name(void **state);
SC_TESTS_(SC_DECLARE_, -)

/* A CMUnitTest initialiser: test fn named name with the conformance
 * fixture on back-end be (a store_backend_t *). */
#define STORE_CONFORMANCE_TEST_F(name, fn, be) \
    {name, fn, store_conformance_setup, store_conformance_teardown, (void *)(be)}

#define SC_ENTRY_(name, be) \
    STORE_CONFORMANCE_TEST_F(#name, store_conformance_##name, be),
/* Every conformance test on back-end be, as CMUnitTest initialisers each
 * followed by a comma. */
#define STORE_CONFORMANCE_TESTS(be) SC_TESTS_(SC_ENTRY_, be)

#endif
