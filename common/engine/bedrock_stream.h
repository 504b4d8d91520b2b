/* bedrock_stream — an InvokeModel reply parsed as it arrives.
 *
 * A reply is a few hundred bytes of JSON around one megabyte-sized base64
 * string.  The stream is fed the body in whatever pieces the network gives
 * (a curl write callback) and decodes that string straight into the image
 * buffer while hashing the bytes, so the reply text is never held whole and
 * the image is touched once; the small rest (the "skeleton", the string
 * replaced by a mark) is parsed at the end by the same code as
 * bedrock_parse_reply(), with the same results and messages for any body.
 *
 * Only the first string literal that reaches BEDROCK_LIFT_MIN bytes of the
 * base64 alphabet, with no escape but "\/", is streamed (the one
 * bedrock_parse_reply() lifts).  Anything unusual inside it (another
 * escape, a line break, a bad character, text after padding, a body that
 * ends inside it) turns the stream back into plain text -- the decoded part
 * is encoded again, exactly, since it was all alphabet, with its "\/"
 * escapes put back where they were -- and the end falls back to
 * bedrock_parse_reply() on the whole body: slower, never different.
 *
 * One stream serves one reply at a time and is reused (reset) for the next;
 * it is not thread-safe. */
#ifndef ONESHEET_BEDROCK_STREAM_H
#define ONESHEET_BEDROCK_STREAM_H

#include "engine/bedrock_models.h"
#include "base/buf.h"
#include "engine/engine.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

/* Bytes of room the image buffer keeps past the image (for the poster's
 * metadata chunks, spliced in place by the worker). */
#define BEDROCK_STREAM_SLACK 4096

typedef struct bedrock_stream bedrock_stream_t;

/* A new stream for replies of at most max_reply bytes (0: no limit).
 * NULL when out of memory.  Free with bedrock_stream_free(). */
bedrock_stream_t *bedrock_stream_new(size_t max_reply);
void bedrock_stream_free(bedrock_stream_t *s);

/* Whether the stream keeps a running SHA-256 besides its CRC-64/NVME
 * (on by default).  Off, finish leaves out->sha_known false: the caller
 * checksums with the CRC alone (S3's default) and saves the SHA-256's
 * 1.5 ms per 2 MB image. */
void bedrock_stream_want_sha256(bedrock_stream_t *s, bool on);

/* Starts a new reply, keeping the buffers' storage.  content_length is the
 * Content-Length when known (0 if not: the last reply's size is used): when
 * an image string starts, the image buffer is sized once for it
 * (content_length / 4 * 3) so that nothing is reallocated while decoding. */
void bedrock_stream_reset(bedrock_stream_t *s, size_t content_length);

/* Feeds the next n bytes of the body (any split).  ERR_OK; ERR_TOOBIG once
 * more than max_reply bytes have come; ERR_NOMEM.  An error sticks: later
 * feeds return it again and bedrock_stream_finish() reports it.  Malformed
 * text is not an error here: finish says what is wrong with it. */
err_code_t bedrock_stream_feed(bedrock_stream_t *s, const void *p, size_t n);

/* The body fed so far, whole, as long as none of it is being streamed (a
 * reply without a long base64 string, such as an error reply, is kept
 * whole): borrowed, valid until the next feed, finish or reset.  NULL once
 * an image string is being decoded. */
const buf_t *bedrock_stream_text(const bedrock_stream_t *s);

/* After the last byte: what bedrock_parse_reply(m, body, want_format, out,
 * err) gives for the concatenated body -- the same code, message, image,
 * format, size and seed -- and on success also out->sha_known, out->sha256
 * (the SHA-256 of out->image) and out->sha_head (owned by out: the SHA-256
 * state over out->image but its last 12 bytes; NULL when it has fewer than
 * 12) -- those only when bedrock_stream_want_sha256() is on -- and
 * always out->crc_known, out->crc64 and out->crc_head (the CRC-64/NVME
 * over the same two spans).  The image buffer moves to out (the stream allocates a new one for
 * the next reply).  After a feed error: that code, with a message. */
err_code_t bedrock_stream_finish(bedrock_stream_t *s, const bedrock_model_t *m,
                                 const char *want_format, engine_result_t *out,
                                 err_t *err);

#endif
