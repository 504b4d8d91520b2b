#!/usr/bin/env python3
"""The chaos checker must be able to fail: fabricated states, each with one
thing wrong, and the verdict each must get.  Run: python3 test_check.py"""
import copy
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402

B = "b0123456789abcdef"
JOBS = ["j00000000000000000001", "j00000000000000000002", "j00000000000000000003"]


def good_state():
    """Three jobs, each done right: one succeeded record, its poster and raw
    art stored, no message left, one generation call."""
    snap = {"mode": "aws", "expected": [], "ledger": [], "objects": {}, "stray": [],
            "queue": [], "dlq": [], "queue_hidden": 0, "calls": {}, "starts": {},
            "skipped_done": []}
    for i, j in enumerate(JOBS):
        sha = f"{i:064x}"
        snap["expected"].append({"batch": B, "job": j, "prompt": f"prompt {i}"})
        snap["ledger"].append({"batch": B, "job": j, "state": "succeeded",
                               "sha256": sha, "store_key": f"{B}/{j}.png"})
        snap["objects"][f"{B}/{j}.png"] = {"sha256": sha, "mtime_ms": 1000}
        snap["objects"][f"{B}/{j}.raw.png"] = {"sha256": "ab" * 32, "mtime_ms": 1000}
        snap["calls"][f"{B}/{j}"] = 1
    return snap


def put(path, text):
    with open(path, "w") as f:
        f.write(text if isinstance(text, str) else json.dumps(text))


def body(j):
    return json.dumps({"v": 1, "batch": B, "job": j, "spec": {"prompt": "x"}})


