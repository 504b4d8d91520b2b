#!/usr/bin/env python3
"""A loopback stand-in for the AWS Lambda Runtime API, for api_e2e.sh.

usage: fake_lambda_runtime.py EVENTS.json OUT.json PORT_FILE

Hands out the events (a JSON list) one per GET .../invocation/next, with a
request id and a deadline, records every POST .../invocation/ID/response
and .../ID/error, writes them to OUT.json ({id: {"kind", "body"}}) once
every event is answered, and exits.  With no events left, next answers 503
so the runtime loop keeps polling until it is stopped.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

events = json.load(open(sys.argv[1]))
out_path, port_file = sys.argv[2], sys.argv[3]
lock = threading.Lock()
next_index = 0
answers = {}
PREFIX = "/2018-06-01/runtime/invocation/"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global next_index
        if self.path != PREFIX + "next":
            return self.reply(404)
        with lock:
            i = next_index
            if i < len(events):
                next_index += 1
        if i >= len(events):
            time.sleep(0.05)
            return self.reply(503)
        body = json.dumps(events[i]).encode()
        deadline = int(time.time() * 1000) + 30000
        self.reply(200, body, [("Lambda-Runtime-Aws-Request-Id", "req-%d" % i),
                               ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                               ("Content-Type", "application/json")])

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        parts = self.path[len(PREFIX):].split("/") if self.path.startswith(PREFIX) else []
        if len(parts) != 2 or parts[1] not in ("response", "error"):
            return self.reply(404)
        with lock:
            answers[parts[0]] = {"kind": parts[1], "body": json.loads(body)}
            done = len(answers) == len(events)
        self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
        if done:
            with open(out_path + ".tmp", "w") as f:
                json.dump(answers, f)
            import os
            os.rename(out_path + ".tmp", out_path)
            threading.Thread(target=server.shutdown).start()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
