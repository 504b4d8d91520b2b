/* store_file — the "file:DIR" store: posters as plain files under DIR.
 *
 * A put never leaves a half-written object where a reader could see it: the
 * bytes go to a hidden temporary file in the target's own directory (same
 * file system, so rename is atomic), which is fsync'ed, renamed over the
 * target, and then the directory is fsync'ed so the rename itself survives a
 * crash.  Any failure removes the temporary file.
 *
 * Keys are relative paths of non-empty segments.  Segments may not start
 * with '.', which rules out "." and ".." (no escaping DIR) and keeps the
 * temporary files (".NAME.XXXXXX") out of the key space. */
#include "store/store_file.h"
#include "base/buf.h"
#include "base/crc64nvme.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX 1024                      /* bytes */
#define GET_MAX ((size_t)512 * 1024 * 1024) /* largest object get reads */

typedef struct {
    store_t base;
    char *dir; /* absolute, canonical, no trailing slash */
} file_store_t;

static err_code_t check_key(const char *key, err_t *err)
{
    if (!key || !*key)
        return err_set(err, ERR_INVALID, "store key: empty");
    size_t len = strlen(key);
    if (len > KEY_MAX)
        return err_set(err, ERR_INVALID, "store key: longer than %d bytes", KEY_MAX);
    if (key[0] == '/')
        return err_set(err, ERR_INVALID, "store key %s: must be relative", key);
    size_t seg = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '/' || c == '\0') {
            if (seg == 0)
                return err_set(err, ERR_INVALID, "store key %s: empty path segment", key);
            if (key[i - seg] == '.')
                return err_set(err, ERR_INVALID,
                               "store key %s: a segment starts with '.'", key);
            if (seg > NAME_MAX)
                return err_set(err, ERR_INVALID, "store key: segment too long");
            seg = 0;
        } else if (c < 0x20 || c == 0x7f) {
            return err_set(err, ERR_INVALID, "store key: control character 0x%02x", c);
        } else {
            seg++;
        }
    }
    return ERR_OK;
}

/* "DIR/KEY" as a new string (caller frees), or NULL when out of memory. */
static char *key_path(const file_store_t *fs, const char *key)
{
    buf_t b = BUF_INIT;
    if (buf_appendf(&b, "%s/%s", fs->dir, key) != ERR_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* Creates every missing directory on path's way up to (but not including)
 * its last component when last is false, or including it when last is true.
 * Existing directories are left as they are. */
static err_code_t mkdirs(char *path, int last, mode_t mode, err_t *err)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        if (*p == '\0' && !last)
            break;
        char saved = *p;
        *p = '\0';
        int rc = mkdir(path, mode), e = errno;
        struct stat st;
        if (rc != 0 && e == EEXIST && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
            e = ENOTDIR;
        *p = saved;
        if (rc != 0 && e != EEXIST) {
            *p = '\0';
            err_set(err, ERR_IO, "store: cannot create directory %s: %s", path, strerror(e));
            *p = saved;
            return ERR_IO;
        }
        if (saved == '\0')
            break;
    }
    return ERR_OK;
}

/* Refuses a symbolic link anywhere in path below the store's directory (the
 * directories a key names, and the object itself when last is true): the
 * store creates no links, so one there was planted, and following it would
 * write or read outside DIR.  ERR_CONFIG naming the link and the fix; the
 * caller then leaves the file system as it was.  An absent component ends
 * the check (put then creates it as a directory). */
static err_code_t no_links(const file_store_t *fs, char *path, int last, const char *op,
                           const char *key, err_t *err)
{
    for (char *p = path + strlen(fs->dir) + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        if (*p == '\0' && !last)
            break;
        char saved = *p;
        struct stat st;
        *p = '\0';
        int rc = lstat(path, &st);
        if (rc == 0 && S_ISLNK(st.st_mode)) {
            err_set(err, ERR_CONFIG, "store %s %s: %s is a symbolic link, which the store "
                    "never follows (it creates none); remove it (rm %s)", op, key, path, path);
            *p = saved;
            return ERR_CONFIG;
        }
        *p = saved;
        if (rc != 0 || saved == '\0')
            break;
    }
    return ERR_OK;
}

/* 1 when path is a regular file of exactly len bytes whose checksum (of
 * want's algorithm) is want's; 0 otherwise (absent, different, or
 * unreadable — the put then rewrites). */
static int same_content(const char *path, size_t len, const store_sum_t *want)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != len) {
        close(fd);
        return 0;
    }
    bool sha = want->alg == STORE_SUM_SHA256;
    crypto_sha256_ctx *c = sha ? crypto_sha256_new() : NULL;
    uint64_t crc = CRC64NVME_INIT;
    uint8_t chunk[65536], got[SHA256_LEN];
    ssize_t n = 0;
    while ((c || !sha) && (n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (sha && crypto_sha256_update(c, chunk, (size_t)n) != ERR_OK))
            break;
        if (!sha)
            crc = crc64nvme_update(crc, chunk, (size_t)n);
    }
    close(fd);
    if (sha && !c)
        return 0;
    if (n != 0) {
        crypto_sha256_free(c);
        return 0;
    }
    if (!sha)
        return crc == want->crc64;
    return crypto_sha256_final(c, got) == ERR_OK && crypto_equal(got, want->sha256, SHA256_LEN);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len > 1 << 20 ? 1 << 20 : len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync of the directory holding path (the rename is only durable then). */