class Verdicts(unittest.TestCase):
    def run_check(self, snap, kills=()):
        verdicts, summary = check.classify_snapshot(snap, list(kills))
        return {k.split("/")[1]: v for k, (v, _) in verdicts.items()}, summary

    def assertOnly(self, snap, job, verdict):
        v, s = self.run_check(snap)
        self.assertEqual(v[job], verdict, s)
        others = [x for k, x in v.items() if k != job]
        self.assertEqual(others, ["ok"] * (len(JOBS) - 1))
        return s

    def test_good_state_is_all_ok(self):
        v, s = self.run_check(good_state())
        self.assertEqual(list(v.values()), ["ok"] * 3)
        self.assertEqual((s["ok"], s["lost"], s["duplicated"], s["extra_calls"]), (3, 0, 0, 0))
        self.assertEqual(s["problems"], [])

    def test_deleted_object_is_lost(self):
        snap = good_state()
        del snap["objects"][f"{B}/{JOBS[0]}.png"]
        self.assertEqual(self.assertOnly(snap, JOBS[0], "lost")["lost"], 1)

    def test_missing_ledger_record_is_lost(self):
        snap = good_state()
        snap["ledger"] = snap["ledger"][1:]
        self.assertOnly(snap, JOBS[0], "lost")

    def test_failed_or_running_job_is_lost(self):
        for state in ("failed", "running", "queued"):
            snap = good_state()
            snap["ledger"][1]["state"] = state
            self.assertOnly(snap, JOBS[1], "lost")

    def test_replaced_object_is_duplicated(self):
        snap = good_state()
        snap["objects"][f"{B}/{JOBS[2]}.png"]["sha256"] = "ff" * 32
        self.assertOnly(snap, JOBS[2], "duplicated")

    def test_second_result_key_is_duplicated(self):
        snap = good_state()
        snap["objects"][f"{B}/{JOBS[1]}.jpeg"] = {"sha256": "cd" * 32, "mtime_ms": 1}
        self.assertOnly(snap, JOBS[1], "duplicated")

    def test_second_raw_art_is_duplicated(self):
        snap = good_state()
        snap["objects"][f"{B}/{JOBS[1]}.raw.jpeg"] = {"sha256": "cd" * 32, "mtime_ms": 1}
        self.assertOnly(snap, JOBS[1], "duplicated")

    def test_two_succeeded_records_are_duplicated(self):
        snap = good_state()
        r = copy.deepcopy(snap["ledger"][0])
        r["sha256"] = "ee" * 32
        snap["ledger"].append(r)
        self.assertOnly(snap, JOBS[0], "duplicated")

    def test_undeleted_message_is_duplicated(self):
        for where in ("queue", "dlq"):
            snap = good_state()
            snap[where].append(body(JOBS[2]))
            self.assertOnly(snap, JOBS[2], "duplicated")

    def test_leftover_temporary_copy_is_duplicated(self):
        snap = good_state()
        snap["stray"].append(f"{B}/.{JOBS[0]}.png.1a2b3c4d")
        self.assertOnly(snap, JOBS[0], "duplicated")

    def retried_state(self):
        """JOBS[0] retried once: at run 2 with run 1 (cancelled) archived."""
        snap = good_state()
        snap["retried"] = [f"{B}/{JOBS[0]}"]
        snap["ledger"][0]["run"] = 2
        snap["ledger"][0]["history"] = [{"run": 1, "state": "cancelled"}]
        return snap

    def test_a_retried_job_at_run_two_is_ok(self):
        v, _ = self.run_check(self.retried_state())
        self.assertEqual(list(v.values()), ["ok"] * 3)

    def test_a_job_reopened_twice_is_duplicated(self):
        snap = self.retried_state()
        snap["ledger"][0]["run"] = 3
        snap["ledger"][0]["history"].append({"run": 2, "state": "cancelled"})
        self.assertOnly(snap, JOBS[0], "duplicated")

    def test_a_reopened_success_is_duplicated(self):
        snap = self.retried_state()
        snap["ledger"][0]["history"][0]["state"] = "succeeded"
        self.assertOnly(snap, JOBS[0], "duplicated")

    def test_a_run_missing_from_the_history_is_duplicated(self):
        snap = self.retried_state()
        snap["ledger"][0]["history"] = []
        self.assertOnly(snap, JOBS[0], "duplicated")

    def test_a_retried_job_never_reopened_is_lost(self):
        snap = self.retried_state()
        snap["ledger"][0]["run"] = 1
        snap["ledger"][0]["history"] = []
        self.assertOnly(snap, JOBS[0], "lost")

    def test_a_job_not_retried_at_run_two_is_duplicated(self):
        snap = good_state()
        snap["ledger"][1]["run"] = 2
        snap["ledger"][1]["history"] = [{"run": 1, "state": "failed"}]
        self.assertOnly(snap, JOBS[1], "duplicated")

    def test_lost_wins_over_duplicated(self):
        snap = good_state()
        del snap["objects"][f"{B}/{JOBS[0]}.png"]
        snap["queue"].append(body(JOBS[0]))
        self.assertOnly(snap, JOBS[0], "lost")

    def test_extra_calls_beyond_interrupted_fail(self):
        snap = good_state()
        snap["calls"][f"{B}/{JOBS[0]}"] = 3
        _, s = self.run_check(snap, [{"inflight": [f"{B}/{JOBS[0]}"], "phases": ["generate"]}])
        self.assertEqual(s["extra_calls"], 2)
        self.assertTrue(any("extra generation calls" in p for p in s["problems"]), s)
        _, s = self.run_check(snap, [{"inflight": [f"{B}/{JOBS[0]}", f"{B}/{JOBS[1]}"],
                                      "phases": ["generate", "upload"]}])
        self.assertEqual(s["problems"], [])
        self.assertFalse(s["extra_le_kills"])

    def test_uncounted_calls_fail(self):
        snap = good_state()
        snap["calls"] = {}
        _, s = self.run_check(snap)
        self.assertTrue(any("no generation call" in p for p in s["problems"]), s)

    def test_orphans_and_poison_and_in_flight_fail(self):
        for damage in ("object", "message", "poison", "hidden", "stray"):
            snap = good_state()
            if damage == "object":
                snap["objects"][f"{B}/j99999999999999999999.png"] = {"sha256": "", "mtime_ms": 0}
            elif damage == "message":
                snap["queue"].append(body("j99999999999999999999"))
            elif damage == "poison":
                snap["dlq"].append("{not json")
            elif damage == "hidden":
                snap["queue_hidden"] = 1
            else:
                snap["stray"].append(f"{B}/.tmp123")
            v, s = self.run_check(snap)
            self.assertEqual(list(v.values()), ["ok"] * 3)
            self.assertEqual(len(s["problems"]), 1, (damage, s))

    def test_exit_status(self):
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "good.json")
            bad = os.path.join(d, "bad.json")
            put(good, good_state())
            snap = good_state()
            snap["dlq"].append(body(JOBS[0]))
            put(bad, snap)
            empty = os.path.join(d, "empty.json")
            snap = good_state()
            snap["expected"] = []
            put(empty, snap)
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                self.assertEqual(check.main(["classify", good, "--rounds", "2"]), 0)
                self.assertEqual(check.main(["classify", bad]), 1)
                self.assertEqual(check.main(["classify", empty]), 1)
            first = json.loads(out.getvalue().splitlines()[0])
            self.assertEqual((first["rounds"], first["jobs"], first["ok"]), (2, 3, 3))
            self.assertIn("duplicated: " + B, err.getvalue())


