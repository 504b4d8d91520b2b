"""Raw-socket clients for hostile_api.sh (loopback only, bounded).

usage: hostile_api.py CHECK PORT [ARGS...]; prints "ok ..." lines or exits 1."""
import json, socket, sys, time

PORT = int(sys.argv[2])

def conn(src="127.0.0.1", timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", PORT))
    return s

def read_all(s, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionError):
        pass
    return data

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def error_shape(resp, status):
    head, _, body = resp.partition(b"\r\n\r\n")
    line = head.split(b"\r\n")[0].decode()
    if not line.startswith("HTTP/1.1 %d" % status):
        fail("wanted %d, got %r" % (status, resp[:300]))
    d = json.loads(body.decode())
    if set(d["error"]) < {"code", "message"}:
        fail("not the error shape: %r" % body)
    return d

def fresh_get(path="/healthz"):
    t = time.monotonic()
    s = conn()
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
    r = read_all(s)
    s.close()
    if not r.startswith(b"HTTP/1.1 200"):
        fail("fresh client got %r" % r[:200])
    return time.monotonic() - t

def slowloris(n, seconds):
    """n clients from 127.0.0.2 each send a header line a second; a fresh
    client from 127.0.0.1 must be served throughout."""
    socks, refused = [], 0
    for _ in range(n):
        try:
            s = conn("127.0.0.2", timeout=2)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            refused += 1
    worst, end = 0.0, time.monotonic() + seconds
    while time.monotonic() < end:
        for s in socks:
            try:
                s.setblocking(False)
                s.send(b"X-Slow: 1\r\n")
            except OSError:
                pass
        worst = max(worst, fresh_get())
        time.sleep(1)
    # Per-address limit: the connections over it were closed unanswered at
    # once; the ones in it were answered 408 at the deadline.
    got408 = closed = 0
    for s in socks:
        s.setblocking(True)
        s.settimeout(1)
        r = read_all(s)
        if r.startswith(b"HTTP/1.1 408"):
            error_shape(r, 408)
            got408 += 1
        else:
            closed += 1
        s.close()
    print("ok slowloris clients=%d held_off_at_connect=%d answered_408=%d "
          "refused=%d fresh_client_worst_s=%.3f" % (n, closed, got408, refused, worst))
    if got408 == 0:
        fail("no slow client was ended by the request deadline")
    if closed == 0:
        fail("the per-address limit held nobody off")
    if worst > 2.0:
        fail("a fresh client waited %.3f s" % worst)

def slow_body(deadline):
    """A body trickled a byte a second is cut off at the request deadline
    with a JSON 408, though the connection is never idle."""
    s = conn()
    s.sendall(b"POST /generate-poster HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    t = time.monotonic()
    r = b""
    while time.monotonic() - t < deadline + 3:
        try:
            s.send(b" ")
        except OSError:
            break
        time.sleep(1)
    s.settimeout(1)
    r = read_all(s)
    s.close()
    error_shape(r, 408)
    print("ok slow body ended with 408 after %.1f s" % (time.monotonic() - t))

def smuggle():
    body = b"0\r\n\r\n"
    shapes = [
        b"POST /generate-poster HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
        b"POST /generate-poster HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
    ]
    for i, req in enumerate(shapes):
        s = conn()
        s.sendall(req + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = read_all(s)
        s.close()
        d = error_shape(r, 400)
        if d["error"]["code"] != "bad_framing":
            fail("shape %d: %r" % (i, d))
        if r.count(b"HTTP/1.1 ") != 1:
            fail("shape %d: the pipelined request was answered: %r" % (i, r))
    print("ok smuggling shapes refused with 400 and the connection closed")

def head():
    s = conn()
    s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = read_all(s)
    s.close()
    if not r.startswith(b"HTTP/1.1 200") or r.split(b"\r\n\r\n", 1)[1]:
        fail("HEAD /healthz: %r" % r[:300])
    print("ok HEAD /healthz: 200 without a body")

def mhd_errors():
    """What libmicrohttpd answers itself: the status, and whether JSON."""
    cases = {
        "414": b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "431": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n",
        "505": b"GET /healthz HTTP/7.0\r\nHost: x\r\n\r\n",
    }
    for want, req in cases.items():
        s = conn()
        try:
            s.sendall(req)
        except OSError:
            pass
        r = read_all(s)
        s.close()
        line = r.split(b"\r\n")[0].decode(errors="replace")
        ctype = b"application/json" in r.split(b"\r\n\r\n")[0]
        print("ok %s case answered %r json=%s" % (want, line, ctype))
        if not line.startswith("HTTP/1.1 4") and not line.startswith("HTTP/1.1 5"):
            fail("%s case: no error status: %r" % (want, r[:200]))
    fresh_get()

globals()[sys.argv[1]](*[int(a) for a in sys.argv[3:]])
