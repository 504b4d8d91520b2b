"""Adds the shared-quota scenarios (bench/quota.sh) to bench/results.json
and prints their table.

    quota_report.py T RESULTS_JSON

Targets (issue 21) are checked and reported, never asserted: (d) >= 95 %
of the quota, <= 3 % of calls throttled, no job failed; (e) >= 90 % and
no job lost."""
import glob
import json
import os
import sys

LABELS = {"quota_shared_4": "(d) 4 workers, each --quota-rpm = the quota",
          "quota_churn": "(e) the same, 1 killed and 1 added halfway"}


def main():
    t, out_path = sys.argv[1], sys.argv[2]
    res = {}
    for path in sorted(glob.glob(os.path.join(t, "quota", "*.json"))):
        with open(path) as f:
            try:
                r = json.load(f)
            except ValueError:
                continue
        res[r["name"]] = r
    if not res:
        return
    targets = {}
    for k, r in res.items():
        if k == "quota_shared_4":
            targets[k] = {"ge_95pct_of_quota": r["pct_of_quota"] >= 95,
                          "throttled_le_3pct": (r["throttled_pct"] or 0) <= 3,
                          "no_failed_jobs": r["lost"] == 0 and not r["states"].get("failed")}
        else:
            targets[k] = {"ge_90pct_of_quota": r["pct_of_quota"] >= 90,
                          "nothing_lost": r["lost"] == 0}
    results = {}
    if os.path.exists(out_path):
        with open(out_path) as f:
            results = json.load(f)
    results["quota_shared"] = res
    results.setdefault("targets_met", {}).update({"quota_" + k: v for k, v in targets.items()})
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print("\n| shared quota scenario | jobs ok | quota rpm (window) | rate rpm (% of quota) "
          "| 429s (% of calls) | bucket writes (reads)/job | targets |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for k in ("quota_shared_4", "quota_churn"):
        if k not in res:
            continue
        r = res[k]
        met = ", ".join(f"{n}={'yes' if v else 'NO'}" for n, v in targets[k].items())
        print(f"| {LABELS[k]} | {r['states'].get('succeeded', 0)}/{r['jobs']} "
              f"| {r['quota_rpm']:.0f} ({r['window_ms'] / 1000:.0f} s) "
              f"| {r['rate_rpm']:.0f} ({r['pct_of_quota']:.1f} %) "
              f"| {r['throttled']} ({r['throttled_pct']} %) | {r['ledger_writes_per_job']} "
              f"({r.get('ledger_reads_per_job')}) | {met} |")


if __name__ == "__main__":
    main()
