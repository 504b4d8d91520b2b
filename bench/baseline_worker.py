"""A Python worker doing onesheet's per-job work "the usual way", for
`make bench` to compare CPU and memory with (issue 5).

    baseline_worker.py --jobs N [--threads 8] [--db FILE]

Each of --threads threads loops: SQS ReceiveMessage (boto3 client, one
message, long poll), json.loads of the body onesheet submit enqueued
({"v":1,"batch","job","spec":{...}}), a SQLite ledger row (running), a
SigV4-signed InvokeModel (boto3's bedrock-runtime client when this botocore
knows the service, else botocore's SigV4Auth on an AWSRequest sent through
botocore's own HTTP session), json.loads + base64 decode of the reply and a
SHA-256 of the image, S3 put_object, generate_presigned_url, the ledger row
updated to succeeded, and DeleteMessage.  It stops once N messages were
taken (the submitter enqueued exactly N) and prints
{"states": {...}, "invoke": "client"|"sigv4auth", "boto3": "x.y.z"} on stdout.

Configuration comes from the environment tests/support/awsstack.sh exports:
AWS_* credentials and region, AWS_ENDPOINT_URL_SQS / _S3 /
_BEDROCK_RUNTIME, ONESHEET_QUEUE (sqs:NAME), ONESHEET_STORE
(s3://BUCKET/PREFIX) and ONESHEET_MODEL.

SQS: the emulator (fauxqs) speaks only SQS's JSON protocol.  botocore
before 1.31 (Debian 12's python3-boto3) has the old query-protocol model;
for those, bench/botocore-data holds a JSON-protocol model of the four SQS
operations used here, put on AWS_DATA_PATH before boto3 is imported.
"""
import argparse
import base64
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def old_botocore():
    import botocore
    major, minor = (int(x) for x in botocore.__version__.split(".")[:2])
    return (major, minor) < (1, 31)


if old_botocore():
    os.environ["AWS_DATA_PATH"] = os.path.join(HERE, "botocore-data") + (
        os.pathsep + os.environ["AWS_DATA_PATH"] if os.environ.get("AWS_DATA_PATH") else "")

import boto3  # noqa: E402  (after AWS_DATA_PATH)
import botocore.session  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.httpsession import URLLib3Session  # noqa: E402

SCHEMA = """CREATE TABLE IF NOT EXISTS jobs (
    batch TEXT NOT NULL, job TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, started REAL, finished REAL,
    url TEXT, store_key TEXT, sha256 TEXT, bytes INTEGER, seed INTEGER,
    error TEXT, PRIMARY KEY (batch, job))"""


