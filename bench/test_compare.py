"""Self-test of bench/compare.py against a criterion-shaped fixture (stdlib unittest).

run: python3 bench/test_compare.py   (or: python3 -m unittest discover -s bench)

bench/testdata/criterion/ is laid out and formatted as criterion 0.8 writes target/criterion:
`<group>/<function_id with / as _>/<value_str>/new/{benchmark,estimates}.json`. Its medians, in
ns per op: spawn_gather corral_gather/ct 1,050 vs futures_join_all/ct 1,000 (plus 10k and 1M
points for the scaling table, and a `base/` baseline of 5,000 that must be ignored);
corral_taskgroup/ct 1,200 vs tokio_spawn/ct 1,000; taskgroup (mt2 only) 1,300 vs 1,250;
queue_pipeline corral 90, flume 80, async_channel 100; event_broadcast corral 300 and no
usable tokio_notify; timeout_overhead corral_timeout 280, corral_deadline 295, tokio 267;
condition 150 vs 120; barrier 400 vs 350 (the anchor has no value_str, only a Throughput);
one lock_contention result at 100k, a size the mapping does not show; one without an `<impl>/<rt>` function id.
Every mean is 1.02 x the median. testdata/memory.json is shaped as benches/memory.rs writes it.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402

FIXTURE = HERE / "testdata" / "criterion"


def quiet(fn, *args, **kwargs):
    """Call fn with stdout and stderr swallowed."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


class LoadCriterion(unittest.TestCase):
    def setUp(self):
        self.crit = quiet(compare.load_criterion, FIXTURE)

    def test_reads_ids_from_benchmark_json_not_directory_names(self):
        r = self.crit[("spawn_gather", "corral_gather", "ct", 100_000)]
        self.assertEqual(r.path.parent.name, "100000")
        self.assertEqual(r.path.parent.parent.name, "corral_gather_ct")
        self.assertAlmostEqual(r.ns_per_op, 1050.0)

    def test_median_is_default_and_mean_selectable(self):
        mean = quiet(compare.load_criterion, FIXTURE, "mean")
        self.assertAlmostEqual(mean[("queue_pipeline", "flume", "ct", 1_000_000)].ns_per_op, 81.6)
        self.assertAlmostEqual(self.crit[("queue_pipeline", "flume", "ct", 1_000_000)].ns_per_op, 80.0)

    def test_slope_missing_in_flat_sampling_is_skipped_not_fatal(self):
        slope = quiet(compare.load_criterion, FIXTURE, "slope")
        self.assertIn(("spawn_gather", "corral_gather", "ct", 100_000), slope)
        self.assertNotIn(("queue_pipeline", "flume", "ct", 1_000_000), slope)  # slope: null

    def test_baseline_directories_are_ignored(self):
        # base/ holds 5,000 ns/op for this id; only new/ counts
        self.assertAlmostEqual(self.crit[("spawn_gather", "corral_gather", "ct", 100_000)].ns_per_op, 1050.0)

    def test_op_count_falls_back_to_throughput(self):
        self.assertAlmostEqual(self.crit[("barrier", "tokio_barrier", "ct", 80_000)].ns_per_op, 350.0)

    def test_unusable_results_are_skipped(self):
        self.assertEqual(len(self.crit), 24)
        self.assertFalse([k for k in self.crit if k[1] == "corral_gather_no_rt"])
        self.assertFalse([k for k in self.crit if k[:2] == ("event_broadcast", "tokio_notify")])

    def test_missing_directory_gives_no_results(self):
        self.assertEqual(quiet(compare.load_criterion, FIXTURE / "nope"), {})


