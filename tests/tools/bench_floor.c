/* bench_floor — the CPU one job's unavoidable byte work costs on this
 * machine, with no HTTP, signing, JSON, queue or ledger: the floor issue 5's
 * "≤ 3 ms of worker CPU per job" is measured against (make bench).
 *
 * Per job, as the worker must (DESIGN.md's order of operations, issue 8):
 *   - receive the reply's base64 image (4/3 × --image-bytes) over loopback
 *     TCP in --chunk reads, as a streamed InvokeModel reply arrives;
 *   - decode it (b64fast, the worker's decoder) into one image buffer;
 *   - SHA-256 the image as it is decoded (the checksum S3 and the ledger
 *     are given; the poster's hash continues it, so one pass);
 *   - send the image twice over loopback TCP (JOB.raw.png and JOB.png).
 * --sends N and --no-sha256 leave parts out, to show what a change of
 * contract (one stored object, no SHA-256) would be worth; --crc64nvme
 * keeps a running CRC-64/NVME instead of the SHA-256 (issue 21's contract:
 * the checksum S3 keeps by default), so "--sends 1 --crc64nvme" is
 * today's floor for a text-less poster.
 * The peer is a forked child; only this process's user + sys CPU is
 * counted (getrusage RUSAGE_SELF), as only the worker's is in the bench.
 * The same image is also hashed and decoded in memory alone, to split the
 * total into its parts.
 *
 * Output, one key=value line each:
 *   bench=floor part=sha256 ms_per_job=…   (in memory, thread CPU)
 *   bench=floor part=decode ms_per_job=…   (in memory, thread CPU)
 *   bench=floor part=all jobs=… image_bytes=… chunk=… user_ms_per_job=…
 *       sys_ms_per_job=… ms_per_job=… sha256=HEX   (the image received)
 * --dump FILE writes the image the peer sends, so a test can check that
 * what was received, decoded and hashed is that image. */
#include "base/b64fast.h"
#include "base/buf.h"
#include "base/crc64nvme.h"
#include "base/crypto.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static double thread_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static int loopback_socket(struct sockaddr_in *a)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return s;
}

static void write_all(int fd, const void *p, size_t len, size_t chunk)
{
    const uint8_t *b = p;
    while (len) {
        ssize_t w = send(fd, b, len < chunk ? len : chunk, MSG_NOSIGNAL);
        if (w <= 0)
            die("send");
        b += w;
        len -= (size_t)w;
    }
}

/* The peer: per job, on a request byte, sends the base64 on conn a, then
 * reads the two images back on conn b and acknowledges them. */
