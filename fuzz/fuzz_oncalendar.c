/* fuzz_oncalendar — oncalendar_parse, then the next and previous firing
 * around a fixed time (which must be ordered around it), and the ISO time
 * parser on the same text. */
#include "base/err.h"
#include "base/oncalendar.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t now = 1795000000;   /* 2026-11-18 */
    char text[512];
    oncalendar_t cal;
    err_t err;
    int64_t t;

    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (oncalendar_parse(text, &cal, &err) == ERR_OK) {
        char iso[32], human[40];
        if (oncalendar_next(&cal, now, &t, &err) == ERR_OK) {
            if (t <= now)
                abort();
            oncalendar_iso(t, iso, sizeof iso);
            oncalendar_human(t, human, sizeof human);
        }
        if (oncalendar_prev(&cal, now, &t, &err) == ERR_OK && t > now)
            abort();
    }
    oncalendar_parse_iso(text, &t, &err);
    return 0;
}