static int sync_parent(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return ENOMEM;
    *strrchr(dir, '/') = '\0';
    int fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
    if (fd < 0 || fsync(fd) != 0)
        e = errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    return e;
}

/* Fills an open temporary file: data, size check, mode, fsync.  Returns 0
 * or an errno value, naming the failed step in *step. */
static int fill_temp(int fd, const void *data, size_t len, const char **step)
{
    struct stat st;
    int e;
    if ((e = write_all(fd, data, len)) != 0) {
        *step = "write";
        return e;
    }
    if (fstat(fd, &st) != 0) {
        *step = "stat";
        return errno;
    }
    if ((uint64_t)st.st_size != len) {
        *step = "check written size";
        return EIO;
    }
    if (fchmod(fd, 0644) != 0) {
        *step = "chmod";
        return errno;
    }
    if (fsync(fd) != 0) {
        *step = "fsync";
        return errno;
    }
    return 0;
}

/* Gives the unnamed file fd (O_TMPFILE) the name path.  When path exists
 * (new bytes for the same key) it is linked under a unique hidden name and
 * renamed over path, which replaces atomically.  Returns 0 or an errno. */
static int publish_tmpfile(int fd, const char *path, const char **step)
{
    char proc[64], tmp[PATH_MAX];
    const char *base = strrchr(path, '/') + 1;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != EEXIST) {
        *step = "link";
        return errno;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned r = (unsigned)getpid() * 2654435761u ^ (unsigned)rand() ^ (unsigned)attempt;
        if (snprintf(tmp, sizeof tmp, "%.*s.%s.%08x", (int)(base - path), path, base, r) >=
            (int)sizeof tmp) {
            *step = "link";
            return ENAMETOOLONG;
        }
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
            if (rename(tmp, path) == 0)
                return 0;
            int e = errno;
            unlink(tmp);
            *step = "rename";
            return e;
        }
        if (errno != EEXIST) {
            *step = "link";
            return errno;
        }
    }
    *step = "link";
    return EEXIST;
}

/* Writes data to path through a temporary file and rename (see top).
 * Where the filesystem allows, the temporary file is unnamed (O_TMPFILE)
 * until it is complete: a worker killed mid-write then leaves nothing
 * behind, not even a hidden temporary file. */
