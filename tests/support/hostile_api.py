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
    got408 = closed = got503 = 0
    for s in socks:
        s.setblocking(True)
        s.settimeout(1)
        r = read_all(s)
        if r.startswith(b"HTTP/1.1 408"):
            error_shape(r, 408)
            got408 += 1
        else:
            closed += 1
            if r:  # held off with an answer (the front door's 503), or reset
                if error_shape(r, 503)["error"]["code"] != "too_many_connections":
                    fail("held off with %r" % r[:300])
                got503 += 1
        s.close()
    print("ok slowloris clients=%d held_off_at_connect=%d (answered_503=%d) answered_408=%d "
          "refused=%d fresh_client_worst_s=%.3f" % (n, closed, got503, got408, refused, worst))
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

def deadline_spans_screen(deadline):
    """The request deadline runs from the connection's start, across the
    front door's screen of the head and libmicrohttpd's read of the body:
    a head trickled over 2 s and then a trickled body get the 408 at the
    deadline, not 2 s after it."""
    s = conn()
    t = time.monotonic()
    head = [b"POST /generate-poster HTTP/1.1\r\n", b"Host: x\r\n",
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"]
    for part in head:
        s.send(part)
        time.sleep(1)
    r = b""
    s.settimeout(0.2)
    while time.monotonic() - t < deadline + 4 and not r:
        try:
            s.send(b" ")
            r = s.recv(65536)
        except socket.timeout:
            pass
        except OSError:
            break
    took = time.monotonic() - t
    s.settimeout(1)
    r += read_all(s)
    s.close()
    error_shape(r, 408)
    if took > deadline + 1.5:
        fail("408 after %.1f s with a %d s deadline: it restarted after the head" % (took, deadline))
    print("ok head over 2 s then a trickled body: 408 after %.1f s (deadline %d s)" % (took, deadline))

def stop_answers(pid):
    """SIGTERM while a head is still arriving: that client gets a JSON 503
    too, not a closed connection."""
    import os, signal
    s = conn()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.3)
    os.kill(pid, signal.SIGTERM)
    r = read_all(s)
    s.close()
    d = error_shape(r, 503)
    if d["error"]["code"] != "shutting_down":
        fail("on stop: %r" % d)
    print("ok SIGTERM: a half-sent request answered 503 shutting_down")

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

def send_and_read(req, pieces=False):
    s = conn()
    try:
        if pieces:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(req)):
                s.send(req[i:i + 1])
                time.sleep(0.002)
        else:
            s.sendall(req)
    except OSError:
        pass  # refused part-way: the answer is still there to read
    r = read_all(s)
    s.close()
    return r

