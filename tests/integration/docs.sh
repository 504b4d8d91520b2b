# Manual pages and completions (issue 22): generated from the binaries'
# own tables, every option a binary parses is in its page, each page
# renders with no groff warning, the bash completion completes commands,
# subcommands and options in an interactive bash, and the generator
# refuses an option its --help does not describe.
source "$(dirname "$0")/lib.sh"
: "${BUILD:?BUILD must point at the build tree}"
D=$T/docs
python3 "$ROOT/tools/gen-docs.py" "$BIN" "$D" "$ROOT/README.md" || fail "gen-docs refused the tree"

pages=(man/onesheet.1 man/onesheet.conf.5 man/onesheet-worker.8)
[ -x "$BIN/onesheet-api" ] && pages+=(man/onesheet-api.8)
for p in "${pages[@]}"; do
    [ -s "$D/$p" ] || fail "missing $p"
    groff -ww -man -Tutf8 "$D/$p" >/dev/null 2>"$T/groff" || fail "groff failed on $p"
    [ ! -s "$T/groff" ] || { cat "$T/groff" >&2; fail "groff warns on $p"; }
    MANWIDTH=80 man -l "$D/$p" >"$T/man" 2>"$T/manerr" || fail "man -l $p"
    [ ! -s "$T/manerr" ] || { cat "$T/manerr" >&2; fail "man -l warns on $p"; }
    grep -q "onesheet" "$T/man" || fail "$p renders empty"
done
ok "${#pages[@]} manual pages render without warnings (groff -ww, man -l)"

# Every option each binary parses is in its page ('-' is '\-' in roff).
inpage() { grep -qF -- "$(printf '%s' "$1" | sed 's/-/\\-/g')" "$2"; }
n=0
while IFS=$'\t' read -r cmd _; do
    [ "$cmd" = help ] && continue
    subs=("")
    [ "$cmd" = campaign ] && subs=(plan run install)
    for s in "${subs[@]}"; do
        # shellcheck disable=SC2086
        for o in $("$BIN/onesheet" --dump-options "$cmd" $s | sed 's/=.*//'); do
            inpage "$o" "$D/man/onesheet.1" || fail "onesheet $cmd $s: $o is not in onesheet(1)"
            n=$((n + 1))
        done
    done
done < <("$BIN/onesheet" --dump-commands)
for b in onesheet-worker onesheet-api; do
    [ -x "$BIN/$b" ] || continue
    for o in $("$BIN/$b" --dump-options | cut -f1 | sed 's/=.*//'); do
        inpage "$o" "$D/man/$b.8" || fail "$b: $o is not in $b(8)"
        n=$((n + 1))
    done
done
while IFS=$'\t' read -r key env; do
    grep -qF -- "$(printf '%s' "$key")" "$D/man/onesheet.conf.5" || fail "config key $key not in onesheet.conf(5)"
    grep -qF -- "$env" "$D/man/onesheet.conf.5" || fail "$env not in onesheet.conf(5)"
done < <("$BIN/onesheet" --dump-config)
[ "$n" -gt 60 ] || fail "only $n options found: the dump is broken"
ok "all $n options the binaries parse, and every config key, are in the manual"

# The check can fail: a binary parsing an option its --help leaves out.
mkdir -p "$T/fake"
cat >"$T/fake/onesheet" <<'SH'
#!/bin/sh
case "$1" in
--version) echo "onesheet 9.9 (commit x)" ;;
--dump-commands) printf 'frob\tfrob FILE   frobs\n' ;;
--dump-options) printf -- '--json\n--secret-flag=\n' ;;
--dump-config) ;;
--help|help) echo "usage: onesheet frob FILE [--json]" ;;
esac
SH
chmod +x "$T/fake/onesheet"
set +e; python3 "$ROOT/tools/gen-docs.py" "$T/fake" "$T/fakedocs" "$ROOT/README.md" 2>"$T/err"; rc=$?; set -e
[ "$rc" = 65 ] || fail "an undocumented option passed (exit $rc)"
grep -q -- "--secret-flag is parsed but not in its --help" "$T/err" || fail "message: $(cat "$T/err")"
ok "an option missing from --help fails the generation (65, naming it)"

# bash: complete in an interactive shell (no rc files), as a user would.
complete_words() {   # WORDS... (the last is the word being completed)
    bash --norc --noprofile -i -c '
        source "$1"; shift
        complete -p "$1" >/dev/null || exit 3
        fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        "$fn"; printf "%s\n" "${COMPREPLY[@]}"' _ "$D/completion/onesheet.bash" "$@" 2>/dev/null
}
complete_words onesheet st | grep -x status >/dev/null || fail "bash: onesheet st<TAB> does not give status"
complete_words onesheet "" | grep -x submit >/dev/null || fail "bash: commands not offered"
complete_words onesheet submit --pr | grep -x -- --prompt >/dev/null || fail "bash: submit --pr<TAB>"
complete_words onesheet campaign in | grep -x install >/dev/null || fail "bash: campaign subcommands"
complete_words onesheet campaign install --d | grep -x -- --dir >/dev/null || fail "bash: campaign install --d<TAB>"
complete_words onesheet help wa | grep -x wait >/dev/null || fail "bash: help COMMAND"
complete_words onesheet-worker --poll | grep -x -- --poll-wait >/dev/null || fail "bash: worker --poll<TAB>"
complete_words onesheet status --con | grep -x -- --config >/dev/null || fail "bash: --config after the command"
ok "bash completes commands, subcommands and options (bash -i, complete -p, compgen)"
if command -v zsh >/dev/null; then
    zsh -n "$D/completion/_onesheet" || fail "zsh completion does not parse"
    ok "zsh completion parses"
fi
