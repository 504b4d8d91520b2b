/* The store conformance suite (tests/support/store_conformance.c) on the
 * file store, opened through store_open as the binaries do.
 * tests/live/live_s3.c runs the same suite on S3 (s3rver); the file store's
 * own behaviour (modes, temporary files, disk limits) is tested in
 * test_store_file.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_conformance.h"
#include "testutil.h"

/* fx->data is the private temporary directory; the store is DIR/posters. */
static void file_open(store_fixture_t *fx)
{
    err_t e;
    fx->data = tu_mkdtemp();
    snprintf(fx->where, sizeof fx->where, "file:%s/posters", (char *)fx->data);
    if (!(fx->s = store_open(fx->where, &e)))
        fail_msg("store_open %s: %s", fx->where, e.msg);
}

static void file_close(store_fixture_t *fx)
{
    store_close(fx->s);
    tu_rmtree(fx->data);
    free(fx->data);
}

static store_t *file_another(store_fixture_t *fx)
{
    err_t e;
    store_t *s = store_open(fx->where, &e);
    if (!s)
        fail_msg("store_open %s: %s", fx->where, e.msg);
    return s;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads the file a file:///PATH URL names (percent-decoded), as a browser
 * would. */
static long file_fetch(store_fixture_t *fx, const char *url, uint8_t **body, size_t *len)
{
    char path[4096];
    size_t o = 0;
    *body = NULL;
    *len = 0;
    if (strncmp(url, "file:///", 8) != 0)
        return 400;
    for (const char *p = url + 7; *p && o + 1 < sizeof path; p++) {
        if (*p == '%') {
            int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
            if (l < 0)
                return 400;
            path[o++] = (char)(h * 16 + l);
            p += 2;
        } else {
            path[o++] = *p;
        }
    }
    path[o] = '\0';
    errno = 0;
    *body = (uint8_t *)tu_read_file(path, len);
    if (!*body)
        return errno == ENOENT ? 404 : 500;
    return 200;
}

/* Inode, size and modification time: a rewrite (temporary file renamed
 * over the object) changes at least the inode. */
static bool file_stamp(store_fixture_t *fx, const char *key, char *out, size_t cap)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", fx->where + 5, key);
    if (stat(path, &st) != 0)
        return false;
    snprintf(out, cap, "ino=%llu size=%lld mtime=%lld.%09ld", (unsigned long long)st.st_ino,
             (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return true;
}

static const store_backend_t file_backend = {
    .open = file_open,
    .close = file_close,
    .open_another = file_another,
    .fetch = file_fetch,
    .stamp = file_stamp,
    .urls_expire = false,
};

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORE_CONFORMANCE_TESTS(&file_backend)
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
