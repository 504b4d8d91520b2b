"""Assembles bench/results.json from one `make bench` run and prints the
markdown table (bench/run.sh).

    report.py T OUT

T holds embedded.json (the embedded-mode figures), settings.json, and one
res/NAME.json per AWS scenario (bench/scenario.py).  The onesheet worker
run at the baseline's concurrency is "same_load"; the Python worker is
"baseline"; the rest are the issue's scenarios.  Targets (issue 5) are
checked and reported, never asserted: a benchmark records, it does not fail.
"""
import datetime
import glob
import json
import os
import platform
import subprocess
import sys

ORDER = ["no_quota", "quota_120rpm", "two_workers_split", "two_workers_full",
         "same_load", "baseline", "text_posters"]
LABELS = {
    "no_quota": "(a) no quota, 1 worker",
    "quota_120rpm": "(b) quota 120 rpm, 1 worker --rpm 120",
    "two_workers_split": "(c) 2 workers, quota split (--rpm 60 each)",
    "two_workers_full": "(c') 2 workers, each --rpm 120",
    "same_load": "onesheet at the baseline's load",
    "baseline": "Python baseline (boto3, 8 threads)",
    "text_posters": "text on every poster, --concurrency 8",
}


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--",
                                "common", "worker", "submit"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        rev = rev + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        rev = None
    worker = os.path.join(os.environ.get("BIN", os.path.join(root, "bin")), "onesheet-worker")
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(worker), datetime.timezone.utc)
        built = built.strftime("%Y-%m-%dT%H:%M:%SZ")
    except OSError:
        built = None
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = None
    return {"nproc": os.cpu_count(), "cpu_model": model, "mem_gb": mem_gb,
            "worker_binary": worker, "worker_built": built, "loadavg_at_end": load,
            "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "onesheet_commit": rev}


def fmt(v, spec="{:.1f}"):
    return "–" if v is None else spec.format(v)


def main():
    t, out_path = sys.argv[1], sys.argv[2]
    with open(os.path.join(t, "embedded.json")) as f:
        embedded = json.load(f)
    settings = {}
    if os.path.exists(os.path.join(t, "settings.json")):
        with open(os.path.join(t, "settings.json")) as f:
            settings = json.load(f)
    res = {}
    for path in glob.glob(os.path.join(t, "res", "*.json")):
        with open(path) as f:
            r = json.load(f)
        res[r["name"]] = r

    floor = {}
    if os.path.exists(os.path.join(t, "floor.json")):
        with open(os.path.join(t, "floor.json")) as f:
            floor = json.load(f)
    results = {"machine": machine(), "settings": settings, "embedded": embedded,
               "floor": floor,
               "scenarios": {k: res[k] for k in ORDER if k in res and k not in
                             ("same_load", "baseline")}}
    if "baseline" in res:
        results["baseline"] = res["baseline"]
    if "same_load" in res:
        results["same_load"] = res["same_load"]
    if "baseline" in res and "same_load" in res:
        b, o = res["baseline"], res["same_load"]
        results["ratio"] = {
            "cpu_ms_per_job": round(b["cpu_ms_per_job"] / o["cpu_ms_per_job"], 2)
            if b.get("cpu_ms_per_job") and o.get("cpu_ms_per_job") else None,
            "peak_rss": round(b["peak_rss_mb"] / o["peak_rss_mb"], 2)
            if b.get("peak_rss_mb") and o.get("peak_rss_mb") else None,
            "note": "baseline / onesheet over the same jobs, concurrency and images; "
                    "> 1 means onesheet is leaner (issue 21 wants >= 15 for CPU)",
        }

    targets = {"enqueue_jobs_per_s_ge_20000": embedded.get("submit_lines_per_s", 0) >= 20000}
    for k, r in results["scenarios"].items():
        targets[k] = {
            "cpu_ms_per_job_le_3": (r["cpu_ms_per_job"] or 1e9) <= 3,
            "peak_rss_le_target": (r["peak_rss_mb"] or 1e9) <= r["rss_target_mb"],
            "throughput_ge_95pct": (r["pct_of_ideal"] or 0) >= 95,
            "no_failed_jobs": r["failed"] == 0 and r["succeeded"] == r["jobs"],
        }
    if floor.get("contract", {}).get("ms_per_job"):
        # Not a target of its own: whether issue 5's 3 ms is reachable at all here.
        floor["contract"]["le_3_ms"] = floor["contract"]["ms_per_job"] <= 3
    results["targets_met"] = targets

    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")

    m = results["machine"]
    print(f"\nonesheet bench — {m['date']}, {m['nproc']} × {m['cpu_model']}, "
          f"{m['mem_gb']} GB, commit {m['onesheet_commit']}")
    if settings:
        print(f"stand-in: {settings.get('standin')}")
    print()
    print("| scenario | jobs | jobs/s (% of ideal) | steady jobs/s | CPU ms/job | peak RSS MB "
          "(target) | failed | 429s | stack CPU ms/job | other load (cores) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in ORDER:
        if k not in res:
            continue
        r = res[k]
        print(f"| {LABELS[k]} | {r['succeeded']}/{r['jobs']} | {r['jobs_per_s']:.2f} of "
              f"{r['ideal_jobs_per_s']:.2f} ({fmt(r['pct_of_ideal'])} %) | "
              f"{fmt(r['span_jobs_per_s'], '{:.2f}')} | {fmt(r['cpu_ms_per_job'])} | "
              f"{fmt(r['peak_rss_mb'])} ({r['rss_target_mb']:.0f}) | {r['failed']} | "
              f"{r['standin_429']} | {fmt(r['stack_cpu_ms_per_job'])} | "
              f"{fmt(r['other_busy_cores'], '{:.2f}')} |")
    if "ratio" in results:
        ra = results["ratio"]
        print(f"\nbaseline / onesheet at the same load: CPU per job × {fmt(ra['cpu_ms_per_job'], '{:.2f}')}, "
              f"peak RSS × {fmt(ra['peak_rss'], '{:.2f}')}")
    print(f"\nembedded: submit of 100,000 lines {embedded['submit_100k_lines_s']:.2f} s "
          f"({embedded['submit_lines_per_s']} jobs/s, target ≥ 20,000); draft posters "
          f"{embedded['draft_posters_per_s_c2']}/s at --concurrency 2, "
          f"{embedded['draft_worker_cpu_ms_per_poster']} ms CPU/poster, "
          f"{embedded['draft_worker_peak_rss_mb']} MB peak RSS")
    s1m = embedded.get("submit_1m") or {}
    for f in ("txt", "jsonl"):
        if s1m.get(f):
            print(f"embedded: submit of {s1m['lines']:,} {f} lines {s1m[f]['s']:.1f} s, "
                  f"peak RSS {s1m[f]['peak_rss_mb']:.0f} MB (streamed; target ≤ 64 MB)")
    fc = floor.get("contract", {})
    if fc.get("ms_per_job"):
        above = ""
        if "no_quota" in res and res["no_quota"].get("cpu_ms_per_job"):
            above = (f"; scenario (a)'s worker used {res['no_quota']['cpu_ms_per_job']:.1f}, "
                     f"{res['no_quota']['cpu_ms_per_job'] - fc['ms_per_job']:.1f} above it")
        print(f"floor of one job's byte work (bench_floor, no HTTP/signing/queue/ledger): "
              f"{fc['ms_per_job']:.2f} ms CPU/job (user {fc['user_ms_per_job']:.2f}, "
              f"sys {fc['sys_ms_per_job']:.2f}; in memory: SHA-256 of the image "
              f"{fc.get('sha256_ms_per_job', 0):.2f}, base64 decode "
              f"{fc.get('decode_ms_per_job', 0):.2f}){above}")
        alt = {"one_object": "one stored object", "no_sha256": "no SHA-256",
               "neither": "one object and no SHA-256",
               "lean": "issue 21's contract (one object, running CRC-64/NVME)"}
        parts = [f"{label} {floor[k]['ms_per_job']:.2f}" for k, label in alt.items()
                 if floor.get(k, {}).get("ms_per_job")]
        if parts:
            print(f"floor without parts of the contract (ms CPU/job): {', '.join(parts)}")
    tp = embedded.get("text_poster") or {}
    if tp.get("cpu_ms_median"):
        print(f"poster with text (bench_poster, 1024x1536 photo-like art): "
              f"{tp['cpu_ms_median']:.1f} ms CPU median (runs {tp.get('cpu_ms_runs')}, "
              f"min {tp['cpu_ms_min']:.1f}; target <= 30), PNG {tp['poster_bytes']} bytes = "
              f"{tp['ratio']:.3f} x libpng level 6's {tp['ref_bytes']} (target <= 1.25); "
              f"load average {embedded.get('loadavg')}")
    if embedded.get("sigv4"):
        print(f"sigv4 ops/s: {json.dumps(embedded['sigv4'])}")
    for k in ORDER:
        if k in res:
            r = res[k]
            parts = ", ".join(f"{n} {v:.1f}" for n, v in sorted(r["stack_cpu_s"].items(),
                                                                   key=lambda x: -x[1]))
            print(f"where CPU went, {k}: workers {sum(w['user_s'] + w['sys_s'] for w in r['workers']):.1f} s; "
                  f"{parts}; machine busy {r['machine_busy_cores']} of {r['machine_cores']:.0f} cores "
                  f"(others {r['other_busy_cores']}); at the ideal rate the stack would need "
                  f"{r['stack_cores_at_ideal']} cores, the workers {r['worker_cores_at_ideal']}")
    print(f"\nwrote {out_path}")


if __name__ == "__main__":
    main()