static err_code_t write_atomic(const char *key, const char *path, const void *data,
                               size_t len, err_t *err)
{
    const char *base = strrchr(path, '/') + 1;
    const char *step = "create temporary file";
    int e = 0;
    char dir[PATH_MAX];

    if ((size_t)(base - path) >= sizeof dir)
        return err_set(err, ERR_INVALID, "store put %s: path too long", key);
    memcpy(dir, path, (size_t)(base - path));
    dir[base - path] = '\0';
    /* Naming an unnamed file goes through /proc/self/fd (linkat with
     * AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH). */
    int fd = access("/proc/self/fd", X_OK) == 0
                 ? open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644)
                 : (errno = EOPNOTSUPP, -1);
    if (fd >= 0) {
        e = fill_temp(fd, data, len, &step);
        if (e == 0)
            e = publish_tmpfile(fd, path, &step);
        if (close(fd) != 0 && e == 0) {
            step = "close";
            e = errno;
        }
    } else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
        /* No O_TMPFILE here: a named hidden temporary file and rename. */
        buf_t tmp = BUF_INIT;
        if (buf_appendf(&tmp, "%.*s.%s.XXXXXX", (int)(base - path), path, base) != ERR_OK) {
            buf_free(&tmp);
            return err_set(err, ERR_NOMEM, "store put %s: out of memory", key);
        }
        fd = mkostemp((char *)tmp.data, O_CLOEXEC);
        if (fd < 0) {
            e = errno;
        } else {
            e = fill_temp(fd, data, len, &step);
            if (close(fd) != 0 && e == 0) {
                step = "close";
                e = errno;
            }
            if (e == 0 && rename((char *)tmp.data, path) != 0) {
                step = "rename";
                e = errno;
            }
            if (e != 0)
                unlink((char *)tmp.data);
        }
        buf_free(&tmp);
    } else {
        e = errno;
    }
    if (e != 0)
        return err_set(err, e == ENOMEM ? ERR_NOMEM : ERR_IO, "store put %s: %s: %s", key,
                       step, strerror(e));
    if ((e = sync_parent(path)) != 0)
        return err_set(err, ERR_IO, "store put %s: fsync directory: %s", key, strerror(e));
    return ERR_OK;
}

static err_code_t write_checked(file_store_t *fs, const char *key, const void *data,
                                size_t len, const store_sum_t *sum, err_t *err);

/* See store_ops_t.put_sum: sum must match data (ERR_INVALID otherwise:
 * the caller's bytes changed).  ERR_INVALID for a bad key, ERR_IO when the
 * file system refuses (full disk, file size limit, permissions) — no
 * partial file is left behind. */
static err_code_t file_put_sum(store_t *s, const char *key, const void *data, size_t len,
                               const store_sum_t *sum, const char *content_type, err_t *err)
{
    file_store_t *fs = (file_store_t *)s;
    err_code_t rc = check_key(key, err);
    (void)content_type;
    if (rc != ERR_OK)
        return rc;
    if (!data && len)
        return err_set(err, ERR_INVALID, "store put %s: no data", key);
    if (sum->alg == STORE_SUM_CRC64NVME) {
        if (crc64nvme(data, len) != sum->crc64)
            return err_set(err, ERR_INVALID, "store put %s: crc64nvme does not match the data",
                           key);
    } else {
        uint8_t digest[SHA256_LEN];
        if (crypto_sha256(data ? data : "", len, digest) != ERR_OK)
            return err_set(err, ERR_INTERNAL, "store put %s: sha256 failed", key);
        if (!crypto_equal(digest, sum->sha256, SHA256_LEN))
            return err_set(err, ERR_INVALID, "store put %s: sha256 does not match the data",
                           key);
    }
    return write_checked(fs, key, data, len, sum, err);
}

/* The put once sum is known to match data. */
static err_code_t write_checked(file_store_t *fs, const char *key, const void *data,
                                size_t len, const store_sum_t *sum, err_t *err)
{
    err_code_t rc;
    char *path = key_path(fs, key);
    if (!path)
        return err_set(err, ERR_NOMEM, "store put %s: out of memory", key);
    if ((rc = no_links(fs, path, 0, "put", key, err)) != ERR_OK) {
        free(path);
        return rc;
    }
    if (same_content(path, len, sum)) {
        /* An earlier attempt wrote it; make sure its rename is durable too. */
        int e = sync_parent(path);
        rc = e ? err_set(err, ERR_IO, "store put %s: fsync directory: %s", key, strerror(e))
               : ERR_OK;
    } else if ((rc = mkdirs(path, 0, 0755, err)) == ERR_OK &&
               (rc = no_links(fs, path, 0, "put", key, err)) == ERR_OK) {
        /* Checked again after mkdirs: a link planted meanwhile is refused. */
        rc = write_atomic(key, path, data ? data : "", len, err);
    }
    free(path);
    return rc;
}

