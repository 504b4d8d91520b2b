/* endpoint — region and service endpoint resolution, S3 addressing (see
 * endpoint.h). */
#include "aws/endpoint.h"
#include "base/buf.h"
#include "aws/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *suffix;             /* AWS_ENDPOINT_URL_<suffix> */
    const char *host_prefix;        /* PREFIX.REGION.amazonaws.com */
    const char *signing_name;
    const char *config_id;          /* [services x] key: botocore's id */
} services[ENDPOINT__COUNT] = {
    [ENDPOINT_SQS] = {"SQS", "sqs", "sqs", "sqs"},
    [ENDPOINT_S3] = {"S3", "s3", "s3", "s3"},
    [ENDPOINT_DYNAMODB] = {"DYNAMODB", "dynamodb", "dynamodb", "dynamodb"},
    [ENDPOINT_BEDROCK_RUNTIME] = {"BEDROCK_RUNTIME", "bedrock-runtime",
                                  "bedrock", "bedrock_runtime"},
    [ENDPOINT_STS] = {"STS", "sts", "sts", "sts"},
};

const char *endpoint_config_id(endpoint_service_t svc)
{
    return svc < ENDPOINT__COUNT ? services[svc].config_id : "";
}

static const char *env(const endpoint_options_t *o, const char *name)
{
    const char *v = o && o->getenv ? o->getenv(o->getenv_ctx, name)
                                   : getenv(name);
    return v && *v ? v : NULL;
}

const char *endpoint_env_suffix(endpoint_service_t svc)
{
    return svc < ENDPOINT__COUNT ? services[svc].suffix : "";
}

static bool region_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= 64 || !(r[0] >= 'a' && r[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') ||
              r[i] == '-'))
            return false;
    return true;
}

err_code_t endpoint_region(const endpoint_options_t *o, char *out, size_t cap,
                           err_t *err)
{
    const char *from = "the region option", *v = o ? o->region : NULL;
    if (!v || !*v) {
        from = "AWS_REGION";
        v = env(o, from);
    }
    if (!v) {
        from = "AWS_DEFAULT_REGION";
        v = env(o, from);
    }
    if (!v)
        return err_set(err, ERR_CONFIG,
                       "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)");
    if (!region_ok(v))
        return err_set(err, ERR_CONFIG,
                       "%s: '%.64s' is not a region name (like us-west-2)",
                       from, v);
    if ((size_t)snprintf(out, cap, "%s", v) >= cap)
        return err_set(err, ERR_CONFIG, "%s: region name too long", from);
    return ERR_OK;
}

static bool is_true(const char *v)
{
    return v && strcasecmp(v, "true") == 0;
}

/* Fills ep's URL parts from an AWS_ENDPOINT_URL* value. */
static err_code_t use_custom(endpoint_t *ep, const char *var, const char *v,
                             err_t *err)
{
    sigv4_url_t u;
    err_t uerr;
    err_code_t rc;

    if (!strstr(v, "://")) {
        rc = err_set(err, ERR_CONFIG,
                     "%s: '%.100s' is not a URL: it needs an http:// or "
                     "https:// scheme", var, v);
        return rc;
    }
    if ((rc = sigv4_url_parse(v, &u, &uerr)) != ERR_OK) {
        sigv4_url_free(&u);
        return err_set(err, ERR_CONFIG, "%s: %s", var, uerr.msg);
    }
    if (*u.query || strchr(v, '#')) {
        sigv4_url_free(&u);
        return err_set(err, ERR_CONFIG,
                       "%s: an endpoint URL takes no query or fragment", var);
    }
    size_t plen = strlen(u.path);
    while (plen && u.path[plen - 1] == '/')
        plen--;
    bool fits = (size_t)snprintf(ep->scheme, sizeof ep->scheme, "%s",
                                 u.scheme) < sizeof ep->scheme &&
                (size_t)snprintf(ep->host, sizeof ep->host, "%s", u.host) <
                    sizeof ep->host &&
                (size_t)snprintf(ep->authority, sizeof ep->authority, "%s",
                                 u.authority) < sizeof ep->authority &&
                plen < sizeof ep->base_path;
    if (fits) {
        memcpy(ep->base_path, u.path, plen);
        ep->base_path[plen] = '\0';
    }
    ep->port = u.port;
    ep->port_explicit = u.port_explicit;
    sigv4_url_free(&u);
    if (!fits)
        return err_set(err, ERR_CONFIG, "%s: endpoint URL too long", var);
    ep->custom = true;
    snprintf(ep->source, sizeof ep->source, "%s", var);
    return ERR_OK;
}

