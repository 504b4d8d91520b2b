/* api_fixture — onesheet-api's router over the embedded stack in a private
 * directory, for unit tests that call api_handle() directly: SQLite queue
 * and ledger, a file store and the draft model, a pool and the api. */
#ifndef ONESHEET_TEST_API_FIXTURE_H
#define ONESHEET_TEST_API_FIXTURE_H

#include "api/api.h"
#include "setup/config.h"

#include <stdbool.h>

typedef struct {
    char *dir;          /* the private directory (removed by api_fx_free) */
    config_t cfg;
    api_pool_t *pool;
    api_t *api;
} api_fx_t;

/* A new fixture; o's cfg is set to the fixture's (the rest of o is kept:
 * loopback, timeouts, rate limits).  broken_ledger: the ledger's path lies
 * below a regular file, so opening it fails (even as root).  keys: the
 * config's api_keys (hashes), or NULL.  Fails the test on error. */
api_fx_t *api_fx_new(api_options_t o, bool broken_ledger, const char *keys);
/* Frees the api, the pool and the config, and removes the directory. */
void api_fx_free(api_fx_t *f);
/* One request through api_handle(): ctype (Content-Type) and key
 * (X-Api-Key) are sent when not NULL; client is the peer address (NULL:
 * 127.0.0.1).  Returns the status, leaving the response in *r (its
 * previous content freed first). */
int api_fx_call(api_fx_t *f, const char *method, const char *path, const char *ctype,
                const char *body, const char *key, const char *client, api_response_t *r);

#endif
