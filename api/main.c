/* onesheet-api — the original service's HTTP contract (POST
 * /generate-poster) plus the job and batch endpoints, served over HTTP
 * (--listen) or as an AWS Lambda custom runtime (--lambda).  Arguments and
 * wiring only: routing lives in common/api/api_router.c. */
#include "server.h"

#include "base/log.h"
#include "setup/version.h"

#include <getopt.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: onesheet-api [--listen ADDR:PORT | --lambda] [options]\n"
            "      --listen ADDR:PORT    serve HTTP (default 127.0.0.1:8080; port 0: any)\n"
            "      --lambda              run as an AWS Lambda custom runtime\n"
            "      --sync-timeout S      POST /generate-poster waits up to S seconds (25)\n"
            "      --rate-limit N        requests per second per API key (10; 0: none)\n"
            "      --burst N             requests a key may make at once (2 x rate)\n"
            "      --max-connections N   concurrent connections (256)\n"
            "      --conn-timeout S      drop idle connections after S seconds (15)\n"
            "      --request-timeout S   a whole request (headers and body) must arrive\n"
            "                            within S seconds, else 408 (10; 1-300)\n"
            "      --max-per-client N    connections per client address\n"
            "                            (max-connections / 4, at least 4)\n"
            "      --port-file FILE      write the bound port to FILE\n"
            "      --config FILE         config file\n"
            "      --log-json            JSON log lines\n"
            "      --log-level L         debug, info, warn or error\n"
            "      --version             version and commit; with -v the libraries' versions\n"
            "  -h, --help\n"
            "API keys: api_keys in the config (or ONESHEET_API_KEYS) lists SHA-256 hex\n"
            "digests of the keys clients send in x-api-key; with none, only a loopback\n"
            "address may be served.\n");
}

/* --dump-options: the option table, one option a line ("--name", "=" after
 * those taking a value), for the manual page and the completions; the
 * hidden option itself is left out. */
