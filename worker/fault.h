/* fault — named crash points between the steps of a job (issue 24).
 *
 * A test build of the worker (tools/onesheet-worker-faults, compiled with
 * -DONESHEET_FAULTS) kills itself with SIGKILL at the point named by
 * ONESHEET_CRASH_AT, the first time a job passes it, so a test can prove
 * that a crash between any two steps loses and duplicates nothing.  In
 * every other build WORKER_FAULT() is nothing at all. */
#ifndef ONESHEET_WORKER_FAULT_H
#define ONESHEET_WORKER_FAULT_H

#ifdef ONESHEET_FAULTS
/* Kills the process (SIGKILL, no cleanup, as a power cut would) when
 * point equals $ONESHEET_CRASH_AT; returns otherwise.  point is a static
 * string; the environment is read once. */
void worker_fault(const char *point);
#define WORKER_FAULT(point) worker_fault(point)
#else
#define WORKER_FAULT(point) ((void)0)
#endif

#endif
