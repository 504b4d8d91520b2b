/* fakeenv — an injected environment for tests: a NAME=VALUE table that
 * stands in for the process environment wherever a module takes a
 * getenv(ctx, name) hook (creds_options_t, aws_env_options_t, ...), so a
 * test sees only what it set, never the caller's own AWS setup. */
#ifndef ONESHEET_FAKEENV_H
#define ONESHEET_FAKEENV_H

#define FAKEENV_MAX 48

typedef struct {
    const char *k[FAKEENV_MAX], *v[FAKEENV_MAX];
    int n;
} fakeenv_t;

/* The getenv hook: ctx is a fakeenv_t; returns the value set for name
 * (borrowed), or NULL when it is not set. */
const char *fakeenv_get(void *ctx, const char *name);
/* Sets name to value, replacing an earlier value; both are borrowed and
 * must outlive the table.  A NULL value reads as unset.  Aborts when more
 * than FAKEENV_MAX names are set. */
void fakeenv_set(fakeenv_t *e, const char *name, const char *value);

#endif
