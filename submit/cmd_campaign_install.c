/* campaign install — writes onesheet-campaign@NAME.timer and .service for a
 * campaign file into a unit directory (default /etc/systemd/system), each
 * atomically (temporary file, then rename), and says how to enable it. */
#include "campaign/campaign.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static int write_unit(cli_t *cli, const char *dir, const char *name, const buf_t *text)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "%s: %s: path too long\n", cli->prog, dir);
        return EX_USAGE;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp || fwrite(text->data, 1, text->len, fp) != text->len || fflush(fp) != 0 ||
        fsync(fileno(fp)) != 0) {
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

/* The absolute path of the running onesheet binary, for ExecStart=. */
static bool self_path(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1)
        return false;
    out[n] = '\0';
    return true;
}

int cmd_campaign_install(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"bin", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *dir = "/etc/systemd/system", *bin = NULL;
    char self[PATH_MAX], abs[PATH_MAX], uname[CAMPAIGN_NAME_MAX + 40];
    campaign_t c;
    buf_t timer = BUF_INIT, service = BUF_INIT;
    err_t e;
    int opt, rc = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 'b': bin = optarg; break;
        case 'h':
            printf("usage: onesheet campaign install FILE [--dir DIR] [--bin PATH]\n"
                   "  --dir DIR    where to write the units (default /etc/systemd/system)\n"
                   "  --bin PATH   the onesheet binary the service runs (default: this one)\n");
            return 0;
        default: return EX_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "%s: give exactly one campaign FILE\n", cli->prog);
        return EX_USAGE;
    }
    err_clear(&e);
    if (campaign_load(argv[optind], &c, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    if (!realpath(argv[optind], abs)) {
        fprintf(stderr, "%s: %s: %s\n", cli->prog, argv[optind], strerror(errno));
        rc = EX_NOINPUT;
        goto out;
    }
    if (!bin) {
        if (!self_path(self, sizeof self)) {
            fprintf(stderr, "%s: cannot find this binary's path; give --bin\n", cli->prog);
            rc = EX_USAGE;
            goto out;
        }
        bin = self;
    }
    if (campaign_units(&c, abs, bin, &timer, &service, &e) != ERR_OK) {
        rc = cli_fail(cli, &e);
        goto out;
    }
    snprintf(uname, sizeof uname, "onesheet-campaign@%s.service", c.name);
    if ((rc = write_unit(cli, dir, uname, &service)) != 0)
        goto out;
    snprintf(uname, sizeof uname, "onesheet-campaign@%s.timer", c.name);
    if ((rc = write_unit(cli, dir, uname, &timer)) != 0)
        goto out;
    fprintf(stderr, "%s: installed; enable with: systemctl daemon-reload && systemctl enable "
            "--now onesheet-campaign@%s.timer\n", cli->prog, c.name);
out:
    buf_free(&timer);
    buf_free(&service);
    campaign_free(&c);
    return rc;
}