static void peer(int listener, const buf_t *b64, size_t want, int jobs)
{
    static uint8_t sink[1 << 20];
    int a = accept(listener, NULL, NULL), b = accept(listener, NULL, NULL);
    if (a < 0 || b < 0)
        die("accept");
    for (int i = 0; i < jobs; i++) {
        char c;
        if (read(a, &c, 1) != 1)
            _exit(1);
        write_all(a, b64->data, b64->len, 1 << 20);
        for (size_t got = 0; got < want;) {
            ssize_t r = read(b, sink, sizeof sink);
            if (r <= 0)
                _exit(1);
            got += (size_t)r;
        }
        if (write(b, "k", 1) != 1)
            _exit(1);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    long n_jobs = 100, n_image = 2000000, n_chunk = 256 * 1024, n_sends = 2;
    bool hash = true, crc = false, ok = true;
    const char *dump = NULL;
    for (int i = 1; i < argc && ok; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-sha256") == 0 || strcmp(a, "--crc64nvme") == 0) {
            hash = false;
            crc = crc || strcmp(a, "--crc64nvme") == 0;
            continue;
        }
        if (!v)
            ok = false;
        else if (strcmp(a, "--jobs") == 0)
            ok = tu_parse_long(v, 1, 1000000, &n_jobs);
        else if (strcmp(a, "--image-bytes") == 0)
            ok = tu_parse_long(v, 3, 64L << 20, &n_image);
        else if (strcmp(a, "--chunk") == 0)
            ok = tu_parse_long(v, 4, 16L << 20, &n_chunk);
        else if (strcmp(a, "--sends") == 0)
            ok = tu_parse_long(v, 0, 4, &n_sends);
        else if (strcmp(a, "--dump") == 0)
            dump = v;
        else
            ok = false;
        i++;
    }
    if (!ok) {
        fprintf(stderr, "usage: bench_floor [--jobs 1..1000000] [--image-bytes 3..64 MiB] "
                        "[--chunk 4..16 MiB] [--sends 0..4] [--no-sha256] [--crc64nvme] "
                        "[--dump FILE]\n");
        return 64;
    }
    int jobs = (int)n_jobs, sends = (int)n_sends;
    size_t chunk = (size_t)n_chunk;
    size_t image = (size_t)n_image - (size_t)n_image % 3;   /* whole base64 groups: no padding */

    /* Incompressible bytes, like a PNG's compressed data. */
    uint8_t *img = malloc(image), *out = malloc(image), *in = malloc(chunk + 4);
    buf_t b64 = BUF_INIT;
    if (!img || !out || !in)
        die("malloc");
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < image; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        img[i] = (uint8_t)(x >> 32);
    }
    if (base64_encode(img, image, &b64) != ERR_OK)
        die("base64_encode");
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (!f || fwrite(img, 1, image, f) != image || fclose(f) != 0)
            die(dump);
    }

    /* The parts in memory: one SHA-256 pass, one decode. */
    uint8_t md[SHA256_LEN];
    int reps = jobs < 20 ? jobs : 20;
    double t0 = thread_ms();
    for (int i = 0; i < reps; i++)
        if (crypto_sha256(img, image, md) != ERR_OK)
            die("sha256");
    double sha_ms = (thread_ms() - t0) / reps;
    t0 = thread_ms();
    for (int i = 0; i < reps; i++)
        if (b64fast_decode(b64.data, b64.len, out) != b64.len)
            die("decode");
    double dec_ms = (thread_ms() - t0) / reps;
    uint64_t sum = 0;
    t0 = thread_ms();
    for (int i = 0; i < reps; i++)
        sum ^= crc64nvme(img, image);
    double crc_ms = (thread_ms() - t0) / reps;
    uint64_t want_crc = crc64nvme(img, image);

    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int ls = loopback_socket(&a);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) != 0)
        die("listen");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0)
        peer(ls, &b64, (size_t)sends * image, jobs);
    close(ls);
    struct sockaddr_in unused;
    int ca = loopback_socket(&unused), cb = loopback_socket(&unused);
    if (connect(ca, (struct sockaddr *)&a, sizeof a) != 0 ||
        connect(cb, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    for (int j = 0; j < jobs; j++) {
        crypto_sha256_ctx *h = crypto_sha256_new();
        uint64_t c = CRC64NVME_INIT;
        size_t got = 0, carry = 0, olen = 0;
        if (!h || write(ca, "r", 1) != 1)
            die("request");
        while (got < b64.len) {
            ssize_t r = recv(ca, in + carry, chunk, 0);
            if (r <= 0)
                die("recv");
            got += (size_t)r;
            size_t have = carry + (size_t)r, used = b64fast_decode(in, have, out + olen);
            if (hash && crypto_sha256_update(h, out + olen, used / 4 * 3) != ERR_OK)
                die("sha256");
            if (crc)
                c = crc64nvme_update(c, out + olen, used / 4 * 3);
            olen += used / 4 * 3;
            carry = have - used;
            memmove(in, in + used, carry);
        }
        /* crypto_sha256_final frees h. */
        if (crypto_sha256_final(h, md) != ERR_OK || carry || olen != image) {
            fprintf(stderr, "bench_floor: received %zu of %zu bytes\n", olen, image);
            return 1;
        }
        if (crc && c != want_crc)
            die("crc64nvme");
        for (int k = 0; k < sends; k++)
            write_all(cb, out, olen, chunk);
        char k;
        if (read(cb, &k, 1) != 1)
            die("ack");
    }
    getrusage(RUSAGE_SELF, &r1);
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_floor: the peer failed\n");
        return 1;
    }
    double user = (tv_ms(r1.ru_utime) - tv_ms(r0.ru_utime)) / jobs;
    double sys = (tv_ms(r1.ru_stime) - tv_ms(r0.ru_stime)) / jobs;
    char hex[SHA256_HEX_LEN];
    hex_encode(md, SHA256_LEN, hex);
    printf("bench=floor part=sha256 ms_per_job=%.3f\n", sha_ms);
    printf("bench=floor part=decode ms_per_job=%.3f\n", dec_ms);
    printf("bench=floor part=crc64nvme ms_per_job=%.3f impl=%s crc=%016llx\n", crc_ms + 0 * (double)sum,
           crc64nvme_impl(), (unsigned long long)want_crc);
    printf("bench=floor part=all jobs=%d image_bytes=%zu chunk=%zu sends=%d hash=%s "
           "user_ms_per_job=%.3f sys_ms_per_job=%.3f ms_per_job=%.3f sha256=%s\n",
           jobs, image, chunk, sends, hash ? "sha256" : crc ? "crc64nvme" : "none", user, sys,
           user + sys,
           hash ? hex : "-");
    buf_free(&b64);
    free(img);
    free(out);
    free(in);
    return 0;
}