class MainTable(unittest.TestCase):
    def setUp(self):
        self.crit = quiet(compare.load_criterion, FIXTURE)
        self.py = {("spawn_gather", "asyncio", 100_000): 15_750.0,
                   ("spawn_gather", "uvloop", 100_000): 12_600.0,
                   ("queue_pipeline", "asyncio", 1_000_000): 1_386.0}
        self.rows = compare.main_rows(self.crit, self.py, compare.all_workloads())

    def row(self, workload, corral, anchor, rt="ct"):
        [r] = [r for r in self.rows
               if (r.workload, r.corral, r.anchor, r.rt) == (workload, corral, anchor, rt)]
        return r

    def test_one_row_per_pair_and_runtime(self):
        self.assertEqual(len(self.rows), len(compare.PAIRS) * len(compare.RUNTIMES))

    def test_ratios(self):
        cases = [  # (workload, corral, anchor, rt, corral/anchor, missed)
            ("spawn_gather", "corral_gather", "futures_join_all", "ct", 1.05, False),
            ("spawn_gather", "corral_taskgroup", "tokio_spawn", "ct", 1.20, True),
            ("taskgroup", "corral_taskgroup", "tokio_joinset", "mt2", 1.04, False),
            ("queue_pipeline", "corral_queue", "flume", "ct", 1.125, False),
            ("queue_pipeline", "corral_queue", "async_channel", "ct", 0.90, False),
            ("timeout_overhead", "corral_timeout", "tokio_timeout", "ct", 280 / 267, False),
            ("timeout_overhead", "corral_deadline", "tokio_timeout", "ct", 295 / 267, True),
            ("condition", "corral_condition", "tokio_mutex_notify", "ct", 1.25, False),
            ("barrier", "corral_barrier", "tokio_barrier", "ct", 400 / 350, False),
        ]
        for w, c, a, rt, want, missed in cases:
            with self.subTest(workload=w, corral=c, anchor=a):
                r = self.row(w, c, a, rt)
                self.assertAlmostEqual(r.corral_over_anchor, want)
                self.assertEqual(r.missed, missed)

    def test_asyncio_over_corral(self):
        r = self.row("spawn_gather", "corral_gather", "futures_join_all")
        self.assertAlmostEqual(r.asyncio_over_corral, 15.0)
        self.assertAlmostEqual(r.uvloop_ns, 12_600.0)
        self.assertAlmostEqual(self.row("queue_pipeline", "corral_queue", "flume").asyncio_over_corral, 15.4)
        self.assertIsNone(self.row("barrier", "corral_barrier", "tokio_barrier").asyncio_over_corral)

    def test_missing_results_render_as_dash(self):
        r = self.row("event_broadcast", "corral_event", "tokio_notify")
        self.assertIsNone(r.anchor_ns)
        self.assertIsNone(r.corral_over_anchor)
        self.assertFalse(r.missed)
        md = compare.render_main([r])
        cells = [c.strip() for c in md.splitlines()[2].strip("|").split("|")]
        self.assertEqual(cells, ["event_broadcast", "10k", "ct", "–", "–", "tokio_notify", "–",
                                 "corral_event", "300", "–", "≤ 1.2×", "–"])

    def test_rendered_cells(self):
        md = compare.render_main(self.rows)
        lines = md.splitlines()
        self.assertEqual(lines[0], "| " + " | ".join(compare.MAIN_HEADER) + " |")
        for line in lines:
            self.assertEqual(line.count("|"), len(compare.MAIN_HEADER) + 1, line)
        self.assertIn("| spawn_gather | 100k | ct | 15,750 | 12,600 | futures_join_all | 1,000 | "
                      "corral_gather | 1,050 | 1.05× | ≤ 1.1× ok | 15.0× |", md)
        self.assertIn("| 1.20× | ≤ 1.1× **MISS** |", md)
        self.assertIn("| 0.90× | ≤ 1.0× ok |", md)
        self.assertIn("| 1.25× | report |", md)
        # 1.1049 would round to 1.10×: a miss is shown with a third decimal
        self.assertIn("| corral_deadline | 295 | 1.105× | ≤ 1.1× **MISS** |", md)

    def test_unmatched_results_are_listed(self):
        # the fixture's lock_contention result is at 100k; the mapping's size is 1M
        self.assertEqual(compare.unmatched(self.crit, compare.all_workloads()),
                         ["lock_contention/corral_mutex/ct/100000"])
        text = compare.render_report(self.crit, self.py, ["lock_contention"], "median")
        self.assertIn("`lock_contention/corral_mutex/ct/100000`", text)
        # a known workload left out by the filter is not a naming slip
        self.assertEqual(compare.unmatched(self.crit, ["barrier"]), [])

    def test_results_of_unknown_groups_are_always_listed(self):
        crit = dict(self.crit)
        crit[("later_module", "corral_x", "ct", 10)] = compare.CritResult(
            "later_module", "corral_x", "ct", 10, 100.0, Path("x"), 0.0)
        self.assertEqual(compare.unmatched(crit, []), ["later_module/corral_x/ct/10"])
        text = compare.render_report(crit, self.py, ["barrier"], "median")
        self.assertIn("`later_module/corral_x/ct/10`", text)
        self.assertNotIn("`lock_contention/corral_mutex/ct/100000`", text)

    def test_report_lists_misses(self):
        text = compare.render_report(self.crit, self.py, compare.all_workloads(), "median")
        self.assertIn("Targets missed: spawn_gather/corral_taskgroup/ct vs tokio_spawn, "
                      "timeout_overhead/corral_deadline/ct vs tokio_timeout.", text)
        self.assertIn("### Scaling (ns per item)", text)


