/* queue_sqs_setup — opening an SQS queue (name or URL, its attributes and
 * dead-letter queue) and creating queues for `onesheet init`; the calls
 * shared with queue_sqs.c.  See queue_sqs.h. */
#include "queue/queue_sqs_internal.h"
#include "aws/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 76            /* NAME-dlq must fit SQS's 80 */
#define DLQ_RETENTION "1209600"    /* 14 days, SQS's longest */

/* ---- shared calls ---- */

aws_client_t *sqs_client_new(sqs_t *q, err_t *err)
{
    return q->base_url ? aws_client_new_url(q->env, ENDPOINT_SQS, q->base_url, q->region, err)
                       : aws_client_new(q->env, ENDPOINT_SQS, err);
}

err_code_t sqs_call(aws_client_t *c, const char *op, json_t *body, long timeout_ms,
                    json_t **reply, err_t *err)
{
    char target[64];
    json_t *r = NULL;
    snprintf(target, sizeof target, "AmazonSQS.%s", op);
    if (reply)
        *reply = NULL;
    if (!body)
        return err_set(err, ERR_INVALID, "%s: cannot encode the request "
                       "(invalid UTF-8 or out of memory)", target);
    aws_json_opts_t o = {.timeout_ms = timeout_ms};
    err_code_t rc = aws_json_call_opts(c, target, body, &o, &r, err);
    json_decref(body);
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return rc;
}

const char *sqs_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

bool sqs_parse_count(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= 0;
    }
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return false;
    *out = strtoll(s, NULL, 10);
    return true;
}

err_code_t sqs_counts(aws_client_t *c, const char *url, const char *const *names,
                      size_t n, int64_t *out, err_t *err)
{
    json_t *list = json_array(), *reply = NULL;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(names[i]));
    err_code_t rc = sqs_call(c, "GetQueueAttributes",
                             json_pack("{s:s,s:o}", "QueueUrl", url, "AttributeNames", list),
                             0, &reply, err);
    const json_t *attrs = json_object_get(reply, "Attributes");
    for (size_t i = 0; rc == ERR_OK && i < n; i++)
        if (!sqs_parse_count(json_object_get(attrs, names[i]), &out[i]))
            rc = err_set(err, ERR_INVALID, "AmazonSQS.GetQueueAttributes: %s is missing or "
                         "not a count", names[i]);
    json_decref(reply);
    return rc;
}

/* ---- names, URLs, ARNs ---- */

static bool name_ok(const char *name, size_t max)
{
    size_t n = strlen(name);
    return n > 0 && n <= max &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789_-") == n;
}

/* The region in an AWS queue URL's host (sqs.R.amazonaws.com[.cn],
 * R.queue.amazonaws.com, queue.amazonaws.com), copied into out; false for
 * other hosts (emulators, VPC endpoints), which use the env's region. */
static bool host_region(const char *host, char *out, size_t cap)
{
    const char *dot;
    if (strcmp(host, "queue.amazonaws.com") == 0)
        return (size_t)snprintf(out, cap, "us-east-1") < cap;
    if (strncmp(host, "sqs.", 4) == 0 && (dot = strchr(host + 4, '.')) &&
        strncmp(dot, ".amazonaws.com", 14) == 0)
        return (size_t)snprintf(out, cap, "%.*s", (int)(dot - host - 4), host + 4) < cap;
    if ((dot = strchr(host, '.')) && strcmp(dot, ".queue.amazonaws.com") == 0)
        return (size_t)snprintf(out, cap, "%.*s", (int)(dot - host), host) < cap;
    return false;
}

/* GetQueueUrl; a missing queue is ERR_NOTFOUND.  *url: new string. */
static err_code_t queue_url(aws_client_t *c, const char *name, const char *owner,
                            char **url, err_t *err)
{
    json_t *reply = NULL;
    err_t e;
    err_clear(&e);
    json_t *body = owner ? json_pack("{s:s,s:s}", "QueueName", name,
                                     "QueueOwnerAWSAccountId", owner)
                         : json_pack("{s:s}", "QueueName", name);
    err_code_t rc = sqs_call(c, "GetQueueUrl", body, 0, &reply, &e);
    const char *u = sqs_str(reply, "QueueUrl");
    *url = NULL;
    if (rc != ERR_OK && (strcmp(e.service_code, "QueueDoesNotExist") == 0 ||
                         strcmp(e.service_code, "NonExistentQueue") == 0))
        rc = e.code = ERR_NOTFOUND;
    else if (rc == ERR_OK && (!u || !*u))
        rc = err_set(&e, ERR_INVALID, "AmazonSQS.GetQueueUrl: reply has no QueueUrl");
    else if (rc == ERR_OK && !(*url = strdup(u)))
        rc = err_set(&e, ERR_NOMEM, "out of memory");
    json_decref(reply);
    if (rc != ERR_OK && err)
        *err = e;
    return rc;
}

