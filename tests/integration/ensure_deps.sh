# make run / make check's first step (tools/ensure-deps.sh, issue 22), with
# stand-ins for dpkg-query, id, sudo and apt-get on PATH: a set-up machine
# installs nothing; root installs exactly what is missing; a user without
# password-less sudo gets one line naming the command, and exit 1.
source "$(dirname "$0")/lib.sh"
S=$T/stubs; mkdir -p "$S"
cat >"$S/dpkg-query" <<'SH'
#!/bin/sh
# Reports every package installed except those in $MISSING.
shift 2
for p in "$@"; do
    case " $MISSING " in *" $p "*) ;; *) echo "$p install ok installed" ;; esac
done
SH
cat >"$S/id" <<'SH'
#!/bin/sh
echo "${FAKE_UID:-0}"
SH
cat >"$S/sudo" <<'SH'
#!/bin/sh
echo "sudo $*" >>"$LOG"; [ "${SUDO_OK:-0}" = 1 ] || exit 1; [ "$1" = -n ] && shift; [ "$1" = true ] || exec "$@"
SH
cat >"$S/apt-get" <<'SH'
#!/bin/sh
echo "apt-get $*" >>"$LOG"
SH
chmod +x "$S"/*
export LOG=$T/log PATH=$S:$PATH
pkgs="build-essential libcurl4-openssl-dev groff-base man-db"

: >"$LOG"
MISSING= sh "$ROOT/tools/ensure-deps.sh" $pkgs 2>"$T/err" || fail "set-up machine: $(cat "$T/err")"
[ ! -s "$LOG" ] && [ ! -s "$T/err" ] || fail "a set-up machine ran something: $(cat "$LOG" "$T/err")"
ok "nothing missing: nothing run, nothing said"

: >"$LOG"
MISSING="groff-base man-db" FAKE_UID=0 sh "$ROOT/tools/ensure-deps.sh" $pkgs 2>"$T/err" ||
    fail "root install: $(cat "$T/err")"
grep -q '^apt-get update' "$LOG" || fail "no apt-get update"
grep -q '^apt-get install -y -q --no-install-recommends groff-base man-db$' "$LOG" ||
    fail "root installs exactly the missing: $(cat "$LOG")"
ok "as root: apt-get installs exactly the missing packages"

: >"$LOG"
MISSING="man-db" FAKE_UID=1000 SUDO_OK=1 sh "$ROOT/tools/ensure-deps.sh" $pkgs 2>"$T/err" ||
    fail "sudo -n install: $(cat "$T/err")"
grep -q '^apt-get install .* man-db$' "$LOG" || fail "sudo -n did not install: $(cat "$LOG")"
ok "a user with password-less sudo: installs through sudo -n"

: >"$LOG"
set +e
MISSING="man-db" FAKE_UID=1000 SUDO_OK=0 sh "$ROOT/tools/ensure-deps.sh" $pkgs 2>"$T/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "no way to install: exit $rc"
grep -q 'missing Debian packages: man-db' "$T/err" || fail "names the packages: $(cat "$T/err")"
grep -q 'run: sudo make deps' "$T/err" || fail "names the command: $(cat "$T/err")"
grep -q '^apt-get' "$LOG" && fail "apt-get ran without rights"
ok "no root, sudo wants a password: one message naming 'sudo make deps', exit 1"

: >"$LOG"
MISSING="man-db" ONESHEET_SKIP_DEPS=1 sh "$ROOT/tools/ensure-deps.sh" $pkgs || fail "skip"
[ ! -s "$LOG" ] || fail "ONESHEET_SKIP_DEPS=1 still ran: $(cat "$LOG")"
ok "ONESHEET_SKIP_DEPS=1 skips the look"
