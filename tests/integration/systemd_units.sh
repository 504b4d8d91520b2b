#!/usr/bin/env bash
# The systemd units: `systemd-analyze verify` accepts every unit shipped in
# systemd/ and every unit `onesheet campaign install` writes;
# `systemd-analyze security --offline=true` rates the worker's exposure at
# most 2.0; and the C OnCalendar evaluator agrees with systemd's own for
# the schedule forms campaigns use.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || { echo "skip: no systemd-analyze"; exit 0; }

# Units name the installed binaries; verify checks that ExecStart= exists,
# so point them at the built ones.
mkdir -p "$T/units"
for f in "$ROOT"/systemd/*.service "$ROOT"/systemd/*.timer; do
    [ -f "$f" ] || continue
    sed "s|/usr/local/bin/|$BIN/|" "$f" >"$T/units/$(basename "$f")"
done
# onesheet-api is built only with libmicrohttpd; verify needs some binary.
[ -x "$BIN/onesheet-api" ] || sed -i "s|$BIN/onesheet-api|$BIN/onesheet|" "$T/units/onesheet-api.service"
ls "$T/units"/onesheet-worker@.service "$T/units"/onesheet-api.service >/dev/null
for u in "$T"/units/*; do
    out=$(systemd-analyze verify "$u" 2>&1) || fail "verify $(basename "$u"): $out"
    [ -z "$out" ] || fail "verify $(basename "$u") warned: $out"
done
ok "systemd-analyze verify: shipped units"

sec=$(systemd-analyze security --offline=true "$T/units/onesheet-worker@.service" 2>&1 | tail -n 1)
level=$(echo "$sec" | sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || fail "no exposure level in: $sec"
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "worker exposure $level > 2.0"
ok "worker exposure $level <= 2.0"

# campaign install --system writes a timer and a service that verify
# accepts; the service runs the given binary on a copy of the campaign.
cp "$ROOT/examples/campaign.json" "$T/weekly.json"
"$BIN/onesheet" campaign install "$T/weekly.json" --system --dir "$T/units" \
    --campaigns "$T/camps" --bin "$BIN/onesheet" >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "campaign install"; }
timer="$T/units/onesheet-campaign@weekly-releases.timer"
service="$T/units/onesheet-campaign@weekly-releases.service"
[ -f "$timer" ] && [ -f "$service" ] || fail "install did not write both units"
cmp -s "$T/weekly.json" "$T/camps/weekly-releases.json" || fail "the campaign was not copied"
grep -qx 'OnCalendar=Mon \*-\*-\* 09:00:00 UTC' "$timer" || fail "timer OnCalendar"
grep -qx 'Persistent=true' "$timer" || fail "timer Persistent"
grep -qx 'RandomizedDelaySec=300' "$timer" || fail "timer RandomizedDelaySec"
grep -qx "ExecStart=$BIN/onesheet campaign run $T/camps/weekly-releases.json" "$service" ||
    fail "ExecStart: $(grep ExecStart "$service")"
grep -qx 'User=onesheet' "$service" || fail "system service runs as onesheet"
for u in "$timer" "$service"; do
    out=$(cd "$T/units" && systemd-analyze verify "$u" 2>&1) || fail "verify $(basename "$u"): $out"
    [ -z "$out" ] || fail "verify $(basename "$u") warned: $out"
done
expect_status 66 "$BIN/onesheet" campaign install "$T/missing.json" --dir "$T/units"
ok "campaign install --system writes verified units running a copy of the campaign"

# Without --system: this user's systemd, under HOME, no User=; the default
# binary is the installed one ($PREFIX/bin/onesheet, PREFIX of the build).
mkdir -p "$T/home"
HOME=$T/home XDG_CONFIG_HOME= "$BIN/onesheet" campaign install "$T/weekly.json" >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "campaign install for the user"; }
us="$T/home/.config/systemd/user/onesheet-campaign@weekly-releases.service"
[ -f "$us" ] && [ -f "${us%.service}.timer" ] || fail "user units not in ~/.config/systemd/user"
[ -f "$T/home/.config/onesheet/campaigns/weekly-releases.json" ] || fail "user copy of the campaign"
grep -q '^User=' "$us" && fail "a user unit names User="
grep -qx "ExecStart=/.*/bin/onesheet campaign run $T/home/.config/onesheet/campaigns/weekly-releases.json" "$us" ||
    fail "user ExecStart: $(grep ExecStart "$us")"
grep -q 'systemctl --user' "$T/err" || fail "user install says systemctl --user"
sed "s|^ExecStart=/[^ ]*/bin/onesheet |ExecStart=$BIN/onesheet |" "$us" >"$T/units/u.service"
out=$(cd "$T/units" && systemd-analyze verify "$T/units/u.service" 2>&1) || fail "verify user service: $out"
[ -z "$out" ] || fail "verify user service warned: $out"
ok "campaign install without --system: the user's unit directory, a verified unit"

# A missing --dir is refused, naming it, with nothing written; --dry-run
# prints the units and writes nothing.
expect_status 64 "$BIN/onesheet" campaign install "$T/weekly.json" --dir "$T/nowhere" --campaigns "$T/c2"
grep -q -- "--dir $T/nowhere: no such directory" "$T/err" || fail "missing --dir message: $(cat "$T/err")"
[ ! -e "$T/c2" ] && [ ! -e "$T/nowhere" ] || fail "a refused install wrote something"
HOME=$T/home2 expect_status 0 "$BIN/onesheet" campaign install "$T/weekly.json" --dry-run --system
grep -q '^ExecStart=/.*/bin/onesheet campaign run /etc/onesheet/campaigns/weekly-releases.json$' "$T/out" ||
    fail "dry run: $(cat "$T/out")"
grep -q '^OnCalendar=' "$T/out" || fail "dry run prints the timer"
[ ! -e "$T/home2" ] || fail "--dry-run wrote something"
ok "a missing --dir is refused (64, nothing written); --dry-run prints the units"

# OnCalendar: the next five firings agree with systemd's.
base_iso=2026-01-01T00:00:00Z base_sd='2026-01-01 00:00:00 UTC'
for expr in daily weekly monthly hourly quarterly 'Mon *-*-* 09:00:00' 'Mon..Fri 08:30' \
            '*-*-01 00:00:00' 'Sat,Sun 10:00' '*:0/15' '*-02-29 12:00' 'Tue,Thu 07,19:05' \
            '*-*-* 08..18/2:00' '2026-03-* 23:59:59 UTC'; do
    want=$(TZ=UTC systemd-analyze calendar --iterations=5 --base-time="$base_sd" "$expr" |
           sed -n 's/^ *\(Next elapse\|Iter\. #[0-9]*\): \(.*\)$/\2/p')
    got=$("$ONESHEET_TEST_TOOLS/oncal_next" --base "$base_iso" --iterations 5 "$expr" | cut -f2)
    [ -n "$want" ] || fail "systemd-analyze gave nothing for $expr"
    [ "$got" = "$want" ] || fail "OnCalendar \"$expr\": got
$got
want
$want"
done
ok "next firings agree with systemd-analyze calendar"