/* Reads a RedrivePolicy (a JSON text) into its target ARN and count. */
static err_code_t parse_redrive(const char *text, char **arn, int64_t *count, err_t *err)
{
    json_error_t je;
    json_t *p = text ? json_loads(text, 0, &je) : NULL;
    const char *a = sqs_str(p, "deadLetterTargetArn");
    err_code_t rc = ERR_OK;
    *arn = NULL;
    if (!json_is_object(p) || !a || !sqs_parse_count(json_object_get(p, "maxReceiveCount"),
                                                     count) || *count < 1)
        rc = err_set(err, ERR_INVALID, "RedrivePolicy is not {\"deadLetterTargetArn\": ..., "
                     "\"maxReceiveCount\": N}");
    else if (!(*arn = strdup(a)))
        rc = err_set(err, ERR_NOMEM, "out of memory");
    json_decref(p);
    return rc;
}

/* Splits arn:PARTITION:sqs:REGION:ACCOUNT:NAME into account and name. */
static bool split_arn(const char *arn, char *acct, size_t acap, char *name, size_t ncap)
{
    const char *p = arn;
    for (int i = 0; i < 4 && p; i++)
        if ((p = strchr(p, ':')))
            p++;
    const char *colon = p ? strchr(p, ':') : NULL;
    if (strncmp(arn, "arn:", 4) != 0 || !colon || strchr(colon + 1, ':'))
        return false;
    return colon > p && (size_t)(colon - p) < acap && name_ok(colon + 1, 80) &&
           (size_t)snprintf(acct, acap, "%.*s", (int)(colon - p), p) < acap &&
           (size_t)snprintf(name, ncap, "%s", colon + 1) < ncap;
}

/* Reads MaximumMessageSize and the RedrivePolicy; finds the DLQ. */
static err_code_t read_attrs(sqs_t *q, err_t *err)
{
    json_t *reply = NULL;
    char *arn = NULL, acct[64], dname[96];
    int64_t v = 0, count = 0;
    err_code_t rc = sqs_call(q->c, "GetQueueAttributes",
                             json_pack("{s:s,s:[s,s]}", "QueueUrl", q->url, "AttributeNames",
                                       "MaximumMessageSize", "RedrivePolicy"),
                             0, &reply, err);
    const json_t *attrs = json_object_get(reply, "Attributes");
    const json_t *mms = json_object_get(attrs, "MaximumMessageSize");
    const json_t *rp = json_object_get(attrs, "RedrivePolicy");
    q->max_msg = SQS_DEFAULT_MAX_MSG;
    q->base.max_receives = 0;
    if (rc != ERR_OK)
        goto out;
    if (mms && (!sqs_parse_count(mms, &v) || v < 1024 || v > 16 * 1024 * 1024)) {
        rc = err_set(err, ERR_INVALID, "queue attribute MaximumMessageSize is not a size");
        goto out;
    }
    if (mms)
        q->max_msg = (size_t)v;
    if (!rp)
        goto out;
    if ((rc = parse_redrive(json_string_value(rp), &arn, &count, err)) != ERR_OK)
        goto out;
    if (!split_arn(arn, acct, sizeof acct, dname, sizeof dname)) {
        rc = err_set(err, ERR_INVALID, "RedrivePolicy: '%.120s' is not an SQS queue ARN", arn);
        goto out;
    }
    q->base.max_receives = count > 1000 ? 1000 : (int)count;
    if ((rc = queue_url(q->c, dname, acct, &q->dlq_url, err)) != ERR_OK)
        err_prefix(err, "dead-letter queue %s", dname);
out:
    free(arn);
    json_decref(reply);
    return rc;
}

/* ---- open ---- */

