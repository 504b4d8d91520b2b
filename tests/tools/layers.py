#!/usr/bin/env python3
"""Checks the shape of the library (issue 16): the layers of common/ as
folders, seams used only through their wrappers, no circles between files,
and header dependencies that rebuild only what includes a header.

    layers.py ROOT BUILD

BUILD is a built tree (make tests): its objects give the calls between
files (nm), its .d files the headers each object was compiled from.
Prints one line per finding and exits 1 when there is any."""
import os
import re
import subprocess
import sys

# The layers, lowest first.  A folder may include and call only folders
# listed before it (and itself); interfaces of one layer (queue, ledger)
# do not use each other.
LAYERS = [
    ["base"],
    ["aws"],
    ["queue", "ledger"],
    ["jobs"],
    ["store", "poster"],
    ["engine", "campaign"],
    ["setup", "review"],
    ["api"],
]
INTERFACES = ["queue", "ledger", "store", "engine"]
RANK = {f: i for i, layer in enumerate(LAYERS) for f in layer}

problems = []
ROOT = "."


def say(msg):
    problems.append(msg)
    print(msg)


def sources(root, top):
    out = []
    for d, _, files in os.walk(os.path.join(root, top)):
        for f in files:
            if f.endswith((".c", ".h")):
                out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def includes(root, path):
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as fh:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', fh.read(), re.M)


def folder(path):
    """common/queue/queue.c -> queue; None outside common/."""
    parts = path.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "common" else None


def room(path):
    """A file's room: the module it belongs to.  That is the longest prefix
    of its name (cut at '_') with a header of that name beside it, so
    sigv4_canon.c, sigv4_internal.h and sigv4.c are the module sigv4 (one
    concern spread over files that share internals), while queue_sqlite.c,
    having queue_sqlite.h, is a room apart from queue.c.  A file with no
    such header is a room of its own."""
    d, base = os.path.split(re.sub(r"\.[ch]$", "", path))
    base = re.sub(r"_internal$", "", base)
    parts = base.split("_")
    for k in range(len(parts), 0, -1):
        stem = "_".join(parts[:k])
        if os.path.exists(os.path.join(ROOT, d, stem + ".h")):
            return os.path.join(d, stem)
    return os.path.join(d, base)


def check_tree(root):
    top = [f for f in os.listdir(os.path.join(root, "common"))
           if f.endswith((".c", ".h"))]
    for f in sorted(top):
        say(f"common/{f}: a source file at the top of common/ (it belongs in a layer's folder)")
    for f in sorted(os.listdir(os.path.join(root, "common"))):
        if os.path.isdir(os.path.join(root, "common", f)) and f not in RANK:
            say(f"common/{f}/: a folder no layer names (add it to LAYERS in {sys.argv[0]})")


def check_ops(root):
    for top in ["common", "worker", "submit", "api", "tests", "fuzz"]:
        for path in sources(root, top):
            if folder(path) in INTERFACES:
                continue
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    if "->ops->" in line:
                        say(f"{path}:{n}: ->ops-> outside an interface's folder "
                            "(use the header's wrapper)")


def include_edges(root):
    edges = set()
    for path in sources(root, "common") + sources(root, "worker"):
        for inc in includes(root, path):
            target = None
            if os.path.exists(os.path.join(root, "common", inc)):
                target = "common/" + inc
            elif os.path.exists(os.path.join(root, os.path.dirname(path), inc)):
                target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
            if target and room(target) != room(path):
                edges.add((path, target, "includes"))
    return edges


def call_edges(build):
    """(caller object's source, definer's source) for every global symbol
    one object of common/ or worker/ takes from another."""
    objs = []
    for top in ["common", "worker"]:
        for d, _, files in os.walk(os.path.join(build, top)):
            objs += [os.path.join(d, f) for f in files if f.endswith(".o")]
    defined, used = {}, {}
    for o in objs:
        src = os.path.relpath(o, build)[:-2] + ".c"
        out = subprocess.run(["nm", "-g", o], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRC":
                defined[parts[2]] = src
            elif len(parts) == 2 and parts[0] == "U":
                used.setdefault(src, set()).add(parts[1])
    edges = set()
    for src, names in used.items():
        for name in names:
            if name in defined and room(defined[name]) != room(src):
                edges.add((src, defined[name], "calls " + name))
    return edges


def check_layers(edges):
    for a, b, why in sorted(edges):
        fa, fb = folder(a), folder(b)
        if fa and fb and fa != fb and RANK.get(fa, 99) <= RANK.get(fb, 99):
            say(f"{a} -> {b} ({why}): {fa}/ may not use {fb}/ (LAYERS)")


def check_circles(edges):
    graph = {}
    for a, b, why in edges:
        graph.setdefault(room(a), {}).setdefault(room(b), why)
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    for comp in comps:
        ties = [f"{a} -> {b} ({graph[a][b]})" for a in comp for b in graph.get(a, {})
                if b in comp]
        say("circle: " + ", ".join(comp) + "; " + "; ".join(ties))


def check_rebuilds(root, build, header):
    """make -n -W header must compile exactly the sources whose .d file
    lists header, and fewer than all of them."""
    dependants, total = set(), 0
    for d, _, files in os.walk(build):
        for f in files:
            if not f.endswith(".d") or "/gen/" in d:
                continue
            total += 1
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                text = fh.read()
            target = text.split(":", 1)[0]
            deps = text.split(":", 1)[1].split("\n\n")[0]
            if re.search(r"(^|\s)" + re.escape(header) + r"(\s|$)", deps):
                src = os.path.relpath(target, build)[:-2] + ".c"
                # faults/worker/X.o (the crash-point build) is worker/X.c too.
                dependants.add(src[len("faults/"):] if src.startswith("faults/") else src)
    env = dict(os.environ)
    args = ["make", "-n", "-C", root, "-W", header, f"BUILD={os.path.relpath(build, root)}",
            f"BIN={os.environ.get('BIN', 'bin')}"]
    if os.environ.get("SANITIZE"):
        args.append("SANITIZE=" + os.environ["SANITIZE"])
    args.append("tests")
    out = subprocess.run(args, capture_output=True, text=True, env=env).stdout
    compiled = set(re.findall(r"\s-c\s+(\S+\.c)\s", out))
    # An object missing from the build is made whatever the header does.
    compiled = {c for c in compiled
                if os.path.exists(os.path.join(build, c[:-2] + ".o"))}
    if not dependants:
        say(f"{header}: no .d file lists it (is {build} built with -MMD?)")
    elif compiled != dependants:
        say(f"touching {header} recompiles {len(compiled)} files, but {len(dependants)} "
            f"include it; extra: {sorted(compiled - dependants)[:5]}, "
            f"missing: {sorted(dependants - compiled)[:5]}")
    elif len(compiled) >= total:
        say(f"touching {header} recompiles everything ({total} files)")
    else:
        print(f"ok - touching {header} recompiles the {len(compiled)} of {total} "
              "files that include it")


def main():
    global ROOT
    root, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    ROOT = root
    check_tree(root)
    check_ops(root)
    edges = include_edges(root) | call_edges(build)
    check_layers(edges)
    check_circles(edges)
    for h in ["common/base/utf8.h", "common/poster/art.h", "common/queue/queue.h"]:
        check_rebuilds(root, build, h)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print(f"ok - layers, seams and circles: {len(edges)} ties between files checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