class Parsers(unittest.TestCase):
    def test_log_skips_garbage_and_half_lines(self):
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
            f.write('{"ts":"2026-11-25T14:00:00.100Z","event":"job_started","batch":"b","job":"j1"}\n')
            f.write("==123==ERROR: AddressSanitizer: nothing\n")
            f.write('{"ts":"2026-11-25T14:00:00.200Z","event":"job_started","batch":"b","job":"j2"}\n')
            f.write('{"ts":"2026-11-25T14:00:01.000Z","event":"job_succeeded","batch":"b","job":"j1"}\n')
            f.write('[1,2]\n{"no_event":1}\n')
            f.write('{"ts":"2026-11-25T14:00:01.500Z","event":"job_sta')  # killed mid-line
        try:
            events = check.read_log(f.name)
            self.assertEqual([e["event"] for e in events],
                             ["job_started", "job_started", "job_succeeded"])
            self.assertEqual(check.in_flight(events), {"b/j2": check.parse_ts(
                "2026-11-25T14:00:00.200Z")})
        finally:
            os.unlink(f.name)
        self.assertEqual(check.read_log("/nonexistent/log"), [])

    def test_message_and_url_parsing(self):
        self.assertEqual(check.message_job(body("j1")), f"{B}/j1")
        for bad in ("", "{", "[]", '{"batch":"b"}', "null", '"s"'):
            self.assertIsNone(check.message_job(bad), bad)
        self.assertEqual(check.url_key("http://h/posters/it/b1/j1.png?X-Amz-Signature=z"),
                         "b1/j1.png")
        self.assertIsNone(check.url_key(None))

    def test_kill_phases(self):
        """A killed worker with four jobs in flight, each at another step,
        and one that had an older object from an earlier attempt."""
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "w.log")
            t0 = "2026-11-25T14:00:00.000Z"
            ms = check.parse_ts(t0)
            with open(log, "w") as f:
                for j in ("ja", "jb", "jc", "jd", "je", "jf"):
                    f.write(json.dumps({"ts": t0, "event": "job_started", "batch": "b", "job": j}) + "\n")
                f.write(json.dumps({"ts": t0, "event": "job_succeeded", "batch": "b", "job": "jf"}) + "\n")
            kdir = os.path.join(d, "kills")
            one = os.path.join(kdir, "1")
            os.makedirs(one)
            put(os.path.join(one, "meta.json"),
                {"round": 1, "log": log, "t_ms": ms + 900, "concurrency": 6})
            s = ms / 1000
            with open(os.path.join(one, "store.txt"), "w") as f:
                f.write(f"b/jb.raw.png {s + 0.5}\n")
                f.write(f"b/jc.raw.png {s + 0.5}\nb/jc.png {s + 0.6}\n")
                f.write(f"b/jd.raw.png {s + 0.5}\nb/jd.png {s + 0.6}\n")
                f.write(f"b/je.raw.png {s - 60}\nb/je.png {s - 60}\n")  # an earlier attempt's
            with open(os.path.join(one, "ledger.txt"), "w") as f:
                f.write("b/jd succeeded\nb/jc running\nb/ja running\n")
            two = os.path.join(kdir, "2")
            os.makedirs(two)
            idle = os.path.join(d, "idle.log")
            put(idle, '{"ts":"2026-11-25T14:00:00.000Z","event":"worker_started"}\n')
            put(os.path.join(two, "meta.json"), {"round": 1, "log": idle, "t_ms": ms})
            put(os.path.join(two, "store.txt"), "")
            with open(os.path.join(two, "ledger.txt"), "w") as f:
                f.write('{"batch":"b","id":"ja","state":"running"}\n')
            kills = check.load_kills(kdir, s3rver=False)
            self.assertEqual(kills[0]["inflight"], ["b/ja", "b/jb", "b/jc", "b/jd", "b/je"])
            self.assertEqual(kills[0]["phases"],
                             ["generate", "upload", "ledger", "delete", "generate"])
            self.assertEqual(kills[1]["phases"], ["idle"])
            self.assertEqual(check.listed_ledger(os.path.join(two, "ledger.txt")), {"b/ja": "running"})


if __name__ == "__main__":
    unittest.main(verbosity=1)
