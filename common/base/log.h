/* log — one line per event, `key=value` (or JSON with log_set_json()).
 *
 * Only the binaries log; library code returns errors instead.  Every line is
 * passed through redact_inplace() so secrets and presigned query values never
 * reach the output. */
#ifndef ONESHEET_LOG_H
#define ONESHEET_LOG_H

#include <stdbool.h>
#include <stdio.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Sets the program name, minimum level and output format.  Lines go to
 * stderr unless log_set_stream() says otherwise. */
void log_init(const char *prog, log_level_t min, bool json);
void log_set_stream(FILE *fp);

/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int log_level_parse(const char *s);

/* Emits one event.  fmt holds `key=value` pairs (printf-style); in JSON mode
 * each pair becomes a string member.  Values with spaces should be quoted
 * with log_q() by the caller. */
void log_event(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

/* Quotes s for a key=value line into out (always NUL-terminated): wraps it in
 * double quotes when it has spaces, '=' or quotes, escaping '"' and '\\',
 * and replacing control bytes.  Returns out. */
const char *log_q(const char *s, char *out, size_t cap);

#endif