static int dump_options(const struct option *opts)
{
    for (const struct option *o = opts; o->name; o++)
        if (o->val != 'D')
            printf("--%s%s\n", o->name, o->has_arg == no_argument ? "" : "=");
    printf("-h\n-v\n");
    return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"lambda", no_argument, NULL, 'L'},
        {"sync-timeout", required_argument, NULL, 's'},
        {"rate-limit", required_argument, NULL, 'r'}, {"burst", required_argument, NULL, 'b'},
        {"max-connections", required_argument, NULL, 'm'},
        {"conn-timeout", required_argument, NULL, 't'},
        {"request-timeout", required_argument, NULL, 'R'},
        {"max-per-client", required_argument, NULL, 'P'},
        {"port-file", required_argument, NULL, 'p'}, {"config", required_argument, NULL, 'c'},
        {"log-json", no_argument, NULL, 'j'}, {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"dump-options", no_argument, NULL, 'D'},  /* hidden: tools/gen-docs.sh */
        {NULL, 0, NULL, 0},
    };
    server_options_t so = {.listen = "127.0.0.1:8080", .max_connections = 256,
                           .conn_timeout_s = 15, .request_timeout_s = 10, .drain_s = 5};
    api_options_t ao = {.sync_timeout_s = 25, .poll_interval_s = 0.25, .rate_per_s = 10};
    const char *config_path = NULL, *level = NULL;
    bool lambda = false, json = false, version = false, verbose = false;

    /* --version, wherever it stands, answers alone; -v with it adds the
     * libraries' versions. */
    for (int k = 1; k < argc; k++)
        if (strcmp(argv[k], "-v") == 0)
            verbose = true;
    double v;
    int opt, status;
    config_t cfg;
    err_t e;

    for (int k = 1; k < argc; k++)
        version |= strcmp(argv[k], "--version") == 0;
    while (!version && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': so.listen = optarg; break;
        case 'L': lambda = true; break;
        case 's':
        case 'r':
        case 'b':
        case 'm':
        case 't':
            if (!parse_num(optarg, opt == 'm' || opt == 't' ? 1 : 0,
                           opt == 's' ? 900 : 1e6, &v)) {
                fprintf(stderr, "onesheet-api: --%s: expected a number from %d to %s, "
                        "got \"%s\"\n",
                        opt == 's' ? "sync-timeout" : opt == 'r' ? "rate-limit"
                        : opt == 'b' ? "burst" : opt == 'm' ? "max-connections"
                        : "conn-timeout", opt == 'm' || opt == 't' ? 1 : 0,
                        opt == 's' ? "900" : "1000000", optarg);
                return EX_USAGE;
            }
            if (opt == 's') ao.sync_timeout_s = v;
            else if (opt == 'r') ao.rate_per_s = v;
            else if (opt == 'b') ao.rate_burst = v;
            else if (opt == 'm') so.max_connections = (unsigned)v;
            else so.conn_timeout_s = (unsigned)v;
            break;
        case 'R':
        case 'P':
            if (!parse_num(optarg, 1, opt == 'R' ? 300 : 1e6, &v)) {
                fprintf(stderr, "onesheet-api: --%s: expected a number from 1 to %s, got \"%s\"\n",
                        opt == 'R' ? "request-timeout" : "max-per-client",
                        opt == 'R' ? "300" : "1000000", optarg);
                return EX_USAGE;
            }
            if (opt == 'R')
                so.request_timeout_s = (unsigned)v;
            else
                so.max_per_client = (unsigned)v;
            break;
        case 'p': so.port_file = optarg; break;
        case 'c': config_path = optarg; break;
        case 'j': json = true; break;
        case 'v':
            if (log_level_parse(optarg) < 0) {
                fprintf(stderr, "onesheet-api: --log-level: expected debug, info, warn or error\n");
                return EX_USAGE;
            }
            level = optarg;
            break;
        case 'h': usage(stdout); return 0;
        case 'V': version = true; break;
        case 'D': return dump_options(opts);
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (version) {
        char text[1024], mhd[64];
        snprintf(mhd, sizeof mhd, "libmicrohttpd %s", MHD_get_version());
        printf("%s\n", version_text(text, sizeof text, "onesheet-api", verbose, mhd));
        return 0;
    }
    if (optind < argc) {
        usage(stderr);
        return EX_USAGE;
    }
    err_clear(&e);
    if (config_load(&cfg, config_path, NULL, &e) != ERR_OK ||
        config_prepare_state(&cfg, &e) != ERR_OK) {
        fprintf(stderr, "onesheet-api: %s\n", e.msg);
        if (lambda)
            lambda_init_error("Runtime.ConfigError", e.msg);
        config_free(&cfg);
        return err_exit_status(e.code);
    }
    log_init("onesheet-api", (log_level_t)log_level_parse(level ? level : cfg.log_level),
             json || cfg.log_json);
    ao.cfg = &cfg;
    if (!lambda) {
        struct sockaddr_storage ss;
        unsigned len;
        if (server_parse_listen(so.listen, &ss, &len, &ao.loopback, &e) != 0) {
            fprintf(stderr, "onesheet-api: --listen: %s\n", e.msg);
            config_free(&cfg);
            return EX_USAGE;
        }
    }

    api_pool_t *pool = api_pool_new(&cfg, 64, &e);
    if (pool && !lambda) {
        size_t max_sets;
        unsigned long nofile = server_fit_nofile(&so, &max_sets);
        api_pool_set_max_out(pool, max_sets);
        log_info("limits", "nofile=%lu max_connections=%u max_per_client=%u max_handle_sets=%zu",
                 nofile, so.max_connections, so.max_per_client, max_sets);
    }
    api_t *api = pool ? api_new(&ao, pool, &e) : NULL;
    if (!api) {
        log_error("start_failed", "error=\"%s\"", e.msg);
        if (lambda)
            lambda_init_error("Runtime.ConfigError", e.msg);
        api_pool_free(pool);
        config_free(&cfg);
        return err_exit_status(e.code);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    status = lambda ? lambda_run(api, &stop_flag) : server_run(api, &so, &stop_flag);
    api_free(api);
    api_pool_free(pool);
    config_free(&cfg);
    return status;
}
