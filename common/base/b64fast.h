/* b64fast — the fast part of base64 decoding: whole groups of four
 * alphabet characters (A-Z a-z 0-9 + /) into three bytes each, with AVX2
 * on CPUs that have it (chosen once at run time) and a table decoder
 * otherwise.  Padding, line breaks and the verdict on bad text are left to
 * the caller (base64_decode() in buf.h says what is wrong), so both
 * implementations stop at the same place and write the same bytes. */
#ifndef ONESHEET_B64FAST_H
#define ONESHEET_B64FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the longest run of whole groups at the start of in[0..len) (each
 * of its four characters in the alphabet) into out, 3 bytes per group.
 * Returns the number of characters consumed, a multiple of 4: it stops
 * before the first group that holds any other character ('=', '"', a line
 * break, ...) or is cut by len.  out needs room for len / 4 * 3 bytes and
 * may be in itself (out <= in): the output never overtakes the input. */
size_t b64fast_decode(const void *in, size_t len, uint8_t *out);

/* The same with the table decoder, whatever the CPU (for tests and
 * benchmarks). */
size_t b64fast_decode_scalar(const void *in, size_t len, uint8_t *out);

/* The implementation b64fast_decode() uses: "avx2" or "scalar". */
const char *b64fast_impl(void);

/* True when c is one of the 64 alphabet characters. */
bool b64fast_is_alpha(unsigned char c);

#endif
