/* pngtext — the text chunks (tEXt/zTXt/iTXt) ahead of a PNG's image data,
 * read back with libpng, for tests that check embedded metadata. */
#ifndef ONESHEET_PNGTEXT_H
#define ONESHEET_PNGTEXT_H

#include "base/buf.h"

#define TU_PNG_TEXTS_MAX 16

typedef struct {
    int n;
    char key[TU_PNG_TEXTS_MAX][80];
    char *value[TU_PNG_TEXTS_MAX];   /* owned */
    int compression[TU_PNG_TEXTS_MAX];
} tu_png_texts_t;

/* Reads the chunks of png into t, failing the test (cmocka) when png does
 * not parse or holds more than max chunks (max <= TU_PNG_TEXTS_MAX).  Free
 * with tu_png_texts_free. */
void tu_png_read_texts(const buf_t *png, int max, tu_png_texts_t *t);
/* As tu_png_read_texts, but reads the whole PNG through IEND (rows and
 * all, any CRC error failing the test), so text chunks after the image
 * data count too. */
void tu_png_read_all_texts(const buf_t *png, int max, tu_png_texts_t *t);
/* The value of the first chunk named key, or NULL (borrowed). */
const char *tu_png_text(const tu_png_texts_t *t, const char *key);
void tu_png_texts_free(tu_png_texts_t *t);

#endif
