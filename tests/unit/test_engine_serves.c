/* Tests for engine_serves: which jobs a worker's model list serves
 * (inference-profile prefixes match their base model, draft only draft, a
 * job naming no model any worker), the default lists, and which registered
 * workers serve a model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_serves.h"
#include "engine/engine_backends.h"

static void a_list_serves_its_models_under_any_profile_prefix(void **state)
{
    (void)state;
    const char *bed = "us.amazon.nova-canvas-v1:0, stability.sd3-5-large-v1:0";
    assert_true(engine_models_serve(bed, "amazon.nova-canvas-v1:0"));
    assert_true(engine_models_serve(bed, "eu.amazon.nova-canvas-v1:0"));
    assert_true(engine_models_serve(bed, "stability.sd3-5-large-v1:0"));
    assert_false(engine_models_serve(bed, "amazon.titan-image-generator-v2:0"));
    assert_false(engine_models_serve(bed, "draft"));
    assert_true(engine_models_serve("draft", "draft"));
    assert_false(engine_models_serve("draft", "amazon.nova-canvas-v1:0"));
    /* No model named: whichever worker takes it uses its own engine's. */
    assert_true(engine_models_serve("draft", NULL));
    assert_true(engine_models_serve(bed, ""));
}

static void defaults_are_draft_or_every_bedrock_model(void **state)
{
    (void)state;
    char *d = engine_models_default("draft"), *b = engine_models_default("amazon.nova-canvas-v1:0");
    err_t e;
    assert_string_equal(d, "draft");
    assert_non_null(strstr(b, "amazon.nova-canvas-v1:0"));
    assert_non_null(strstr(b, "stability.sd3-5-large-v1:0"));
    assert_null(strstr(b, "draft"));
    assert_int_equal(engine_models_check(b, &e), ERR_OK);
    /* Retired ids stay servable (jobs queued before they were refused at
     * submit), though submit refuses them. */
    assert_non_null(strstr(b, "stability.stable-diffusion-xl-v1"));
    assert_int_equal(engine_models_check("stability.stable-diffusion-xl-v1", &e), ERR_OK);
    assert_int_equal(engine_model_check("stability.stable-diffusion-xl-v1", NULL, 0, &e),
                     ERR_INVALID);
    free(d);
    free(b);
}

static void workers_for_counts_live_servers_and_the_last_seen(void **state)
{
    (void)state;
    ledger_worker_t w[3] = {
        {.id = (char *)"a", .models = (char *)"draft", .last_seen_ms = 100000, .beat_ms = 1000},
        {.id = (char *)"b", .models = (char *)"amazon.nova-canvas-v1:0", .last_seen_ms = 50000,
         .beat_ms = 1000},
        {.id = (char *)"c", .models = (char *)"draft", .last_seen_ms = 90000, .beat_ms = 1000},
    };
    int alive;
    int64_t seen;
    engine_workers_for(w, 3, "draft", 101000, &alive, &seen);
    assert_int_equal(alive, 1);       /* c missed its beats */
    assert_int_equal(seen, 100000);
    engine_workers_for(w, 3, "us.amazon.nova-canvas-v1:0", 101000, &alive, &seen);
    assert_int_equal(alive, 0);
    assert_int_equal(seen, 50000);
    engine_workers_for(w, 3, "stability.sd3-5-large-v1:0", 101000, &alive, &seen);
    assert_int_equal(alive, 0);
    assert_int_equal(seen, 0);        /* never */
    json_t *o = engine_worker_json(&w[0], 101000);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "alive");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "models"), 0)),
                        "draft");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_list_serves_its_models_under_any_profile_prefix),
        cmocka_unit_test(defaults_are_draft_or_every_bedrock_model),
        cmocka_unit_test(workers_for_counts_live_servers_and_the_last_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
