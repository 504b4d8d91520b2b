#!/usr/bin/env python3
"""The chaos test's checker: what happened to every submitted job.

After a chaos run (tests/chaos/chaos.sh) the state is gathered into one
snapshot -- the jobs submitted, the ledger's records, the objects in the
store, the messages still in the queue and dead-letter queue, and the
generation calls per job -- and every job is classified:

  ok          exactly one succeeded ledger record, its object in the store
              with the ledger's sha256, no other result key, no message left
  lost        no succeeded record (or no record at all), or no object
  duplicated  two succeeded records, an object whose bytes differ from the
              ledger's (a second result replaced it), an extra result key
              or leftover temporary copy, or a message never deleted
              (still in the queue or the dead-letter queue)

With retries (chaos.sh --retry, issue 17) a job also has runs: each job
named in the retried list must be at run 2 with exactly run 1 (cancelled)
in its history, every other job at run 1 with none; a job re-opened twice
or a succeeded run re-opened counts as duplicated, a retried job left at
run 1 as lost.

Extra generation calls are the calls beyond one per job (AWS mode: the
Bedrock stand-in's per-prompt counts; embedded mode: job_started lines in
the workers' JSON logs).  A kill can waste at most the generations it
interrupted, so the target is extra_calls <= interrupted (the jobs in
flight in killed workers, from their logs), which is at most
kills x concurrency; with --concurrency 1 that is the issue's
"extra generations <= kills".

Subcommands:
  collect   gather a snapshot from the real state (embedded or aws)
  check     collect, then classify
  classify  classify a snapshot, print one JSON summary line, exit 1 when
            a target is missed; with --kills, also the phase each kill hit
            (from the store listing and ledger states chaos.sh saved right
            after the kill)
Only the standard library is used, so it runs wherever python3 does.
"""
import argparse
import datetime
import glob
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request

S3RVER_SUFFIX = "._S3rver_object"
END_EVENTS = {"job_succeeded", "job_failed", "job_filtered", "job_retry",
              "job_superseded", "job_abandoned"}


# ---- reading the pieces ----------------------------------------------------

def parse_ts(ts):
    """ISO-8601 UTC with milliseconds (the worker's "ts") -> epoch ms."""
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def read_log(path):
    """The JSON lines of one worker log; other lines (sanitizer output,
    half-written last line of a killed worker) are skipped."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ev, dict) and "event" in ev:
                    out.append(ev)
    except FileNotFoundError:
        pass
    return out


def lines(path):
    """The lines of a text file (read whole, file closed)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def jkey(batch, job):
    return f"{batch}/{job}"


def in_flight(events):
    """Jobs started and not finished in one worker's log: job key -> the
    attempt's start time (ms)."""
    open_jobs = {}
    for ev in events:
        if "job" not in ev or "batch" not in ev:
            continue
        k = jkey(ev["batch"], ev["job"])
        if ev["event"] == "job_started":
            open_jobs[k] = parse_ts(ev["ts"])
        elif ev["event"] in END_EVENTS:
            open_jobs.pop(k, None)
    return open_jobs


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def store_objects(root, s3rver):
    """Objects under a store root: key -> {sha256, mtime_ms}, plus the
    files that are no key (hidden temporary copies)."""
    objects, stray = {}, []
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if s3rver:
                if not name.endswith(S3RVER_SUFFIX):
                    continue  # s3rver's .md5 and metadata files
                rel = rel[: -len(S3RVER_SUFFIX)]
            if any(seg.startswith(".") for seg in rel.split("/")):
                stray.append(rel)
                continue
            objects[rel] = {"sha256": sha256_file(path),
                            "mtime_ms": os.stat(path).st_mtime_ns // 1000000}
    return objects, sorted(stray)


def message_job(body):
    """(batch, job) of a queue message body, or None for a poison one."""
    try:
        m = json.loads(body)
        return jkey(m["batch"], m["job"])
    except (ValueError, KeyError, TypeError):
        return None


def sqs_call(endpoint, target, body):
    req = urllib.request.Request(
        endpoint, data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.0",
                 "X-Amz-Target": "AmazonSQS." + target})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def sqs_messages(endpoint, name):
    """Every message still in an SQS queue (received with a long
    visibility so each is seen once) and the count still in flight."""
    url = sqs_call(endpoint, "GetQueueUrl", {"QueueName": name})["QueueUrl"]
    attrs = sqs_call(endpoint, "GetQueueAttributes",
                     {"QueueUrl": url, "AttributeNames": ["All"]})["Attributes"]
    hidden = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
    bodies = []
    while True:
        r = sqs_call(endpoint, "ReceiveMessage",
                     {"QueueUrl": url, "MaxNumberOfMessages": 10,
                      "VisibilityTimeout": 300, "WaitTimeSeconds": 0})
        got = r.get("Messages") or []
        if not got:
            break
        bodies += [m["Body"] for m in got]
    return bodies, hidden


