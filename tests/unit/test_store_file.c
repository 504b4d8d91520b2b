/* Tests for store.c (store_open, store_key) and store_file.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/crc64nvme.h"
#include "base/crypto.h"
#include "store/store_file.h"
#include "testutil.h"

typedef struct {
    char *root;  /* private temp dir */
    char *dir;   /* root/posters, the store */
    store_t *s;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    err_t e;
    umask(022);
    f->root = tu_mkdtemp();
    if (asprintf(&f->dir, "%s/posters", f->root) < 0)
        abort();
    f->s = store_file_open(f->dir, &e);
    if (!f->s) {
        fprintf(stderr, "store_file_open: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    store_close(f->s);
    tu_rmtree(f->root);
    free(f->root);
    free(f->dir);
    free(f);
    return 0;
}

static err_code_t put(store_t *s, const char *key, const char *text, err_t *e)
{
    uint8_t sha[SHA256_LEN];
    crypto_sha256(text, strlen(text), sha);
    return store_put(s, key, text, strlen(text), sha, "image/png", e);
}

/* Number of directory entries (files and dirs, recursively) under path whose
 * name starts with '.', i.e. leftover temporary files. */
static int count_hidden(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_name[0] == '.')
            n++;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_hidden(sub);
    }
    closedir(d);
    return n;
}

static void put_then_get_round_trips_bytes(void **state)
{
    fixture_t *f = *state;
    err_t e;
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(put(f->s, "b1/j1.png", "poster bytes \x01\x02", &e), ERR_OK);
    assert_int_equal(store_get(f->s, "b1/j1.png", &data, &len, &e), ERR_OK);
    assert_int_equal(len, strlen("poster bytes \x01\x02"));
    assert_memory_equal(data, "poster bytes \x01\x02", len);
    free(data);

    char path[4096];
    snprintf(path, sizeof path, "%s/b1/j1.png", f->dir);
    char *disk = tu_read_file(path, &len);
    assert_non_null(disk);
    assert_string_equal(disk, "poster bytes \x01\x02");
    free(disk);
}

static void get_of_missing_key_is_notfound(void **state)
{
    fixture_t *f = *state;
    err_t e;
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(store_get(f->s, "b1/none.png", &data, &len, &e), ERR_NOTFOUND);
    assert_int_equal(store_get(f->s, "nobatch/none.png", &data, &len, &e), ERR_NOTFOUND);
    assert_null(data);
}

