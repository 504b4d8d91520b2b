/* onesheet — the command-line tool: submit prompts, watch and manage jobs.
 * Each subcommand lives in its own cmd_*.c file with an entry here. */
#include "cli.h"
#include "base/log.h"
#include "setup/version.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static int cmd_help(cli_t *cli, int argc, char **argv);

/* The commands: `onesheet help`, the manual page and the completions
 * (tools/gen-docs.sh, through --dump-commands) all list this table. */
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
    {"help", cmd_help, "help [COMMAND]                  this list, or a command's options"},
    {"models", cmd_models, "models [--json] [--refresh]     Bedrock's image models: lifecycle, access, price"},
};
#define N_COMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *fp)
{
    fprintf(fp, "usage: onesheet [--config FILE] COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %s\n", commands[i].summary);
    fprintf(fp, "\nglobal options (before or after the command):\n"
            "  --config FILE   the config file (default $ONESHEET_CONFIG,\n"
            "                  ~/.config/onesheet/config, /etc/onesheet/onesheet.conf)\n"
            "  --version [-v]  version and commit; with -v the libraries' versions\n"
            "  -h, --help      this text\n"
            "\n`onesheet help COMMAND` (or `onesheet COMMAND --help`) shows a command's options.\n");
}

static int find_command(const char *name)
{
    for (size_t c = 0; c < N_COMMANDS; c++)
        if (strcmp(name, commands[c].name) == 0)
            return (int)c;
    return -1;
}

/* help [COMMAND]: the list, or the command's own --help. */
static int cmd_help(cli_t *cli, int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    int c = find_command(argv[1]);
    if (c < 0 || commands[c].fn == cmd_help) {
        if (c < 0) {
            fprintf(stderr, "onesheet help: unknown command \"%s\"\n", CLI_SHOWN(argv[1]));
            usage(stderr);
            return EX_USAGE;
        }
        usage(stdout);
        return 0;
    }
    char *sub[] = {(char *)commands[c].name, "--help", NULL};
    char prog[64];
    snprintf(prog, sizeof prog, "onesheet %s", commands[c].name);
    cli->prog = prog;
    optind = 1;
    return commands[c].fn(cli, 2, sub);
}

/* The hidden options tools/gen-docs.sh builds the manual and the
 * completions from: --dump-commands (the table above), --dump-config (the
 * config keys and their environment variables), --dump-options COMMAND
 * [SUBCOMMAND].  Returns the exit status, or -1 when arg is neither. */
static int dump(cli_t *cli, int argc, char **argv, int i)
{
    if (strcmp(argv[i], "--dump-commands") == 0) {
        for (size_t c = 0; c < N_COMMANDS; c++)
            printf("%s\t%s\n", commands[c].name, commands[c].summary);
        return 0;
    }
    if (strcmp(argv[i], "--dump-config") == 0) {
        const char *key, *env;
        for (size_t k = 0; (key = config_key(k, &env)); k++)
            printf("%s\t%s\n", key, env);
        return 0;
    }
    if (strcmp(argv[i], "--dump-options") != 0)
        return -1;
    int c = i + 1 < argc ? find_command(argv[i + 1]) : -1;
    if (c < 0) {
        fprintf(stderr, "onesheet: --dump-options: expected a command name\n");
        return EX_USAGE;
    }
    if (commands[c].fn == cmd_help)
        return 0;
    /* A command with subcommands (campaign install) is named after it.
     * The command runs with --help and its stdout on /dev/null: one that
     * parses with getopt_long dumps its table (to the real stdout) and
     * exits; one that does not parse options takes --help alone. */
    char *sub[4] = {(char *)commands[c].name};
    int n = 1;
    if (i + 2 < argc)
        sub[n++] = argv[i + 2];
    sub[n++] = "--help";
    fflush(stdout);
    int fd = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out || null < 0 || dup2(null, STDOUT_FILENO) < 0) {
        fprintf(stderr, "onesheet: --dump-options: %s\n", strerror(errno));
        return EX_OSERR;
    }
    close(null);
    cli_dump_options(out);
    optind = 1;
    commands[c].fn(cli, n, sub);
    fprintf(out, "--help\n-h\n");
    return fclose(out) == 0 ? 0 : EX_IOERR;
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
            char text[1024];
            bool libs = false;
            for (int k = 1; k < argc; k++)
                libs |= strcmp(argv[k], "-v") == 0 || strcmp(argv[k], "--verbose") == 0;
            printf("%s\n", version_text(text, sizeof text, "onesheet", libs, NULL));
            return 0;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            i++;   /* only with --version */
        } else {
            int d = dump(&cli, argc, argv, i);
            if (d >= 0)
                return d;
            fprintf(stderr, "onesheet: unknown option %s\n", CLI_SHOWN(argv[i]));
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EX_USAGE;
    }
    for (size_t c = 0; c < N_COMMANDS; c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            char prog[64];
            int sub_argc = argc - i;
            snprintf(prog, sizeof prog, "onesheet %s", commands[c].name);
            cli.prog = prog;
            if (cli_take_globals(&cli, &sub_argc, argv + i) != 0)
                return EX_USAGE;
            int rc = commands[c].fn(&cli, sub_argc, argv + i);
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
