/* oncalendar — systemd calendar expressions as bit sets, evaluated by
 * walking days (skipping whole months and years that cannot match) and, on
 * a matching day, the first or last matching second.  A day walk is cheap
 * (a few thousand steps at worst), and easy to check against
 * `systemd-analyze calendar`, which the integration tests do. */
#include "base/oncalendar.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400

/* ---- civil dates (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static int weekday_of(int64_t days) /* 0 = Monday */
{
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- parsing ---- */

static const char *const wd_names[7][2] = {
    {"mon", "monday"}, {"tue", "tuesday"}, {"wed", "wednesday"}, {"thu", "thursday"},
    {"fri", "friday"}, {"sat", "saturday"}, {"sun", "sunday"},
};

static int weekday_parse(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        for (int k = 0; k < 2; k++)
            if (strlen(wd_names[i][k]) == n && strncasecmp(s, wd_names[i][k], n) == 0)
                return i;
    return -1;
}

typedef struct {
    const char *expr;
    err_t *err;
} pctx_t;

#define BAD(p, ...) bad_(p, __VA_ARGS__)
__attribute__((format(printf, 2, 3)))
static err_code_t bad_(pctx_t *p, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(p->err, ERR_INVALID, "OnCalendar \"%s\": %s", p->expr, msg);
}

static bool set_bit(uint64_t *bits, long v)
{
    bits[v / 64] |= (uint64_t)1 << (v % 64);
    return true;
}

/* Parses a decimal number of up to 4 digits at *s. */
static bool number(const char **s, long *out)
{
    const char *p = *s;
    long v = 0;
    int n = 0;
    while (isdigit((unsigned char)*p) && n < 5) {
        v = v * 10 + (*p++ - '0');
        n++;
    }
    if (n == 0 || n > 4)
        return false;
    *s = p;
    *out = v;
    return true;
}

/* One component ("*", "1,15", "0/15", "1..5", "8..18/2") of the values
 * lo..hi into bits (an array of 64-bit words, value v at bit v). */
static err_code_t component(pctx_t *p, const char *text, size_t len, const char *what,
                            long lo, long hi, uint64_t *bits)
{
    char buf[128];
    if (len == 0 || len >= sizeof buf)
        return BAD(p, "%s is empty or too long", what);
    memcpy(buf, text, len);
    buf[len] = '\0';
    /* strtok_r skips empty items, so "*:," would leave no second at all: a
     * schedule that never fires, found only by walking every second to 2200. */
    if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,"))
        return BAD(p, "%s: empty item in the list \"%s\"", what, buf);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *s = item;
        long a, b, step = 1;
        bool range = false;
        if (*s == '*') {
            a = lo;
            b = hi;
            s++;
        } else {
            if (!number(&s, &a))
                return BAD(p, "%s: \"%s\" is not a number, range or \"*\"", what, item);
            b = a;
            if (s[0] == '.' && s[1] == '.') {
                s += 2;
                range = true;
                if (!number(&s, &b))
                    return BAD(p, "%s: a range needs an end (\"1..5\")", what);
            }
        }
        if (*s == '/') {
            s++;
            if (!number(&s, &step) || step == 0)
                return BAD(p, "%s: a repetition needs a positive step (\"0/15\")", what);
            if (!range && item[0] != '*')
                b = hi;
        }
        if (*s == '.')
            return BAD(p, "%s: fractional values are not supported", what);
        if (*s)
            return BAD(p, "%s: unexpected \"%s\"", what, s);
        if (a < lo || a > hi)
            return BAD(p, "%s %ld is out of range %ld..%ld", what, a, lo, hi);
        if (b < lo || b > hi)
            return BAD(p, "%s %ld is out of range %ld..%ld", what, b, lo, hi);
        if (b < a)
            return BAD(p, "%s: range %ld..%ld runs backwards", what, a, b);
        for (long v = a; v <= b; v += step)
            set_bit(bits, v - (lo == ONCALENDAR_YEAR_MIN ? ONCALENDAR_YEAR_MIN : 0));
    }
    return ERR_OK;
}

