/* pngtext — see pngtext.h. */
#include "pngtext.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const buf_t *b;
    size_t off;
} reader_t;

static void mem_read(png_structp png, png_bytep d, size_t n)
{
    reader_t *r = png_get_io_ptr(png);
    if (r->b->len - r->off < n)
        png_error(png, "read past the end");
    memcpy(d, r->b->data + r->off, n);
    r->off += n;
}

void tu_png_read_texts(const buf_t *png, int max, tu_png_texts_t *t)
{
    png_structp rd = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(rd);
    reader_t src = {png, 0};
    png_textp tx;
    assert_non_null(info);
    assert_true(max <= TU_PNG_TEXTS_MAX);
    if (setjmp(png_jmpbuf(rd)))
        fail_msg("libpng could not read the PNG header");
    png_set_read_fn(rd, &src, mem_read);
    png_read_info(rd, info);
    t->n = png_get_text(rd, info, &tx, NULL);
    assert_in_range(t->n, 0, max);
    for (int i = 0; i < t->n; i++) {
        snprintf(t->key[i], sizeof t->key[i], "%s", tx[i].key);
        t->value[i] = strdup(tx[i].text);
        t->compression[i] = tx[i].compression;
    }
    png_destroy_read_struct(&rd, &info, NULL);
}

void tu_png_read_all_texts(const buf_t *png, int max, tu_png_texts_t *t)
{
    png_structp rd = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(rd);
    reader_t src = {png, 0};
    png_bytep row = NULL;
    png_textp tx;
    assert_non_null(info);
    assert_true(max <= TU_PNG_TEXTS_MAX);
    if (setjmp(png_jmpbuf(rd)))
        fail_msg("libpng could not read the PNG");
    png_set_crc_action(rd, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_read_fn(rd, &src, mem_read);
    png_read_info(rd, info);
    int passes = png_set_interlace_handling(rd);
    png_read_update_info(rd, info);
    row = malloc(png_get_rowbytes(rd, info));
    assert_non_null(row);
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < png_get_image_height(rd, info); y++)
            png_read_row(rd, row, NULL);
    png_read_end(rd, info);
    free(row);
    t->n = png_get_text(rd, info, &tx, NULL);
    assert_in_range(t->n, 0, max);
    for (int i = 0; i < t->n; i++) {
        snprintf(t->key[i], sizeof t->key[i], "%s", tx[i].key);
        t->value[i] = strdup(tx[i].text);
        t->compression[i] = tx[i].compression;
    }
    png_destroy_read_struct(&rd, &info, NULL);
}

const char *tu_png_text(const tu_png_texts_t *t, const char *key)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->key[i], key) == 0)
            return t->value[i];
    return NULL;
}

void tu_png_texts_free(tu_png_texts_t *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->value[i]);
    t->n = 0;
}