def malformed():
    """Every malformed request gets a JSON error with the right status and
    Connection: close (never libmicrohttpd's HTML, never a silent close),
    and a fresh client is served after each."""
    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    post = b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    cases = [
        ("oversized URL", 414, b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("oversized header block", 431,
         get + b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 1000) for i in range(20)) + b"\r\n"),
        ("too many header lines", 431, get + b"X-A: 1\r\n" * 150 + b"\r\n"),
        ("10 MB header line", 431, get + b"X-Big: " + b"a" * (10 << 20) + b"\r\n\r\n"),
        ("HTTP/1.2", 505, b"GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n"),
        ("HTTP/2.0", 505, b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n"),
        ("HTTP/2 preface", 505, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("HTTP/7.0", 505, b"GET /healthz HTTP/7.0\r\nHost: x\r\n\r\n"),
        ("garbage request line", 400, b"hello there\r\n\r\n"),
        ("TLS handshake", 400, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64),
        ("lower-case version", 400, b"GET /healthz http/1.1\r\nHost: x\r\n\r\n"),
        ("absolute-form target", 400, b"GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("bare LF line endings", 400, b"GET /healthz HTTP/1.1\nHost: x\n\n"),
        ("bare LF after the request line", 400, b"GET /healthz HTTP/1.1\r\nHost: x\n\r\n"),
        ("bare CR", 400, b"GET /healthz HTTP/1.1\r\nHost: x\ry\r\n\r\n"),
        ("NUL in a header", 400, b"GET /healthz HTTP/1.1\r\nHost: x\x00y\r\n\r\n"),
        ("NUL in the target", 400, b"GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("header without a colon", 400, get + b"NoColonHere\r\n\r\n"),
        ("space before the colon", 400, get + b"X-A : 1\r\n\r\n"),
        ("folded header", 400, get + b"X-A: 1\r\n  continued\r\n\r\n"),
        ("chunked body, bad chunk size", 411,
         post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ("chunked body, overflowing chunk size", 411,
         post + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\n{}\r\n0\r\n\r\n"),
        ("chunked body, well-formed", 411,
         post + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        ("Content-Length not a number", 400, post + b"Content-Length: 2x\r\n\r\n{}"),
        ("negative Content-Length", 400, post + b"Content-Length: -1\r\n\r\n{}"),
        ("huge Content-Length", 400, post + b"Content-Length: 99999999999999999999999\r\n\r\n"),
        ("ends inside the head", 400, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
        ("1-byte writes, HTTP/2.0", 505, b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n"),
        ("1-byte writes, bare LF", 400, b"GET /healthz HTTP/1.1\r\nHost: x\n\n"),
    ]
    worst = 0.0
    for name, want, req in cases:
        t = time.monotonic()
        s = conn()
        try:
            if name.startswith("1-byte"):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for i in range(len(req)):
                    s.send(req[i:i + 1])
                    time.sleep(0.002)
            else:
                s.sendall(req)
            if name == "ends inside the head":
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # refused part-way: the answer is still there to read
        r = read_all(s)
        s.close()
        took = time.monotonic() - t
        head = r.partition(b"\r\n\r\n")[0]
        if b"application/json" not in head or b"Connection: close" not in head:
            fail("%s: not a JSON answer that closes: %r" % (name, r[:300]))
        d = error_shape(r, want)
        if want == 400 and name.startswith(("Content-Length", "negative", "huge")) \
                and d["error"]["code"] != "bad_framing":
            fail("%s: %r" % (name, d))
        worst = max(worst, fresh_get())
        print("ok %-38s %d %-28s %.3f s" % (name, want, d["error"]["code"], took))
    # Sound heads pass the screen whole: in 1-byte writes, near the size
    # limit, HEAD, and a POST with its body.
    good = [
        ("1-byte writes, sound", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", True),
        ("head near the 16 KiB limit", get + b"X-Big: " + b"a" * 15000 + b"\r\n\r\n", False),
        ("HTTP/1.0", b"GET /healthz HTTP/1.0\r\n\r\n", False),
        ("POST with a body", post + b"Content-Length: 2\r\n\r\n{}", False),
    ]
    for name, req, pieces in good:
        r = send_and_read(req, pieces)
        if not r.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200", b"HTTP/1.1 400")) or \
                b"application/json" not in r.partition(b"\r\n\r\n")[0]:
            fail("%s: %r" % (name, r[:300]))
        print("ok %-38s %s" % (name, r.split(b"\r\n")[0].decode()))
    # Keep-alive is off: two pipelined requests get one answer, then close,
    # so every request on a connection is the first and is screened.
    r = send_and_read(get + b"\r\n" + b"GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n")
    if r.count(b"HTTP/1.1 ") != 1 or not r.startswith(b"HTTP/1.1 200") or \
            b"Connection: close" not in r:
        fail("pipelined: %r" % r[:400])
    # An error to a HEAD request has no body.
    r = send_and_read(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n")
    if not r.startswith(b"HTTP/1.1 400") or r.partition(b"\r\n\r\n")[2]:
        fail("HEAD error: %r" % r[:300])
    print("ok malformed: %d JSON errors, a fresh client served after each (worst %.3f s)"
          % (len(cases), worst))

globals()[sys.argv[1]](*[int(a) for a in sys.argv[3:]])
