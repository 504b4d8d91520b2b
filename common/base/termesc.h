/* termesc — text made safe to print on a terminal.
 *
 * Ids, file names, config keys and prompts come from users and files; a raw
 * ESC or CR in them can rewrite what the terminal shows, and a bidi override
 * (U+202E) can make "txt.exe" read as "exe.txt".  Everything the CLI prints
 * from such a source goes through term_escape first.  What is escaped:
 * C0 controls (\n \r \t \e as themselves, the rest \xHH), DEL (\x7f), C1
 * controls and the Unicode bidi controls (\uXXXX: U+061C, U+200E, U+200F,
 * U+202A..U+202E, U+2066..U+2069), and bytes that are not UTF-8 (\xHH).
 * Everything else, backslashes included, is copied as it is, so plain text
 * reads the same. */
#ifndef ONESHEET_TERMESC_H
#define ONESHEET_TERMESC_H

#include <stdbool.h>
#include <stddef.h>

/* Writes s (NULL reads as "") escaped into out (cap bytes, cap >= 1),
 * always NUL-terminated; an escape that does not fit whole is left out, so
 * the output is cut only between characters.  Returns the length the whole
 * escaped text needs (like snprintf: a result >= cap means it was cut). */
size_t term_escape(const char *s, char *out, size_t cap);

/* Returns a new escaped copy of s (caller frees), or NULL when memory runs
 * out. */
char *term_escape_dup(const char *s);

/* True when s holds nothing term_escape would change. */
bool term_safe(const char *s);

#endif
