/* cli_opts — the command line around the subcommands: options that are
 * global wherever they stand, and the option tables read where the code
 * uses them, for the generated manual pages and shell completions. */
#include "cli.h"

#undef getopt_long

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static FILE *dump_to;

void cli_dump_options(FILE *out)
{
    dump_to = out;
}

int cli_getopt_long(int argc, char *const *argv, const char *shortopts,
                    const struct option *longopts, int *longind)
{
    if (!dump_to)
        return getopt_long(argc, argv, shortopts, longopts, longind);
    /* The table this command parses with: one option a line, "=" after
     * those that take a value; then the short options. */
    for (const struct option *o = longopts; o && o->name; o++)
        fprintf(dump_to, "--%s%s\n", o->name, o->has_arg == no_argument ? "" : "=");
    for (const char *s = shortopts; s && *s; s++)
        if (*s != ':')
            fprintf(dump_to, "-%c%s\n", *s, s[1] == ':' ? "=" : "");
    fflush(dump_to);
    _exit(ferror(dump_to) ? 1 : 0);
}

int cli_take_globals(cli_t *cli, int *argc, char **argv)
{
    int out = 1;

    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            /* Operands from here on, however they look. */
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "%s: --config: expected a file name\n",
                        cli->prog ? cli->prog : "onesheet");
                return EX_USAGE;
            }
            cli->config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            cli->config_path = argv[i] + 9;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

const char *cli_searched(const cli_t *cli)
{
    static char where[600];
    const char *ledger = cli->cfg.ledger ? cli->cfg.ledger : "?";

    if (cli->cfg.state_dir && strstr(ledger, cli->cfg.state_dir))
        snprintf(where, sizeof where, "state directory %s (ledger %s)",
                 cli->cfg.state_dir, ledger);
    else
        snprintf(where, sizeof where, "ledger %s", ledger);
    return where;
}

bool cli_tty(int fd)
{
    const char *term = getenv("TERM");
    return isatty(fd) && !(term && strcmp(term, "dumb") == 0);
}
