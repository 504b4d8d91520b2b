/* onesheet — the command-line tool: submit prompts, watch and manage jobs.
 * Each subcommand lives in its own cmd_*.c file with an entry here. */
#include "cli.h"
#include "base/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"submit", cmd_submit, "submit FILE|- | --prompt TEXT   validate and enqueue prompts"},
    {"status", cmd_status, "status [JOB|BATCH ...]          batches, a batch's jobs, or one job"},
    {"wait", cmd_wait, "wait BATCH [--output FILE]      wait with progress; write a results manifest"},
    {"list", cmd_list, "list [--state S] [--since T]    list jobs"},
    {"cancel", cmd_cancel, "cancel JOB|BATCH ...            cancel jobs not yet finished"},
    {"retry", cmd_retry, "retry JOB|BATCH ... [--state S] re-run failed (cancelled, filtered, dead) jobs"},
    {"urls", cmd_urls, "urls BATCH                      fresh URLs of a batch's posters"},
    {"gallery", cmd_gallery, "gallery BATCH -o DIR            an HTML contact sheet of a batch's posters"},
    {"campaign", cmd_campaign, "campaign plan|run|install FILE  scheduled campaigns (plan, one firing, systemd timer)"},
    {"workers", cmd_workers, "workers [--json]                the workers running, their models and health"},
    {"init", cmd_init, "init                            create the configured queue, table, bucket"},
    {"approve", cmd_approve, "approve JOB ... | --all BATCH   mark proofs approved (who and when)"},
    {"reject", cmd_reject, "reject JOB ... | --all BATCH    mark proofs rejected"},
    {"promote", cmd_promote, "promote BATCH --model M         generate the approved proofs on a paid model"},
    {"models", cmd_models, "models [--json] [--refresh]     Bedrock's image models: lifecycle, access, price"},
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: onesheet [--config FILE] COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(fp, "  %s\n", commands[i].summary);
    fprintf(fp, "\n`onesheet COMMAND --help` shows a command's options.\n");
}

int main(int argc, char **argv)
{
    cli_t cli;
    int i = 1;

    memset(&cli, 0, sizeof cli);
    log_init("onesheet", LOG_WARN, false);
    /* Over the file-size limit a write fails with EFBIG, which each writer
     * reports naming its file, instead of the signal killing us silently. */
    signal(SIGXFSZ, SIG_IGN);
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            cli.config_path = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            cli.config_path = argv[i] + 9;
            i++;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("onesheet %s\n", ONESHEET_VERSION);
            return 0;
        } else {
            fprintf(stderr, "onesheet: unknown option %s\n", CLI_SHOWN(argv[i]));
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EX_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof *commands; c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            char prog[64];
            snprintf(prog, sizeof prog, "onesheet %s", commands[c].name);
            cli.prog = prog;
            int rc = commands[c].fn(&cli, argc - i, argv + i);
            cli_close(&cli);
            /* A full disk or the file-size limit under a redirected stdout
             * must not pass as success. */
            errno = 0;
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "%s: standard output: %s\n", prog,
                        errno ? strerror(errno) : "write error");
                return rc ? rc : EX_IOERR;
            }
            return rc;
        }
    }
    fprintf(stderr, "onesheet: unknown command \"%s\"\n",
            CLI_SHOWN(argv[i]));
    usage(stderr);
    return EX_USAGE;
}