def onesheet_jobs(onesheet):
    """Every ledger record, through the CLI (`onesheet list --json`)."""
    out = subprocess.run([onesheet, "list", "--json"], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def url_key(url):
    """The store key (BATCH/JOB.EXT) of a presigned URL: the CLI's JSON has
    the URL, not the key, and keys are always two segments."""
    if not url:
        return None
    path = urllib.parse.urlsplit(url).path
    return "/".join(urllib.parse.unquote(path).split("/")[-2:])


def sqlite_rows(db, sql):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---- collect -----------------------------------------------------------------

def submitted(paths):
    """The jobs submitted: `onesheet status BATCH --json` outputs (a batch
    line, then one line per job) or {batch, job, prompt} lines."""
    out = []
    for path in paths:
        for line in lines(path):
            if not line.strip():
                continue
            r = json.loads(line)
            if "id" in r and "spec" in r:
                out.append({"batch": r["batch"], "job": r["id"], "prompt": r["spec"]["prompt"]})
            elif "job" in r:
                out.append({"batch": r["batch"], "job": r["job"], "prompt": r["prompt"]})
    return out


def collect(a):
    """The snapshot (a dict) of the state a.mode's options point at."""
    expected = submitted(a.expected)
    logs = sorted(glob.glob(os.path.join(a.logs, "*.log")))
    events = [ev for p in logs for ev in read_log(p)]
    starts = {}
    skipped_done = []
    for ev in events:
        if ev["event"] == "job_started":
            k = jkey(ev["batch"], ev["job"])
            starts[k] = starts.get(k, 0) + 1
        elif ev["event"] == "job_skipped" and ev.get("reason") == "done":
            skipped_done.append(jkey(ev["batch"], ev["job"]))
    snap = {"mode": a.mode, "expected": expected, "starts": starts,
            "skipped_done": skipped_done,
            "retried": [l for l in lines(a.retried) if l.strip()] if a.retried else []}
    if a.mode == "embedded":
        db = os.path.join(a.state, "onesheet.db")
        snap["ledger"] = [
            {"batch": b, "job": j, "state": s, "sha256": h, "store_key": k, "run": r}
            for b, j, s, h, k, r in sqlite_rows(
                db, "SELECT batch_id, job_id, state, sha256, store_key, run FROM ledger_jobs")]
        if a.retried:
            hist = {}
            for b, j, r, s in sqlite_rows(db, "SELECT batch_id, job_id, run, state FROM"
                                              " ledger_attempts ORDER BY run"):
                hist.setdefault(jkey(b, j), []).append({"run": r, "state": s})
            for rec in snap["ledger"]:
                rec["history"] = hist.get(jkey(rec["batch"], rec["job"]), [])
        snap["queue"] = [b for (b,) in sqlite_rows(db, "SELECT body FROM queue_messages")]
        snap["dlq"] = [b for (b,) in sqlite_rows(db, "SELECT body FROM queue_dead")]
        snap["queue_hidden"] = 0
        snap["objects"], snap["stray"] = store_objects(a.store, s3rver=False)
        snap["calls"] = dict(starts)
    else:
        snap["ledger"] = [
            {"batch": r["batch"], "job": r["id"], "state": r["state"],
             "sha256": r.get("sha256"), "store_key": url_key(r.get("url")),
             "run": r.get("run", 1)}
            for r in onesheet_jobs(a.onesheet)]
        if a.retried:
            # `list` leaves the history out; `status JOB` has every run.
            for rec in snap["ledger"]:
                if rec["run"] > 1 or jkey(rec["batch"], rec["job"]) in set(lines(a.retried)):
                    out = subprocess.run([a.onesheet, "status", rec["job"], "--json"],
                                         check=True, capture_output=True, text=True).stdout
                    for l in out.splitlines():
                        r = json.loads(l)
                        if r.get("batch") == rec["batch"]:
                            rec["history"] = [{"run": x["run"], "state": x["state"]}
                                              for x in r.get("runs", [])[:-1]]
        snap["queue"], hidden = sqs_messages(a.sqs, a.queue)
        snap["dlq"], dlq_hidden = sqs_messages(a.sqs, a.dlq)
        snap["queue_hidden"] = hidden + dlq_hidden
        snap["objects"], snap["stray"] = store_objects(a.store, s3rver=True)
        with urllib.request.urlopen(a.standin.rstrip("/") + "/__standin/stats",
                                    timeout=10) as r:
            per_prompt = json.load(r).get("prompts", {})
        snap["calls"] = {
            jkey(e["batch"], e["job"]):
                per_prompt.get(hashlib.sha256(e["prompt"].encode()).hexdigest(), 0)
            for e in expected}
    return snap


# ---- kill records ------------------------------------------------------------

def listed_objects(path, s3rver):
    """A store listing taken right after a kill (`find -printf '%P %T@'`):
    key -> mtime in ms."""
    out = {}
    for line in lines(path):
        rel, _, t = line.rpartition(" ")
        if s3rver:
            if not rel.endswith(S3RVER_SUFFIX):
                continue
            rel = rel[: -len(S3RVER_SUFFIX)]
        out[rel] = int(float(t) * 1000)
    return out


def listed_ledger(path):
    """Ledger states taken right after a kill: the sqlite3 CLI's "KEY STATE"
    lines or `onesheet list --json` lines."""
    out = {}
    for line in lines(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            out[jkey(r["batch"], r["id"])] = r["state"]
        elif line:
            k, _, st = line.partition(" ")
            out[k] = st
    return out


def kill_phases(killed_log, objects, ledger):
    """The phase each in-flight job of a killed worker was in, judged by
    what this attempt had stored (objects newer than its job_started)."""
    flying = in_flight(read_log(killed_log))
    phases = []
    for k, t0 in sorted(flying.items()):
        mine = [key for key, t in objects.items() if key.startswith(k + ".") and t >= t0 - 5]
        raw = any(".raw." in key for key in mine)
        poster = any(".raw." not in key for key in mine)
        if ledger.get(k) == "succeeded":
            phases.append("delete")      # result recorded, message not deleted
        elif poster:
            phases.append("ledger")      # stored, success not yet recorded
        elif raw:
            phases.append("upload")      # raw art stored, poster not yet
        else:
            phases.append("generate")    # generate or compose
    return sorted(flying), phases


def load_kills(kdir, s3rver):
    """The kill records chaos.sh left: one directory per kill with
    meta.json ({round, log, t_ms, concurrency}), store.txt and ledger.txt."""
    kills = []
    if not kdir or not os.path.isdir(kdir):
        return kills
    for d in sorted(os.listdir(kdir), key=lambda n: (len(n), n)):
        base = os.path.join(kdir, d)
        meta = load_json(os.path.join(base, "meta.json"))
        objects = listed_objects(os.path.join(base, "store.txt"), s3rver)
        ledger = listed_ledger(os.path.join(base, "ledger.txt"))
        meta["inflight"], meta["phases"] = kill_phases(meta["log"], objects, ledger)
        if not meta["phases"]:
            meta["phases"] = ["idle"]
            meta["inflight"] = []
        kills.append(meta)
    return kills


# ---- classify ----------------------------------------------------------------

def runs_wrong(rec, want, lost, dup):
    """Adds to lost or dup what is wrong with a succeeded record's runs
    (retry): it must be at run want, with runs 1..want-1 in its history,
    none of them succeeded."""
    run, hist = rec.get("run", 1), rec.get("history", [])
    if run < want:
        lost.append(f"at run {run}: the retry never re-opened it")
    elif run > want:
        dup.append(f"at run {run}, expected {want}: re-opened more than once")
    if [h["run"] for h in hist] != list(range(1, run)):
        dup.append("history runs " + ",".join(str(h["run"]) for h in hist) +
                   f" for run {run}")
    if any(h["state"] == "succeeded" for h in hist):
        dup.append("a succeeded run was re-opened")


def classify_snapshot(snap, kills):
    """The per-job verdicts and the summary (a dict) for a snapshot and the
    kill records."""
    by_job = {}
    for r in snap["ledger"]:
        by_job.setdefault(jkey(r["batch"], r["job"]), []).append(r)
    queued = {}
    for which in ("queue", "dlq"):
        for body in snap[which]:
            k = message_job(body)
            queued.setdefault(k, []).append(which)
    objects = snap["objects"]
    retried = set(snap.get("retried", []))
    owned = set()
    verdicts = {}
    for e in snap["expected"]:
        k = jkey(e["batch"], e["job"])
        recs = by_job.get(k, [])
        succ = [r for r in recs if r["state"] == "succeeded"]
        keys = sorted(o for o in objects if o.startswith(k + "."))
        owned.update(keys)
        strays = [s for s in snap["stray"] if e["job"] in os.path.basename(s)]
        dup, lost = [], []
        if not recs:
            lost.append("no ledger record")
        elif not succ:
            lost.append("ledger state " + ",".join(sorted({r["state"] for r in recs})))
        if len(succ) > 1:
            results = {(r["sha256"], r["store_key"]) for r in succ}
            dup.append(f"{len(succ)} succeeded records, {len(results)} distinct results")
        if succ:
            r = succ[0]
            key = r["store_key"]
            if not key or key not in objects:
                lost.append(f"no object at {key}")
            elif objects[key]["sha256"] != r["sha256"]:
                dup.append(f"object {key} differs from the ledger's sha256 (replaced)")
            extra = [o for o in keys if o != key and ".raw." not in o]
            raws = [o for o in keys if ".raw." in o]
            if extra:
                dup.append("extra result keys " + " ".join(extra))
            if len(raws) > 1:
                dup.append("more than one raw art " + " ".join(raws))
        if strays:
            dup.append("leftover temporary copies " + " ".join(strays))
        if k in queued:
            dup.append("message never deleted (" + ",".join(queued[k]) + ")")
        for r in succ[:1]:
            runs_wrong(r, 2 if k in retried else 1, lost, dup)
        verdicts[k] = ("lost" if lost else "duplicated" if dup else "ok", lost + dup)

    expected_keys = {jkey(e["batch"], e["job"]) for e in snap["expected"]}
    problems = []
    orphans = sorted(o for o in objects if o not in owned)
    if orphans:
        problems.append("objects of no submitted job: " + " ".join(orphans[:5]))
    stray_orphans = [s for s in snap["stray"]
                     if not any(e["job"] in s for e in snap["expected"])]
    if stray_orphans:
        problems.append("stray files: " + " ".join(stray_orphans[:5]))
    foreign = [k for k in queued if k not in expected_keys]
    if foreign:
        problems.append(f"{len(foreign)} messages of no submitted job (or poison)")
    if snap.get("queue_hidden", 0):
        problems.append(f"{snap['queue_hidden']} messages still in flight")

    calls = snap["calls"]
    extra_calls = sum(max(0, calls.get(k, 0) - 1) for k in expected_keys)
    uncounted = [k for k in expected_keys
                 if verdicts[k][0] == "ok" and calls.get(k, 0) == 0]
    if uncounted:
        problems.append(f"{len(uncounted)} succeeded jobs with no generation call counted")
    interrupted = sum(len(k["inflight"]) for k in kills)
    if extra_calls > interrupted:
        problems.append(f"extra generation calls {extra_calls} > {interrupted} "
                        "generations the kills interrupted")
    phases = {}
    for k in kills:
        for p in k["phases"]:
            phases[p] = phases.get(p, 0) + 1
    # A message redelivered after its job's success shows a kill between
    # the ledger write and the delete that the snapshot could not see (the
    # worker had already logged the success).
    seen_delete = {j for k in kills for j, p in zip(k["inflight"], k["phases"])
                   if p == "delete"}
    late = len({j for j in snap.get("skipped_done", []) if j not in seen_delete})
    if late:
        phases["delete"] = phases.get("delete", 0) + late
    counts = {"ok": 0, "lost": 0, "duplicated": 0}
    for v, _ in verdicts.values():
        counts[v] += 1
    summary = {
        "mode": snap["mode"], "rounds": snap.get("rounds", 0), "kills": len(kills),
        "jobs": len(expected_keys), **counts, "extra_calls": extra_calls,
        "interrupted": interrupted,
        "extra_le_kills": extra_calls <= len(kills),
        "calls": sum(calls.get(k, 0) for k in expected_keys),
        "phases": dict(sorted(phases.items())), "problems": problems,
    }
    return verdicts, summary


def classify(a, snap=None):
    if snap is None:
        snap = load_json(a.snapshot)
    if a.rounds is not None:
        snap["rounds"] = a.rounds
    kills = load_kills(a.kills, snap["mode"] == "aws")
    verdicts, summary = classify_snapshot(snap, kills)
    for k, (v, why) in sorted(verdicts.items()):
        if v != "ok":
            print(f"{v}: {k}: {'; '.join(why)}", file=sys.stderr)
    for p in summary["problems"]:
        print(f"problem: {p}", file=sys.stderr)
    print(json.dumps(summary, separators=(",", ":")))
    bad = summary["lost"] or summary["duplicated"] or summary["problems"] \
        or summary["jobs"] == 0
    return 1 if bad else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("collect", "check"):
        s = sub.add_parser(name)
        s.add_argument("--mode", choices=("embedded", "aws"), required=True)
        s.add_argument("--state", help="embedded: $ONESHEET_STATE_DIR")
        s.add_argument("--store", required=True, help="store root directory")
        s.add_argument("--onesheet", default="onesheet", help="aws: the onesheet CLI")
        s.add_argument("--expected", required=True, nargs="+",
                       help="files of submitted jobs (`onesheet status BATCH --json`)")
        s.add_argument("--logs", required=True, help="directory of worker logs")
        s.add_argument("--sqs", help="aws: the SQS emulator's endpoint")
        s.add_argument("--queue", default="onesheet-it")
        s.add_argument("--dlq", default="onesheet-it-dlq")
        s.add_argument("--standin", help="aws: the Bedrock stand-in's URL")
        s.add_argument("--retried", help="file of BATCH/JOB lines chaos.sh retried")
        if name == "check":
            s.add_argument("--save", help="also write the snapshot to this file")
    s = sub.add_parser("classify")
    s.add_argument("snapshot")
    for s in (sub.choices["check"], sub.choices["classify"]):
        s.add_argument("--kills", help="directory of kill records (chaos.sh)")
        s.add_argument("--rounds", type=int)
    a = p.parse_args(argv)
    if a.cmd == "classify":
        return classify(a)
    snap = collect(a)
    if a.cmd == "collect" or a.save:
        with open(a.save, "w") if a.cmd == "check" else sys.stdout as f:
            json.dump(snap, f)
            f.write("\n")
    return classify(a, snap) if a.cmd == "check" else 0


if __name__ == "__main__":
    sys.exit(main())
