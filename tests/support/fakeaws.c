/* fakeaws — see fakeaws.h. */
#include "fakeaws.h"
#include "aws/http.h"
#include "aws/retry.h"

static err_code_t provider(void *ctx, creds_t *out, err_t *err)
{
    const fakeaws_t *a = ctx;
    return creds_set(out, a->akid, a->secret, a->token, a->expiry, "test", err);
}

static void no_sleep(long ms, void *ud)
{
    (void)ms;
    (void)ud;
}

err_code_t fakeaws_open(fakeaws_t *a, const aws_env_options_t *opts, err_t *err)
{
    fakeaws_close(a);
    if (!(a->cache = creds_cache_new_provider(provider, a, NULL, NULL, err)))
        return ERR_NOMEM;
    retry_options_t ro = {.max_attempts = 3, .sleep_ms = no_sleep};
    aws_env_options_t o = {0};
    if (opts)
        o = *opts;
    o.getenv = fakeenv_get;
    o.getenv_ctx = &a->env;
    o.creds = a->cache;
    o.retry = &ro;
    if (!(a->aws = aws_env_new(&o, err)))
        return err->code;
    return ERR_OK;
}

void fakeaws_close(fakeaws_t *a)
{
    aws_env_free(a->aws);
    creds_cache_free(a->cache);
    a->aws = NULL;
    a->cache = NULL;
}

err_code_t fakeaws_verify(const fake_request_t *req, const sigv4_credentials_t *c,
                          const sigv4_verify_opts_t *vo, sigv4_verify_info_t *info,
                          err_t *err)
{
    http_header_t hs[FAKE_MAX_HEADERS];
    for (size_t k = 0; k < req->nheaders; k++)
        hs[k] = (http_header_t){req->headers[k].name, req->headers[k].value};
    sigv4_request_t sq = {.method = req->method, .path = req->path, .query = req->query,
                          .headers = hs, .nheaders = req->nheaders, .body = req->body,
                          .body_len = req->body_len};
    return sigv4_verify(&sq, c, vo, info, err);
}

/* s with the XML/JSON-special characters made harmless. */
static void append_escaped(buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<' || c == '>' || c == '&' || c == '"' || c == '\\' || c < 0x20)
            buf_appendf(b, "&#%d;", c);
        else
            buf_append(b, s, 1);
    }
}

void fakeaws_error_reply(fake_response_t *resp, bool xml, int status, const char *code,
                         const char *msg, const char *request_id)
{
    buf_t b = BUF_INIT;
    resp->status = status;
    if (xml) {
        buf_append_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        append_escaped(&b, code);
        buf_append_str(&b, "</Code><Message>");
        append_escaped(&b, msg);
        buf_append_str(&b, "</Message>");
        if (request_id) {
            buf_append_str(&b, "<RequestId>");
            append_escaped(&b, request_id);
            buf_append_str(&b, "</RequestId>");
        }
        buf_append_str(&b, "</Error>");
        fake_response_header(resp, "Content-Type", "application/xml");
    } else {
        buf_appendf(&b, "{\"__type\":\"com.amazon.coral.service#%s\",\"message\":\"", code);
        append_escaped(&b, msg);
        buf_append_str(&b, "\"}");
        fake_response_header(resp, "Content-Type", "application/x-amz-json-1.0");
        fake_response_header(resp, "x-amzn-ErrorType", code);
    }
    fake_response_body(resp, b.data, b.len);
    buf_free(&b);
}