queue_t *queue_sqs_open_env(aws_env_t *env, const char *spec, err_t *err)
{
    sigv4_url_t u = {0};
    char region[64];
    err_code_t rc = ERR_OK;
    sqs_t *q = calloc(1, sizeof *q);
    if (!q) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    q->base.ops = &sqs_queue_ops;
    q->env = env;
    if (!env || !spec) {
        rc = err_set(err, ERR_INTERNAL, "queue_sqs_open: missing environment or queue");
    } else if (strncmp(spec, "sqs:", 4) == 0) {
        if (!name_ok(spec + 4, 80))
            rc = err_set(err, ERR_CONFIG, "queue \"%.100s\": want sqs:NAME with 1..80 of "
                         "A-Za-z0-9_- (FIFO queues are not supported)", spec);
        else if (!(q->c = sqs_client_new(q, err)))
            rc = ERR_CONFIG;
        else if ((rc = queue_url(q->c, spec + 4, NULL, &q->url, err)) == ERR_NOTFOUND)
            err_prefix(err, "queue %s (create it with `onesheet init`)", spec + 4);
    } else if (sigv4_url_parse(spec, &u, err) != ERR_OK) {
        rc = err_set(err, ERR_CONFIG, "queue \"%.100s\": want sqs:NAME or a queue URL", spec);
    } else if (!(q->url = strdup(spec)) || !(q->c = aws_client_new(env, ENDPOINT_SQS, err))) {
        rc = q->url ? ERR_CONFIG : err_set(err, ERR_NOMEM, "out of memory");
    } else if (!aws_client_endpoint(q->c)->custom) {
        /* No endpoint configured: talk to the URL's own host and region. */
        aws_client_free(q->c);
        q->c = NULL;
        buf_t base = BUF_INIT;
        if (buf_appendf(&base, "%s://%s", u.scheme, u.authority) != ERR_OK ||
            (host_region(u.host, region, sizeof region) && !(q->region = strdup(region))))
            rc = err_set(err, ERR_NOMEM, "out of memory");
        q->base_url = buf_steal(&base);
        if (rc == ERR_OK && !(q->c = sqs_client_new(q, err)))
            rc = ERR_CONFIG;
    }
    if (rc == ERR_OK)
        rc = read_attrs(q, err);
    sigv4_url_free(&u);
    if (rc != ERR_OK) {
        sqs_queue_ops.close(&q->base);
        return NULL;
    }
    return &q->base;
}

queue_t *queue_sqs_open(const char *spec, err_t *err)
{
    aws_env_t *env = aws_env_default(err);
    return env ? queue_sqs_open_env(env, spec, err) : NULL;
}

const char *queue_sqs_url(const queue_t *q)
{
    return ((const sqs_t *)q)->url;
}

/* ---- ensure (onesheet init) ---- */

static void report_add(char *report, size_t cap, const char *fmt, const char *name,
                       const char *extra)
{
    size_t len = report ? strlen(report) : 0;
    if (!report || len + 1 >= cap)
        return;
    snprintf(report + len, cap - len, "%s", len ? "\n" : "");
    len = strlen(report);
    snprintf(report + len, cap - len, fmt, name, extra);
}

/* True when the existing attribute value already says what want says
 * (RedrivePolicy compared by meaning, not spelling). */
static bool attr_same(const char *key, const char *have, const char *want)
{
    if (!have)
        return false;
    if (strcmp(key, "RedrivePolicy") != 0)
        return strcmp(have, want) == 0;
    char *a1 = NULL, *a2 = NULL;
    int64_t c1 = 0, c2 = 0;
    bool same = parse_redrive(have, &a1, &c1, NULL) == ERR_OK &&
                parse_redrive(want, &a2, &c2, NULL) == ERR_OK &&
                strcmp(a1, a2) == 0 && c1 == c2;
    free(a1);
    free(a2);
    return same;
}

