#!/usr/bin/env bash
# The library's shape (issue 16): no source file at the top of common/,
# each folder using only the layers below it, no ->ops-> outside the
# interfaces' folders, no circle of includes or calls between modules, and
# touching a header rebuilds only what includes it.  The checks read the
# built objects (nm) and the compiler's .d files; see tests/tools/layers.py.
source "$(dirname "$0")/lib.sh"
: "${BUILD:?BUILD must point at the build tree}"
python3 "$ROOT/tests/tools/layers.py" "$ROOT" "$BUILD" || fail "the library's shape is broken (above)"
ok "layers, seams, circles and header dependencies hold"
