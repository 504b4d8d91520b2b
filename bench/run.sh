#!/usr/bin/env bash
# make bench: embedded-mode figures.
#   - enqueue rate: `onesheet submit` of a 100,000-line file (parse, validate,
#     hash, ledger insert, queue send), wall time and lines/s;
#   - draft posters/s with `onesheet-worker --concurrency 2` on 40 prompts,
#     with the worker's CPU ms per poster and peak RSS;
#   - SigV4 signatures/s (tests/tools/bench_sigv4) when built.
# Writes bench/results.json and prints a table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${BIN:=$root/bin}" "${BUILD:=$root/build/rel}"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
export ONESHEET_CONFIG=/dev/null

python3 -c "
import random
random.seed(7)
subj=['lighthouse','city','desert','forest','robot','dragon','ocean','train','castle','comet']
mood=['at dusk','in neon rain','under a red moon','in a blizzard','at golden hour']
for i in range(100000): print(f'{random.choice(subj)} {random.choice(mood)}, poster {i}')" > "$t/100k.txt"

now() { date +%s.%N; }
export ONESHEET_STATE_DIR=$t/s1
s=$(now); "$BIN/onesheet" submit "$t/100k.txt" >/dev/null 2>&1; e=$(now)
submit_s=$(echo "$e - $s" | bc -l)

export ONESHEET_STATE_DIR=$t/s2
head -n 40 "$t/100k.txt" > "$t/40.txt"
"$BIN/onesheet" submit "$t/40.txt" >/dev/null 2>&1
/usr/bin/time -f '%e %U %S %M' -o "$t/time" "$BIN/onesheet-worker" --concurrency 2 --drain --poll-wait 0 --log-level warn
read -r wall user sys rss_kb < "$t/time"
per_s=$(echo "40 / $wall" | bc -l)
cpu_ms=$(echo "($user + $sys) * 1000 / 40" | bc -l)

sig="{}"
if [ -x "$BUILD/tools/bench_sigv4" ]; then
    sig=$("$BUILD/tools/bench_sigv4" --seconds 1 2>/dev/null | python3 -c "
import json, sys
out = {}
for line in sys.stdin:
    kv = dict(f.split('=', 1) for f in line.split())
    if 'ops_per_s' in kv:
        out[kv['case']] = int(kv['ops_per_s'])
print(json.dumps(out))")
fi
cat > "$root/bench/results.json" <<JSON
{"submit_100k_lines_s": $(printf %.3f "$submit_s"),
 "submit_lines_per_s": $(printf %.0f "$(echo "100000 / $submit_s" | bc -l)"),
 "draft_posters_per_s_c2": $(printf %.2f "$per_s"),
 "draft_worker_cpu_ms_per_poster": $(printf %.1f "$cpu_ms"),
 "draft_worker_peak_rss_mb": $(printf %.1f "$(echo "$rss_kb / 1024" | bc -l)"),
 "sigv4": $sig}
JSON
printf '%-40s %s\n' "onesheet submit, 100,000 lines" "$(printf %.2f "$submit_s") s ($(printf %.0f "$(echo "100000 / $submit_s" | bc -l)") lines/s)"
printf '%-40s %s\n' "draft posters/s, --concurrency 2" "$(printf %.2f "$per_s") (wall $wall s for 40)"
printf '%-40s %s\n' "worker CPU per poster" "$(printf %.1f "$cpu_ms") ms"
printf '%-40s %s\n' "worker peak RSS" "$(printf %.1f "$(echo "$rss_kb / 1024" | bc -l)") MB"
printf '%-40s %s\n' "sigv4" "$sig"
echo "wrote bench/results.json"
