# make install PREFIX=… DESTDIR=… puts the binaries, schema and examples in
# place, and the installed binary runs.
source "$(dirname "$0")/lib.sh"

make -s -C "$ROOT" install PREFIX=/opt/onesheet DESTDIR="$T/root" SANITIZE="${SANITIZE:-}" >/dev/null
p=$T/root/opt/onesheet
for f in bin/onesheet bin/onesheet-worker share/onesheet/schema/sqlite/001_init.sql \
         share/doc/onesheet/examples/prompts.txt share/doc/onesheet/README.md; do
    [ -e "$p/$f" ] || fail "missing $f"
done
[ -x "$p/bin/onesheet" ] || fail "onesheet not executable"
"$p/bin/onesheet" --version | grep -q '^onesheet ' || fail "installed binary runs"
ok "make install with PREFIX and DESTDIR"
