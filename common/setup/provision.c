/* provision — see provision.h.  Each back-end's row says what creating it
 * takes (backend_row_t.provision); embedded ones need nothing. */
#include "setup/provision.h"
#include "ledger/ledger_backends.h"
#include "queue/queue_backends.h"
#include "store/store_backends.h"

#include <stdio.h>

/* Provisions one setting's resource through its row and reports it. */
static err_code_t provision_one(const backend_row_t *row, const char *what, const char *value,
                                const backend_setup_t *setup, provision_report_fn report,
                                void *ud, err_t *err)
{
    char line[1024];

    if (!row->provision) {
        snprintf(line, sizeof line, "%s %s: embedded, created on first use", what, value);
    } else if (row->provision(value, setup, line, sizeof line, err) != ERR_OK) {
        return err->code;
    }
    report(line, ud);
    return ERR_OK;
}

err_code_t provision_all(const config_t *cfg, provision_report_fn report, void *ud,
                         err_t *err)
{
    const backend_setup_t setup = {cfg->max_receives, cfg->visibility_timeout};
    const queue_backend_t *q;
    const ledger_backend_t *l;
    const store_backend_t *s;

    err_clear(err);
    if (!(q = queue_backend_check(cfg->queue, err)) ||
        provision_one(&q->row, "queue", cfg->queue, &setup, report, ud, err) != ERR_OK)
        return err->code;
    if (!(l = ledger_backend_check(cfg->ledger, err)) ||
        provision_one(&l->row, "ledger", cfg->ledger, &setup, report, ud, err) != ERR_OK)
        return err->code;
    if (!(s = store_backend_check(cfg->store, err)) ||
        provision_one(&s->row, "store", cfg->store, &setup, report, ud, err) != ERR_OK)
        return err->code;
    return ERR_OK;
}
