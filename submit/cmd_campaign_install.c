/* campaign install — writes onesheet-campaign@NAME.timer and .service for a
 * campaign, each atomically (temporary file, then rename), and says how to
 * enable them.
 *
 * Where (issue 22): for this user's systemd (~/.config/systemd/user, the
 * campaign copied to ~/.config/onesheet/campaigns/) unless --system is
 * given (/etc/systemd/system, /etc/onesheet/campaigns/); the service runs
 * the installed binary ($PREFIX/bin/onesheet, or --bin) on that copy, so
 * it needs nothing from a checkout or a home directory.  --dir must name
 * an existing directory; --dry-run prints the units and writes nothing. */
#include "campaign/campaign.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#ifndef ONESHEET_PREFIX
#define ONESHEET_PREFIX "/usr/local"
#endif

#define SYSTEM_UNIT_DIR "/etc/systemd/system"
#define SYSTEM_CAMPAIGN_DIR "/etc/onesheet/campaigns"

/* Writes len bytes of data to dir/name through dir/name.tmp and a rename;
 * prints the path.  Returns 0 or the exit status after saying why. */
static int write_file(cli_t *cli, const char *dir, const char *name, const char *data,
                      size_t len, char *path, size_t cap)
{
    char tmp[PATH_MAX + 8];
    if (snprintf(path, cap, "%s/%s", dir, name) >= (int)cap) {
        fprintf(stderr, "%s: %s: path too long\n", cli->prog, dir);
        return EX_USAGE;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp || fwrite(data, 1, len, fp) != len || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        fprintf(stderr, "%s: %s: %s\n", cli->prog, tmp, strerror(errno));
        if (fp)
            fclose(fp);
        unlink(tmp);
        return EX_CANTCREAT;
    }
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: %s: %s\n", cli->prog, path, strerror(errno));
        unlink(tmp);
        return EX_CANTCREAT;
    }
    printf("%s\n", path);
    return 0;
}

/* mkdir -p dir (mode 0755).  Returns 0 or the exit status after saying why. */
static int make_dirs(cli_t *cli, const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return EX_USAGE;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                fprintf(stderr, "%s: cannot create %s: %s\n", cli->prog, p, strerror(errno));
                return EX_CANTCREAT;
            }
            *s = c;
            if (!c)
                return 0;
        }
    }
}

/* The user's configuration directory ($XDG_CONFIG_HOME, ~/.config) + sub. */
static bool user_dir(const char *sub, char *out, size_t cap)
{
    const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (x && *x == '/')
        return snprintf(out, cap, "%s/%s", x, sub) < (int)cap;
    return home && *home && snprintf(out, cap, "%s/.config/%s", home, sub) < (int)cap;
}

typedef struct {
    const char *dir, *campaigns, *bin;
    bool system, dry_run;
} install_opts_t;

static int usage(FILE *fp, int status)
{
    fprintf(fp,
            "usage: onesheet campaign install FILE [--system] [--dir DIR] [--campaigns DIR]\n"
            "                                 [--bin PATH] [--dry-run]\n"
            "  --system         for the system's systemd: units in " SYSTEM_UNIT_DIR ",\n"
            "                   the campaign copied to " SYSTEM_CAMPAIGN_DIR "/ (as root)\n"
            "                   (default: this user's: ~/.config/systemd/user and\n"
            "                   ~/.config/onesheet/campaigns/, for systemctl --user)\n"
            "  --dir DIR        write the units into DIR instead (it must exist)\n"
            "  --campaigns DIR  copy the campaign file into DIR instead\n"
            "  --bin PATH       the onesheet the service runs (default "
            ONESHEET_PREFIX "/bin/onesheet)\n"
            "  --dry-run        print the units and where they would go; write nothing\n");
    return status;
}

