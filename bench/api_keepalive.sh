#!/usr/bin/env bash
# What closing every connection costs onesheet-api (the front door screens
# each request head, so every response carries Connection: close): GET
# /healthz on loopback, closed-loop, for a few seconds each,
#   1. a new connection per request (what every client now does), at
#      concurrency 1 and 8;
#   2. one kept-alive connection per thread, at concurrency 1 and 8 — the
#      server closes after each answer, so this reconnects too; against an
#      older build that keeps connections alive (API=path/to/onesheet-api)
#      it measures keep-alive itself.
#   BIN=build/rel/bin bench/api_keepalive.sh [SECONDS]   (default 3)
# Prints one JSON line: requests/s for each, and whether the server kept
# connections alive.
set -euo pipefail
S=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${BIN:=$ROOT/build/rel/bin}"
: "${API:=$BIN/onesheet-api}"
T=$(mktemp -d "${TMPDIR:-/tmp}/onesheet-bench-XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
export ONESHEET_STATE_DIR=$T/state ONESHEET_CONFIG=/dev/null ONESHEET_MODEL=draft

"$API" --listen 127.0.0.1:0 --port-file "$T/port" --rate-limit 0 --log-level warn \
    2>"$T/api.log" &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { cat "$T/api.log" >&2; echo "onesheet-api did not start" >&2; exit 1; }

python3 - "$(cat "$T/port")" "$S" <<'PY'
import http.client, json, socket, sys, threading, time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
REQ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

def fresh(stop, count):
    n = 0
    while time.monotonic() < stop:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(REQ[:-2] + b"Connection: close\r\n\r\n")
        while s.recv(65536):
            pass
        s.close()
        n += 1
    count.append(n)

def keepalive(stop, count):
    c = http.client.HTTPConnection("127.0.0.1", port)
    n = 0
    while time.monotonic() < stop:
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        n += 1
    c.close()
    count.append(n)

def run(fn, conc):
    count, stop = [], time.monotonic() + seconds
    ts = [threading.Thread(target=fn, args=(stop, count)) for _ in range(conc)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return round(sum(count) / (time.monotonic() - t0))

c = http.client.HTTPConnection("127.0.0.1", port)
c.request("GET", "/healthz")
r = c.getresponse()
r.read()
kept = (r.getheader("Connection") or "").lower() != "close"
out = {"server_keeps_alive": kept}
for conc in (1, 8):
    out["new_connection_rps_c%d" % conc] = run(fresh, conc)
    out["keepalive_client_rps_c%d" % conc] = run(keepalive, conc)
print(json.dumps(out))
PY
