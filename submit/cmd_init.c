/* init — create the configured queue, ledger and store when missing. */
#include "cli.h"
#include "setup/provision.h"

#include <stdio.h>
#include <string.h>

static void print_line(const char *line, void *ud)
{
    (void)ud;
    /* Back-ends may report several lines at once. */
    printf("%s%s", line, line[0] && line[strlen(line) - 1] == '\n' ? "" : "\n");
    fflush(stdout);
}

int cmd_init(cli_t *cli, int argc, char **argv)
{
    err_t e;
    int rc;

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            printf("usage: onesheet init\n"
                   "creates, when missing: the SQS queue and its dead-letter queue, the\n"
                   "DynamoDB table and the S3 bucket of the configuration (embedded\n"
                   "back-ends need nothing).  Safe to run again.\n");
            return 0;
        }
        fprintf(stderr, "usage: onesheet init\n");
        return 64;
    }
    if ((rc = cli_open(cli, 0)) != 0)
        return rc;
    if (provision_all(&cli->cfg, print_line, NULL, &e) != ERR_OK)
        return cli_fail(cli, &e);
    return 0;
}
