/* config — onesheet's settings: defaults, then the config file, then the
 * environment, then command-line flags (each later source wins).
 *
 * The file is `$ONESHEET_CONFIG`, else `~/.config/onesheet/config`, else
 * `/etc/onesheet/onesheet.conf`: `key = value` lines, `#` comments.  Every
 * value is validated when set, so a bad value is reported with where it came
 * from ("/etc/onesheet/onesheet.conf:4: url_ttl: ..." or
 * "ONESHEET_URL_TTL: ...") and ERR_CONFIG. */
#ifndef ONESHEET_CONFIG_H
#define ONESHEET_CONFIG_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

typedef const char *(*config_getenv_fn)(const char *name);

typedef struct {
    char *state_dir;      /* $ONESHEET_STATE_DIR, XDG state, ~/.local/state */
    char *queue;          /* sqlite:PATH | sqs:NAME | https://sqs... URL */
    char *ledger;         /* sqlite:PATH | dynamodb:TABLE */
    char *store;          /* file:DIR | s3://BUCKET/PREFIX */
    char *model;          /* draft | a Bedrock model id */
    long url_ttl;         /* seconds, 1..604800 */
    int max_receives;     /* dead-letter after this many receives */
    int visibility_timeout; /* seconds a received message stays hidden */
    char *log_level;      /* debug | info | warn | error */
    bool log_json;
    char *api_keys;       /* onesheet-api: comma-separated SHA-256 hex of keys */
    char *config_path;    /* the file that was read, or NULL */
    /* worker liveness */
    char *models;         /* onesheet-worker: comma-separated model ids it
                           * generates; NULL: the engine's default
                           * (engine_models_default) */
    /* webhooks */
    char *webhook_secret; /* whsec_BASE64 (Standard Webhooks), or NULL: none */
    long webhook_retry_for; /* seconds a failing delivery is retried, 1..2592000 */
    /* input limits */
    long long max_input_bytes; /* `onesheet submit`: bytes of input read at most,
                                * 1..CONFIG_MAX_INPUT_BYTES_MAX; default 1 GiB */
    /* dashboard (issue 19) */
    char *public_url;     /* onesheet-api: http(s)://HOST[:PORT][/PATH] put in
                           * file-store links; NULL: the request's Host on
                           * loopback */
    /* shared quota (issue 21) */
    double quota_rpm;     /* quota_rpm: the account's Bedrock quota a minute for
                           * each model without its own line; 0: none */
    char *quota_models;   /* quota_rpm.MODEL = N lines as "MODEL=N\n..."; NULL: none */
    /* the checksum posters are stored with: a store_sum_alg_t (store.h),
     * STORE_SUM_CRC64NVME (the default, S3's own) or STORE_SUM_SHA256 */
    int checksum;
    /* model lifecycle (issue 23) */
    bool model_lifecycle_off; /* model_lifecycle = off: never ask Bedrock's
                               * control plane which models are live */
    long model_list_ttl;  /* seconds the cached model list is used, 60..604800 */
} config_t;

#define CONFIG_QUOTA_RPM_MAX 1e6

#define CONFIG_MAX_INPUT_BYTES_DEFAULT (1LL << 30)
#define CONFIG_MAX_INPUT_BYTES_MAX (1LL << 40)

/* Loads defaults, the config file (path: explicit, else the search order
 * above; a missing default file is fine, a missing explicit one is
 * ERR_CONFIG) and the environment (getenv_fn NULL: getenv).  Creates
 * nothing on disk.  c must be freed with config_free even on error. */
err_code_t config_load(config_t *c, const char *path, config_getenv_fn getenv_fn,
                       err_t *err);

/* Sets one key (flag or file value), validating it; origin names where it
 * came from for error messages ("--model", "FILE:LINE").  ERR_CONFIG for an
 * unknown key or bad value. */
err_code_t config_set(config_t *c, const char *key, const char *value,
                      const char *origin, err_t *err);

/* Creates the state directory (mode 0700) when the configured back-ends
 * live in it.  ERR_IO naming the directory on failure. */
err_code_t config_prepare_state(const config_t *c, err_t *err);

void config_free(config_t *c);

/* The shared quota for model, calls a minute: its quota_rpm.MODEL line,
 * else quota_rpm; 0 when there is none. */
double config_quota_rpm(const config_t *c, const char *model);
/* The i-th key a config file may set (NULL past the last), and in *env
 * (when env is not NULL) the environment variable that sets it.  The
 * strings are static. */
const char *config_key(size_t i, const char **env);

#endif
