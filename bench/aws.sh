#!/usr/bin/env bash
# The AWS back-ends against the loopback emulators: N jobs (default 1,000)
# through SQS → Bedrock stand-in → S3 → DynamoDB, one worker.  Prints
# jobs/s and the worker's CPU ms per job and peak RSS; appends to
# bench/results-aws.json.  Every signature is verified by the proxies.
#   bench/aws.sh [N] [CONCURRENCY] [LATENCY_MS] [IMAGE_BYTES]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BIN:=$ROOT/bin}" "${BUILD:=$ROOT/build/rel}"
N=${1:-1000} C=${2:-16} LAT=${3:-200} IMG=${4:-100000}
TOOLS=$BUILD/tools
T=$(mktemp -d); PIDS=()
# The emulators' data (s3rver writes every object) on tmpfs when there is one.
EMU_DIR=$(mktemp -d /dev/shm/onesheet-bench-XXXXXX 2>/dev/null || echo "$T/emu"); mkdir -p "$EMU_DIR"
source "$ROOT/tests/support/emulators.sh"
source "$ROOT/tests/support/awsstack.sh"
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; emu_stop_all; rm -rf "$T"' EXIT
export ONESHEET_STATE_DIR=$T/state ONESHEET_CONFIG=/dev/null
STANDIN_ARGS="--latency-ms $LAT --image-bytes $IMG"
awsstack_start
"$BIN/onesheet" init >/dev/null
python3 -c "
for i in range($N): print(f'Benchmark poster {i}: a lighthouse in a storm')" > "$T/jobs.txt"
s=$(date +%s.%N)
"$BIN/onesheet" submit "$T/jobs.txt" >/dev/null 2>&1
e=$(date +%s.%N)
/usr/bin/time -f '%e %U %S %M' -o "$T/time" "$BIN/onesheet-worker" --concurrency "$C" --drain \
    --log-level warn
read -r wall user sys rss_kb < "$T/time"
ok=$("$BIN/onesheet" list --state succeeded --limit "$((N + 10))" --json | wc -l)
rej=$(awsstack_rejections)
python3 - "$N" "$C" "$LAT" "$IMG" "$wall" "$user" "$sys" "$rss_kb" "$ok" "$rej" "$s" "$e" <<'PY' | tee -a "$ROOT/bench/results-aws.json"
import json, sys
n, c, lat, img = map(int, sys.argv[1:5])
wall, user, sys_, rss = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
ok, rej = int(sys.argv[9]), int(sys.argv[10])
sub = float(sys.argv[12]) - float(sys.argv[11])
print(json.dumps({"jobs": n, "concurrency": c, "latency_ms": lat, "image_bytes": img,
  "succeeded": ok, "signature_rejections": rej, "submit_s": round(sub, 2),
  "worker_wall_s": wall, "jobs_per_s": round(n / wall, 1),
  "ideal_jobs_per_s": round(c * 1000 / lat, 1),
  "cpu_ms_per_job": round((user + sys_) * 1000 / n, 2), "peak_rss_mb": round(rss / 1024, 1)}))
PY
