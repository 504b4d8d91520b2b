#!/usr/bin/env bash
# The memory of a big submit (issue 18, item 3): `onesheet submit` of a
# 1,000,000-line file, txt and JSONL, each into a fresh embedded state
# directory, with wall time and peak RSS from /usr/bin/time.  Prints one
# JSON object on stdout:
#   {"lines": N, "txt": {"s": S, "peak_rss_mb": M}, "jsonl": {...}}
# Runnable alone: BIN=build/rel/bin bench/submit_memory.sh [LINES]
# (before streaming, 1M txt lines peaked at ~645 MB; now ~58 MB).
set -euo pipefail
: "${BIN:?BIN must point at the built binaries}"
N=${1:-1000000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export ONESHEET_CONFIG=/dev/null TMPDIR=$T

python3 - "$T" "$N" <<'PY'
import random, sys
t, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
subj = ['lighthouse', 'city', 'desert', 'forest', 'robot', 'dragon', 'ocean', 'train']
mood = ['at dusk', 'in neon rain', 'under a red moon', 'in a blizzard', 'at golden hour']
with open(f"{t}/in.txt", "w") as a, open(f"{t}/in.jsonl", "w") as b:
    for i in range(n):
        p = f"{random.choice(subj)} {random.choice(mood)}, poster {i}"
        a.write(p + "\n")
        b.write('{"prompt": "%s", "seed": %d}\n' % (p, i))
PY

one() {  # FORMAT: one submit as a JSON member
    ONESHEET_STATE_DIR=$T/state-$1 /usr/bin/time -f '%e %M' -o "$T/time" \
        "$BIN/onesheet" submit "$T/in.$1" >/dev/null 2>"$T/err" ||
        { cat "$T/err" >&2; echo "\"$1\": null"; return; }
    read -r s kb < "$T/time"
    printf '"%s": {"s": %.2f, "peak_rss_mb": %.1f}' "$1" "$s" "$(echo "$kb / 1024" | bc -l)"
    rm -rf "$T/state-$1"
}
printf '{"lines": %d, %s, %s}\n' "$N" "$(one txt)" "$(one jsonl)"