static err_code_t weekdays(pctx_t *p, const char *text, size_t len, uint8_t *out)
{
    size_t i = 0;
    *out = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != ',')
            j++;
        const char *dots = NULL;
        for (size_t k = i; k + 1 < j; k++)
            if (text[k] == '.' && text[k + 1] == '.')
                dots = text + k;
        int a, b;
        if (dots) {
            a = weekday_parse(text + i, (size_t)(dots - text - (long)i));
            b = weekday_parse(dots + 2, (size_t)(text + j - dots - 2));
        } else {
            a = b = weekday_parse(text + i, j - i);
        }
        if (a < 0 || b < 0)
            return err_set(p->err, ERR_INVALID,
                           "OnCalendar \"%s\": \"%.*s\" is not a weekday (Mon..Sun)",
                           p->expr, (int)(j - i), text + i);
        if (b < a)
            return err_set(p->err, ERR_INVALID,
                           "OnCalendar \"%s\": weekday range \"%.*s\" runs backwards",
                           p->expr, (int)(j - i), text + i);
        for (int w = a; w <= b; w++)
            *out |= (uint8_t)(1u << w);
        i = j + 1;
        if (j + 1 == len)
            return err_set(p->err, ERR_INVALID, "OnCalendar \"%s\": trailing ','", p->expr);
    }
    return ERR_OK;
}

/* Splits text at sep into at most max parts; returns how many. */
static int split(const char *text, char sep, const char **parts, size_t *lens, int max)
{
    int n = 0;
    const char *s = text;
    for (;;) {
        const char *e = strchr(s, sep);
        if (n == max)
            return max + 1;
        parts[n] = s;
        lens[n] = e ? (size_t)(e - s) : strlen(s);
        n++;
        if (!e)
            return n;
        s = e + 1;
    }
}

static err_code_t date_part(pctx_t *p, const char *tok, oncalendar_t *c)
{
    const char *parts[4];
    size_t lens[4];
    int n = split(tok, '-', parts, lens, 3);
    if (n < 2 || n > 3)
        return err_set(p->err, ERR_INVALID,
                       "OnCalendar \"%s\": date \"%s\" must be YEAR-MONTH-DAY or MONTH-DAY",
                       p->expr, tok);
    int k = 0;
    memset(c->years, 0, sizeof c->years);
    if (n == 3) {
        if (component(p, parts[0], lens[0], "year", ONCALENDAR_YEAR_MIN, ONCALENDAR_YEAR_MAX,
                      c->years) != ERR_OK)
            return ERR_INVALID;
        k = 1;
    } else {
        component(p, "*", 1, "year", ONCALENDAR_YEAR_MIN, ONCALENDAR_YEAR_MAX, c->years);
    }
    if (memchr(parts[k + 1], '~', lens[k + 1]))
        return err_set(p->err, ERR_INVALID,
                       "OnCalendar \"%s\": \"~\" (days from the month's end) is not supported",
                       p->expr);
    uint64_t m = 0, d = 0;
    if (component(p, parts[k], lens[k], "month", 1, 12, &m) != ERR_OK ||
        component(p, parts[k + 1], lens[k + 1], "day", 1, 31, &d) != ERR_OK)
        return ERR_INVALID;
    c->months = (uint16_t)m;
    c->days = (uint32_t)d;
    return ERR_OK;
}

static err_code_t time_part(pctx_t *p, const char *tok, oncalendar_t *c)
{
    const char *parts[4];
    size_t lens[4];
    int n = split(tok, ':', parts, lens, 3);
    if (n < 2 || n > 3)
        return err_set(p->err, ERR_INVALID,
                       "OnCalendar \"%s\": time \"%s\" must be HOUR:MINUTE[:SECOND]", p->expr,
                       tok);
    uint64_t h = 0;
    c->minutes = c->seconds = 0;
    if (component(p, parts[0], lens[0], "hour", 0, 23, &h) != ERR_OK ||
        component(p, parts[1], lens[1], "minute", 0, 59, &c->minutes) != ERR_OK)
        return ERR_INVALID;
    if (n == 3) {
        if (component(p, parts[2], lens[2], "second", 0, 59, &c->seconds) != ERR_OK)
            return ERR_INVALID;
    } else {
        c->seconds = 1;
    }
    c->hours = (uint32_t)h;
    return ERR_OK;
}

