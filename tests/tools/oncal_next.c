/* oncal_next — prints the next N firings of OnCalendar expressions after a
 * base time, in the format `systemd-analyze calendar` uses, so the
 * integration test can compare the two line by line.
 *
 *   oncal_next --base 2026-01-01T00:00:00Z --iterations 5 EXPR...
 *
 * One line per firing: "EXPR<TAB>Mon 2026-01-05 09:00:00 UTC".  Exit 65
 * with the parser's message for a bad expression. */
#include "base/oncalendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int64_t base = 0;
    int iterations = 5, i = 1;
    err_t e;

    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--base") == 0) {
            if (oncalendar_parse_iso(argv[i + 1], &base, &e) != ERR_OK) {
                fprintf(stderr, "oncal_next: %s\n", e.msg);
                return 64;
            }
        } else if (strcmp(argv[i], "--iterations") == 0) {
            iterations = atoi(argv[i + 1]);
        } else {
            fprintf(stderr, "oncal_next: unknown option %s\n", argv[i]);
            return 64;
        }
    }
    for (; i < argc; i++) {
        oncalendar_t c;
        int64_t t = base;
        char h[64];
        if (oncalendar_parse(argv[i], &c, &e) != ERR_OK) {
            fprintf(stderr, "oncal_next: %s\n", e.msg);
            return 65;
        }
        for (int k = 0; k < iterations; k++) {
            if (oncalendar_next(&c, t, &t, &e) != ERR_OK)
                break;
            printf("%s\t%s\n", argv[i], oncalendar_human(t, h, sizeof h));
        }
    }
    return 0;
}
