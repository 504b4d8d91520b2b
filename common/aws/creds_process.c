/* creds_process — the `credential_process` source.  See creds.h.
 *
 * The command runs under /bin/sh -c in its own process group (so a timeout
 * kills whatever it started too), with stdin from /dev/null and stdout and
 * stderr captured.  Its stdout must be the Version 1 JSON document:
 *   {"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ...,
 *    "SessionToken": ..., "Expiration": "2024-05-01T12:00:00Z"}
 * SessionToken and Expiration are optional (no Expiration: never expires). */
#include "aws/creds.h"
#include "base/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define STDERR_KEEP 512

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    pid_t pid;
    int out_fd, err_fd;
} child_t;

static err_code_t spawn(const char *command, child_t *ch, err_t *err)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, deflt;
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    int rc;

    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        int e = errno;
        if (po[0] >= 0) {
            close(po[0]);
            close(po[1]);
        }
        return err_set(err, ERR_IO, "credential_process: pipe: %s", strerror(e));
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGPIPE);
    sigaddset(&deflt, SIGINT);
    sigaddset(&deflt, SIGTERM);
    sigaddset(&deflt, SIGCHLD);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &deflt);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&ch->pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return err_set(err, ERR_IO, "credential_process: cannot run /bin/sh: %s",
                       strerror(rc));
    }
    ch->out_fd = po[0];
    ch->err_fd = pe[0];
    return ERR_OK;
}

static void kill_child(const child_t *ch)
{
    kill(-ch->pid, SIGKILL);
    kill(ch->pid, SIGKILL);
}

/* Reads both pipes until EOF, the deadline or the cap.  Returns ERR_OK,
 * ERR_TIMEOUT or ERR_TOOBIG (the caller kills the child on those). */
static err_code_t collect(child_t *ch, int64_t deadline, size_t cap, buf_t *out,
                          buf_t *errtext, err_t *err)
{
    char chunk[4096];

    while (ch->out_fd >= 0 || ch->err_fd >= 0) {
        struct pollfd pf[2];
        nfds_t n = 0;
        int64_t left = deadline - mono_ms();

        if (left <= 0)
            return ERR_TIMEOUT;
        if (ch->out_fd >= 0)
            pf[n++] = (struct pollfd){.fd = ch->out_fd, .events = POLLIN};
        if (ch->err_fd >= 0)
            pf[n++] = (struct pollfd){.fd = ch->err_fd, .events = POLLIN};
        int r = poll(pf, n, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_set(err, ERR_IO, "credential_process: poll: %s", strerror(errno));
        for (nfds_t i = 0; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(pf[i].fd, chunk, sizeof chunk);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            bool is_out = pf[i].fd == ch->out_fd;
            if (got <= 0) {
                close(pf[i].fd);
                if (is_out)
                    ch->out_fd = -1;
                else
                    ch->err_fd = -1;
                continue;
            }
            if (is_out) {
                if (out->len + (size_t)got > cap)
                    return ERR_TOOBIG;
                if (buf_append(out, chunk, (size_t)got) != ERR_OK)
                    return err_set(err, ERR_NOMEM, "credential_process: out of memory");
            } else if (errtext->len < STDERR_KEEP) {
                size_t room = STDERR_KEEP - errtext->len;
                if (buf_append(errtext, chunk, (size_t)got < room ? (size_t)got : room) != ERR_OK)
                    return err_set(err, ERR_NOMEM, "credential_process: out of memory");
            }
        }
    }
    return ERR_OK;
}

/* Waits for the child until the deadline; false on timeout. */
static bool reap(const child_t *ch, int64_t deadline, int *status)
{
    for (;;) {
        pid_t r = waitpid(ch->pid, status, WNOHANG);
        if (r == ch->pid)
            return true;
        if (r < 0 && errno != EINTR) {
            *status = -1;   /* someone else reaped it (a SIGCHLD handler) */
            return true;
        }
        if (mono_ms() >= deadline)
            return false;
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* The first line of the child's stderr, tamed for a message. */
static void first_line(const buf_t *b, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < b->len && j + 1 < cap; i++) {
        char c = (char)b->data[i];
        if (c == '\n') {
            if (j)
                break;
            continue;
        }
        out[j++] = (c < 0x20 || c == 0x7f) ? ' ' : c;
    }
    out[j] = '\0';
}

static err_code_t parse_reply(const buf_t *b, creds_t *out, err_t *err)
{
    const char *text = b->data ? (const char *)b->data : "";
    json_t *root = json_loadb(text, b->len, 0, NULL), *ver;
    bool v1;

    if (!root || !json_is_object(root)) {
        json_decref(root);
        return creds_parse_json(text, b->len, "credential_process", CREDS_SRC_PROCESS,
                                out, err);
    }
    ver = json_object_get(root, "Version");
    v1 = json_is_integer(ver) && json_integer_value(ver) == 1;
    json_decref(root);
    if (!v1)
        return err_set(err, ERR_INVALID, "credential_process: reply needs \"Version\": 1");
    return creds_parse_json(text, b->len, "credential_process", CREDS_SRC_PROCESS, out,
                            err);
}

err_code_t creds_process_run(const creds_options_t *opts, const char *command,
                             creds_t *out, err_t *err)
{
    long timeout = opts && opts->process_timeout_ms > 0 ? opts->process_timeout_ms : 60000;
    size_t cap = opts && opts->process_max_output ? opts->process_max_output : 64 * 1024;
    int64_t deadline = mono_ms() + timeout;
    child_t ch = {-1, -1, -1};
    buf_t so = BUF_INIT, se = BUF_INIT;
    int status = 0;
    err_code_t rc;

    *out = (creds_t)CREDS_INIT;
    if (!command || !*command)
        return err_set(err, ERR_CONFIG, "credential_process: empty command");
    rc = spawn(command, &ch, err);
    if (rc != ERR_OK)
        return rc;
    rc = collect(&ch, deadline, cap, &so, &se, err);
    if (rc == ERR_OK && !reap(&ch, deadline, &status))
        rc = ERR_TIMEOUT;
    if (rc != ERR_OK) {
        kill_child(&ch);
        reap(&ch, mono_ms() + 5000, &status);
        if (ch.out_fd >= 0)
            close(ch.out_fd);
        if (ch.err_fd >= 0)
            close(ch.err_fd);
        if (rc == ERR_TIMEOUT)
            err_set(err, rc, "credential_process: no reply within %ld ms; killed it",
                    timeout);
        else if (rc == ERR_TOOBIG)
            err_set(err, rc, "credential_process: output larger than %zu bytes", cap);
    } else if (status != -1 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        char line[200];
        first_line(&se, line, sizeof line);
        /* A process that printed its credentials to the wrong stream must
         * not have them quoted back. */
        if (strcasestr(line, "secret") || strcasestr(line, "token") || strchr(line, '{'))
            snprintf(line, sizeof line, "(stderr not shown: it looks like credentials)");
        if (WIFSIGNALED(status))
            rc = err_set(err, ERR_AUTH, "credential_process: killed by signal %d%s%s",
                         WTERMSIG(status), line[0] ? ": " : "", line);
        else
            rc = err_set(err, ERR_AUTH, "credential_process: exited with status %d%s%s",
                         WEXITSTATUS(status), line[0] ? ": " : "",
                         line);
    } else {
        rc = parse_reply(&so, out, err);
    }
    if (so.data)
        explicit_bzero(so.data, so.len);
    buf_free(&so);
    buf_free(&se);
    return rc;
}
