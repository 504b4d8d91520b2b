/* oncalendar — systemd `OnCalendar=` expressions (systemd.time(7)), parsed
 * and evaluated in C so that `onesheet campaign plan` shows the same firing
 * times a timer would, and `campaign run` can name the slot it serves.
 *
 * Supported: the shorthands (minutely, hourly, daily, weekly, monthly,
 * quarterly, semiannually, yearly/annually), an optional weekday list
 * ("Mon", "Mon..Fri", "Sat,Sun"), an optional date ("*-*-01", "2026-11-30",
 * "*-01,07-01", "MM-DD") and an optional time ("09:00", "08:30:00",
 * "*:0/15"), with lists, ranges ("..") and repetitions ("/") in every
 * component, and a trailing "UTC".  Everything is evaluated in UTC; other
 * time zones, "~" (days from the month's end) and fractional seconds are
 * refused with a message saying so.  Times are unix seconds. */
#ifndef ONESHEET_ONCALENDAR_H
#define ONESHEET_ONCALENDAR_H

#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

#define ONCALENDAR_YEAR_MIN 1970
#define ONCALENDAR_YEAR_MAX 2199

/* A parsed expression: one bit per allowed value of each component. */
typedef struct {
    uint8_t weekdays;    /* bit 0 Monday .. bit 6 Sunday */
    uint64_t years[4];   /* bit (year - 1970) */
    uint16_t months;     /* bits 1..12 */
    uint32_t days;       /* bits 1..31 */
    uint32_t hours;      /* bits 0..23 */
    uint64_t minutes;    /* bits 0..59 */
    uint64_t seconds;    /* bits 0..59 */
} oncalendar_t;

/* Parses expr into *out.  ERR_INVALID with a message naming the part that
 * is wrong ("OnCalendar \"Mon 25:00\": hour 25 is out of range 0..23"). */
err_code_t oncalendar_parse(const char *expr, oncalendar_t *out, err_t *err);

/* The first firing strictly after `after` into *out.  ERR_NOTFOUND when the
 * expression never fires again before 2200 ("*-02-30"). */
err_code_t oncalendar_next(const oncalendar_t *c, int64_t after, int64_t *out,
                           err_t *err);

/* The last firing at or before `at` into *out.  ERR_NOTFOUND when there is
 * none since 1970. */
err_code_t oncalendar_prev(const oncalendar_t *c, int64_t at, int64_t *out,
                           err_t *err);

/* Formats t as ISO 8601 UTC, "2026-11-30T09:00:00Z", into out (≥ 21 bytes).
 * Returns out. */
char *oncalendar_iso(int64_t t, char *out, size_t cap);

/* Formats t the way systemd-analyze does, "Mon 2026-11-30 09:00:00 UTC",
 * into out (≥ 28 bytes).  Returns out. */
char *oncalendar_human(int64_t t, char *out, size_t cap);

/* Parses an ISO 8601 UTC time: "YYYY-MM-DDTHH:MM[:SS]" followed by "Z" or
 * "+00:00".  ERR_INVALID for anything else (other offsets included). */
err_code_t oncalendar_parse_iso(const char *s, int64_t *out, err_t *err);

#endif