/* Writes (or with dry_run prints) the copy of the campaign and the units. */
static int install(cli_t *cli, const install_opts_t *o, const campaign_t *c,
                   const char *data, size_t len)
{
    char units[PATH_MAX], camps[PATH_MAX], copy[PATH_MAX], path[PATH_MAX], name[300];
    buf_t timer = BUF_INIT, service = BUF_INIT;
    campaign_t check;
    err_t e;
    int rc;

    snprintf(units, sizeof units, "%s", o->dir ? o->dir : SYSTEM_UNIT_DIR);
    snprintf(camps, sizeof camps, "%s", o->campaigns ? o->campaigns : SYSTEM_CAMPAIGN_DIR);
    if ((!o->system && !o->dir && !user_dir("systemd/user", units, sizeof units)) ||
        (!o->system && !o->campaigns && !user_dir("onesheet/campaigns", camps, sizeof camps))) {
        fprintf(stderr, "%s: HOME is not set: give --dir and --campaigns, or --system\n",
                cli->prog);
        return EX_USAGE;
    }
    snprintf(name, sizeof name, "%s.json", c->name);
    if (snprintf(copy, sizeof copy, "%s/%s", camps, name) >= (int)sizeof copy) {
        fprintf(stderr, "%s: %s: path too long\n", cli->prog, camps);
        return EX_USAGE;
    }
    err_clear(&e);
    rc = (o->system ? campaign_units : campaign_units_user)(c, copy, o->bin, &timer, &service,
                                                              &e);
    if (rc != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    if (o->dry_run) {
        printf("# %s (a copy of %s)\n# %s/onesheet-campaign@%s.service\n%s\n"
               "# %s/onesheet-campaign@%s.timer\n%s", copy, c->path, units, c->name,
               (char *)service.data, units, c->name, (char *)timer.data);
        goto out;
    }
    if ((!o->dir && (rc = make_dirs(cli, units)) != 0) || (rc = make_dirs(cli, camps)) != 0)
        goto out;
    if ((rc = write_file(cli, camps, name, data, len, path, sizeof path)) != 0)
        goto out;
    /* The copy must load where it is: a path relative to the original
     * (prompts_file, a variables file) would not. */
    memset(&check, 0, sizeof check);
    if (campaign_load(copy, &check, &e) != ERR_OK) {
        fprintf(stderr, "%s: the copy %s does not load (%s): give the campaign's files as "
                "absolute paths; nothing installed\n", cli->prog, copy, e.msg);
        campaign_free(&check);
        unlink(copy);
        rc = EX_DATAERR;
        goto out;
    }
    campaign_free(&check);
    snprintf(name, sizeof name, "onesheet-campaign@%s.service", c->name);
    if ((rc = write_file(cli, units, name, (char *)service.data, service.len, path,
                         sizeof path)) != 0)
        goto out;
    snprintf(name, sizeof name, "onesheet-campaign@%s.timer", c->name);
    if ((rc = write_file(cli, units, name, (char *)timer.data, timer.len, path,
                         sizeof path)) != 0)
        goto out;
    if (access(o->bin, X_OK) != 0)
        fprintf(stderr, "%s: note: %s is not installed yet (make install, or give --bin)\n",
                cli->prog, o->bin);
    fprintf(stderr, "%s: installed; enable with: systemctl%s daemon-reload && systemctl%s "
            "enable --now onesheet-campaign@%s.timer\n", cli->prog, o->system ? "" : " --user",
            o->system ? "" : " --user", c->name);
out:
    buf_free(&timer);
    buf_free(&service);
    return rc;
}

int cmd_campaign_install(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"bin", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'}, {"system", no_argument, NULL, 's'},
        {"campaigns", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    install_opts_t o = {.bin = ONESHEET_PREFIX "/bin/onesheet"};
    campaign_t c;
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    err_t e;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': o.dir = optarg; break;
        case 'b': o.bin = optarg; break;
        case 's': o.system = true; break;
        case 'c': o.campaigns = optarg; break;
        case 'n': o.dry_run = true; break;
        case 'h': return usage(stdout, 0);
        default: return usage(stderr, EX_USAGE);
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "%s: give exactly one campaign FILE\n", cli->prog);
        return EX_USAGE;
    }
    if (o.dir && (stat(o.dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "%s: --dir %s: no such directory (create it first, or leave --dir "
                "out for the default); nothing installed\n", cli->prog, CLI_SHOWN(o.dir));
        return EX_USAGE;
    }
    err_clear(&e);
    memset(&c, 0, sizeof c);
    if (campaign_load(argv[optind], &c, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    FILE *fp = fopen(argv[optind], "r");
    int got = fp ? cli_read_limited(fp, 16 << 20, &data, &len) : -1;
    if (fp)
        fclose(fp);
    if (got != 0) {
        fprintf(stderr, "%s: %s: cannot read: %s\n", cli->prog, CLI_SHOWN(argv[optind]),
                got > 0 ? "over 16 MiB" : strerror(errno));
        rc = EX_NOINPUT;
        goto out;
    }
    rc = install(cli, &o, &c, data, len);
out:
    free(data);
    campaign_free(&c);
    return rc;
}
