/* engine_bedrock — see engine_bedrock.h.
 *
 * One generation is: pick the model (the spec's, else the engine's), check
 * the spec against its limits, build the body, POST it signed (aws_request
 * retries throttling, 5xx and timeouts with backoff), then parse the reply.
 * The reply body is handed to the parser, which decodes the image into the
 * reply's own storage, so a job holds at most the reply (or its JSON) and
 * one decoded image, and the image is never copied again on its way to the
 * store. */
#include "engine/engine_bedrock.h"
#include "engine/bedrock_models.h"
#include "engine/bedrock_stream.h"
#include "aws/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    engine_t base;
    aws_client_t *client;
    const bedrock_model_t *model;
    char model_id[128];      /* as configured, prefix included */
    long timeout_ms;
    size_t max_reply;
    buf_t body;              /* request body, reused across jobs */
    buf_t path;
    /* The call in flight (start/finish). */
    const bedrock_model_t *call_model;
    char call_id[128];
    char call_format[16];
    int64_t call_seed;
    http_response_t call_resp;
    bedrock_stream_t *stream;    /* a 2xx reply, decoded as it arrives */
    bool stream_started;
} bedrock_engine_t;

/* ERR_CONFIG (or ERR_INVALID for a job's own model field) naming model and
 * listing the ids that would have been accepted. */
static err_code_t unknown_model(err_t *err, err_code_t code, const char *what,
                                const char *model)
{
    buf_t known = BUF_INIT;
    if (bedrock_model_list(&known) != ERR_OK)
        buf_reset(&known);
    err_set(err, code, "%sunknown model \"%.128s\" (known: draft, %s; an id may start "
            "with us., eu., apac. or global.)", what, model ? model : "",
            known.data ? (const char *)known.data : "");
    buf_free(&known);
    return code;
}

/* The model a job goes to: the spec's when it names another model, else
 * the engine's.  A spec naming the engine's model with another (or no)
 * inference-profile prefix gets the engine's id: where a model is routed
 * is the worker's configuration, not the job's.  A draft job cannot be
 * served by a Bedrock worker. */
static err_code_t pick_model(bedrock_engine_t *be, const job_spec_t *s,
                             const bedrock_model_t **m, const char **id, err_t *err)
{
    *m = be->model;
    *id = be->model_id;
    if (!s->model || !s->model[0] || strcmp(s->model, be->model_id) == 0)
        return ERR_OK;
    if (strcmp(s->model, "draft") == 0)
        return err_set(err, ERR_INVALID,
                       "model: this worker generates with %s, not draft", be->model_id);
    if (strlen(s->model) >= sizeof be->model_id || !(*m = bedrock_model_lookup(s->model)))
        return unknown_model(err, ERR_INVALID, "model: ", s->model);
    if (*m != be->model)
        *id = s->model;
    return ERR_OK;
}

/* "/model/{id}/invoke" with the id URI-encoded once (':' → %3A); the
 * signer encodes the path again for the canonical request. */
static err_code_t build_path(buf_t *path, const char *id)
{
    err_code_t rc;
    buf_reset(path);
    if ((rc = buf_append_str(path, "/model/")) != ERR_OK ||
        (rc = sigv4_uri_encode(id, strlen(id), false, path)) != ERR_OK)
        return rc;
    return buf_append_str(path, "/invoke");
}

/* Everything before sending: the model, the checked spec, the body and the
 * request (which borrows be->body and be->path). */
