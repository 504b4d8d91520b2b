// webhook_receiver — a loopback webhook receiver for the integration tests
// that verifies every delivery with the `standardwebhooks` npm package (an
// implementation the project did not write).
//
//   node webhook_receiver.js SECRET LOG PLAN PORTFILE [PORT]
//
// Answers each POST with the next status listed in PLAN (one a line,
// consumed in order; 200 when none is left; "hang" waits 30 s without
// answering; "dMS" answers 200 after MS milliseconds) and appends one JSON line per request to LOG: path, headers,
// raw body, the status answered, and whether the signature verified (with
// the library's own tolerance for the timestamp).  Writes its port to
// PORTFILE once listening (PORT: listen there, to come back on the same
// port after a restart; default any free port).
"use strict";
const fs = require("fs");
const http = require("http");
const { Webhook } = require("standardwebhooks");

const [secret, log, plan, portFile, port] = process.argv.slice(2);
const wh = new Webhook(secret);

function nextStatus() {
    let lines = [];
    try { lines = fs.readFileSync(plan, "utf8").split(/\s+/).filter(Boolean); } catch (e) { }
    fs.writeFileSync(plan, lines.slice(1).join("\n"));
    return lines.length ? lines[0] : "200";
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        let verified = false, error = null;
        try {
            wh.verify(body, req.headers);
            verified = true;
        } catch (e) {
            error = String(e && e.message);
        }
        const plan = nextStatus();
        const delay = plan[0] === "d" ? parseInt(plan.slice(1), 10) : 0;
        const status = plan === "hang" ? 0 : delay ? 200 : parseInt(plan, 10);
        fs.appendFileSync(log, JSON.stringify({
            path: req.url, headers: req.headers, body, status, verified, error,
            at_ms: Date.now(),
        }) + "\n");
        if (plan === "hang") {
            setTimeout(() => res.destroy(), 30000);
            return;
        }
        setTimeout(() => {
            res.writeHead(status, { "Content-Length": "2" });
            res.end("ok");
        }, delay);
    });
});
server.listen(parseInt(port || "0", 10), "127.0.0.1", () => {
    fs.writeFileSync(portFile + ".tmp", String(server.address().port));
    fs.renameSync(portFile + ".tmp", portFile);
});
