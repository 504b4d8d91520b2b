/* rendition — see rendition.h. */
#include "jobs/rendition.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The ratios, in the order job.c lists aspect_ratio's values. */
static const struct {
    const char *r;
    int a, b;
} ratios[] = {
    {"16:9", 16, 9}, {"1:1", 1, 1}, {"21:9", 21, 9}, {"2:3", 2, 3}, {"3:2", 3, 2},
    {"4:5", 4, 5},   {"5:4", 5, 4}, {"9:16", 9, 16}, {"9:21", 9, 21},
};
#define NRATIOS (sizeof ratios / sizeof *ratios)

static int find(const char *r, size_t len)
{
    for (size_t i = 0; i < NRATIOS; i++)
        if (strlen(ratios[i].r) == len && memcmp(ratios[i].r, r, len) == 0)
            return (int)i;
    return -1;
}

bool rendition_ratio_parse(const char *r, int *a, int *b)
{
    int i = r ? find(r, strlen(r)) : -1;
    if (i < 0)
        return false;
    if (a)
        *a = ratios[i].a;
    if (b)
        *b = ratios[i].b;
    return true;
}

err_code_t rendition_list_add(rendition_list_t list, size_t *n, const char *r, size_t len,
                              err_t *err)
{
    int i = find(r, len);
    if (i < 0)
        return err_set(err, ERR_INVALID,
                       "renditions: unknown ratio \"%.*s\" (must be one of 16:9, 1:1, "
                       "21:9, 2:3, 3:2, 4:5, 5:4, 9:16, 9:21)",
                       (int)(len > 32 ? 32 : len), r);
    for (size_t k = 0; k < *n; k++)
        if (strcmp(list[k], ratios[i].r) == 0)
            return err_set(err, ERR_INVALID, "renditions: \"%s\" is listed twice",
                           ratios[i].r);
    if (*n >= RENDITION_MAX)
        return err_set(err, ERR_INVALID, "renditions: at most %d", RENDITION_MAX);
    snprintf(list[(*n)++], RENDITION_RATIO_CAP, "%s", ratios[i].r);
    return ERR_OK;
}

err_code_t rendition_list_parse(const char *csv, rendition_list_t list, size_t *n,
                                err_t *err)
{
    const char *p = csv ? csv : "";
    *n = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len > 0 && *s == ' ') {
            s++;
            len--;
        }
        while (len > 0 && s[len - 1] == ' ')
            len--;
        if (len == 0) {
            *n = 0;
            return err_set(err, ERR_INVALID, "renditions: empty ratio in \"%.64s\"",
                           csv ? csv : "");
        }
        if (rendition_list_add(list, n, s, len, err) != ERR_OK) {
            *n = 0;
            return ERR_INVALID;
        }
        if (!end)
            return ERR_OK;
        p = end + 1;
    }
}

err_code_t rendition_list_from_json(const json_t *v, rendition_list_t list, size_t *n,
                                    err_t *err)
{
    size_t i;
    json_t *item;

    *n = 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return err_set(err, ERR_INVALID, "renditions: must be a non-empty array of aspect "
                       "ratios, e.g. [\"2:3\", \"16:9\"]");
    json_array_foreach(v, i, item) {
        if (!json_is_string(item)) {
            *n = 0;
            return err_set(err, ERR_INVALID, "renditions: item %zu is not a string", i + 1);
        }
        if (rendition_list_add(list, n, json_string_value(item), json_string_length(item),
                               err) != ERR_OK) {
            *n = 0;
            return ERR_INVALID;
        }
    }
    return ERR_OK;
}

err_code_t rendition_list_to_json(const rendition_list_t list, size_t n, buf_t *out)
{
    err_code_t rc = buf_append(out, "[", 1);
    for (size_t i = 0; i < n && rc == ERR_OK; i++)
        rc = buf_appendf(out, "%s\"%s\"", i ? "," : "", list[i]);
    return rc ? rc : buf_append(out, "]", 1);
}

err_code_t rendition_cell_to_json(const char *v, size_t len, buf_t *out, err_t *err)
{
    rendition_list_t list;
    size_t n = 0;
    char cell[128];
    if (len >= sizeof cell)
        return err_set(err, ERR_INVALID, "renditions: too long (at most %d ratios)",
                       RENDITION_MAX);
    memcpy(cell, v, len);
    cell[len] = '\0';
    if (rendition_list_parse(cell, list, &n, err) != ERR_OK)
        return ERR_INVALID;
    return rendition_list_to_json(list, n, out);
}

bool rendition_size(const char *r, int *w, int *h)
{
    int a, b;
    if (!rendition_ratio_parse(r, &a, &b))
        return false;
    /* Sides in multiples of 16: k is a multiple of 16, which also gives
     * the models' own sizes for 1:1, 2:3, 3:2, 4:5 and 5:4. */
    long k = 16 * lround(sqrt((double)RENDITION_PIXELS / ((double)a * b)) / 16);
    *w = (int)(k * a);
    *h = (int)(k * b);
    return true;
}

static double aspect_of(int i)
{
    return (double)ratios[i].a / ratios[i].b;
}

double rendition_loss(const char *art, const char *r)
{
    int i = art ? find(art, strlen(art)) : -1, j = r ? find(r, strlen(r)) : -1;
    if (i < 0 || j < 0)
        return -1;
    double x = aspect_of(i), y = aspect_of(j);
    return 1 - fmin(x / y, y / x);
}

const char *rendition_best_aspect(const rendition_list_t list, size_t n)
{
    int best = -1;
    double best_cost = 0;
    bool best_listed = false;

    if (n == 0)
        return "2:3";
    for (size_t i = 0; i < NRATIOS; i++) {
        double cost = 0;
        bool listed = false;
        for (size_t k = 0; k < n; k++) {
            /* The log of how far off, squared: symmetric (a ratio twice
             * too wide costs what one twice too tall does) and convex, so
             * one rendition is not given up for the rest -- a 21:9 + 9:21
             * set is generated square, not at either end. */
            int j = find(list[k], strlen(list[k]));
            double l = j < 0 ? 0 : log(aspect_of((int)i) / aspect_of(j));
            cost += l * l;
            listed = listed || strcmp(list[k], ratios[i].r) == 0;
        }
        /* Sums of a few ratios: a difference under 1e-9 is a tie. */
        if (best < 0 || cost < best_cost - 1e-9 ||
            (fabs(cost - best_cost) <= 1e-9 && listed && !best_listed)) {
            best = (int)i;
            best_cost = cost;
            best_listed = listed;
        }
    }
    return ratios[best].r;
}

err_code_t rendition_key(const char *batch_id, const char *job_id, const char *r,
                         bool first, char *out, size_t cap)
{
    int a, b, n;
    if (!batch_id || !job_id || !*batch_id || !*job_id || strchr(batch_id, '/') ||
        strchr(job_id, '/') || !rendition_ratio_parse(r, &a, &b))
        return ERR_INVALID;
    n = first ? snprintf(out, cap, "%s/%s.png", batch_id, job_id)
              : snprintf(out, cap, "%s/%s.%dx%d.png", batch_id, job_id, a, b);
    return n < 0 || (size_t)n >= cap ? ERR_TOOBIG : ERR_OK;
}