static err_code_t prepare(bedrock_engine_t *be, const job_spec_t *s, const char *job_id,
                          const bedrock_model_t **m, const char **id, int64_t *seed,
                          aws_request_t *rq, err_t *err)
{
    static const http_header_t hdrs[] = {
        {"Content-Type", "application/json"},
        {"Accept", "application/json"},
    };
    err_code_t rc;

    err_clear(err);
    if ((rc = pick_model(be, s, m, id, err)) != ERR_OK ||
        (rc = bedrock_check_spec(*m, s, err)) != ERR_OK)
        return rc;
    *seed = bedrock_seed_for(*m, s, job_id);
    buf_reset(&be->body);
    if ((rc = bedrock_request_body(*m, s, *seed, &be->body, err)) != ERR_OK)
        return rc;
    if (build_path(&be->path, *id) != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    *rq = (aws_request_t){
        .method = "POST", .path = (const char *)be->path.data,
        .headers = hdrs, .nheaders = 2,
        .body = be->body.data, .body_len = be->body.len,
        .timeout_ms = be->timeout_ms, .max_response = be->max_reply,
    };
    return ERR_OK;
}

/* The reply of one call into out (rc: how the request went). */
static err_code_t conclude(bedrock_engine_t *be, err_code_t rc, const bedrock_model_t *m,
                           const char *id, int64_t seed, const char *format,
                           http_response_t *resp, engine_result_t *out, err_t *err)
{
    if (rc != ERR_OK) {
        rc = bedrock_refine_error(m, err);
        err_prefix(err, "%s", id);
        return rc;
    }
    (void)be;
    out->seed = seed;
    rc = bedrock_parse_reply(m, &resp->body, format, out, err);
    if (rc != ERR_OK) {
        buf_free(&out->image);
        return err_prefix(err, "%s", id);
    }
    snprintf(out->model, sizeof out->model, "%s", id);
    out->cost_usd = m->price_usd;
    return ERR_OK;
}

static err_code_t bedrock_generate(engine_t *e, const job_spec_t *s, const char *job_id,
                                   engine_result_t *out, err_t *err)
{
    bedrock_engine_t *be = (bedrock_engine_t *)e;
    const bedrock_model_t *m;
    const char *id;
    int64_t seed;
    aws_request_t rq;
    http_response_t resp;
    err_code_t rc;

    if ((rc = prepare(be, s, job_id, &m, &id, &seed, &rq, err)) != ERR_OK)
        return rc;
    http_response_init(&resp);
    rc = aws_request(be->client, &rq, &resp, err);
    rc = conclude(be, rc, m, id, seed, s->output_format, &resp, out, err);
    http_response_free(&resp);
    return rc;
}

/* The call's 2xx body, chunk by chunk (http.h's sink). */
static err_code_t stream_sink(void *ud, const void *data, size_t n, int64_t content_length)
{
    bedrock_engine_t *be = ud;
    if (!be->stream_started) {
        bedrock_stream_reset(be->stream, content_length > 0 ? (size_t)content_length : 0);
        be->stream_started = true;
    }
    return bedrock_stream_feed(be->stream, data, n);
}

static err_code_t bedrock_start(engine_t *e, const job_spec_t *s, const char *job_id,
                                void **handle, err_t *err)
{
    bedrock_engine_t *be = (bedrock_engine_t *)e;
    const char *id;
    aws_request_t rq;
    err_code_t rc;

    *handle = NULL;
    if ((rc = prepare(be, s, job_id, &be->call_model, &id, &be->call_seed, &rq, err)) !=
        ERR_OK)
        return rc;
    snprintf(be->call_id, sizeof be->call_id, "%s", id);
    snprintf(be->call_format, sizeof be->call_format, "%s", s->output_format);
    rq.no_retry = true;
    rq.sink = stream_sink;
    rq.sink_ud = be;
    be->stream_started = false;
    if ((rc = aws_start(be->client, &rq, &be->call_resp, err)) != ERR_OK)
        return err_prefix(err, "%s", id);
    *handle = aws_client_handle(be->client);
    return ERR_OK;
}

static err_code_t bedrock_finish(engine_t *e, int curl_code, engine_result_t *out,
                                 err_t *err)
{
    bedrock_engine_t *be = (bedrock_engine_t *)e;
    err_clear(err);
    err_code_t rc = aws_finish(be->client, curl_code, &be->call_resp, err);
    if (rc == ERR_OK) {
        /* A 2xx reply went to the stream: decoded and hashed already. */
        if (!be->stream_started)
            bedrock_stream_reset(be->stream, 0);
        out->seed = be->call_seed;
        rc = bedrock_stream_finish(be->stream, be->call_model, be->call_format, out, err);
        if (rc == ERR_OK) {
            snprintf(out->model, sizeof out->model, "%s", be->call_id);
            out->cost_usd = be->call_model->price_usd;
        } else {
            engine_result_free(out);
            err_prefix(err, "%s", be->call_id);
        }
    } else {
        rc = conclude(be, rc, be->call_model, be->call_id, be->call_seed, be->call_format,
                      &be->call_resp, out, err);
    }
    /* Keep the reply buffer's storage only if it was not handed on. */
    http_response_free(&be->call_resp);
    return rc;
}

static void bedrock_close(engine_t *e)
{
    bedrock_engine_t *be = (bedrock_engine_t *)e;
    if (!be)
        return;
    aws_client_free(be->client);
    http_response_free(&be->call_resp);
    bedrock_stream_free(be->stream);
    buf_free(&be->body);
    buf_free(&be->path);
    free(be);
}

static void bedrock_want_sha256(engine_t *e, bool on)
{
    bedrock_stream_want_sha256(((bedrock_engine_t *)e)->stream, on);
}

static const engine_ops_t bedrock_ops = {bedrock_generate, bedrock_close, bedrock_start,
                                         bedrock_finish, bedrock_want_sha256};

engine_t *engine_bedrock_open_with(const char *model, const engine_bedrock_options_t *o,
                                   err_t *err)
{
    const bedrock_model_t *m = bedrock_model_lookup(model);
    bedrock_engine_t *be;
    aws_env_t *env;

    if (!m || strlen(model) >= sizeof be->model_id) {
        unknown_model(err, ERR_CONFIG, "", model);
        return NULL;
    }
    env = o && o->env ? o->env : aws_env_default(err);
    if (!env) {
        err_prefix(err, "Bedrock model %s", model);
        return NULL;
    }
    if (!(be = calloc(1, sizeof *be))) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    be->base.ops = &bedrock_ops;
    be->model = m;
    snprintf(be->model_id, sizeof be->model_id, "%s", model);
    be->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : ENGINE_BEDROCK_TIMEOUT_MS;
    be->max_reply = o && o->max_reply > 0 ? o->max_reply : ENGINE_BEDROCK_MAX_REPLY;
    buf_init(&be->body);
    buf_init(&be->path);
    http_response_init(&be->call_resp);
    if (!(be->client = aws_client_new(env, ENDPOINT_BEDROCK_RUNTIME, err))) {
        err_prefix(err, "Bedrock model %s", model);
        free(be);
        return NULL;
    }
    if (!(be->stream = bedrock_stream_new(be->max_reply))) {
        err_set(err, ERR_NOMEM, "out of memory");
        bedrock_close(&be->base);
        return NULL;
    }
    return &be->base;
}

engine_t *engine_bedrock_open(const char *model, err_t *err)
{
    return engine_bedrock_open_with(model, NULL, err);
}
