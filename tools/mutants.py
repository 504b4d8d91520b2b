#!/usr/bin/env python3
"""make mutants (issue 24): small deliberate bugs the suite must catch.

Reads a list of mutants (tests/mutants/mutants.txt), each an exact text
replacement in one source file plus the tests that must kill it:

    mutant ID
      file  PATH            (relative to the repository)
      near  TEXT            (optional: an anchor occurring once in PATH; then
                             FROM is its first occurrence within 600
                             characters after the anchor's start)
      from  TEXT            (without near: must occur exactly once in PATH)
      to    TEXT
      kill  TEST [TEST...]  (tests/unit/TEST.c or tests/integration/TEST.sh)
      why   PROSE           (optional)

Copies the tree and its build directory to a scratch directory (so the
first mutant rebuilds only what it touches), checks that every killer
passes unmutated, then for each mutant: applies it, rebuilds only what its
killers need (make -j2 in the copied BUILD), runs them, restores the file.
A mutant whose killers all pass has survived.  Prints a table, mutant ->
killed by, and exits 0 only when every mutant was killed; 65 when the list
is malformed (naming its line) or a mutant's text is not found; 1 when a
mutant survived, did not build or a killer fails unmutated.

usage: mutants.py [--list FILE] [--build DIR] [--only ID[,ID]] [--keep]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

EX_DATAERR = 65
FIELDS = ("file", "near", "from", "to", "kill", "why")
NEAR_SPAN = 600


class ListError(Exception):
    pass


def parse(path, root):
    """The mutants of the list at path, checked against the tree at root."""
    mutants, cur = [], None
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as e:
        raise ListError(f"{path}: not UTF-8 text (byte {e.start})")
    except OSError as e:
        raise ListError(f"{path}: {e.strerror}")
    for no, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not raw[0].isspace():
            word, _, rest = line.partition(" ")
            if word != "mutant" or not rest.strip():
                raise ListError(f"{path}:{no}: expected 'mutant ID', got {line!r}")
            cur = {"id": rest.strip(), "line": no}
            if any(m["id"] == cur["id"] for m in mutants):
                raise ListError(f"{path}:{no}: mutant {cur['id']} is listed twice")
            mutants.append(cur)
            continue
        if cur is None:
            raise ListError(f"{path}:{no}: a field before the first 'mutant ID'")
        key, _, val = line.strip().partition(" ")
        val = val.strip()
        if key not in FIELDS:
            raise ListError(f"{path}:{no}: unknown field {key!r} (want one of {', '.join(FIELDS)})")
        if key in cur:
            raise ListError(f"{path}:{no}: field {key} given twice for {cur['id']}")
        if not val:
            raise ListError(f"{path}:{no}: field {key} is empty")
        cur[key] = val.split() if key == "kill" else val
    if not mutants:
        raise ListError(f"{path}: no mutants")
    for m in mutants:
        where = f"{path}:{m['line']}: mutant {m['id']}"
        for k in ("file", "from", "to", "kill"):
            if k not in m:
                raise ListError(f"{where}: no '{k}' field")
        if m["from"] == m["to"]:
            raise ListError(f"{where}: 'to' is the same as 'from'")
        src = os.path.join(root, m["file"])
        if not os.path.isfile(src):
            raise ListError(f"{where}: file {m['file']} does not exist")
        with open(src, encoding="utf-8") as f:
            text = f.read()
        if "near" in m:
            n = text.count(m["near"])
            if n != 1:
                raise ListError(f"{where}: its anchor occurs {n} times in {m['file']} "
                                f"(must be once): {m['near']!r}")
            if locate(text, m) < 0:
                raise ListError(f"{where}: {m['from']!r} is not within {NEAR_SPAN} "
                                f"characters after its anchor in {m['file']}")
        else:
            n = text.count(m["from"])
            if n != 1:
                raise ListError(f"{where}: its text occurs {n} times in {m['file']} "
                                f"(must be once): {m['from']!r}")
        for t in m["kill"]:
            if test_kind(root, t) is None:
                raise ListError(f"{where}: no test {t} (tests/unit/{t}.c or "
                                f"tests/integration/{t}.sh)")
    return mutants


def locate(text, m):
    """Where mutant m's text starts in text (-1: not found)."""
    if "near" not in m:
        return text.find(m["from"])
    a = text.find(m["near"])
    i = text.find(m["from"], a)
    return i if a >= 0 and 0 <= i and i - a <= NEAR_SPAN else -1


def mutate(text, m):
    i = locate(text, m)
    if i < 0:
        raise ListError(f"mutant {m['id']}: its text is no longer in {m['file']}")
    return text[:i] + m["to"] + text[i + len(m["from"]):]


def test_kind(root, name):
    if os.path.isfile(os.path.join(root, "tests/unit", name + ".c")):
        return "unit"
    if os.path.isfile(os.path.join(root, "tests/integration", name + ".sh")):
        return "integration"
    return None


def copy_tree(root, build_rel, scratch):
    """The sources and the build directory into scratch, times kept."""
    skip = {".git", "build", "bin"}
    for name in os.listdir(root):
        if name in skip:
            continue
        s, d = os.path.join(root, name), os.path.join(scratch, name)
        if os.path.islink(s):
            os.symlink(os.readlink(s), d)
        elif os.path.isdir(s):
            shutil.copytree(s, d, symlinks=True)
        else:
            shutil.copy2(s, d)
    shutil.copytree(os.path.join(root, build_rel), os.path.join(scratch, build_rel),
                    symlinks=True)