class Worker:
    def __init__(self, args):
        self.args = args
        self.region = os.environ.get("AWS_REGION", "us-east-1")
        queue = os.environ.get("ONESHEET_QUEUE", "sqs:onesheet-it")
        self.queue_name = queue.split(":", 1)[1]
        store = os.environ["ONESHEET_STORE"][len("s3://"):]
        self.bucket, _, self.prefix = store.partition("/")
        self.model = os.environ.get("ONESHEET_MODEL", "stability.sd3-5-large-v1:0")
        self.bedrock_url = os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"].rstrip("/")
        self.session = boto3.session.Session(region_name=self.region)
        cfg = Config(max_pool_connections=args.threads * 2, retries={"mode": "standard"})
        self.sqs = self.session.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL_SQS"],
                                       config=cfg)
        self.s3 = self.session.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"],
                                      config=Config(max_pool_connections=args.threads * 2,
                                                    s3={"addressing_style": "path"},
                                                    retries={"mode": "standard"}))
        known = botocore.session.get_session().get_available_services()
        if "bedrock-runtime" in known:
            self.invoke_kind = "client"
            self.bedrock = self.session.client(
                "bedrock-runtime", endpoint_url=self.bedrock_url,
                config=Config(max_pool_connections=args.threads * 2, read_timeout=120,
                              retries={"mode": "adaptive"}))
        else:
            self.invoke_kind = "sigv4auth"
            self.signer = SigV4Auth(self.session.get_credentials().get_frozen_credentials(),
                                    "bedrock", self.region)
            self.http = URLLib3Session(max_pool_connections=args.threads * 2, timeout=120)
        self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        self.lock = threading.Lock()
        self.taken = 0
        self.states = {}
        db = sqlite3.connect(args.db)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(SCHEMA)
        db.commit()
        db.close()

    def take(self):
        with self.lock:
            if self.taken >= self.args.jobs:
                return False
            self.taken += 1
            return True

    def give_back(self):
        with self.lock:
            self.taken -= 1

    def count(self, state):
        with self.lock:
            self.states[state] = self.states.get(state, 0) + 1

    def invoke(self, body):
        if self.invoke_kind == "client":
            r = self.bedrock.invoke_model(modelId=self.model, body=body,
                                          contentType="application/json",
                                          accept="application/json")
            return json.loads(r["body"].read())
        url = f"{self.bedrock_url}/model/{self.model}/invoke"
        req = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/json",
                                  "Accept": "application/json"})
        for attempt in range(5):
            self.signer.add_auth(req)
            r = self.http.send(req.prepare())
            if r.status_code == 200:
                return json.loads(r.content)
            if r.status_code in (429, 500, 503) and attempt < 4:
                time.sleep(0.2 * 2 ** attempt)
                del req.headers["Authorization"]
                del req.headers["X-Amz-Date"]
                continue
            raise RuntimeError(f"InvokeModel: HTTP {r.status_code}: {r.content[:200]!r}")

    def process(self, db, msg):
        m = json.loads(msg["Body"])
        batch, job, spec = m["batch"], m["job"], m["spec"]
        seed = spec.get("seed")
        if seed is None:
            seed = int.from_bytes(hashlib.sha256(job.encode()).digest()[:4], "big") % 4294967295
        db.execute("INSERT INTO jobs (batch, job, state, attempts, started) VALUES (?,?,?,1,?) "
                   "ON CONFLICT (batch, job) DO UPDATE SET state=excluded.state, "
                   "attempts=attempts+1, started=excluded.started",
                   (batch, job, "running", time.time()))
        db.commit()
        body = json.dumps({"prompt": spec["prompt"], "mode": "text-to-image",
                           "aspect_ratio": spec.get("aspect_ratio") or "2:3",
                           "output_format": "png", "seed": seed})
        reply = self.invoke(body)
        reason = (reply.get("finish_reasons") or [None])[0]
        if reason is not None:
            state = "filtered" if "Filter" in reason else "failed"
            db.execute("UPDATE jobs SET state=?, error=?, finished=? WHERE batch=? AND job=?",
                       (state, reason, time.time(), batch, job))
            db.commit()
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])
            return state
        image = base64.b64decode(reply["images"][0], validate=True)
        sha = hashlib.sha256(image).hexdigest()
        key = f"{self.prefix}/{batch}/{job}.png" if self.prefix else f"{batch}/{job}.png"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=image, ContentType="image/png")
        url = self.s3.generate_presigned_url("get_object",
                                             Params={"Bucket": self.bucket, "Key": key},
                                             ExpiresIn=3600)
        db.execute("UPDATE jobs SET state='succeeded', url=?, store_key=?, sha256=?, bytes=?, "
                   "seed=?, finished=? WHERE batch=? AND job=?",
                   (url, key, sha, len(image), seed, time.time(), batch, job))
        db.commit()
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])
        return "succeeded"

    def run_thread(self, deadline):
        db = sqlite3.connect(self.args.db, timeout=30)
        try:
            while time.monotonic() < deadline and self.take():
                r = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1,
                                             WaitTimeSeconds=1, VisibilityTimeout=120)
                msgs = r.get("Messages", [])
                if not msgs:
                    self.give_back()
                    continue
                try:
                    self.count(self.process(db, msgs[0]))
                except Exception as e:  # noqa: BLE001  (a job error, not the worker's)
                    print(f"job error: {e!r}", file=sys.stderr)
                    self.count("error")
        finally:
            db.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, required=True)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--db", default="baseline.db")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    w = Worker(args)
    deadline = time.monotonic() + args.timeout
    threads = [threading.Thread(target=w.run_thread, args=(deadline,))
               for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db = sqlite3.connect(args.db)
    states = dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    db.close()
    if w.states.get("error"):
        states["error"] = w.states["error"]
    print(json.dumps({"states": states, "invoke": w.invoke_kind, "boto3": boto3.__version__,
                      "python": sys.version.split()[0]}))
    return 0 if states.get("succeeded", 0) == args.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
