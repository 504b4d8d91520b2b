/* campaign_units — the systemd timer and service `onesheet campaign install`
 * writes for a campaign.
 *
 * The timer's OnCalendar= is the campaign's schedule with " UTC" appended,
 * because onesheet evaluates schedules in UTC and systemd would otherwise
 * use the machine's zone.  Persistent=true makes a timer that missed its
 * time (machine off) fire once at boot; the run then serves the latest slot
 * not after now, and its batch id makes a second start of the same slot
 * harmless.  RandomizedDelaySec= spreads campaigns scheduled at the same
 * minute; the slot is the scheduled time, not the delayed start, so the
 * delay never changes which firing a run is. */
#include "campaign/campaign.h"

#include <string.h>

/* systemd unit values: a path must not contain whitespace or specifiers
 * we did not mean ('%'), nor line breaks. */
static bool unit_safe(const char *s)
{
    return s && *s == '/' && !strpbrk(s, " \t\r\n%\\\"'");
}

static bool schedule_has_utc(const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n >= 3 && (strncmp(s + n - 3, "UTC", 3) == 0 || strncmp(s + n - 3, "utc", 3) == 0);
}

err_code_t campaign_units(const campaign_t *c, const char *campaign_path, const char *bin,
                          buf_t *timer, buf_t *service, err_t *err)
{
    if (!unit_safe(campaign_path))
        return err_set(err, ERR_INVALID, "%s: the campaign file's absolute path must not "
                       "contain spaces, quotes, backslashes or '%%'", campaign_path);
    if (!unit_safe(bin))
        return err_set(err, ERR_INVALID, "%s: the onesheet binary's absolute path must not "
                       "contain spaces, quotes, backslashes or '%%'", bin);
    if (strpbrk(c->schedule, "\r\n%"))
        return err_set(err, ERR_INVALID, "%s: schedule: must not contain '%%' or line "
                       "breaks", c->path);
    err_code_t rc = buf_appendf(
        timer,
        "# onesheet-campaign@%s.timer: written by `onesheet campaign install %s`.\n"
        "# Edit the campaign file and install again rather than this file.\n"
        "[Unit]\n"
        "Description=onesheet campaign %s (%s)\n"
        "Documentation=file:%s\n"
        "\n"
        "[Timer]\n"
        "OnCalendar=%s%s\n"
        "Persistent=true\n"
        "RandomizedDelaySec=%ld\n"
        "AccuracySec=1s\n"
        "Unit=onesheet-campaign@%s.service\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n",
        c->name, campaign_path, c->name, c->schedule, campaign_path, c->schedule,
        schedule_has_utc(c->schedule) ? "" : " UTC", c->randomized_delay_s, c->name);
    if (rc != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    rc = buf_appendf(
        service,
        "# onesheet-campaign@%s.service: written by `onesheet campaign install %s`.\n"
        "# One firing of the campaign; started by onesheet-campaign@%s.timer.\n"
        "[Unit]\n"
        "Description=onesheet campaign %s: one firing\n"
        "Documentation=file:%s\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "ExecStart=%s campaign run %s\n"
        "User=onesheet\n"
        "Group=onesheet\n"
        "StateDirectory=onesheet\n"
        "StateDirectoryMode=0700\n"
        "Environment=ONESHEET_STATE_DIR=%%S/onesheet\n"
        "EnvironmentFile=-/etc/onesheet/onesheet.env\n"
        "EnvironmentFile=-/etc/onesheet/campaign-%s.env\n"
        "TimeoutStartSec=15min\n"
        "UMask=0077\n"
        "ProtectSystem=strict\n"
        "ProtectHome=true\n"
        "PrivateTmp=true\n"
        "PrivateDevices=true\n"
        "NoNewPrivileges=true\n"
        "CapabilityBoundingSet=\n"
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n"
        "SystemCallFilter=@system-service\n"
        "SystemCallArchitectures=native\n"
        "MemoryDenyWriteExecute=true\n"
        "LockPersonality=true\n"
        "RestrictRealtime=true\n"
        "RestrictNamespaces=true\n"
        "RestrictSUIDSGID=true\n"
        "ProtectKernelTunables=true\n"
        "ProtectKernelModules=true\n"
        "ProtectKernelLogs=true\n"
        "ProtectControlGroups=true\n"
        "ProtectClock=true\n"
        "ProtectHostname=true\n"
        "ProtectProc=invisible\n",
        c->name, campaign_path, c->name, c->name, campaign_path, bin, campaign_path, c->name);
    if (rc != ERR_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    return ERR_OK;
}