static const struct {
    const char *name, *expr;
} shorthands[] = {
    {"minutely", "*-*-* *:*:00"}, {"hourly", "*-*-* *:00:00"},
    {"daily", "*-*-* 00:00:00"}, {"weekly", "Mon *-*-* 00:00:00"},
    {"monthly", "*-*-01 00:00:00"}, {"yearly", "*-01-01 00:00:00"},
    {"annually", "*-01-01 00:00:00"}, {"quarterly", "*-01,04,07,10-01 00:00:00"},
    {"semiannually", "*-01,07-01 00:00:00"},
};

err_code_t oncalendar_parse(const char *expr, oncalendar_t *out, err_t *err)
{
    char buf[256], *tok[8];
    int ntok = 0;
    pctx_t p = {expr ? expr : "", err};

    memset(out, 0, sizeof *out);
    if (!expr || strlen(expr) >= sizeof buf)
        return err_set(err, ERR_INVALID, "OnCalendar: expression is missing or too long");
    snprintf(buf, sizeof buf, "%s", expr);
    for (char *s = strtok(buf, " \t"); s; s = strtok(NULL, " \t")) {
        if (ntok == 8)
            return err_set(err, ERR_INVALID, "OnCalendar \"%s\": too many parts", expr);
        tok[ntok++] = s;
    }
    if (ntok > 1 && strcasecmp(tok[ntok - 1], "UTC") == 0)
        ntok--;
    if (ntok == 0)
        return err_set(err, ERR_INVALID, "OnCalendar: expression is empty");
    if (ntok == 1)
        for (size_t i = 0; i < sizeof shorthands / sizeof *shorthands; i++)
            if (strcasecmp(tok[0], shorthands[i].name) == 0)
                return oncalendar_parse(shorthands[i].expr, out, err);
    int i = 0;
    out->weekdays = 0x7f;
    if (isalpha((unsigned char)tok[0][0])) {
        if (weekdays(&p, tok[0], strlen(tok[0]), &out->weekdays) != ERR_OK)
            return ERR_INVALID;
        i = 1;
    }
    /* Defaults: every day, at midnight. */
    component(&p, "*", 1, "year", ONCALENDAR_YEAR_MIN, ONCALENDAR_YEAR_MAX, out->years);
    out->months = 0x1ffe;
    out->days = 0xfffffffe;
    out->hours = 1;
    out->minutes = out->seconds = 1;
    bool have_date = false, have_time = false;
    for (; i < ntok; i++) {
        if (isalpha((unsigned char)tok[i][0]))
            return err_set(err, ERR_INVALID,
                           "OnCalendar \"%s\": \"%s\": only UTC is supported (time zones "
                           "other than UTC are not)", expr, tok[i]);
        if (strchr(tok[i], ':') && !have_time) {
            if (time_part(&p, tok[i], out) != ERR_OK)
                return ERR_INVALID;
            have_time = true;
        } else if (!strchr(tok[i], ':') && !have_date && !have_time) {
            if (date_part(&p, tok[i], out) != ERR_OK)
                return ERR_INVALID;
            have_date = true;
        } else {
            return err_set(err, ERR_INVALID,
                           "OnCalendar \"%s\": unexpected \"%s\" (expected "
                           "[WEEKDAYS] [DATE] [TIME] [UTC])", expr, tok[i]);
        }
    }
    return ERR_OK;
}

/* ---- evaluation ---- */

static bool year_ok(const oncalendar_t *c, int y)
{
    if (y < ONCALENDAR_YEAR_MIN || y > ONCALENDAR_YEAR_MAX)
        return false;
    int b = y - ONCALENDAR_YEAR_MIN;
    return (c->years[b / 64] >> (b % 64)) & 1;
}

/* First (dir > 0, from sod upwards) or last (dir < 0, from sod downwards)
 * matching second of a day; -1 when none. */
