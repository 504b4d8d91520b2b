/* buf — growable byte buffers, base64 and hex.
 *
 * A buf_t owns its data; it is always kept NUL-terminated (the NUL is not
 * counted in len) so text can be used as a C string. */
#ifndef ONESHEET_BUF_H
#define ONESHEET_BUF_H

#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT {NULL, 0, 0}

void buf_init(buf_t *b);
/* Frees the data and resets b to empty. */
void buf_free(buf_t *b);
/* Empties b without freeing its storage. */
void buf_reset(buf_t *b);
/* Makes room for extra more bytes.  Returns ERR_NOMEM on failure. */
err_code_t buf_reserve(buf_t *b, size_t extra);
err_code_t buf_append(buf_t *b, const void *data, size_t len);
err_code_t buf_append_str(buf_t *b, const char *s);
err_code_t buf_appendf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Takes ownership of the data out of b (NUL-terminated; caller frees);
 * b becomes empty.  Returns NULL for an empty never-allocated buffer only
 * when allocation of an empty string fails. */
char *buf_steal(buf_t *b);

/* Standard base64 (RFC 4648, with padding) of in[0..len) appended to out. */
err_code_t base64_encode(const void *in, size_t len, buf_t *out);
/* Strict base64 decode (padding required, no whitespace except CR/LF which
 * are skipped) appended to out.  Returns ERR_INVALID on bad input. */
err_code_t base64_decode(const char *in, size_t len, buf_t *out, err_t *err);

/* Streaming base64 decoder: feed any chunking of the text, get bytes out. */
typedef struct {
    uint32_t acc;
    int nbits;
    int pad;
    int quad;   /* chars seen in the current group of 4 */
    int done;
} base64_stream_t;
void base64_stream_init(base64_stream_t *s);
/* Decodes in[0..len) appending bytes to out; ERR_INVALID on bad input. */
err_code_t base64_stream_feed(base64_stream_t *s, const char *in, size_t len,
                              buf_t *out, err_t *err);
/* Checks the stream ended on a group boundary. */
err_code_t base64_stream_finish(base64_stream_t *s, err_t *err);

/* Lower-case hex of in[0..len) into out (2*len+1 bytes). */
void hex_encode(const void *in, size_t len, char *out);

#endif
