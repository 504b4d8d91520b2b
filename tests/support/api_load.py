#!/usr/bin/env python3
"""A small closed-loop HTTP load generator for api_e2e.sh.

usage: api_load.py HOST PORT PATH REQUESTS CONCURRENCY [HEADER:VALUE ...]

CONCURRENCY threads, each with one keep-alive connection, share REQUESTS GET
requests.  Prints requests/s and latency percentiles; exits 1 on any answer
other than 200 or any connection error.
"""
import http.client
import sys
import threading
import time

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
total, conc = int(sys.argv[4]), int(sys.argv[5])
headers = dict(h.split(":", 1) for h in sys.argv[6:])
lock = threading.Lock()
remaining = [total]
lat, errors = [], []


def worker():
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while True:
        with lock:
            if remaining[0] == 0:
                break
            remaining[0] -= 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            ok = r.status == 200
            if not ok:
                errors.append("status %d" % r.status)
        except Exception as e:  # a reset connection is an error too
            errors.append(repr(e))
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
            continue
        dt = time.perf_counter() - t0
        with lock:
            lat.append(dt)
    conn.close()


t0 = time.perf_counter()
threads = [threading.Thread(target=worker) for _ in range(conc)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - t0
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
print("requests=%d concurrency=%d errors=%d elapsed=%.2fs rps=%.0f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f"
      % (total, conc, len(errors), elapsed, len(lat) / elapsed, pct(0.5), pct(0.99),
         lat[-1] * 1000 if lat else 0))
if errors:
    print("first errors:", errors[:5], file=sys.stderr)
sys.exit(1 if errors or len(lat) != total else 0)