/* See store_ops_t.put: put_sum with SHA-256.  sha256 may be NULL (then it
 * is computed); when given it must match data. */
static err_code_t file_put(store_t *s, const char *key, const void *data, size_t len,
                           const uint8_t sha256[SHA256_LEN], const char *content_type,
                           err_t *err)
{
    store_sum_t sum = {.alg = STORE_SUM_SHA256};
    err_code_t rc = check_key(key, err);
    if (rc != ERR_OK)
        return rc;
    if (!data && len)
        return err_set(err, ERR_INVALID, "store put %s: no data", key);
    if (crypto_sha256(data ? data : "", len, sum.sha256) != ERR_OK)
        return err_set(err, ERR_INTERNAL, "store put %s: sha256 failed", key);
    if (sha256 && !crypto_equal(sum.sha256, sha256, SHA256_LEN))
        return err_set(err, ERR_INVALID, "store put %s: sha256 does not match the data", key);
    (void)content_type;
    return write_checked((file_store_t *)s, key, data, len, &sum, err);
}

static err_code_t percent_encode(buf_t *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    err_code_t rc = ERR_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == ERR_OK; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            rc = buf_append(out, &c, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = buf_append(out, esc, 3);
        }
    }
    return rc;
}

/* See store_ops_t.url: "file://" + the absolute path, every byte outside
 * RFC 3986's unreserved set and '/' percent-encoded.  Never expires
 * (*expires_unix = 0); the object need not exist yet. */
static err_code_t file_url(store_t *s, const char *key, long ttl_s, char **url,
                           int64_t *expires_unix, err_t *err)
{
    file_store_t *fs = (file_store_t *)s;
    err_code_t rc = check_key(key, err);
    if (rc != ERR_OK)
        return rc;
    char *path = key_path(fs, key);
    buf_t b = BUF_INIT;
    rc = path ? buf_append_str(&b, "file://") : ERR_NOMEM;
    if (rc == ERR_OK)
        rc = percent_encode(&b, path);
    free(path);
    if (rc == ERR_OK && !(*url = buf_steal(&b)))
        rc = ERR_NOMEM;
    buf_free(&b);
    if (rc != ERR_OK)
        return err_set(err, rc, "store url %s: out of memory", key);
    if (expires_unix)
        *expires_unix = 0;
    return ERR_OK;
}

/* See store_ops_t.get.  *data: new buffer (caller frees), NUL-terminated for
 * convenience.  ERR_NOTFOUND when absent, ERR_TOOBIG over 512 MiB, ERR_IO
 * for other failures. */
static err_code_t file_get(store_t *s, const char *key, uint8_t **data, size_t *len,
                           err_t *err)
{
    file_store_t *fs = (file_store_t *)s;
    err_code_t rc = check_key(key, err);
    if (rc != ERR_OK)
        return rc;
    char *path = key_path(fs, key);
    if (!path)
        return err_set(err, ERR_NOMEM, "store get %s: out of memory", key);
    if ((rc = no_links(fs, path, 1, "get", key, err)) != ERR_OK) {
        free(path);
        return rc;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), e = errno;
    free(path);
    if (fd < 0)
        return e == ENOENT || e == ENOTDIR
            ? err_set(err, ERR_NOTFOUND, "store get %s: no such object", key)
            : err_set(err, ERR_IO, "store get %s: %s", key, strerror(e));
    struct stat st;
    uint8_t *p = NULL;
    size_t n = 0;
    if (fstat(fd, &st) != 0) {
        rc = err_set(err, ERR_IO, "store get %s: %s", key, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        /* A batch's directory is a prefix, not an object: as on S3. */
        rc = err_set(err, ERR_NOTFOUND, "store get %s: no such object", key);
    } else if (!S_ISREG(st.st_mode)) {
        rc = err_set(err, ERR_IO, "store get %s: not a regular file", key);
    } else if ((uint64_t)st.st_size > GET_MAX) {
        rc = err_set(err, ERR_TOOBIG, "store get %s: larger than %zu bytes", key, GET_MAX);
    } else if (!(p = malloc((size_t)st.st_size + 1))) {
        rc = err_set(err, ERR_NOMEM, "store get %s: out of memory", key);
    } else {
        while (n < (size_t)st.st_size) {
            ssize_t got = read(fd, p + n, (size_t)st.st_size - n);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                rc = err_set(err, ERR_IO, "store get %s: read: %s", key,
                             got < 0 ? strerror(errno) : "file shrank");
                break;
            }
            n += (size_t)got;
        }
    }
    close(fd);
    if (rc != ERR_OK) {
        free(p);
        return rc;
    }
    p[n] = '\0';
    *data = p;
    *len = n;
    return ERR_OK;
}

