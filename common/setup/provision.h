/* provision — `onesheet init`: makes sure the configured back-ends exist.
 *
 * AWS back-ends are created when missing (the SQS queue with its
 * dead-letter queue and redrive policy, the DynamoDB table, the S3 bucket);
 * embedded ones need nothing beyond the state directory, which is created
 * on first use.  Every step is idempotent. */
#ifndef ONESHEET_PROVISION_H
#define ONESHEET_PROVISION_H

#include "setup/config.h"
#include "base/err.h"

/* Called once per resource with a line saying what was found or done. */
typedef void (*provision_report_fn)(const char *line, void *ud);

/* Provisions queue, ledger and store of cfg, in that order, reporting each.
 * Stops at the first failure (err names the resource).  The AWS calls use
 * aws_env_default(). */
err_code_t provision_all(const config_t *cfg, provision_report_fn report, void *ud,
                         err_t *err);

#endif
