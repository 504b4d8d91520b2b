"""One benchmark scenario's figures as a JSON object (bench/aws_lib.sh).

    scenario.py T NAME N RPM IDEAL KIND WALL CLK_TCK

Reads what the scenario left in T: NAME.wI.time (/usr/bin/time "%e %U %S
%M" of each worker), NAME.wI.args, NAME.jobs.json (onesheet list --json;
onesheet workers) or NAME.summary.json (the baseline worker's own ledger
counts), NAME.standin.json (GET /__standin/stats), NAME.rejections,
NAME.worker_throttled and the CPU snapshots NAME.before / NAME.after.
"""
import glob
import json
import os
import sqlite3
import sys


def read_snapshot(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "machine":
                out["machine"] = (int(parts[1]), int(parts[2]))
            else:
                out[parts[0]] = int(parts[1])
    return out


def main():
    t, name = sys.argv[1], sys.argv[2]
    n, rpm = int(sys.argv[3]), int(sys.argv[4])
    ideal, kind, wall = float(sys.argv[5]), sys.argv[6], float(sys.argv[7])
    tck = int(sys.argv[8])
    p = lambda suffix: os.path.join(t, name + suffix)

    workers = []
    for tf in sorted(glob.glob(p(".w*.time"))):
        with open(tf) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        # /usr/bin/time puts "Command exited with non-zero status N" first.
        e, u, s, m = lines[-1].split()
        with open(tf[:-5] + ".args") as f:
            args = f.read().strip()
        workers.append({"args": args, "wall_s": float(e), "user_s": float(u),
                        "sys_s": float(s), "peak_rss_mb": round(int(m) / 1024, 1)})

    # Final states, and the span from the first job's start to the last
    # one's finish in the ledger (the steady rate, without the workers'
    # start-up and drain tail).
    states, starts, ends, extra = {}, [], [], {}
    if kind == "baseline":
        with open(p(".summary.json")) as f:
            summary = json.load(f)
        states = summary.get("states", {})
        extra = {k: summary[k] for k in ("invoke", "boto3", "python") if k in summary}
        db = sqlite3.connect(p(".db"))
        for a, b in db.execute("SELECT started, finished FROM jobs WHERE state='succeeded'"):
            starts.append(a * 1000)
            ends.append(b * 1000)
        db.close()
    else:
        with open(p(".jobs.json")) as f:
            for line in f:
                if line.strip():
                    j = json.loads(line)
                    st = j.get("state", "?")
                    states[st] = states.get(st, 0) + 1
                    if st == "succeeded" and j.get("started_ms") and j.get("finished_ms"):
                        starts.append(j["started_ms"])
                        ends.append(j["finished_ms"])
    span = (max(ends) - min(starts)) / 1000 if starts else 0.0
    ok = states.get("succeeded", 0)
    failed = sum(v for k, v in states.items() if k != "succeeded")

    with open(p(".standin.json")) as f:
        standin = json.load(f)
    with open(p(".rejections")) as f:
        rejections = int(f.read().strip() or -1)
    with open(p(".worker_throttled")) as f:
        worker_throttled = int(f.read().strip() or 0)

    before, after = read_snapshot(p(".before")), read_snapshot(p(".after"))
    stack_cpu = {k: round((after[k] - before.get(k, 0)) / tck, 2)
                 for k in after if k != "machine" and after[k] >= before.get(k, 0)}
    busy = (after["machine"][0] - before["machine"][0]) / tck
    total = (after["machine"][1] - before["machine"][1]) / tck
    cpu_s = sum(w["user_s"] + w["sys_s"] for w in workers)
    jobs_per_s = ok / wall if wall > 0 else 0.0
    conc = 0
    for w in workers:
        a = w["args"].split()
        for i, x in enumerate(a):
            if x in ("--concurrency", "-c", "--threads") and i + 1 < len(a):
                conc += int(a[i + 1])
    out = {
        "name": name, "kind": kind, "jobs": n, "standin_rpm": rpm, "workers": workers,
        "wall_s": round(wall, 2), "succeeded": ok, "failed": failed, "states": states,
        "jobs_per_s": round(jobs_per_s, 2), "ideal_jobs_per_s": round(ideal, 2),
        "pct_of_ideal": round(100 * jobs_per_s / ideal, 1) if ideal else None,
        "ledger_span_s": round(span, 2),
        "span_jobs_per_s": round(ok / span, 2) if span > 0 else None,
        "span_pct_of_ideal": round(100 * ok / span / ideal, 1) if span > 0 and ideal else None,
        "cpu_ms_per_job": round(1000 * cpu_s / ok, 2) if ok else None,
        "peak_rss_mb": max((w["peak_rss_mb"] for w in workers), default=None),
        "rss_target_mb": round(16 + 3 * 2.0 * conc / max(len(workers), 1), 1),
        "standin_calls": standin.get("calls"),
        "standin_429": standin.get("rejected", {}).get("throttled"),
        "worker_throttled_log_lines": worker_throttled,
        "signature_rejections": rejections,
        "stack_cpu_s": stack_cpu,
        "stack_cpu_ms_per_job": round(1000 * sum(stack_cpu.values()) / ok, 1) if ok else None,
        # Cores the emulators, proxies and stand-in alone would need at the
        # ideal rate: near or above the machine's cores, the stack is the
        # bottleneck whatever the worker does.
        "stack_cores_at_ideal": round(sum(stack_cpu.values()) / ok * ideal, 2) if ok else None,
        "worker_cores_at_ideal": round(cpu_s / ok * ideal, 2) if ok else None,
        "machine_busy_cores": round(busy / wall, 2) if wall > 0 else None,
        # CPU the machine spent on anything but the workers and the stack
        # (other users of a shared machine): large values spoil the wall times.
        "other_busy_cores": round(max(busy - cpu_s - sum(stack_cpu.values()), 0) / wall, 2)
        if wall > 0 else None,
        "machine_cores": round(total / wall, 2) if wall > 0 else None,
    }
    out.update(extra)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
