#!/usr/bin/env python3
"""gen-docs.py BIN OUT README — the manual pages and shell completions,
built from the tables the binaries parse with, so they cannot drift:

  onesheet --dump-commands             the command table (name, summary)
  onesheet --dump-options CMD [SUB]    the option table CMD parses with
  onesheet --dump-config               the config keys and their variables
  onesheet-worker|api --dump-options   their option tables (worker: ranges)
  each command's --help                the prose, verbatim

Writes OUT/man/onesheet.1, onesheet-worker.8, onesheet-api.8,
onesheet.conf.5 and OUT/completion/onesheet.bash, _onesheet (zsh).  The
descriptions of the config keys are README.md's Configuration table; a key
in the code without a row there is an error (exit 65), as is an option a
binary parses that its --help does not mention."""
import os
import re
import subprocess
import sys


def run(*argv):
    r = subprocess.run(argv, capture_output=True, text=True,
                       env=dict(os.environ, ONESHEET_CONFIG="/dev/null",
                                ONESHEET_STATE_DIR="/nonexistent/onesheet-docs"))
    return r.stdout


def options(*argv):
    """[(name, takes_value, range)] from a --dump-options listing."""
    out = []
    for line in run(*argv).splitlines():
        name, _, rng = line.partition("\t")
        if not name:
            continue
        takes = name.endswith("=")
        out.append((name.rstrip("="), takes, rng))
    return out


def esc(text):
    """Text as roff: backslashes, and a leading dot or quote, made literal."""
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        line = line.replace("-", "\\-")
        lines.append("".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in line))
    return "\n".join(lines)


def literal(text):
    return ".PP\n.nf\n" + esc(text.rstrip("\n")) + "\n.fi\n"


def opt_list(opts):
    rows = []
    for name, takes, rng in opts:
        rows.append(".TP\n.B " + esc(name) + (" \\fIVALUE\\fR" if takes else "")
                    + "\n" + (esc("from " + rng.replace("..", " to ")) if rng
                              else "See above.") + "\n")
    return "".join(rows)


def header(name, section, title):
    return (".TH %s %s \"\" \"onesheet %s\" \"%s\"\n" % (name.upper(), section, VERSION, title))


def undocumented(opts, helptext, who):
    bad = [n for n, _, _ in opts if n not in ("--help", "-h") and not re.search(re.escape(n) + r"(?![\w-])", helptext)]
    return ["%s: option %s is parsed but not in its --help" % (who, n) for n in bad]


def readme_config(path):
    rows = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\| (`[a-z_]+`(?:, `[a-z_]+`)*) \| ([^|]*) \| ([^|]*) \| ([^|]*) \|", line)
        if not m:
            continue
        for k in re.findall(r"`([a-z_]+)`", m.group(1)):
            rows[k] = (m.group(3).strip(), m.group(4).strip())
    return rows


def plain(md):
    return md.replace("`", "")