/* See store_ops_t.stat: lstat of the object's path after the same checks
 * as get (no symbolic links on the way).  ERR_NOTFOUND when absent or a
 * directory, ERR_IO otherwise. */
static err_code_t file_stat(store_t *s, const char *key, int64_t *bytes, int64_t *mtime_ms,
                            err_t *err)
{
    file_store_t *fs = (file_store_t *)s;
    err_code_t rc = check_key(key, err);
    if (rc != ERR_OK)
        return rc;
    char *path = key_path(fs, key);
    if (!path)
        return err_set(err, ERR_NOMEM, "store stat %s: out of memory", key);
    struct stat st;
    if ((rc = no_links(fs, path, 1, "stat", key, err)) == ERR_OK && lstat(path, &st) != 0)
        rc = errno == ENOENT || errno == ENOTDIR
                 ? err_set(err, ERR_NOTFOUND, "store stat %s: no such object", key)
                 : err_set(err, ERR_IO, "store stat %s: %s", key, strerror(errno));
    free(path);
    if (rc != ERR_OK)
        return rc;
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_NOTFOUND, "store stat %s: no such object", key);
    *bytes = (int64_t)st.st_size;
    *mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return ERR_OK;
}

static void file_close(store_t *s)
{
    file_store_t *fs = (file_store_t *)s;
    free(fs->dir);
    free(fs);
}

static const store_ops_t file_ops = {file_put, file_url,   file_get,
                                     file_close, file_stat, file_put_sum};

/* Opens the store rooted at dir (relative paths are taken from the current
 * directory), creating dir and its missing parents with mode 0700 — posters
 * may be private — while the batch directories inside are 0755.  Returns a
 * new store (store_close() frees it), or NULL with err set: ERR_CONFIG for
 * an empty dir, ERR_IO when it cannot be created or is not a directory. */
store_t *store_file_open(const char *dir, err_t *err)
{
    if (!dir || !*dir) {
        err_set(err, ERR_CONFIG, "store file: needs a directory");
        return NULL;
    }
    buf_t b = BUF_INIT;
    char cwd[PATH_MAX], *canon = NULL;
    err_code_t rc = ERR_OK;
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
        rc = err_set(err, ERR_IO, "store file:%s: current directory: %s", dir, strerror(errno));
    else if (buf_appendf(&b, "%s%s%s", dir[0] == '/' ? "" : cwd, dir[0] == '/' ? "" : "/",
                         dir) != ERR_OK)
        rc = err_set(err, ERR_NOMEM, "store file:%s: out of memory", dir);
    else if ((rc = mkdirs((char *)b.data, 1, 0700, err)) == ERR_OK &&
             !(canon = realpath((char *)b.data, NULL)))
        rc = err_set(err, ERR_IO, "store file:%s: %s", dir, strerror(errno));
    buf_free(&b);
    if (rc == ERR_OK && access(canon, W_OK | X_OK) != 0)
        rc = err_set(err, ERR_IO, "store file:%s: not writable: %s", dir, strerror(errno));
    file_store_t *fs = rc == ERR_OK ? calloc(1, sizeof *fs) : NULL;
    if (rc == ERR_OK && !fs)
        rc = err_set(err, ERR_NOMEM, "store file:%s: out of memory", dir);
    if (rc != ERR_OK) {
        free(canon);
        return NULL;
    }
    if (strcmp(canon, "/") == 0)
        canon[0] = '\0'; /* keys join as DIR "/" KEY */
    fs->base.ops = &file_ops;
    fs->dir = canon;
    return &fs->base;
}