static void open_creates_store_dir_private_and_batch_dirs_0755(void **state)
{
    fixture_t *f = *state;
    err_t e;
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(put(f->s, "b2/sub/j.png", "x", &e), ERR_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/b2/sub", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    snprintf(path, sizeof path, "%s/b2/sub/j.png", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

static void put_leaves_no_temporary_files(void **state)
{
    fixture_t *f = *state;
    err_t e;
    assert_int_equal(put(f->s, "b1/a.png", "one", &e), ERR_OK);
    assert_int_equal(put(f->s, "b1/b.png", "two", &e), ERR_OK);
    assert_int_equal(put(f->s, "b1/a.png", "one, replaced", &e), ERR_OK);
    assert_int_equal(count_hidden(f->dir), 0);
}

static void second_put_of_same_content_rewrites_nothing(void **state)
{
    fixture_t *f = *state;
    err_t e;
    char path[4096];
    struct stat before, after;
    snprintf(path, sizeof path, "%s/b1/j.png", f->dir);
    assert_int_equal(put(f->s, "b1/j.png", "same bytes", &e), ERR_OK);
    /* Back-date the file so any rewrite would show in the mtime. */
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    assert_int_equal(stat(path, &before), 0);

    assert_int_equal(put(f->s, "b1/j.png", "same bytes", &e), ERR_OK);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_mtim.tv_sec, 1000000000);
    assert_int_equal(after.st_ino, before.st_ino);

    /* Different bytes for the same key replace the object. */
    assert_int_equal(put(f->s, "b1/j.png", "regenerated", &e), ERR_OK);
    assert_int_equal(stat(path, &after), 0);
    assert_int_not_equal(after.st_ino, before.st_ino);
    size_t len;
    char *disk = tu_read_file(path, &len);
    assert_string_equal(disk, "regenerated");
    free(disk);
}

/* A symlink planted at posters/BATCH (or at an object) is never followed:
 * put and get refuse with ERR_CONFIG naming it, and nothing is written
 * where it points. */
static void planted_symlinks_are_refused_not_followed(void **state)
{
    fixture_t *f = *state;
    char elsewhere[4096], link[4096], path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    err_t e;
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", f->root);
    assert_int_equal(mkdir(elsewhere, 0700), 0);
    snprintf(link, sizeof link, "%s/planted", f->dir);
    assert_int_equal(symlink(elsewhere, link), 0);
    err_clear(&e);
    assert_int_equal(put(f->s, "planted/j1.png", "x", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "symbolic link"));
    assert_non_null(strstr(e.msg, "planted"));
    snprintf(path, sizeof path, "%s/j1.png", elsewhere);
    assert_int_equal(access(path, F_OK), -1);
    /* Reading through it is refused too, even with a file behind it. */
    tu_write_file(path, "secret");
    assert_int_equal(store_get(f->s, "planted/j1.png", &data, &len, &e), ERR_CONFIG);
    assert_null(data);
    /* A link deeper down, and one at the object itself (get). */
    assert_int_equal(put(f->s, "b2/j1.png", "ok", &e), ERR_OK);
    snprintf(link, sizeof link, "%s/b2/j2.png", f->dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(store_get(f->s, "b2/j2.png", &data, &len, &e), ERR_CONFIG);
    assert_null(data);
    snprintf(link, sizeof link, "%s/b2/sub", f->dir);
    assert_int_equal(symlink(elsewhere, link), 0);
    assert_int_equal(put(f->s, "b2/sub/j3.png", "x", &e), ERR_CONFIG);
    snprintf(path, sizeof path, "%s/j3.png", elsewhere);
    assert_int_equal(access(path, F_OK), -1);
}

static void bad_keys_are_rejected_and_write_nothing(void **state)
{
    fixture_t *f = *state;
    static const char *const bad[] = {
        "", "/etc/passwd", "../escape.png", "b1/../../escape.png", "..", ".",
        "b1//j.png", "b1/", "./b1/j.png", "b1/./j.png", "b1/.hidden", "b1/j\n.png",
        "b1/j\x7f.png",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_t e;
        char *url = NULL;
        uint8_t *data = NULL;
        size_t len;
        err_clear(&e);
        assert_int_equal(put(f->s, bad[i], "x", &e), ERR_INVALID);
        assert_true(strstr(e.msg, "store key") != NULL);
        assert_int_equal(store_url(f->s, bad[i], 60, &url, NULL, &e), ERR_INVALID);
        assert_int_equal(store_get(f->s, bad[i], &data, &len, &e), ERR_INVALID);
        assert_null(url);
    }
    err_t e;
    assert_int_equal(store_put(f->s, NULL, "x", 1, NULL, "image/png", &e), ERR_INVALID);
    /* Nothing appeared inside or beside the store. */
    DIR *d = opendir(f->dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(n, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/escape.png", f->root);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void put_with_wrong_checksum_is_refused(void **state)
{
    fixture_t *f = *state;
    err_t e;
    uint8_t sha[SHA256_LEN];
    crypto_sha256("other", 5, sha);
    assert_int_equal(store_put(f->s, "b1/j.png", "bytes", 5, sha, "image/png", &e),
                     ERR_INVALID);
    assert_true(strstr(e.msg, "sha256") != NULL);
    /* NULL checksum: the store computes it. */
    assert_int_equal(store_put(f->s, "b1/j.png", "bytes", 5, NULL, "image/png", &e),
                     ERR_OK);
}

/* CRC-64/NVME (issue 21): a wrong CRC is refused with nothing written; the
 * same bytes again rewrite nothing (compared by CRC); other bytes replace. */
static void crc_put_checks_its_crc_and_compares_by_it(void **state)
{
    fixture_t *f = *state;
    err_t e;
    char path[4096];
    struct stat before, after;
    store_sum_t sum = {.alg = STORE_SUM_CRC64NVME, .crc64 = crc64nvme("other", 5)};
    snprintf(path, sizeof path, "%s/b1/j.png", f->dir);
    assert_int_equal(store_put_sum(f->s, "b1/j.png", "bytes", 5, &sum, "image/png", &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "crc64nvme"));
    assert_int_equal(stat(path, &before), -1);
    sum.crc64 = crc64nvme("bytes", 5);
    assert_int_equal(store_put_sum(f->s, "b1/j.png", "bytes", 5, &sum, "image/png", &e),
                     ERR_OK);
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(store_put_sum(f->s, "b1/j.png", "bytes", 5, &sum, "image/png", &e),
                     ERR_OK);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    sum.crc64 = crc64nvme("BYTES", 5);
    assert_int_equal(store_put_sum(f->s, "b1/j.png", "BYTES", 5, &sum, "image/png", &e),
                     ERR_OK);
    assert_int_equal(stat(path, &after), 0);
    assert_int_not_equal(after.st_ino, before.st_ino);
}

static void url_is_absolute_file_url_that_never_expires(void **state)
{
    fixture_t *f = *state;
    err_t e;
    char *url = NULL, *canon = realpath(f->dir, NULL), want[4096];
    int64_t exp = 123;
    assert_int_equal(put(f->s, "b1/j1.png", "x", &e), ERR_OK);
    assert_int_equal(store_url(f->s, "b1/j1.png", 3600, &url, &exp, &e), ERR_OK);
    snprintf(want, sizeof want, "file://%s/b1/j1.png", canon);
    assert_string_equal(url, want);
    assert_int_equal(exp, 0);
    free(url);
    free(canon);
}

static void url_percent_encodes_outside_unreserved(void **state)
{
    fixture_t *f = *state;
    err_t e;
    char *dir, *canon, *url = NULL, want[4096];
    /* A store directory with a space, and a key with reserved and UTF-8 bytes. */
    assert_true(asprintf(&dir, "%s/my posters", f->root) > 0);
    store_t *s = store_file_open(dir, &e);
    assert_non_null(s);
    canon = realpath(f->root, NULL);
    assert_int_equal(store_url(s, "b 1/j#1?\xc3\xa9%+~_-.png", 0, &url, NULL, &e), ERR_OK);
    snprintf(want, sizeof want, "file://%s/my%%20posters/b%%201/j%%231%%3F%%C3%%A9%%25%%2B~_-.png",
             canon);
    assert_string_equal(url, want);
    free(url);
    free(canon);
    free(dir);
    store_close(s);
}

/* The child gets a 64 KiB file-size limit and must fail a 256 KiB put with
 * ERR_IO; SIGXFSZ is ignored so write() reports EFBIG instead of killing. */
static void size_limit_fails_with_io_error_and_keeps_old_object(void **state)
{
    fixture_t *f = *state;
    err_t e;
    char path[4096];
    assert_int_equal(put(f->s, "b1/big.png", "old version", &e), ERR_OK);
    snprintf(path, sizeof path, "%s/b1/big.png", f->dir);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t n = 256 * 1024;
        uint8_t *big = malloc(n);
        struct rlimit rl = {64 * 1024, 64 * 1024};
        err_t ce;
        if (!big)
            _exit(10);
        memset(big, 'p', n);
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(11);
        err_code_t rc = store_put(f->s, "b1/big.png", big, n, NULL, "image/png", &ce);
        err_code_t rc2 = store_put(f->s, "b1/new.png", big, n, NULL, "image/png", &ce);
        _exit(rc == ERR_IO && rc2 == ERR_IO && strstr(ce.msg, "store put b1/new.png") ? 0 : 12);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    size_t len;
    char *disk = tu_read_file(path, &len);
    assert_non_null(disk);
    assert_string_equal(disk, "old version");
    free(disk);
    snprintf(path, sizeof path, "%s/b1/new.png", f->dir);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(count_hidden(f->dir), 0);
}

static void store_open_dispatches_on_the_url(void **state)
{
    fixture_t *f = *state;
    err_t e;
    char url[4096];
    snprintf(url, sizeof url, "file:%s/via-open", f->root);
    store_t *s = store_open(url, &e);
    assert_non_null(s);
    store_close(s);
    snprintf(url, sizeof url, "file://%s/via-url", f->root);
    s = store_open(url, &e);
    assert_non_null(s);
    store_close(s);

    static const char *const bad[] = {"s3://", "ftp://x", "posters", "file:",
                                      "file://host/dir"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear(&e);
        assert_null(store_open(bad[i], &e));
        assert_int_equal(e.code, ERR_CONFIG);
        assert_true(strstr(e.msg, bad[i]) != NULL);
    }
    assert_null(store_open("", &e));
    assert_int_equal(e.code, ERR_CONFIG);
}

static void store_key_is_batch_slash_job_dot_ext(void **state)
{
    (void)state;
    char key[64];
    assert_int_equal(store_key("b0123456789abcdef", "j42", "png", key, sizeof key), ERR_OK);
    assert_string_equal(key, "b0123456789abcdef/j42.png");
    assert_int_equal(store_key("b1", "j1", "png", key, 9), ERR_TOOBIG);
    assert_int_equal(store_key("b1", "j1", "png", key, 10), ERR_OK);
    assert_int_equal(store_key("..", "j1", "png", key, sizeof key), ERR_INVALID);
    assert_int_equal(store_key("b1", "a/b", "png", key, sizeof key), ERR_INVALID);
    assert_int_equal(store_key("b1", "j1", "p/g", key, sizeof key), ERR_INVALID);
    assert_int_equal(store_key("b1", "", "png", key, sizeof key), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_then_get_round_trips_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(get_of_missing_key_is_notfound, setup, teardown),
        cmocka_unit_test_setup_teardown(open_creates_store_dir_private_and_batch_dirs_0755,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(put_leaves_no_temporary_files, setup, teardown),
        cmocka_unit_test_setup_teardown(second_put_of_same_content_rewrites_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_keys_are_rejected_and_write_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(put_with_wrong_checksum_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(crc_put_checks_its_crc_and_compares_by_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(url_is_absolute_file_url_that_never_expires, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(url_percent_encodes_outside_unreserved, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(size_limit_fails_with_io_error_and_keeps_old_object,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(store_open_dispatches_on_the_url, setup, teardown),
        cmocka_unit_test(store_key_is_batch_slash_job_dot_ext),
        cmocka_unit_test_setup_teardown(planted_symlinks_are_refused_not_followed, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