class ScalingTable(unittest.TestCase):
    def setUp(self):
        crit = quiet(compare.load_criterion, FIXTURE)
        py = {("spawn_gather", "asyncio", n): v for n, v in
              ((10_000, 6_000.0), (100_000, 15_000.0), (1_000_000, 30_000.0))}
        self.rows = compare.scaling_rows(crit, py, compare.all_workloads())

    def row(self, workload, impl, rt="ct"):
        [r] = [r for r in self.rows if (r.workload, r.impl, r.rt) == (workload, impl, rt)]
        return r

    def test_per_item_cost_and_spread(self):
        g = self.row("spawn_gather", "corral_gather")
        self.assertEqual([round(g.ns[n]) for n in compare.SCALING_SIZES], [1000, 1050, 1100])
        self.assertAlmostEqual(g.spread, 1.1)
        self.assertTrue(g.flat)
        t = self.row("spawn_gather", "corral_taskgroup")
        self.assertAlmostEqual(t.spread, 2.5)
        self.assertFalse(t.flat)
        self.assertAlmostEqual(self.row("spawn_gather", "futures_join_all").spread, 2000 / 900)
        self.assertIsNone(self.row("queue_pipeline", "corral_queue").spread)  # one size only

    def test_corral_may_spread_as_far_as_its_anchor(self):
        def res(impl, per_item):
            return {("taskgroup", impl, "ct", n): compare.CritResult(
                "taskgroup", impl, "ct", n, v * n, Path("x"), 0.0)
                for n, v in zip(compare.SCALING_SIZES, per_item)}
        crit = {**res("corral_taskgroup", (340, 520, 545)), **res("tokio_joinset", (565, 750, 865))}
        rows = compare.scaling_rows(crit, {}, ["taskgroup"])
        [c] = [r for r in rows if (r.impl, r.rt) == ("corral_taskgroup", "ct")]
        self.assertAlmostEqual(c.anchor_spread, 865 / 565)
        self.assertTrue(c.flat)  # 1.60x, but the anchor spreads 1.53x: the caches, not corral
        self.assertIn("| 1.60× (anchor 1.53×) |", compare.render_scaling(rows))
        crit.update(res("corral_taskgroup", (340, 520, 700)))  # 2.06x > 1.2 x 1.53x
        [c] = [r for r in compare.scaling_rows(crit, {}, ["taskgroup"])
               if (r.impl, r.rt) == ("corral_taskgroup", "ct")]
        self.assertFalse(c.flat)

    def test_each_impl_once_per_workload_and_runtime(self):
        impls = [r.impl for r in self.rows if (r.workload, r.rt) == ("spawn_gather", "ct")]
        self.assertEqual(impls, ["corral_gather", "futures_join_all", "corral_taskgroup", "tokio_spawn",
                                 "await_handles_loop"])
        self.assertEqual({r.workload for r in self.rows}, set(compare.SCALED))

    def test_python_rows_only_when_measured(self):
        py_rows = [r for r in self.rows if r.role == "python"]
        self.assertEqual([(r.workload, r.impl) for r in py_rows], [("spawn_gather", "asyncio")])
        self.assertAlmostEqual(py_rows[0].spread, 5.0)

    def test_only_corral_rows_are_marked(self):
        md = compare.render_scaling(self.rows)
        self.assertEqual(md.count("**not flat**"), 1)
        self.assertIn("| spawn_gather | ct | corral_taskgroup | 600 | 1,200 | 1,500 | 2.50× **not flat**", md)
        self.assertIn("| spawn_gather | ct | futures_join_all | 900 | 1,000 | 2,000 | 2.22× |", md)


