#!/bin/sh
# ensure-deps.sh PKG... — what `make run` and `make check` do first: a cheap
# look (one dpkg-query, node_modules present) and, only when something is
# missing, the same install as `make deps` — apt-get as root, or through
# `sudo -n` when that needs no password; otherwise one message naming the
# command to run, and exit 1.  ONESHEET_SKIP_DEPS=1 skips the look.
set -u
[ "${ONESHEET_SKIP_DEPS:-}" = 1 ] && exit 0
cd "$(dirname "$0")/.." || exit 1

missing=
if command -v dpkg-query >/dev/null 2>&1; then
    # One call for all: packages not installed are the ones dpkg-query
    # does not report as "install ok installed".
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
                awk '/ install ok installed$/ {print $1}')
    for p in "$@"; do
        case " $(echo $installed) " in *" $p "*) ;; *) missing="$missing $p" ;; esac
    done
fi
need_npm=
if [ -f package-lock.json ] && [ ! -f node_modules/.package-lock.json ]; then
    need_npm=1
fi
[ -z "$missing" ] && [ -z "$need_npm" ] && exit 0

if [ -n "$missing" ]; then
    echo "onesheet: missing Debian packages:$missing" >&2
    if [ "$(id -u)" = 0 ]; then
        sudo=
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "onesheet: cannot install them without a password; run: sudo make deps" >&2
        exit 1
    fi
    $sudo apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
            $missing || {
        echo "onesheet: installing the packages failed; run: sudo make deps" >&2
        exit 1
    }
fi
if [ -n "$need_npm" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "onesheet: npm is missing (the test emulators need it); run: sudo apt-get install npm && npm ci" >&2
        exit 1
    fi
    echo "onesheet: installing the pinned test emulators (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error || {
        echo "onesheet: npm ci failed; run: npm ci" >&2
        exit 1
    }
fi
exit 0
