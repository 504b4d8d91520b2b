/* backend — walking a back-end table; see backend.h. */
#include "base/backend.h"

#include <stdio.h>
#include <string.h>

static const backend_row_t *row_at(const void *table, size_t i, size_t stride)
{
    return (const backend_row_t *)((const char *)table + i * stride);
}

static bool claims(const backend_row_t *r, const char *value)
{
    if (!r->prefix)
        return true;
    if (r->exact)
        return strcmp(value, r->prefix) == 0;
    return strncmp(value, r->prefix, strlen(r->prefix)) == 0;
}

const backend_row_t *backend_find(const void *table, size_t n, size_t stride,
                                  const char *value)
{
    if (!value || !*value)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (claims(row_at(table, i, stride), value))
            return row_at(table, i, stride);
    return NULL;
}

/* Whether an earlier row already showed this shape. */
static bool shape_seen(const void *table, size_t upto, size_t stride, const char *shape)
{
    for (size_t i = 0; i < upto; i++)
        if (strcmp(row_at(table, i, stride)->shape, shape) == 0)
            return true;
    return false;
}

void backend_shapes(const void *table, size_t n, size_t stride, char *out, size_t cap)
{
    const char *shown[16];
    size_t k = 0, used = 0;

    for (size_t i = 0; i < n && k < sizeof shown / sizeof *shown; i++) {
        const char *s = row_at(table, i, stride)->shape;
        if (!shape_seen(table, i, stride, s))
            shown[k++] = s;
    }
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < k && used < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == k ? " or " : ", ";
        int w = snprintf(out + used, cap - used, "%s%s", sep, shown[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

const backend_row_t *backend_check(const void *table, size_t n, size_t stride,
                                   const char *what, const char *value, err_t *err)
{
    char shapes[256];
    const backend_row_t *r = backend_find(table, n, stride, value);

    if (!r) {
        backend_shapes(table, n, stride, shapes, sizeof shapes);
        if (!value || !*value)
            err_set(err, ERR_CONFIG, "%s: empty value (want %s)", what, shapes);
        else
            err_set(err, ERR_CONFIG, "%s: expected %s, got \"%s\"", what, shapes, value);
        return NULL;
    }
    if (r->validate) {
        if (r->validate(value, err) != ERR_OK) {
            if (err) {
                char why[sizeof err->msg];
                snprintf(why, sizeof why, "%s", err->msg);
                err_set(err, err->code, "%s: %s, got \"%s\"", what, why, value);
            }
            return NULL;
        }
    } else if (!r->exact && r->prefix && !value[strlen(r->prefix)]) {
        err_set(err, ERR_CONFIG, "%s: expected %s, got \"%s\"", what, r->shape, value);
        return NULL;
    }
    return r;
}
