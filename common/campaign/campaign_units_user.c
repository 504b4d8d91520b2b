/* campaign_units_user — the service of a campaign installed for one user
 * (`onesheet campaign install` without --system): the user's systemd
 * manager runs it as that user, so it names no User=/Group= and none of
 * the hardening a user manager cannot apply; %S and %E are the user's
 * state and configuration directories (~/.local/state, ~/.config), as
 * they are /var/lib and /etc for the system manager.  The timer is the
 * system one's (campaign_units). */
#include "campaign/campaign.h"

#include <string.h>

err_code_t campaign_units_user(const campaign_t *c, const char *campaign_path, const char *bin,
                               buf_t *timer, buf_t *service, err_t *err)
{
    buf_t system_service = BUF_INIT;

    /* The same checks of the paths and the schedule, and the timer. */
    err_code_t rc = campaign_units(c, campaign_path, bin, timer, &system_service, err);
    buf_free(&system_service);
    if (rc != ERR_OK)
        return rc;
    rc = buf_appendf(
        service,
        "# onesheet-campaign@%s.service: written by `onesheet campaign install %s`\n"
        "# for this user's systemd (systemctl --user).  One firing of the campaign;\n"
        "# started by onesheet-campaign@%s.timer.\n"
        "[Unit]\n"
        "Description=onesheet campaign %s: one firing\n"
        "Documentation=file:%s\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "ExecStart=%s campaign run %s\n"
        "StateDirectory=onesheet\n"
        "StateDirectoryMode=0700\n"
        "Environment=ONESHEET_STATE_DIR=%%S/onesheet\n"
        "EnvironmentFile=-%%E/onesheet/onesheet.env\n"
        "EnvironmentFile=-%%E/onesheet/campaign-%s.env\n"
        "TimeoutStartSec=15min\n"
        "UMask=0077\n"
        "NoNewPrivileges=true\n"
        "LockPersonality=true\n"
        "RestrictRealtime=true\n"
        "SystemCallArchitectures=native\n"
        "MemoryDenyWriteExecute=true\n",
        c->name, campaign_path, c->name, c->name, campaign_path, bin, campaign_path, c->name);
    if (rc != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    return ERR_OK;
}
