/* campaign_event — a firing asked for by a scheduler's event rather than the
 * command line: EventBridge Scheduler invoking the API Lambda with the
 * schedule target's Input, e.g.
 *
 *   {"onesheet": "campaign-run", "campaign_file": "campaigns/weekly.json",
 *    "slot": "<aws.scheduler.scheduled-time>"}
 *
 * (the scheduler substitutes the slot), or with the campaign inline as
 * "campaign": {...}.  The firing itself is campaign_fire(), exactly as for
 * `onesheet campaign run FILE --slot SLOT`; this file only reads the event
 * and writes the result both of them print. */
#include "campaign/campaign.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_ACTION "campaign-run"
#define EVENT_PATH "event.campaign"   /* what messages call an inline campaign */

bool campaign_event_match(const char *json, size_t len)
{
    json_t *root = json ? json_loadb(json, len, 0, NULL) : NULL;
    bool yes = json_is_object(root) && json_object_get(root, "onesheet") &&
               !json_object_get(root, "httpMethod") && !json_object_get(root, "requestContext");
    json_decref(root);
    return yes;
}

static err_code_t only_event_keys(json_t *root, err_t *err)
{
    static const char *const keys[] = {"onesheet", "campaign", "campaign_file", "slot", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i])
            return err_set(err, ERR_INVALID, "event: %.64s: unknown field (onesheet, campaign "
                           "or campaign_file, slot)", k);
    }
    return ERR_OK;
}

/* Loads the campaign the event names: inline (relative files under dir) or
 * a file (a relative path is under dir).  Every file read, the campaign
 * file and the lists it names, must resolve under dir (the task root). */
static err_code_t event_campaign(json_t *root, const char *dir, campaign_t *c, err_t *err)
{
    json_t *inl = json_object_get(root, "campaign"), *file = json_object_get(root, "campaign_file");
    char path[4096];

    if (!inl == !file)
        return err_set(err, ERR_INVALID, "event: give exactly one of campaign (the campaign "
                       "JSON) and campaign_file (a path)");
    if (inl) {
        if (!json_is_object(inl))
            return err_set(err, ERR_INVALID, "event: campaign: must be the campaign object");
        char *text = json_dumps(inl, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
            return err_set(err, ERR_NOMEM, "out of memory");
        err_code_t rc = campaign_parse_in(EVENT_PATH, dir, dir, text, strlen(text), c, err);
        free(text);
        return rc;
    }
    const char *f = json_string_value(file);
    if (!f || !*f || strlen(f) != json_string_length(file))
        return err_set(err, ERR_INVALID, "event: campaign_file: must be a path");
    if ((size_t)snprintf(path, sizeof path, "%s%s%s", f[0] == '/' ? "" : dir,
                         f[0] == '/' ? "" : "/", f) >= sizeof path)
        return err_set(err, ERR_INVALID, "event: campaign_file: path too long");
    return campaign_load_in(path, dir, c, err);
}

/* A slot the scheduler names is held to the campaign's schedule as
 * `campaign run --slot` is (one batch per firing only means something if
 * the slot is a firing), with no --force: an event comes from a machine.
 * Unlike the command line, a slot ahead of now is not refused: the
 * scheduler sends the time a firing was due, and clocks differ. */
static err_code_t event_check_slot(const campaign_t *c, int64_t slot, int64_t now,
                                   err_t *err)
{
    bool future;
    if (campaign_check_slot(c, "slot", slot, now, &future, err) != ERR_OK)
        return err_prefix(err, "event");
    return ERR_OK;
}

err_code_t campaign_event_parse(const char *json, size_t len, const char *dir, int64_t now,
                                campaign_t *c, int64_t *slot, err_t *err)
{
    json_error_t je;
    json_t *root, *v;
    err_code_t rc;

    memset(c, 0, sizeof *c);
    if (!dir || !*dir)
        dir = ".";
    if (!(root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &je)))
        return err_set(err, ERR_INVALID, "event: invalid JSON: %s", je.text);
    if (!json_is_object(root)) {
        rc = err_set(err, ERR_INVALID, "event: expected a JSON object");
        goto out;
    }
    v = json_object_get(root, "onesheet");
    if (!json_is_string(v) || strcmp(json_string_value(v), EVENT_ACTION) != 0) {
        rc = err_set(err, ERR_INVALID, "event: onesheet: expected \"" EVENT_ACTION "\"");
        goto out;
    }
    if ((rc = only_event_keys(root, err)) != ERR_OK ||
        (rc = event_campaign(root, dir, c, err)) != ERR_OK)
        goto out;
    v = json_object_get(root, "slot");
    if (!v || json_is_null(v)) {
        rc = campaign_default_slot(c, now, slot, err);
    } else if (!json_is_string(v)) {
        rc = err_set(err, ERR_INVALID, "event: slot: must be an ISO 8601 UTC time");
    } else if ((rc = oncalendar_parse_iso(json_string_value(v), slot, err)) != ERR_OK) {
        /* The usual mistake: the scheduler did not substitute it (Input
         * outside a schedule target, or a misspelt attribute). */
        err_prefix(err, "event: slot \"%.40s\"", json_string_value(v));
    } else {
        rc = event_check_slot(c, *slot, now, err);
    }
out:
    json_decref(root);
    return rc;
}

err_code_t campaign_fire_json(const campaign_t *c, const campaign_fire_t *r, buf_t *out)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:o, s:b}", "campaign", c->name,
                          "slot", r->slot, "batch", r->batch_id, "jobs", (json_int_t)r->jobs,
                          "new", (json_int_t)r->added, "enqueued", (json_int_t)r->sent,
                          "estimate_usd", r->usd, "month_usd",
                          r->spend_recorded ? json_real(r->month_usd) : json_null(),
                          "already", (int)r->already);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!text)
        return ERR_NOMEM;
    err_code_t rc = buf_append_str(out, text);
    free(text);
    return rc;
}
