/* fakeenv — see fakeenv.h. */
#include "fakeenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fakeenv_get(void *ctx, const char *name)
{
    const fakeenv_t *e = ctx;
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->k[i], name) == 0)
            return e->v[i];
    return NULL;
}

void fakeenv_set(fakeenv_t *e, const char *name, const char *value)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->k[i], name) == 0) {
            e->v[i] = value;
            return;
        }
    if (e->n >= FAKEENV_MAX) {
        fprintf(stderr, "fakeenv: more than %d names set\n", FAKEENV_MAX);
        abort();
    }
    e->k[e->n] = name;
    e->v[e->n++] = value;
}