class HandleTrapRows(unittest.TestCase):
    def test_gather_over_handles_is_paired_twice_at_100k_only(self):
        pairs = [(c, a, t) for w, n, c, a, t in compare.PAIRS
                 if w == "spawn_gather" and c == "corral_gather_handles"]
        self.assertEqual(pairs, [("corral_gather_handles", "futures_join_all_handles", None),
                                 ("corral_gather_handles", "await_handles_loop", 1.1)])
        self.assertIn(("spawn_gather", "futures_join_all_handles"), compare.UNSCALED_IMPLS)

    def test_gather_pinning_each_handle_is_held_to_the_loop(self):
        pairs = [(c, a, t) for w, n, c, a, t in compare.PAIRS
                 if w == "spawn_gather" and c == "corral_gather_pinned_handles"]
        self.assertEqual(pairs, [("corral_gather_pinned_handles", "await_handles_loop", 1.1)])
        self.assertIn(("spawn_gather", "corral_gather_pinned_handles"), compare.UNSCALED_IMPLS)

    def test_unscaled_results_at_other_sizes_are_listed_as_unmatched(self):
        crit = {("spawn_gather", "corral_gather_handles", "ct", n):
                compare.CritResult("spawn_gather", "corral_gather_handles", "ct", n, 1.0 * n,
                                   Path("x"), 0.0)
                for n in (100_000, 1_000_000)}
        self.assertEqual(compare.unmatched(crit, ["spawn_gather"]),
                         ["spawn_gather/corral_gather_handles/ct/1000000"])


class Memory(unittest.TestCase):
    PATH = HERE / "testdata" / "memory.json"

    def test_load_and_render(self):
        rows, runtime = compare.load_memory(self.PATH)
        self.assertEqual(runtime, "ct")
        self.assertEqual([r.impl for r in rows], ["tokio_spawn", "tokio_joinset", "corral_taskgroup"])
        md = compare.render_memory(rows, runtime)
        self.assertIn("### Memory per live task (ct runtime", md)
        self.assertIn("| tokio_joinset | 100k | 312.0 | 320.5 | 2.00 | 64 | 1.00× |", md)
        self.assertIn("| corral_taskgroup | 100k | 280.8 | 290.0 | 1.00 | 0 | 0.90× |", md)

    def test_missing_or_broken_file_gives_no_table(self):
        self.assertEqual(quiet(compare.load_memory, HERE / "testdata" / "nope.json"), ([], ""))
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "memory.json"
            bad.write_text('{"rows": [{"impl": "x"}]}')
            self.assertEqual(quiet(compare.load_memory, bad), ([], ""))

    def test_filter_selects_the_probe_by_substring(self):
        self.assertTrue(compare.memory_selected(None))
        self.assertTrue(compare.memory_selected("memory"))
        self.assertTrue(compare.memory_selected("mem"))
        self.assertFalse(compare.memory_selected("queue_pipeline"))

    def test_report_shows_the_table_when_given(self):
        crit = quiet(compare.load_criterion, FIXTURE)
        text = compare.render_report(crit, {}, ["barrier"], "median",
                                     memory=compare.load_memory(self.PATH))
        self.assertIn("### Memory per live task", text)
        self.assertNotIn("### Memory", compare.render_report(crit, {}, ["barrier"], "median"))


class Selection(unittest.TestCase):
    def test_no_filter_selects_all(self):
        self.assertEqual(compare.select_workloads(None), compare.all_workloads())
        self.assertEqual(compare.all_workloads()[:3], ["spawn_gather", "taskgroup", "queue_pipeline"])

    def test_filter_matches_benchmark_ids(self):
        self.assertEqual(compare.select_workloads("queue"), ["queue_pipeline"])
        self.assertEqual(compare.select_workloads("corral_taskgroup/mt2"), ["spawn_gather", "taskgroup"])
        self.assertEqual(compare.select_workloads("^barrier/"), ["barrier"])
        self.assertEqual(compare.select_workloads("flume/ct/1000000"), ["queue_pipeline"])
        self.assertEqual(compare.select_workloads("no_such_bench"), [])

    def test_bad_regex_falls_back_to_substring(self):
        self.assertEqual(compare.select_workloads("condition("), [])
        self.assertEqual(compare.select_workloads("barrier["), [])

    def test_workloads_without_asyncio_version_are_not_run(self):
        self.assertEqual(compare.python_runs(["blocking_jobs", "paginate", "exit_stack",
                                              "rate_limiter_build", "lock_contention"], False),
                         [("lock_contention", 1_000_000, None)])

    def test_every_workload_has_an_asyncio_version_or_says_it_has_none(self):
        import subprocess
        listed = subprocess.run([sys.executable, str(compare.WORKLOADS_PY), "--list"],
                                capture_output=True, text=True, check=True).stdout.split()
        for w in compare.all_workloads():
            with self.subTest(workload=w):
                self.assertNotEqual(w in listed, w in compare.NO_ASYNCIO)

    def test_python_runs(self):
        self.assertEqual(compare.python_runs(["spawn_gather", "barrier"], False),
                         [("spawn_gather", 100_000, None), ("barrier", 80_000, None)])
        self.assertEqual(compare.python_runs(["queue_pipeline"], True),
                         [("queue_pipeline", 1_000_000, None), ("queue_pipeline", 10_000, 10_000),
                          ("queue_pipeline", 100_000, 100_000)])


