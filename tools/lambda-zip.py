#!/usr/bin/env python3
"""Zips DIR into ZIP for AWS Lambda (used by `make lambda`).

usage: lambda-zip.py ZIP DIR

Keeps each file's mode (bootstrap and the binary must stay executable),
with fixed timestamps so the same inputs give the same archive.
"""
import os
import sys
import zipfile

out, root = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
    for base, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            info = zipfile.ZipInfo(os.path.relpath(path, root), (1980, 1, 1, 0, 0, 0))
            info.external_attr = (os.stat(path).st_mode & 0o777 | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
os.replace(out + ".tmp", out)
