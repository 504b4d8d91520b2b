/* api_ratelimit — per-key token buckets for onesheet-api (see api.h).
 *
 * A handful of keys is the expected case (one per client application), so
 * the buckets live in a small array searched linearly under one mutex; the
 * array is capped so a flood of anonymous addresses cannot grow it. */
#include "api/api.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[64];
    double tokens;
    int64_t last_ms;
} bucket_t;

struct api_ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    bucket_t *b;
    size_t n, cap;
};

api_ratelimit_t *api_ratelimit_new(double rate_per_s, double burst, size_t max_keys)
{
    api_ratelimit_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = max_keys ? max_keys : 1;
    if (!(r->b = calloc(r->cap, sizeof *r->b))) {
        free(r);
        return NULL;
    }
    r->rate = rate_per_s;
    r->burst = burst < 1 ? 1 : burst;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void api_ratelimit_free(api_ratelimit_t *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r->b);
    free(r);
}

/* Finds key's bucket, or makes one (full) in a free slot or in place of the
 * least recently used. */
static bucket_t *find(api_ratelimit_t *r, const char *key, int64_t now_ms)
{
    size_t lru = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->b[i].key, key) == 0)
            return &r->b[i];
        if (r->b[i].last_ms < r->b[lru].last_ms)
            lru = i;
    }
    bucket_t *b = r->n < r->cap ? &r->b[r->n++] : &r->b[lru];
    snprintf(b->key, sizeof b->key, "%s", key);
    b->tokens = r->burst;
    b->last_ms = now_ms;
    return b;
}

int api_ratelimit_take(api_ratelimit_t *r, const char *key, int64_t now_ms)
{
    int wait = 0;
    pthread_mutex_lock(&r->mu);
    bucket_t *b = find(r, key, now_ms);
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) / 1000.0 * r->rate;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1)
        b->tokens -= 1;
    else {
        double secs = (1 - b->tokens) / r->rate;
        wait = (int)ceil(secs);
        if (wait < 1)
            wait = 1;
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}

int api_ratelimit_peek(api_ratelimit_t *r, const char *key, int64_t now_ms)
{
    int wait = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        bucket_t *b = &r->b[i];
        if (strcmp(b->key, key) != 0)
            continue;
        double tokens = b->tokens;
        if (now_ms > b->last_ms)
            tokens += (double)(now_ms - b->last_ms) / 1000.0 * r->rate;
        if (tokens < 1) {
            wait = (int)ceil((1 - tokens) / r->rate);
            if (wait < 1)
                wait = 1;
        }
        break;
    }
    pthread_mutex_unlock(&r->mu);
    return wait;
}
