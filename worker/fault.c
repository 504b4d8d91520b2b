/* fault — see fault.h.  The crash points, in a job's order:
 *
 *   after_claim      the ledger claim is held, nothing generated
 *   after_quota      the shared quota was taken, the engine not yet called
 *   after_generate   the engine answered (a paid call), nothing composed
 *   after_compose    the poster is composed, nothing stored
 *   after_store_raw  the raw art is stored, the poster not
 *   after_store      the poster is stored, no URL yet
 *   after_rendition  the first extra rendition is stored, the rest not
 *   after_presign    the URL is made (and renditions stored), not marked
 *   after_mark       the ledger says succeeded (and its outbox event is
 *                    written with it), the message not deleted
 *   after_delete     the message is deleted (or queued for a batch delete)
 *
 * Only a -DONESHEET_FAULTS build has any of this. */
#include "fault.h"

#ifdef ONESHEET_FAULTS
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *crash_at;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void read_env(void)
{
    crash_at = getenv("ONESHEET_CRASH_AT");
}

void worker_fault(const char *point)
{
    pthread_once(&once, read_env);
    if (!crash_at || strcmp(crash_at, point) != 0)
        return;
    /* The worker is a binary: a line for the test's log, then the kill. */
    char line[128];
    int n = snprintf(line, sizeof line, "level=error event=crash_point point=%s\n", point);
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
        n = 0;
    raise(SIGKILL);
    _exit(137);
}
#else
/* ISO C wants something in a translation unit. */
typedef int worker_fault_unused_t;
#endif
