/* rendition — the shapes one generation is composed into (issue 20): the
 * spec field "renditions" (a list of the supported aspect ratios, no
 * duplicates), the pixel size each rendition is composed at, the aspect
 * the art is generated at when the spec names none, and the store key of
 * each rendition.
 *
 * A rendition's size depends on its ratio alone (about RENDITION_PIXELS,
 * the exact ratio), so the worker that composes it and the status, gallery
 * and API that list it agree without the ledger recording sizes.  The
 * first rendition is the poster itself, BATCH/JOB.png; the others are
 * BATCH/JOB.AxB.png (BATCH/JOB.16x9.png). */
#ifndef ONESHEET_RENDITION_H
#define ONESHEET_RENDITION_H

#include "base/buf.h"
#include "base/err.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

#define RENDITION_MAX 9              /* one of each supported ratio */
#define RENDITION_PIXELS 1048576     /* about one megapixel each */
#define RENDITION_RATIO_CAP 8        /* bytes a ratio takes with its NUL */

typedef char rendition_list_t[RENDITION_MAX][RENDITION_RATIO_CAP];

/* True when r is one of the nine ratios a spec may name ("16:9", "1:1",
 * "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"); *a and *b (may be
 * NULL) get its terms. */
bool rendition_ratio_parse(const char *r, int *a, int *b);

/* Appends ratio r[0..len) to list (of *n entries).  ERR_INVALID with a
 * message naming the field "renditions" for an unknown ratio, one already
 * listed, or a list already holding RENDITION_MAX. */
err_code_t rendition_list_add(rendition_list_t list, size_t *n, const char *r, size_t len,
                              err_t *err);

/* Parses a comma-separated list ("2:3,16:9, 1:1"; spaces around items
 * allowed) into list (*n entries; 0 on error).  Errors as
 * rendition_list_add(), and ERR_INVALID for an empty list or item. */
err_code_t rendition_list_parse(const char *csv, rendition_list_t list, size_t *n,
                                err_t *err);

/* Reads the spec field's JSON value v (an array of ratio strings) into
 * list (*n entries).  ERR_INVALID naming "renditions" for anything else:
 * not an array, an empty one, an item that is not a string, or an item
 * rendition_list_add() refuses. */
err_code_t rendition_list_from_json(const json_t *v, rendition_list_t list, size_t *n,
                                    err_t *err);

/* Appends the list as a compact JSON array (["2:3","16:9"]) to out.
 * ERR_NOMEM. */
err_code_t rendition_list_to_json(const rendition_list_t list, size_t n, buf_t *out);

/* A CSV cell v[0..len) listing ratios ("2:3,16:9") appended to out as
 * the spec field's JSON array.  ERR_INVALID as rendition_list_parse()
 * (and for a cell over 127 bytes), with err set; ERR_NOMEM. */
err_code_t rendition_cell_to_json(const char *v, size_t len, buf_t *out, err_t *err);

/* The pixel size a rendition of ratio r is composed at: k*a x k*b for the
 * multiple of 16 k that comes nearest RENDITION_PIXELS (2:3: 832x1248,
 * 16:9: 1280x720, 1:1: 1024x1024, 21:9: 1680x720).  false (w, h untouched)
 * for an unknown ratio. */
bool rendition_size(const char *r, int *w, int *h);

/* The share of art of aspect `art` a cover crop to ratio r throws away:
 * 1 - min(art/r, r/art), 0 when they are the same.  -1 for an unknown
 * ratio. */
double rendition_loss(const char *art, const char *r);

/* The supported aspect that loses least across list: the least sum over
 * the renditions of ln(aspect / rendition)^2 -- the aspect nearest the
 * renditions' geometric mean, so no one rendition is given up for the
 * others (the plain sum of rendition_loss() would pick an extreme: 21:9
 * for 21:9 + 9:21); ties go to a ratio in the list, then to the first in
 * the table order above.  A static string; "2:3"
 * for an empty list. */
const char *rendition_best_aspect(const rendition_list_t list, size_t n);

/* The store key of rendition ratio r of a job: "BATCH/JOB.png" when first,
 * else "BATCH/JOB.AxB.png".  Writes out (cap bytes); ERR_INVALID for a bad
 * id or ratio, ERR_TOOBIG when it does not fit. */
err_code_t rendition_key(const char *batch_id, const char *job_id, const char *r,
                         bool first, char *out, size_t cap);

#endif
