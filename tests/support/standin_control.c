/* standin_control — see standin_control.h. */
#include "standin_control.h"
#include "engine/bedrock_catalog.h"
#include "engine/bedrock_models.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTL_MAX 16
#define ID_CAP 160

typedef struct {
    char id[ID_CAP];
    int64_t legacy, extended, eol;
} legacy_t;

struct standin_control {
    pthread_mutex_t mu;          /* guards everything below */
    legacy_t legacy[CTL_MAX];
    int nlegacy;
    char removed[CTL_MAX][ID_CAP];
    int nremoved;
    char denied[CTL_MAX][ID_CAP];
    int ndenied;
    char mode[16];               /* "" or "ok": a good list */
};

static const char *const modes[] = {"ok", "403", "500", "garbage", "truncated",
                                    "badstatus", "baddate"};

standin_control_t *standin_control_new(void)
{
    standin_control_t *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->mu, NULL);
    return c;
}

void standin_control_free(standin_control_t *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* One date of a SPEC: YYYY-MM-DD or +Nd / -Nd from now. */
static bool spec_time(const char *s, size_t n, int64_t *out)
{
    char t[40];
    if (n == 0 || n >= 12)
        return false;
    if (s[0] == '+' || s[0] == '-') {
        char *end;
        long d = strtol(s + 1, &end, 10);
        if (end != s + n - 1 || *end != 'd' || d < 0 || d > 36500)
            return false;
        *out = (int64_t)time(NULL) + (s[0] == '-' ? -d : d) * 86400;
        return true;
    }
    snprintf(t, sizeof t, "%.*sT00:00:00Z", (int)n, s);
    return bedrock_catalog_parse_time(t, out);
}

static bool listed_in(char (*ids)[ID_CAP], int n, const char *id)
{
    const char *base = bedrock_catalog_base_id(id);
    for (int i = 0; i < n; i++)
        if (strcmp(ids[i], base) == 0)
            return true;
    return false;
}

bool standin_control_legacy(standin_control_t *c, const char *spec)
{
    legacy_t l = {0};
    const char *eq = strchr(spec, '=');
    size_t idlen = eq ? (size_t)(eq - spec) : strlen(spec);
    int64_t now = (int64_t)time(NULL);
    if (idlen == 0 || idlen >= ID_CAP)
        return false;
    memcpy(l.id, spec, idlen);
    l.legacy = now - 30 * 86400;
    l.extended = now - 86400;
    l.eol = now + 90 * 86400;
    if (eq) {
        const char *a = eq + 1, *b = strchr(a, ','), *d = b ? strchr(b + 1, ',') : NULL;
        if (!b || !d || !spec_time(a, (size_t)(b - a), &l.legacy) ||
            !spec_time(b + 1, (size_t)(d - b - 1), &l.extended) ||
            !spec_time(d + 1, strlen(d + 1), &l.eol))
            return false;
    }
    pthread_mutex_lock(&c->mu);
    int i = 0;
    while (i < c->nlegacy && strcmp(c->legacy[i].id, l.id) != 0)
        i++;
    bool ok = i < CTL_MAX;
    if (ok) {
        c->legacy[i] = l;
        if (i == c->nlegacy)
            c->nlegacy++;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static bool add_id(standin_control_t *c, char (*ids)[ID_CAP], int *n, const char *id)
{
    bool ok;
    if (!*id || strlen(id) >= ID_CAP)
        return false;
    pthread_mutex_lock(&c->mu);
    ok = listed_in(ids, *n, id) || *n < CTL_MAX;
    if (ok && !listed_in(ids, *n, id))
        snprintf(ids[(*n)++], ID_CAP, "%s", bedrock_catalog_base_id(id));
    pthread_mutex_unlock(&c->mu);
    return ok;
}

bool standin_control_remove(standin_control_t *c, const char *id)
{
    return add_id(c, c->removed, &c->nremoved, id);
}

bool standin_control_deny(standin_control_t *c, const char *id)
{
    return add_id(c, c->denied, &c->ndenied, id);
}

bool standin_control_list_mode(standin_control_t *c, const char *mode)
{
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcmp(mode, modes[i]) == 0) {
            pthread_mutex_lock(&c->mu);
            snprintf(c->mode, sizeof c->mode, "%s", mode);
            pthread_mutex_unlock(&c->mu);
            return true;
        }
    return false;
}

bool standin_control_removed(standin_control_t *c, const char *id)
{
    pthread_mutex_lock(&c->mu);
    bool r = listed_in(c->removed, c->nremoved, id);
    pthread_mutex_unlock(&c->mu);
    return r;
}

static void aws_err(fake_response_t *resp, int status, const char *type, const char *msg)
{
    json_t *b = json_pack("{s:s}", "message", msg);
    char *t = json_dumps(b, JSON_COMPACT);
    fake_response_header(resp, "x-amzn-ErrorType", type);
    fake_response_json(resp, status, t ? t : "{}");
    free(t);
    json_decref(b);
}

static json_t *summary(const char *id, const char *name, const legacy_t *l, const char *mode)
{
    char arn[300];
    const char *provider = strncmp(id, "amazon.", 7) == 0 ? "Amazon" : "Stability AI";
    snprintf(arn, sizeof arn, "arn:aws:bedrock:us-east-1::foundation-model/%s", id);
    json_t *life = json_pack("{s:s, s:I}", "status", l ? "LEGACY" : "ACTIVE",
                             "startOfLifeTime", (json_int_t)1717200000);
    if (l) {
        json_object_set_new(life, "legacyTime", json_integer(l->legacy));
        json_object_set_new(life, "publicExtendedAccessTime", json_integer(l->extended));
        json_object_set_new(life, "endOfLifeTime", json_integer(l->eol));
    }
    if (strcmp(mode, "badstatus") == 0)
        json_object_set_new(life, "status", json_string("RETIRING"));
    if (strcmp(mode, "baddate") == 0)
        json_object_set_new(life, "endOfLifeTime", json_string("next Tuesday"));
    return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:b, s:[], s:[s], s:o}",
                     "modelArn", arn, "modelId", id, "modelName", name, "providerName",
                     provider, "inputModalities", "TEXT", "outputModalities", "IMAGE",
                     "responseStreamingSupported", 0, "customizationsSupported",
                     "inferenceTypesSupported", "ON_DEMAND", "modelLifecycle", life);
}