def main():
    global VERSION
    bindir, out, readme = sys.argv[1:4]
    cli = os.path.join(bindir, "onesheet")
    VERSION = run(cli, "--version").split()[1]
    errors = []
    os.makedirs(os.path.join(out, "man"), exist_ok=True)
    os.makedirs(os.path.join(out, "completion"), exist_ok=True)

    # onesheet(1)
    commands = []   # (name, summary, [(sub, opts)])
    for line in run(cli, "--dump-commands").splitlines():
        name, _, summary = line.partition("\t")
        words = summary.split()
        # "campaign plan|run|install FILE": subcommands, each with its table.
        subs = words[1].split("|") if len(words) > 1 and \
            re.fullmatch(r"[a-z]+(\|[a-z]+)+", words[1]) else []
        if subs:
            parts = [(s, options(cli, "--dump-options", name, s)) for s in subs]
        else:
            parts = [(None, options(cli, "--dump-options", name))]
        commands.append((name, summary, parts))
    page = header("onesheet", 1, "User Commands")
    page += (".SH NAME\nonesheet \\- submit prompts, watch and manage poster jobs\n"
             ".SH SYNOPSIS\n.B onesheet\n[\\fB\\-\\-config\\fR \\fIFILE\\fR] \\fICOMMAND\\fR "
             "[\\fIoptions\\fR]\n.br\n.B onesheet help\n[\\fICOMMAND\\fR]\n"
             ".br\n.B onesheet \\-\\-version\n[\\fB\\-v\\fR]\n.SH DESCRIPTION\n")
    page += literal(run(cli, "--help"))
    page += ".SH COMMANDS\n"
    for name, summary, parts in commands:
        page += ".SS %s\n" % esc(name)
        helptext = run(cli, "help", name) if name != "help" else run(cli, "--help")
        page += literal(helptext)
        for sub, opts in parts:
            if sub:
                page += ".PP\nOptions of \\fB%s %s\\fR:\n" % (esc(name), esc(sub))
            elif opts:
                page += ".PP\nOptions:\n"
            page += opt_list(opts)
            errors += undocumented(opts, helptext, "onesheet " + name + (" " + sub if sub else ""))
    page += (".SH ENVIRONMENT\n.TP\n.B ONESHEET_CONFIG\nthe config file; see\n"
             ".BR onesheet.conf (5)\n.TP\n.B ONESHEET_STATE_DIR\n"
             "the state directory (default ~/.local/state/onesheet)\n"
             ".SH EXIT STATUS\n0 success; 64 usage; 65 bad data or not found; "
             "66 missing input; 75 try again; 78 configuration.\n"
             ".SH SEE ALSO\n.BR onesheet\\-worker (8),\n.BR onesheet\\-api (8),\n"
             ".BR onesheet.conf (5)\n")
    open(os.path.join(out, "man", "onesheet.1"), "w").write(page)

    # onesheet-worker(8), onesheet-api(8)
    daemons = {}
    for prog, what in (("onesheet-worker", "turn queued jobs into posters"),
                       ("onesheet-api", "the HTTP API to submit and watch jobs")):
        path = os.path.join(bindir, prog)
        if not os.path.exists(path):
            continue
        opts = options(path, "--dump-options")
        helptext = run(path, "--help")
        errors += undocumented(opts, helptext, prog)
        daemons[prog] = opts
        page = header(prog, 8, "System Administration")
        page += ".SH NAME\n%s \\- %s\n.SH SYNOPSIS\n.B %s\n[\\fIoptions\\fR]\n" % (
            esc(prog), what, esc(prog))
        page += ".SH DESCRIPTION\n" + literal(helptext) + ".SH OPTIONS\n" + opt_list(opts)
        page += (".SH SEE ALSO\n.BR onesheet (1),\n.BR onesheet.conf (5)\n")
        open(os.path.join(out, "man", prog + ".8"), "w").write(page)

    # onesheet.conf(5)
    described = readme_config(readme)
    page = header("onesheet.conf", 5, "File Formats")
    page += (".SH NAME\nonesheet.conf \\- onesheet's configuration file\n.SH DESCRIPTION\n"
             "\\fBkey = value\\fR lines, \\fB#\\fR comments.  The file is "
             "\\fB$ONESHEET_CONFIG\\fR, else \\fI~/.config/onesheet/config\\fR, else "
             "\\fI/etc/onesheet/onesheet.conf\\fR.  Command-line flags override the "
             "environment, which overrides the file.  A bad value names its key and "
             "where it came from, and exits 78.\n.SH KEYS\n")
    for line in run(cli, "--dump-config").splitlines():
        key, _, env = line.partition("\t")
        if key not in described:
            errors.append("config key %s has no row in %s's Configuration table" % (key, readme))
            continue
        values, default = described[key]
        page += ".TP\n.B %s\n%s (environment \\fB%s\\fR; default: %s)\n" % (
            esc(key), esc(plain(values)), esc(env), esc(plain(default)))
    page += ".SH SEE ALSO\n.BR onesheet (1),\n.BR onesheet\\-worker (8),\n.BR onesheet\\-api (8)\n"
    open(os.path.join(out, "man", "onesheet.conf.5"), "w").write(page)

    # bash completion
    names = " ".join(c[0] for c in commands)
    b = ["# bash completion for onesheet, onesheet-worker and onesheet-api",
         "# (generated by tools/gen-docs.py from the binaries' option tables).",
         "_onesheet() {",
         "    local cur=${COMP_WORDS[COMP_CWORD]} cmd= sub= i w opts=",
         "    for ((i = 1; i < COMP_CWORD; i++)); do",
         "        w=${COMP_WORDS[i]}",
         "        case $w in",
         "        --config) ((i++)) ;;",
         "        -*) ;;",
         "        *) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi ;;",
         "        esac",
         "    done",
         "    case $cmd in"]
    subs_of = {}
    for name, summary, parts in commands:
        if parts[0][0]:
            subs_of[name] = " ".join(s for s, _ in parts)
            b.append("    %s)" % name)
            b.append("        case $sub in")
            for s, opts in parts:
                b.append("        %s) opts=\"%s --config\" ;;" % (s, " ".join(o[0] for o in opts)))
            b.append("        *) [[ $cur != -* ]] && { COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"));"
                     " return; } ;;" % subs_of[name])
            b.append("        esac ;;")
        else:
            b.append("    %s) opts=\"%s --config\" ;;" % (name, " ".join(o[0] for o in parts[0][1])))
    b += ["    '') opts=\"--config --version --help -v\"",
          "        [[ $cur != -* ]] && { COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return; } ;;" % names,
          "    esac",
          "    if [[ $cmd == help ]]; then COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return; fi" % names,
          "    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))",
          "    else COMPREPLY=($(compgen -f -- \"$cur\")); fi",
          "}",
          "complete -F _onesheet onesheet"]
    for prog, opts in daemons.items():
        fn = "_" + prog.replace("-", "_")
        b += ["%s() {" % fn,
              "    local cur=${COMP_WORDS[COMP_CWORD]}",
              "    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))"
              % " ".join(o[0] for o in opts),
              "    else COMPREPLY=($(compgen -f -- \"$cur\")); fi",
              "}",
              "complete -F %s %s" % (fn, prog)]
    open(os.path.join(out, "completion", "onesheet.bash"), "w").write("\n".join(b) + "\n")

    # zsh completion
    z = ["#compdef onesheet onesheet-worker onesheet-api",
         "# zsh completion (generated by tools/gen-docs.py from the binaries' option tables).",
         "local -a cmds opts",
         "case $service in"]
    for prog, opts in daemons.items():
        z += ["%s)" % prog,
              "    opts=(%s)" % " ".join("'%s'" % o[0] for o in opts),
              "    if [[ $PREFIX == -* ]]; then compadd -a opts; else _files; fi",
              "    return ;;"]
    z += ["esac",
          "cmds=(%s)" % " ".join("'%s:%s'" % (n, re.split(r"\s{2,}", s.strip())[-1]
                                             .replace("'", "'\\''").replace(":", "\\:"))
                                 for n, s, _ in commands),
          "if (( CURRENT == 2 )); then",
          "    if [[ $PREFIX == -* ]]; then compadd -- --config --version --help -v; "
          "else _describe command cmds; fi",
          "    return",
          "fi",
          "case ${words[2]} in"]
    for name, summary, parts in commands:
        if parts[0][0]:
            z.append("%s)" % name)
            z.append("    if (( CURRENT == 3 )); then compadd -- %s; return; fi" % subs_of[name])
            z.append("    case ${words[3]} in")
            for s, opts in parts:
                z.append("    %s) opts=(%s) ;;" % (s, " ".join("'%s'" % o[0] for o in opts)))
            z.append("    esac ;;")
        else:
            z.append("%s) opts=(%s) ;;" % (name, " ".join("'%s'" % o[0] for o in parts[0][1])))
    z += ["esac",
          "if [[ $PREFIX == -* ]]; then compadd -- $opts --config; else _files; fi"]
    open(os.path.join(out, "completion", "_onesheet"), "w").write("\n".join(z) + "\n")

    for e in errors:
        print("gen-docs: " + e, file=sys.stderr)
    return 65 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