/* Makes queue name exist with attrs; *url (new string) is its URL. */
static err_code_t ensure_one(aws_client_t *c, const char *name, json_t *attrs,
                             char **url, char *report, size_t cap, err_t *err)
{
    json_t *reply = NULL, *names = json_array(), *diff = json_object();
    const char *key;
    json_t *val;
    buf_t what = BUF_INIT;
    err_code_t rc = queue_url(c, name, NULL, url, err);
    if (rc == ERR_NOTFOUND) {
        rc = sqs_call(c, "CreateQueue", json_pack("{s:s,s:O}", "QueueName", name,
                                                  "Attributes", attrs), 0, &reply, err);
        if (rc == ERR_OK)
            rc = queue_url(c, name, NULL, url, err);
        if (rc == ERR_OK)
            report_add(report, cap, "created queue %s%s", name, "");
        goto out;
    }
    if (rc != ERR_OK)
        goto out;
    json_object_foreach(attrs, key, val)
        json_array_append_new(names, json_string(key));
    rc = sqs_call(c, "GetQueueAttributes", json_pack("{s:s,s:O}", "QueueUrl", *url,
                                                     "AttributeNames", names), 0, &reply, err);
    const json_t *have = json_object_get(reply, "Attributes");
    json_object_foreach(attrs, key, val) {
        if (rc == ERR_OK && !attr_same(key, sqs_str(have, key), json_string_value(val))) {
            json_object_set(diff, key, val);
            buf_appendf(&what, "%s%s", what.len ? ", " : " (updated ", key);
        }
    }
    if (rc == ERR_OK && json_object_size(diff) > 0)
        rc = sqs_call(c, "SetQueueAttributes", json_pack("{s:s,s:O}", "QueueUrl", *url,
                                                         "Attributes", diff), 0, NULL, err);
    if (rc == ERR_OK && what.len && buf_append_str(&what, ")") != ERR_OK)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    if (rc == ERR_OK)
        report_add(report, cap, "queue %s exists%s", name,
                   what.len ? (const char *)what.data : "");
out:
    if (rc != ERR_OK)
        err_prefix(err, "queue %s", name);
    buf_free(&what);
    json_decref(reply);
    json_decref(names);
    json_decref(diff);
    return rc;
}

err_code_t queue_sqs_ensure(aws_env_t *env, const char *name, int max_receives,
                            int visibility_s, char *report, size_t cap, err_t *err)
{
    char dlq[96], vis[16], *dlq_url = NULL, *url = NULL, *policy = NULL;
    json_t *reply = NULL, *attrs = NULL;
    err_code_t rc;
    if (report && cap)
        report[0] = '\0';
    if (!env || !name || !name_ok(name, NAME_MAX_LEN))
        return err_set(err, ERR_CONFIG, "queue name \"%.100s\": want 1..%d of A-Za-z0-9_- "
                       "(FIFO queues are not supported)", name ? name : "", NAME_MAX_LEN);
    if (max_receives < 1 || max_receives > 1000 || visibility_s < 0 ||
        visibility_s > SQS_MAX_VISIBILITY)
        return err_set(err, ERR_CONFIG, "max_receives must be 1..1000 and the visibility "
                       "timeout 0..%d s", SQS_MAX_VISIBILITY);
    aws_client_t *c = aws_client_new(env, ENDPOINT_SQS, err);
    if (!c)
        return ERR_CONFIG;
    snprintf(dlq, sizeof dlq, "%s-dlq", name);
    snprintf(vis, sizeof vis, "%d", visibility_s);
    attrs = json_pack("{s:s}", "MessageRetentionPeriod", DLQ_RETENTION);
    rc = ensure_one(c, dlq, attrs, &dlq_url, report, cap, err);
    json_decref(attrs);
    attrs = NULL;
    if (rc == ERR_OK)
        rc = sqs_call(c, "GetQueueAttributes", json_pack("{s:s,s:[s]}", "QueueUrl", dlq_url,
                                                         "AttributeNames", "QueueArn"),
                      0, &reply, err);
    const char *arn = sqs_str(json_object_get(reply, "Attributes"), "QueueArn");
    if (rc == ERR_OK && !arn)
        rc = err_set(err, ERR_INVALID, "AmazonSQS.GetQueueAttributes: no QueueArn for %s", dlq);
    if (rc == ERR_OK) {
        json_t *p = json_pack("{s:s,s:i}", "deadLetterTargetArn", arn, "maxReceiveCount",
                              max_receives);
        policy = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        attrs = policy ? json_pack("{s:s,s:s}", "RedrivePolicy", policy,
                                   "VisibilityTimeout", vis) : NULL;
        rc = attrs ? ensure_one(c, name, attrs, &url, report, cap, err)
                   : err_set(err, ERR_NOMEM, "out of memory");
    }
    json_decref(attrs);
    json_decref(reply);
    free(policy);
    free(dlq_url);
    free(url);
    aws_client_free(c);
    return rc;
}
