/* ledger_backends — the ledger back-end table; see ledger_backends.h. */
#include "ledger/ledger_backends.h"
#include "ledger/ledger_dynamodb.h"
#include "ledger/ledger_sqlite.h"

#include <string.h>
#include <unistd.h>

static ledger_t *open_sqlite(const char *value, err_t *err)
{
    return ledger_sqlite_open(value + strlen("sqlite:"), err);
}

/* The database file is there (ledger_open would create it otherwise). */
static bool sqlite_exists(const char *value)
{
    return access(value + strlen("sqlite:"), F_OK) == 0;
}

static ledger_t *open_dynamodb(const char *value, err_t *err)
{
    aws_env_t *env = aws_env_default(err);
    return env ? ledger_dynamodb_open(env, value + strlen("dynamodb:"), err) : NULL;
}

/* Creates the DynamoDB table with the ledger's layout when missing. */
static err_code_t provision_dynamodb(const char *value, const backend_setup_t *setup,
                                     char *line, size_t cap, err_t *err)
{
    const char *table = value + strlen("dynamodb:");
    aws_env_t *env = aws_env_default(err);
    if (!env || ledger_dynamodb_ensure(env, table, line, cap, err) != ERR_OK)
        return err_prefix(err, "ledger %s", table);
    return ERR_OK;
}

static const ledger_backend_t backends[] = {
    {{"sqlite:", false, "sqlite:PATH", NULL, NULL}, open_sqlite, sqlite_exists},
    {{"dynamodb:", false, "dynamodb:TABLE", NULL, provision_dynamodb}, open_dynamodb, NULL},
};
#define NBACKENDS (sizeof backends / sizeof *backends)

const ledger_backend_t *ledger_backend_check(const char *value, err_t *err)
{
    return (const ledger_backend_t *)backend_check(backends, NBACKENDS, sizeof *backends,
                                                   "ledger", value, err);
}

/* Opens the back-end whose row claims url; the message names the whole
 * value, since it usually comes straight from a config file. */
ledger_t *ledger_open(const char *url, err_t *err)
{
    const ledger_backend_t *b = ledger_backend_check(url, err);
    return b ? b->open(url, err) : NULL;
}

bool ledger_exists(const char *url)
{
    const ledger_backend_t *b = (const ledger_backend_t *)backend_find(
        backends, NBACKENDS, sizeof *backends, url);
    return !b || !b->exists || b->exists(url);
}
