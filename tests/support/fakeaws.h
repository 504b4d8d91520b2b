/* fakeaws — the AWS side of a unit test against a fake server: an
 * aws_env_t over an injected environment (fakeenv) with fixed keys from a
 * provider (no files, no metadata service) and three attempts with no
 * sleeping between them; and the fake server's side, verifying a request's
 * SigV4 signature. */
#ifndef ONESHEET_FAKEAWS_H
#define ONESHEET_FAKEAWS_H

#include "aws/aws.h"
#include "aws/creds.h"
#include "fakeenv.h"
#include "fakeserver.h"
#include "aws/sigv4.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    fakeenv_t env;              /* the environment aws_env_new sees */
    /* The keys the provider hands out, read at every fetch: token NULL for
     * none, expiry 0 for long-term keys. */
    const char *akid, *secret, *token;
    int64_t expiry;
    creds_cache_t *cache;       /* owned; made by fakeaws_open */
    aws_env_t *aws;             /* owned; made by fakeaws_open */
} fakeaws_t;

/* (Re)makes a->cache and a->aws from a's fields, freeing the old ones.
 * opts, when non-NULL, gives the other settings (s3_path_style, ...); its
 * getenv, creds and retry are replaced.  Returns ERR_OK, or the error
 * with its message in err (not NULL; a->aws is then NULL). */
err_code_t fakeaws_open(fakeaws_t *a, const aws_env_options_t *opts, err_t *err);
/* Frees a->aws and a->cache; a zeroed or closed a is fine. */
void fakeaws_close(fakeaws_t *a);

/* Verifies req's SigV4 signature with keys c and options vo, as
 * sigv4_verify() does (info and err may be NULL); borrows everything for
 * the call. */
err_code_t fakeaws_verify(const fake_request_t *req, const sigv4_credentials_t *c,
                          const sigv4_verify_opts_t *vo, sigv4_verify_info_t *info,
                          err_t *err);

/* Answers status with an AWS error in the service's shape: S3's XML
 * <Error> (xml true) or the JSON protocol's {"__type","message"} with
 * x-amzn-ErrorType.  code and msg are escaped; request_id may be NULL. */
void fakeaws_error_reply(fake_response_t *resp, bool xml, int status, const char *code,
                         const char *msg, const char *request_id);

#endif
