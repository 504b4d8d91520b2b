# The mutants list's parser (tools/mutants.py --check): the committed list
# is well-formed and every mutant's text is found; a bad list is refused
# with exit 65 and a message naming the file, the line and the field.
source "$(dirname "$0")/lib.sh"
M=$ROOT/tools/mutants.py
python3 "$M" --check >"$T/out" 2>&1 || { cat "$T/out"; fail "the committed list"; }
grep -q "all found" "$T/out" || fail "no summary: $(cat "$T/out")"

# bad NAME WANT-IN-MESSAGE: the list in $T/NAME is refused with exit 65.
bad() {
    local rc=0
    python3 "$M" --check --list "$T/$1" >"$T/out" 2>&1 || rc=$?
    [ "$rc" = 65 ] || { cat "$T/out"; fail "$1: exit $rc, want 65"; }
    grep -qF -- "$2" "$T/out" || { cat "$T/out"; fail "$1: message lacks '$2'"; }
}
good='mutant m1
  file  common/base/err.c
  from  err->http_status == 502 || err->http_status == 503 ||
  to    err->http_status == 502 ||
  kill  test_base'
printf '%s\n' "$good" >"$T/ok.txt"
python3 "$M" --check --list "$T/ok.txt" >/dev/null || fail "a good list is refused"

printf '%s\n' "$good" | sed 's/^  from  .*/  from  no such text at all/' >"$T/notfound.txt"
bad notfound.txt "notfound.txt:1: mutant m1: its text occurs 0 times in common/base/err.c"
printf '%s\n' "$good" | sed 's/^  kill  .*/  kill  test_nonesuch/' >"$T/nokiller.txt"
bad nokiller.txt "no test test_nonesuch"
printf '%s\n' "$good" | sed '/^  to /d' >"$T/noto.txt"
bad noto.txt "no 'to' field"
printf '%s\n' "$good" | sed 's/^  kill /  kil  /' >"$T/field.txt"
bad field.txt "field.txt:5: unknown field 'kil'"
printf '  file  x\n' >"$T/orphan.txt"
bad orphan.txt "orphan.txt:1: a field before the first 'mutant ID'"
{ printf '%s\n' "$good"; printf '%s\n' "$good"; } >"$T/twice.txt"
bad twice.txt "twice.txt:6: mutant m1 is listed twice"
printf '%s\n' "$good" | sed 's|common/base/err.c|common/base/nope.c|' >"$T/nofile.txt"
bad nofile.txt "file common/base/nope.c does not exist"
printf '%s\n' "$good" | sed 's/^  file .*/&\n  near  return true;/' >"$T/near.txt"
bad near.txt "its anchor occurs"
printf '# only a comment\n' >"$T/empty.txt"
bad empty.txt "no mutants"
printf '\xff\xfe\n' >"$T/binary.txt"
bad binary.txt "binary.txt"
ok "the mutants list parser refuses 10 kinds of bad list with file:line and exit 65"