err_code_t endpoint_resolve(endpoint_service_t svc, const endpoint_options_t *o,
                            endpoint_t *ep, err_t *err)
{
    char var[64];
    const char *v = NULL;
    err_code_t rc;

    memset(ep, 0, sizeof *ep);
    if (svc >= ENDPOINT__COUNT)
        return err_set(err, ERR_INVALID, "unknown service %d", (int)svc);
    ep->service = svc;
    ep->s3_path_style = o && o->s3_path_style;
    ep->s3_addressing = o ? o->s3_addressing : ENDPOINT_S3_AUTO;
    if (ep->s3_path_style)
        ep->s3_addressing = ENDPOINT_S3_PATH;
    snprintf(ep->signing_name, sizeof ep->signing_name, "%s",
             services[svc].signing_name);
    if ((rc = endpoint_region(o, ep->region, sizeof ep->region, err)) != ERR_OK)
        return rc;

    const char *ignore = env(o, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (!ignore && o)
        ignore = o->config_ignore_endpoints;
    if (!is_true(ignore)) {
        snprintf(var, sizeof var, "AWS_ENDPOINT_URL_%s", services[svc].suffix);
        v = env(o, var);
        if (!v) {
            snprintf(var, sizeof var, "AWS_ENDPOINT_URL");
            v = env(o, var);
        }
        if (!v && o && o->config_service_url[svc] && *o->config_service_url[svc]) {
            v = o->config_service_url[svc];
            snprintf(var, sizeof var, "config [services] %s.endpoint_url",
                     services[svc].config_id);
        }
        if (!v && o && o->config_url && *o->config_url) {
            v = o->config_url;
            snprintf(var, sizeof var, "config endpoint_url");
        }
    }
    if (v) {
        if ((rc = use_custom(ep, var, v, err)) != ERR_OK)
            return rc;
    } else {
        const char *dns = strncmp(ep->region, "cn-", 3) == 0
                              ? "amazonaws.com.cn" : "amazonaws.com";
        if (svc == ENDPOINT_S3 && strcmp(ep->region, "us-east-1") == 0)
            snprintf(ep->host, sizeof ep->host, "s3.%s", dns);
        else
            snprintf(ep->host, sizeof ep->host, "%s.%s.%s",
                     services[svc].host_prefix, ep->region, dns);
        memcpy(ep->scheme, "https", 6);
        ep->port = 443;
        snprintf(ep->authority, sizeof ep->authority, "%s", ep->host);
        snprintf(ep->source, sizeof ep->source, "default");
    }
    snprintf(ep->url, sizeof ep->url, "%s://%s%s", ep->scheme, ep->authority,
             ep->base_path);
    return ERR_OK;
}

static bool is_ipv4(const char *h)
{
    int parts = 0;
    const char *p = h;
    while (parts < 4) {
        int digits = 0, val = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            val = val * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || val > 255)
            return false;
        parts++;
        if (parts < 4 && *p++ != '.')
            return false;
    }
    return *p == '\0';
}

bool endpoint_host_is_ip_or_localhost(const char *host)
{
    size_t n = strlen(host);
    if (n && host[0] == '[')
        return true;
    if (strcasecmp(host, "localhost") == 0 ||
        (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0))
        return true;
    return is_ipv4(host);
}

bool endpoint_bucket_dns_compatible(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63 || is_ipv4(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == n - 1) && !alnum)
            return false;
        if (c == '.' && (b[i + 1] == '.' || b[i + 1] == '-' ||
                         b[i - 1] == '-'))
            return false;
    }
    return true;
}

bool endpoint_s3_addressing_parse(const char *v, endpoint_s3_addressing_t *out)
{
    static const char *const names[] = {"auto", "path", "virtual"};
    for (size_t i = 0; v && i < 3; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = (endpoint_s3_addressing_t)i;
            return true;
        }
    return false;
}

bool endpoint_s3_path_style(const endpoint_t *ep, const char *bucket)
{
    if (ep->s3_addressing == ENDPOINT_S3_VIRTUAL && !ep->s3_path_style)
        return !endpoint_bucket_dns_compatible(bucket) ||
               is_ipv4(ep->host) || ep->host[0] == '[';
    return ep->s3_path_style || ep->s3_addressing == ENDPOINT_S3_PATH ||
           ep->custom || endpoint_host_is_ip_or_localhost(ep->host) ||
           !endpoint_bucket_dns_compatible(bucket) ||
           (strchr(bucket, '.') && strcmp(ep->scheme, "https") == 0);
}

err_code_t endpoint_s3_object_url(const endpoint_t *ep, const char *bucket,
                                  const char *key, char **url, err_t *err)
{
    buf_t b = BUF_INIT;
    size_t n = bucket ? strlen(bucket) : 0;

    *url = NULL;
    if (n == 0 || n > 255)
        return err_set(err, ERR_INVALID, "S3 bucket name must be 1..255 "
                                         "characters");
    for (size_t i = 0; i < n; i++)
        if (!((bucket[i] >= 'a' && bucket[i] <= 'z') ||
              (bucket[i] >= 'A' && bucket[i] <= 'Z') ||
              (bucket[i] >= '0' && bucket[i] <= '9') ||
              strchr("._-", bucket[i])))
            return err_set(err, ERR_INVALID,
                           "S3 bucket name '%.64s' has characters other than "
                           "letters, digits, '.', '_' and '-'", bucket);
    bool ok;
    if (endpoint_s3_path_style(ep, bucket))
        ok = buf_appendf(&b, "%s/%s/", ep->url, bucket) == ERR_OK;
    else
        ok = buf_appendf(&b, "%s://%s.%s%s/", ep->scheme, bucket,
                         ep->authority, ep->base_path) == ERR_OK;
    if (!ok || (key && sigv4_uri_encode(key, strlen(key), true, &b)) ||
        !(*url = buf_steal(&b))) {
        buf_free(&b);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}