class Runner:
    def __init__(self, scratch, build_rel, make_vars):
        self.scratch, self.build_rel, self.make_vars = scratch, build_rel, make_vars
        self.build = os.path.join(scratch, build_rel)
        self.bin = os.path.join(self.build, "bin")

    def make(self, tests):
        targets = []
        for t in tests:
            if test_kind(self.scratch, t) == "unit":
                targets.append(f"{self.build_rel}/tests/{t}")
            else:
                targets.append("mutants-integration-deps")
        cmd = ["make", "--no-print-directory", "-j2", f"BUILD={self.build_rel}",
               f"BIN={self.build_rel}/bin"] + self.make_vars + sorted(set(targets))
        r = subprocess.run(cmd, cwd=self.scratch, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        return r.returncode == 0, r.stdout

    def run(self, test):
        """(passed, seconds, tail of output)."""
        env = dict(os.environ, BIN=self.bin, BUILD=self.build, ROOT=self.scratch,
                   FIXTURES=os.path.join(self.scratch, "tests/fixtures"),
                   ONESHEET_TEST_TOOLS=os.path.join(self.build, "tools"),
                   ONESHEET_TEST_LIVE=os.path.join(self.build, "live"))
        if test_kind(self.scratch, test) == "unit":
            cmd, limit = [os.path.join(self.build, "tests", test)], 120
        else:
            cmd, limit = ["bash", os.path.join(self.scratch, "tests/integration", test + ".sh")], 240
        t0 = time.monotonic()
        try:
            r = subprocess.run(cmd, cwd=self.scratch, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace",
                               timeout=limit, start_new_session=True)
            ok, out = r.returncode == 0, r.stdout
        except subprocess.TimeoutExpired as e:
            ok, out = False, f"timed out after {limit} s\n{e.stdout or ''}"
        return ok, time.monotonic() - t0, "\n".join(str(out).splitlines()[-15:])


def main():
    ap = argparse.ArgumentParser(description="apply each mutant, run its killers")
    ap.add_argument("--list", default="tests/mutants/mutants.txt")
    ap.add_argument("--build", default="build/rel", help="the built tree to start from")
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--check", action="store_true", help="only check the list")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--make-var", action="append", default=[], help="e.g. CI=1")
    a = ap.parse_args()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    try:
        mutants = parse(os.path.join(root, a.list) if not os.path.isabs(a.list) else a.list, root)
    except (ListError, OSError, UnicodeDecodeError) as e:
        print(f"mutants: {e}", file=sys.stderr)
        return EX_DATAERR
    if a.only:
        want = a.only.split(",")
        unknown = [w for w in want if w not in {m["id"] for m in mutants}]
        if unknown:
            print(f"mutants: no mutant {', '.join(unknown)} in {a.list}", file=sys.stderr)
            return 64
        mutants = [m for m in mutants if m["id"] in want]
    if a.check:
        print(f"mutants: {len(mutants)} mutants, all found")
        return 0
    build_rel = os.path.relpath(os.path.abspath(a.build), root)
    if build_rel.startswith("..") or not os.path.isdir(os.path.join(root, build_rel)):
        print(f"mutants: --build {a.build} must be a built directory inside the tree "
              "(make tests first)", file=sys.stderr)
        return 64
    t_start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="onesheet-mutants-")
    try:
        copy_tree(root, build_rel, scratch)
        r = Runner(scratch, build_rel, a.make_var)
        killers = sorted({t for m in mutants for t in m["kill"]})
        ok, out = r.make(killers)
        if not ok:
            print(out[-3000:])
            print("mutants: the unmutated tree does not build", file=sys.stderr)
            return 1
        for t in killers:
            passed, secs, tail = r.run(t)
            if not passed:
                print(tail)
                print(f"mutants: {t} fails without any mutant: it can kill nothing",
                      file=sys.stderr)
                return 1
        print(f"mutants: {len(killers)} killers pass unmutated "
              f"({time.monotonic() - t_start:.0f} s)")
        rows, bad = [], 0
        for m in mutants:
            src = os.path.join(scratch, m["file"])
            with open(src, encoding="utf-8") as f:
                orig = f.read()
            t0 = time.monotonic()
            with open(src, "w", encoding="utf-8") as f:
                f.write(mutate(orig, m))
            try:
                built, out = r.make(m["kill"])
                killed_by = []
                if built:
                    for t in m["kill"]:
                        passed, _, _ = r.run(t)
                        if not passed:
                            killed_by.append(t)
                            break          # one killer is enough
                    verdict = "killed" if killed_by else "SURVIVED"
                else:
                    verdict = "NO-BUILD"
                    print(out[-2000:])
            finally:
                with open(src, "w", encoding="utf-8") as f:
                    f.write(orig)
                # A new time, so the next make rebuilds it unmutated.
                now = time.time() + 1
                os.utime(src, (now, now))
            if verdict != "killed":
                bad += 1
            rows.append((m["id"], m["file"], verdict, ",".join(killed_by) or "-",
                         time.monotonic() - t0))
            print(f"{m['id']:<32} {verdict:<8} {rows[-1][3]:<28} {rows[-1][4]:5.1f} s",
                  flush=True)
        total = time.monotonic() - t_start
        print(f"\n{'mutant':<32} {'file':<40} {'verdict':<8} killed by")
        for mid, path, verdict, by, _ in rows:
            print(f"{mid:<32} {path:<40} {verdict:<8} {by}")
        print(f"mutants: {len(rows) - bad}/{len(rows)} killed in {total:.0f} s")
        return 1 if bad else 0
    finally:
        if a.keep:
            print(f"mutants: scratch tree kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
