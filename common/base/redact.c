/* redact — see redact.h. */
#include "base/redact.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SECRETS 64
#define MASK "[redacted]"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[MAX_SECRETS];
static size_t nsecrets;

void redact_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 8)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], secret) == 0) {
            pthread_mutex_unlock(&lock);
            return;
        }
    char *copy = strdup(secret);
    if (copy) {
        if (nsecrets == MAX_SECRETS) {
            free(secrets[0]);
            memmove(secrets, secrets + 1, (MAX_SECRETS - 1) * sizeof *secrets);
            nsecrets--;
        }
        secrets[nsecrets++] = copy;
    }
    pthread_mutex_unlock(&lock);
}

void redact_reset(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nsecrets; i++)
        free(secrets[i]);
    nsecrets = 0;
    pthread_mutex_unlock(&lock);
}

/* Replaces s[start, end) with MASK, keeping the string within cap. */
static size_t splice(char *s, size_t cap, size_t start, size_t end)
{
    size_t len = strlen(s), mlen = strlen(MASK);
    size_t tail = len - end;

    if (start + mlen + tail + 1 > cap) {
        /* No room for the mask: cut the string at start. */
        s[start] = '\0';
        return start;
    }
    memmove(s + start + mlen, s + end, tail + 1);
    memcpy(s + start, MASK, mlen);
    return start + mlen;
}

static void scrub_literal(char *s, size_t cap, const char *secret)
{
    size_t slen = strlen(secret);
    char *p = s;

    while ((p = strstr(p, secret)) != NULL) {
        size_t at = (size_t)(p - s);
        size_t next = splice(s, cap, at, at + slen);
        p = s + next;
    }
}

/* Masks the value that follows each occurrence of key (case-insensitive),
 * up to the next '&', whitespace, quote, ',' or end. */
static void scrub_after(char *s, size_t cap, const char *key)
{
    size_t klen = strlen(key);

    for (size_t i = 0; s[i]; i++) {
        if (strncasecmp(s + i, key, klen) != 0)
            continue;
        size_t start = i + klen, end = start;
        while (s[end] && s[end] != '&' && s[end] != ' ' && s[end] != '"' &&
               s[end] != '\'' && s[end] != ',' && s[end] != '\n' &&
               s[end] != '\t')
            end++;
        if (end == start)
            continue;
        if (strncmp(s + start, MASK, strlen(MASK)) == 0)
            continue;
        i = splice(s, cap, start, end) - 1;
    }
}

void redact_inplace(char *s, size_t cap)
{
    static const char *const keys[] = {
        "X-Amz-Signature=", "X-Amz-Credential=", "X-Amz-Security-Token=",
        "Signature=", "x-amz-security-token:", "aws_secret_access_key=",
        "aws_session_token=",
    };

    if (!s || cap == 0)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nsecrets; i++)
        scrub_literal(s, cap, secrets[i]);
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        scrub_after(s, cap, keys[i]);
}
