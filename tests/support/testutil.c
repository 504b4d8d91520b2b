/* testutil — see testutil.h. */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *tu_mkdtemp(void)
{
    const char *t = getenv("TMPDIR");
    char *p;
    if (!t || !*t)
        t = "/tmp";
    if (asprintf(&p, "%s/onesheet-test-XXXXXX", t) < 0 || !mkdtemp(p))
        abort();
    return p;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *path)
{
    nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0, cap = 0;
    if (!fp)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (cap + 4096) * 2;
            data = realloc(data, cap);
            if (!data)
                abort();
        }
        size_t got = fread(data + n, 1, 4096, fp);
        n += got;
        if (got == 0)
            break;
    }
    fclose(fp);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

void tu_write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0)
        abort();
}

const char *tu_fixture(const char *rel)
{
    static char path[4096];
    const char *base = getenv("FIXTURES");
    snprintf(path, sizeof path, "%s/%s", base && *base ? base : "tests/fixtures", rel);
    return path;
}

double tu_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool tu_parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        return false;
    *out = n;
    return true;
}