class PythonSide(unittest.TestCase):
    def test_parse_result(self):
        out = 'noise\nRESULT {"workload":"barrier","ops":80000,"elapsed_ns":8,"check":{"phases":1}}\n'
        self.assertEqual(compare.parse_result(out)["ops"], 80000)
        self.assertIsNone(compare.parse_result("RESULT {broken"))
        self.assertIsNone(compare.parse_result(""))

    def test_run_python_takes_the_median_ns_per_op(self):
        got = quiet(compare.run_python, sys.executable, "noop", "asyncio", None, 3, 60)
        self.assertIsNotNone(got)
        ops, ns = got
        self.assertEqual(ops, 1)
        self.assertGreater(ns, 0)

    def test_run_python_sized(self):
        ops, _ = quiet(compare.run_python, sys.executable, "queue_pipeline", "asyncio", 1_000, 1, 60)
        self.assertEqual(ops, 1_000)

    def test_failed_run_gives_none(self):
        self.assertIsNone(quiet(compare.run_python, sys.executable, "barrier", "asyncio", 5, 1, 60))


class CargoStep(unittest.TestCase):
    """run_cargo_bench against a stand-in `cargo` on PATH that records how it was called."""

    def run_fake_cargo(self, exit_code, filt):
        with tempfile.TemporaryDirectory() as tmp:
            record = Path(tmp) / "called"
            fake = Path(tmp) / "cargo"
            fake.write_text(f'#!/bin/sh\necho "$PWD" "$@" > "{record}"\nexit {exit_code}\n')
            fake.chmod(0o755)
            old = os.environ["PATH"]
            os.environ["PATH"] = f"{tmp}{os.pathsep}{old}"
            try:
                ok = quiet(compare.run_cargo_bench, filt)
            finally:
                os.environ["PATH"] = old
            return ok, record.read_text().split()

    def test_command_and_filter_pass_through(self):
        ok, called = self.run_fake_cargo(0, "queue_pipeline/corral")
        self.assertTrue(ok)
        self.assertEqual(called, [str(compare.ROOT), "bench", "-p", "corral-bench", "--", "queue_pipeline/corral"])

    def test_no_filter_and_failure(self):
        ok, called = self.run_fake_cargo(101, None)
        self.assertFalse(ok)
        self.assertEqual(called, [str(compare.ROOT), "bench", "-p", "corral-bench"])


class EndToEnd(unittest.TestCase):
    def run_main(self, *args):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "sub" / "latest.md"
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
                rc = compare.main(["--skip-cargo", "--skip-python", "--out", str(out), *args])
            return rc, stdout.getvalue(), out.read_text()

    def test_fixture_report_goes_to_stdout_and_file(self):
        rc, stdout, written = self.run_main("--criterion-dir", str(FIXTURE),
                                            "--memory", str(HERE / "testdata" / "memory.json"))
        self.assertEqual(rc, 0)
        self.assertEqual(stdout, written)
        self.assertIn("| tokio_spawn | 100k | 264.0 |", written)
        self.assertIn("load average (1/5/15 min) at the start", written)
        self.assertIn("| barrier | 80k | ct | – | – | tokio_barrier | 350 | corral_barrier | 400 | 1.14× |", written)
        self.assertIn("uvloop not run", written)

    def test_filter_restricts_the_table(self):
        _, _, written = self.run_main("--criterion-dir", str(FIXTURE), "--filter", "barrier")
        body = [line for line in written.splitlines() if line.startswith("| ") and "workload" not in line]
        self.assertEqual(len(body), 2)
        self.assertNotIn("### Scaling", written)

    def test_no_results_at_all_is_not_an_error(self):
        rc, _, written = self.run_main("--criterion-dir", str(FIXTURE / "missing"))
        self.assertEqual(rc, 0)
        self.assertIn("| condition | 1M | mt2 | – | – | tokio_mutex_notify | – | corral_condition | – | – | report | – |",
                      written)


if __name__ == "__main__":
    unittest.main()