static long day_second(const oncalendar_t *c, long sod, int dir)
{
    int h0 = (int)(sod / 3600), m0 = (int)(sod / 60 % 60), s0 = (int)(sod % 60);
    for (int h = h0; h >= 0 && h < 24; h += dir) {
        if (!((c->hours >> h) & 1))
            continue;
        int mfrom = h == h0 ? m0 : (dir > 0 ? 0 : 59);
        for (int m = mfrom; m >= 0 && m < 60; m += dir) {
            if (!((c->minutes >> m) & 1))
                continue;
            int sfrom = h == h0 && m == m0 ? s0 : (dir > 0 ? 0 : 59);
            for (int s = sfrom; s >= 0 && s < 60; s += dir)
                if ((c->seconds >> s) & 1)
                    return (long)h * 3600 + m * 60 + s;
        }
    }
    return -1;
}

static int month_days(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : md[m - 1];
}

static err_code_t walk(const oncalendar_t *c, int64_t t, int dir, int64_t *out, err_t *err)
{
    int64_t day = floordiv(t, DAY);
    long sod = (long)(t - day * DAY);
    int64_t first = days_from_civil(ONCALENDAR_YEAR_MIN, 1, 1);
    int64_t last = days_from_civil(ONCALENDAR_YEAR_MAX, 12, 31);

    while (day >= first && day <= last) {
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        if (!year_ok(c, y)) {
            day = dir > 0 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y - 1, 12, 31);
        } else if (!((c->months >> m) & 1)) {
            day = dir > 0 ? days_from_civil(y, (unsigned)m, 1) + month_days(y, m)
                          : days_from_civil(y, (unsigned)m, 1) - 1;
        } else if (((c->days >> d) & 1) && ((c->weekdays >> weekday_of(day)) & 1)) {
            long s = day_second(c, sod, dir);
            if (s >= 0) {
                *out = day * DAY + s;
                return ERR_OK;
            }
            day += dir;
        } else {
            day += dir;
        }
        sod = dir > 0 ? 0 : DAY - 1;
    }
    return err_set(err, ERR_NOTFOUND, "OnCalendar: no %s firing between %d and %d",
                   dir > 0 ? "later" : "earlier", ONCALENDAR_YEAR_MIN, ONCALENDAR_YEAR_MAX);
}

err_code_t oncalendar_next(const oncalendar_t *c, int64_t after, int64_t *out, err_t *err)
{
    return walk(c, after + 1, 1, out, err);
}

err_code_t oncalendar_prev(const oncalendar_t *c, int64_t at, int64_t *out, err_t *err)
{
    return walk(c, at, -1, out, err);
}

char *oncalendar_iso(int64_t t, char *out, size_t cap)
{
    int64_t day = floordiv(t, DAY);
    long sod = (long)(t - day * DAY);
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, cap, "%04d-%02d-%02dT%02ld:%02ld:%02ldZ", y, m, d, sod / 3600,
             sod / 60 % 60, sod % 60);
    return out;
}

char *oncalendar_human(int64_t t, char *out, size_t cap)
{
    static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    int64_t day = floordiv(t, DAY);
    long sod = (long)(t - day * DAY);
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, cap, "%s %04d-%02d-%02d %02ld:%02ld:%02ld UTC", wd[weekday_of(day)], y, m,
             d, sod / 3600, sod / 60 % 60, sod % 60);
    return out;
}

err_code_t oncalendar_parse_iso(const char *s, int64_t *out, err_t *err)
{
    int y, mo, d, h, mi, sec = 0, n = 0;
    const char *rest;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n != 16)
        goto bad;
    rest = s + n;
    if (rest[0] == ':') {
        if (!isdigit((unsigned char)rest[1]) || !isdigit((unsigned char)rest[2]))
            goto bad;
        sec = (rest[1] - '0') * 10 + (rest[2] - '0');
        rest += 3;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        goto bad;
    if (y < ONCALENDAR_YEAR_MIN || y > ONCALENDAR_YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
        d > month_days(y, mo) || h > 23 || mi > 59 || sec > 59 || h < 0 || mi < 0)
        goto bad;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * DAY + h * 3600 + mi * 60 + sec;
    return ERR_OK;
bad:
    return err_set(err, ERR_INVALID,
                   "\"%s\" is not an ISO 8601 UTC time like 2026-11-30T09:00:00Z",
                   s ? s : "");
}