static void list_models(standin_control_t *c, fake_response_t *resp)
{
    json_t *list = json_array();
    pthread_mutex_lock(&c->mu);
    const char *mode = c->mode;
    if (strcmp(mode, "403") == 0 || strcmp(mode, "500") == 0 ||
        strcmp(mode, "garbage") == 0) {
        if (mode[0] == '4')
            aws_err(resp, 403, "AccessDeniedException", "User: arn:aws:iam::123456789012:"
                    "user/test is not authorized to perform: bedrock:ListFoundationModels");
        else if (mode[0] == '5')
            aws_err(resp, 500, "InternalServerException", "An internal error occurred.");
        else
            fake_response_json(resp, 200, "<html>captive portal</html>");
        pthread_mutex_unlock(&c->mu);
        json_decref(list);
        return;
    }
    for (size_t i = 0; i < bedrock_model_count(); i++) {
        const bedrock_model_t *m = bedrock_model_at(i);
        const legacy_t *l = NULL;
        for (int k = 0; k < c->nlegacy; k++)
            if (strcmp(c->legacy[k].id, m->id) == 0)
                l = &c->legacy[k];
        if ((m->retired && !l) || listed_in(c->removed, c->nremoved, m->id))
            continue;
        json_array_append_new(list, summary(m->id, m->name, l, mode));
    }
    pthread_mutex_unlock(&c->mu);
    json_t *root = json_pack("{s:o}", "modelSummaries", list);
    char *t = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (strcmp(mode, "truncated") == 0 && t)
        t[strlen(t) / 2] = '\0';
    fake_response_json(resp, 200, t ? t : "{}");
    free(t);
}

static void availability(standin_control_t *c, const char *enc, fake_response_t *resp)
{
    char id[ID_CAP];
    size_t o = 0;
    for (const char *p = enc; *p && o + 1 < sizeof id; p++) {
        if (strncmp(p, "%3A", 3) == 0 || strncmp(p, "%3a", 3) == 0) {
            id[o++] = ':';
            p += 2;
        } else {
            id[o++] = *p;
        }
    }
    id[o] = '\0';
    const bedrock_model_t *m = bedrock_model_lookup(id);
    pthread_mutex_lock(&c->mu);
    bool gone = !m || listed_in(c->removed, c->nremoved, id);
    bool denied = listed_in(c->denied, c->ndenied, id);
    pthread_mutex_unlock(&c->mu);
    if (gone) {
        aws_err(resp, 404, "ResourceNotFoundException", "The model is not found.");
        return;
    }
    json_t *r = json_pack("{s:s, s:{s:s}, s:s, s:s, s:s}", "modelId", id,
                          "agreementAvailability", "status", "AVAILABLE",
                          "authorizationStatus", denied ? "NOT_AUTHORIZED" : "AUTHORIZED",
                          "entitlementAvailability", "AVAILABLE", "regionAvailability",
                          "AVAILABLE");
    char *t = json_dumps(r, JSON_COMPACT);
    fake_response_json(resp, 200, t ? t : "{}");
    free(t);
    json_decref(r);
}

bool standin_control_handle(standin_control_t *c, const fake_request_t *req,
                            fake_response_t *resp)
{
    static const char avail[] = "/foundation-model-availability/";
    if (strcmp(req->method, "GET") != 0)
        return false;
    if (strcmp(req->path, "/foundation-models") == 0) {
        list_models(c, resp);
        return true;
    }
    if (strncmp(req->path, avail, sizeof avail - 1) == 0) {
        availability(c, req->path + sizeof avail - 1, resp);
        return true;
    }
    return false;
}

static bool each(standin_control_t *c, json_t *body, const char *key,
                 bool (*fn)(standin_control_t *, const char *))
{
    json_t *a = json_object_get(body, key), *v;
    size_t i;
    if (!a)
        return true;
    if (!json_is_array(a))
        return false;
    json_array_foreach(a, i, v)
        if (!json_is_string(v) || !fn(c, json_string_value(v)))
            return false;
    return true;
}

bool standin_control_post(standin_control_t *c, const fake_request_t *req,
                          fake_response_t *resp)
{
    json_error_t je;
    json_t *b = json_loadb(req->body, req->body_len, 0, &je), *l;
    bool ok = json_is_object(b);
    if (ok && json_is_true(json_object_get(b, "reset"))) {
        pthread_mutex_lock(&c->mu);
        c->nlegacy = c->nremoved = c->ndenied = 0;
        c->mode[0] = '\0';
        pthread_mutex_unlock(&c->mu);
    }
    ok = ok && each(c, b, "legacy", standin_control_legacy) &&
         each(c, b, "remove", standin_control_remove) &&
         each(c, b, "deny", standin_control_deny);
    if (ok && (l = json_object_get(b, "list")))
        ok = json_is_string(l) && standin_control_list_mode(c, json_string_value(l));
    json_decref(b);
    if (!ok)
        fake_response_json(resp, 400, "{\"message\":\"bad lifecycle switch\"}");
    else
        fake_response_json(resp, 200, "{}");
    return ok;
}
