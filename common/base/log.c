/* log — see log.h. */
#include "base/log.h"
#include "base/redact.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "onesheet";
static log_level_t log_min = LOG_INFO;
static bool log_json;
static FILE *log_fp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *prog, log_level_t min, bool json)
{
    log_prog = prog;
    log_min = min;
    log_json = json;
}

void log_set_stream(FILE *fp) { log_fp = fp; }

int log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

const char *log_q(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    bool quote = (*s == '\0');

    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == '=' || *p == '"' || (unsigned char)*p < 0x20)
            quote = true;
    if (cap == 0)
        return out;
    if (quote && o + 1 < cap)
        out[o++] = '"';
    for (const char *p = s; *p && o + 3 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    if (quote && o + 1 < cap)
        out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* Converts "a=1 b=\"x y\"" into JSON members, appending to out. */
static void kv_to_json(const char *kv, char *out, size_t cap)
{
    size_t o = strlen(out);
    const char *p = kv;

    while (*p && o + 8 < cap) {
        while (*p == ' ')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        if (*p != '=' || p == k) {
            while (*p && *p != ' ')
                p++;
            continue;
        }
        size_t klen = (size_t)(p - k);
        p++;
        o += (size_t)snprintf(out + o, cap - o, ",\"%.*s\":\"", (int)klen, k);
        bool quoted = (*p == '"');
        if (quoted)
            p++;
        while (*p && o + 4 < cap) {
            if (quoted && *p == '"')
                break;
            if (!quoted && *p == ' ')
                break;
            if (quoted && *p == '\\' && p[1]) {
                p++;
            }
            if (*p == '"' || *p == '\\')
                out[o++] = '\\';
            out[o++] = *p++;
        }
        if (quoted && *p == '"')
            p++;
        if (o + 2 < cap)
            out[o++] = '"';
        out[o] = '\0';
    }
}

void log_event(log_level_t level, const char *event, const char *fmt, ...)
{
    static const char *const lnames[] = {"debug", "info", "warn", "error"};
    char kv[4096], line[8192], ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (level < log_min)
        return;
    va_start(ap, fmt);
    vsnprintf(kv, sizeof kv, fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
    if (log_json) {
        snprintf(line, sizeof line,
                 "{\"ts\":\"%s\",\"prog\":\"%s\",\"level\":\"%s\",\"event\":\"%s\"",
                 ts, log_prog, lnames[level], event);
        kv_to_json(kv, line, sizeof line - 2);
        strcat(line, "}");
    } else {
        snprintf(line, sizeof line, "ts=%s prog=%s level=%s event=%s%s%s", ts,
                 log_prog, lnames[level], event, kv[0] ? " " : "", kv);
    }
    redact_inplace(line, sizeof line);
    pthread_mutex_lock(&log_lock);
    fprintf(log_fp ? log_fp : stderr, "%s\n", line);
    fflush(log_fp ? log_fp : stderr);
    pthread_mutex_unlock(&log_lock);
}
