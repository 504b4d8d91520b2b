# make install PREFIX=… DESTDIR=… puts the binaries, schema and examples in
# place, and the installed binary runs.
source "$(dirname "$0")/lib.sh"

# On a copy of the build: PREFIX is compiled into campaign install's object,
# so installing from the suite's own build would relink the binaries the
# other tests are running with another PREFIX.
mkdir -p "$T/build/bin"
cp -a "$BUILD/." "$T/build/"
cp -a "$BIN"/onesheet "$BIN"/onesheet-worker "$BIN"/onesheet-api "$T/build/bin/" 2>/dev/null || true
make -s -C "$ROOT" install PREFIX=/opt/onesheet DESTDIR="$T/root" SANITIZE="${SANITIZE:-}" \
    BUILD="$T/build" BIN="$T/build/bin" >/dev/null
p=$T/root/opt/onesheet
for f in bin/onesheet bin/onesheet-worker share/onesheet/schema/sqlite/001_init.sql \
         share/doc/onesheet/examples/prompts.txt share/doc/onesheet/README.md \
         share/man/man1/onesheet.1 share/man/man5/onesheet.conf.5 share/man/man8/onesheet-worker.8 \
         share/bash-completion/completions/onesheet share/bash-completion/completions/onesheet-worker \
         share/zsh/site-functions/_onesheet; do
    [ -e "$p/$f" ] || fail "missing $f"
done
[ -x "$p/bin/onesheet" ] || fail "onesheet not executable"
"$p/bin/onesheet" --version | grep -q '^onesheet ' || fail "installed binary runs"
MANPATH=$p/share/man man -w onesheet.conf >/dev/null 2>&1 || fail "man finds onesheet.conf(5) under PREFIX"
"$p/bin/onesheet" campaign install "$ROOT/examples/campaign.json" --system --dry-run |
    grep -q '^ExecStart=/opt/onesheet/bin/onesheet campaign run ' || fail "campaign units run PREFIX/bin/onesheet"
ok "make install with PREFIX and DESTDIR (manual pages, completions)"
