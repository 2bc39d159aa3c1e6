#!/usr/bin/env python3
"""One runner for corral's benchmarks: criterion (corral and its anchors) beside asyncio/uvloop.

Steps: (1) `cargo bench -p corral-bench [-- FILTER]` unless --skip-cargo; (2) read criterion's
results under target/criterion; (3) run bench/asyncio/workloads.py for each workload under
asyncio, and uvloop when `import uvloop` works, REPEAT times each, keeping the median,
unless --skip-python; (4) print one markdown table (plus a scaling table, and the memory
table that `cargo bench -p corral-bench --bench memory` writes to target/criterion/memory.json) to stdout and
write it to bench/results/latest.md. Missing results print as `–`. Python 3 stdlib only.

How the Rust benchmarks must name things (the mapping below relies on it):
  criterion group_id = workload name (the asyncio workload of the same name);
  function_id        = "<impl>/<rt>", rt = "ct" (current-thread) or "mt2" (2 workers);
  value_str          = n, the number of ops in one iteration (BenchmarkId::new(f, n)).
  ns/op = criterion's point estimate per iteration (median by default, see --stat) / n.
Criterion writes a function_id "corral_gather/ct" to the directory "corral_gather_ct"; this
runner never parses directory names, it reads the ids from each `new/benchmark.json`.

usage: bench/compare.sh [--skip-cargo] [--skip-python] [--filter REGEX] [--stat median]
                        [--repeat 3] [--python-scaling] [--no-uvloop] [--out FILE]
                        [--memory FILE]
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------
# THE MAPPING. One line per (corral impl, anchor impl) pair; later modules append rows.
#   workload: criterion group_id == asyncio workload name (bench/asyncio/workloads.py)
#   n:        ops per iteration at the workload's canonical size (criterion value_str)
#   target:   issue 4's bound on corral/anchor (None: report the ratio only)
# ---------------------------------------------------------------------------------------
#  workload             n          corral impl          anchor impl            target
PAIRS: list[tuple[str, int, str, str, float | None]] = [
    ("spawn_gather",     100_000,   "corral_gather",     "futures_join_all",    1.1),
    ("spawn_gather",     100_000,   "corral_taskgroup",  "tokio_spawn",         1.1),
    # gather over 100k spawned JoinHandles: the ~90x trap of join_all (DESIGN.md), 100k only
    ("spawn_gather",     100_000,   "corral_gather_handles", "futures_join_all_handles", None),
    ("spawn_gather",     100_000,   "corral_gather_handles", "await_handles_loop", 1.1),
    ("spawn_gather",     100_000,   "corral_gather_pinned_handles", "await_handles_loop", 1.1),
    ("taskgroup",        100_000,   "corral_taskgroup",  "tokio_joinset",       1.1),
    ("taskgroup",        100_000,   "corral_taskgroup",  "tokio_spawn",         1.1),
    ("taskgroup",        100_000,   "corral_taskgroup",  "tokio_tracker",       None),
    ("taskgroup",        100_000,   "corral_taskgroup_debug", "corral_taskgroup", None),
    ("queue_pipeline",   1_000_000, "corral_queue",      "flume",               1.2),
    ("queue_pipeline",   1_000_000, "corral_queue",      "async_channel",       1.0),
    ("event_broadcast",  10_000,    "corral_event",      "tokio_notify",        1.2),
    ("timeout_overhead", 100_000,   "corral_timeout",    "tokio_timeout",       1.1),
    ("timeout_overhead", 100_000,   "corral_deadline",   "tokio_timeout",       1.1),
    ("condition",        1_000_000, "corral_condition",  "tokio_mutex_notify",  None),
    ("barrier",          80_000,    "corral_barrier",    "tokio_barrier",       1.2),
    ("rate_limiter_overhead",  1_000_000, "corral_rate_limiter", "governor",        1.5),
    ("rate_limiter_contended", 1_000_000, "corral_rate_limiter", "governor",        1.5),
    ("rate_limiter_overhead",  1_000_000, "corral_rate_limiter_tokio", "governor",  None),
    ("rate_limiter_contended", 1_000_000, "corral_rate_limiter_tokio", "governor",  None),
    ("semaphore_fanout", 100_000,   "corral_map_concurrent", "futures_buffer_unordered", 1.1),
    ("semaphore_fanout", 100_000,   "corral_map_concurrent_spawned", "tokio_semaphore_spawn", 1.1),
    ("blocking_jobs",    10_000,    "corral_run_blocking", "tokio_spawn_blocking", 1.1),
    ("blocking_jobs",    10_000,    "corral_run_cpu",    "rayon_oneshot",       1.2),
    ("paginate",         100_000,   "corral_paginate",   "futures_unfold",      1.2),
    ("exit_stack",       100_000,   "corral_exit_stack", "vec_of_boxed",        1.3),
    ("retry_success",    100_000,   "corral",            "backon",              1.1),
    ("pool_acquire",     100_000,   "corral",            "deadpool",            1.2),
    # the anchors are real MPMC channels of (item, oneshot::Sender), Q_CAP, 4 workers
    ("worker_pool",      100_000,   "corral",            "async_channel_actor", 1.2),
    ("worker_pool",      100_000,   "corral",            "flume_actor",         1.2),
    # 1,000 limiters built; governor's `direct_with_clock` with one shared clock, like corral
    ("rate_limiter_build",     1_000, "corral_rate_limiter", "governor",        None),
    # the same, each in an Arc: corral's limiter is a shared handle, and allocates as this does
    ("rate_limiter_build",     1_000, "corral_rate_limiter", "governor_arc",    None),
    # corral::sync::Mutex is tokio::sync::Mutex re-exported: the ratio is one run's noise
    ("lock_contention",  1_000_000, "corral_mutex",      "tokio_mutex",         None),
]
RUNTIMES = ("ct", "mt2")
# asyncio variant per workload when not "default" (workloads.py's third argument)
PY_VARIANT: dict[str, str] = {}
# workloads of PAIRS that bench/asyncio/workloads.py has no version of (nor has
# /work/shared/bench/asyncio_workloads.py): their asyncio columns stay `–`, and no Python runs
NO_ASYNCIO = frozenset({"blocking_jobs", "paginate", "exit_stack", "rate_limiter_build"})
# workloads whose per-item cost must stay flat, and the sizes of the scaling table
SCALED = ("spawn_gather", "taskgroup", "queue_pipeline")
SCALING_SIZES = (10_000, 100_000, 1_000_000)
FLAT_LIMIT = 1.5  # a corral row whose max/min ns/item over the sizes exceeds this is marked,
ANCHOR_SLACK = 1.2  # unless its paired anchors spread as much (within this factor): the rise
# from 10k to 100k items is mostly the caches (10k tasks fit in L2, 100k do not), which the
# anchors pay too; corral's own scaling is what must stay flat
# impls measured at the canonical size only (the trap would take minutes at 1M): no scaling row
UNSCALED_IMPLS = {("spawn_gather", "corral_gather_handles"),
                  ("spawn_gather", "corral_gather_pinned_handles"),
                  ("spawn_gather", "futures_join_all_handles")}
# the memory probe (benches/memory.rs) writes this file beside criterion's results
MEMORY_JSON = "memory.json"
MEMORY_BASELINE = "tokio_joinset"

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOADS_PY = HERE / "asyncio" / "workloads.py"
DASH = "–"
PY_RUNTIMES = ("asyncio", "uvloop")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------- criterion side
@dataclass(frozen=True)
class CritResult:
    group: str
    impl: str
    rt: str
    n: int
    ns_per_iter: float
    path: Path
    mtime: float

    @property
    def ns_per_op(self) -> float:
        return self.ns_per_iter / self.n


def _ops_of(bench: dict) -> int | None:
    """n from value_str (an integer); else from a Throughput::Elements(n)."""
    v = bench.get("value_str")
    if isinstance(v, str):
        try:
            return int(v.replace("_", ""))
        except ValueError:
            pass
    tp = bench.get("throughput")
    if isinstance(tp, dict) and isinstance(tp.get("Elements"), int):
        return tp["Elements"]
    return None


def load_criterion(crit_dir: Path, stat: str = "median") -> dict[tuple[str, str, str, int], CritResult]:
    """Every `<bench>/new/{benchmark,estimates}.json` under crit_dir, keyed (group, impl, rt, n).

    Baselines (`base/`, `change/`, named baselines) are ignored, as criterion itself does.
    Unreadable or unnamed results are skipped with a warning; never raises on bad data.
    """
    out: dict[tuple[str, str, str, int], CritResult] = {}
    if not crit_dir.is_dir():
        log(f"note: no criterion results at {crit_dir}")
        return out
    for dirpath, _dirs, files in os.walk(crit_dir):
        d = Path(dirpath)
        if d.name != "new" or "benchmark.json" not in files:
            continue
        try:
            bench = json.loads((d / "benchmark.json").read_text())
            est = json.loads((d / "estimates.json").read_text())
        except (OSError, ValueError) as e:
            log(f"warning: skipping {d}: {e}")
            continue
        if not isinstance(bench, dict) or not isinstance(est, dict):
            log(f"warning: skipping {d}: not criterion's format")
            continue
        group, func = bench.get("group_id"), bench.get("function_id")
        n = _ops_of(bench)
        point = est.get(stat).get("point_estimate") if isinstance(est.get(stat), dict) else None
        if not isinstance(group, str) or not isinstance(func, str) or "/" not in func:
            log(f"warning: skipping {d}: function_id {func!r} is not '<impl>/<rt>'")
            continue
        if n is None or n <= 0:
            log(f"warning: skipping {d}: value_str {bench.get('value_str')!r} is not the op count")
            continue
        if not isinstance(point, (int, float)) or not math.isfinite(point):
            log(f"warning: skipping {d}: estimates.json has no {stat} point estimate")
            continue
        impl, rt = func.rsplit("/", 1)
        mtime = (d / "estimates.json").stat().st_mtime
        key = (group, impl, rt, n)
        if key in out and out[key].mtime >= mtime:  # criterion's `_2` duplicates: keep newest
            continue
        out[key] = CritResult(group, impl, rt, n, float(point), d, mtime)
    return out


def run_cargo_bench(filt: str | None) -> bool:
    cmd = ["cargo", "bench", "-p", "corral-bench"]
    if filt:
        cmd += ["--", filt]
    log(f"$ {shlex.join(cmd)}")
    try:
        rc = subprocess.run(cmd, cwd=ROOT).returncode
    except OSError as e:
        log(f"warning: cannot run cargo: {e}")
        return False
    if rc != 0:
        log(f"warning: cargo bench exited with {rc}; reporting whatever results exist")
    return rc == 0


# ---------------------------------------------------------------------------- python side
def parse_result(stdout: str) -> dict | None:
    """The `RESULT {json}` line of a workloads.py run, or None."""
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            try:
                return json.loads(line[len("RESULT "):])
            except ValueError:
                return None
    return None


def uvloop_available(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import uvloop"], capture_output=True).returncode == 0
    except OSError:
        return False


def uvloop_version(python: str) -> str:
    try:
        p = subprocess.run([python, "-c", "import uvloop; print(uvloop.__version__)"],
                           capture_output=True, text=True)
        return p.stdout.strip() or "?"
    except OSError:
        return "?"


def run_python(python: str, workload: str, runtime: str, n: int | None, repeat: int,
               timeout: float) -> tuple[int, float] | None:
    """Median ns/op over `repeat` runs of one workload, with its op count; None if it failed."""
    cmd = [python, str(WORKLOADS_PY), workload, runtime, PY_VARIANT.get(workload, "default")]
    if n is not None:
        cmd += ["--n", str(n)]
    samples: list[float] = []
    ops = None
    for i in range(repeat):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            log(f"warning: {shlex.join(cmd)}: {e}")
            return None
        res = parse_result(p.stdout) if p.returncode == 0 else None
        if res is None:
            tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
            log(f"warning: {shlex.join(cmd)} failed (exit {p.returncode}): {tail}")
            return None
        ops = int(res["ops"])
        samples.append(res["elapsed_ns"] / ops)
        log(f"  {runtime:7} {workload:17} n={ops:<9} run {i + 1}/{repeat}: {fmt_ns(samples[-1])} ns/op")
    assert ops is not None
    return ops, statistics.median(samples)


# ---------------------------------------------------------------------------- the tables
def fmt_ns(x: float | None) -> str:
    if x is None:
        return DASH
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return DASH
    if x >= 100:
        return f"{x:,.0f}×"
    if x >= 10:
        return f"{x:.1f}×"
    return f"{x:.2f}×"


def fmt_n(n: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return f"{n:,}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b is not None and b > 0 else None


def meets(r: float, target: float) -> bool:
    return r <= target * (1 + 1e-9)


def fmt_target(r: float | None, target: float | None) -> str:
    if target is None:
        return "report"
    t = f"{target:g}" if f"{target:g}" != f"{target:.0f}" else f"{target:.1f}"
    if r is None:
        return f"≤ {t}×"
    return f"≤ {t}× " + ("ok" if meets(r, target) else "**MISS**")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


PyResults = dict[tuple[str, str, int], float]  # (workload, "asyncio"|"uvloop", n) -> ns/op
CritResults = dict[tuple[str, str, str, int], CritResult]


def crit_ns(crit: CritResults, workload: str, impl: str, rt: str, n: int) -> float | None:
    r = crit.get((workload, impl, rt, n))
    return r.ns_per_op if r else None


@dataclass
class MainRow:
    workload: str
    n: int
    rt: str
    asyncio_ns: float | None
    uvloop_ns: float | None
    anchor: str
    anchor_ns: float | None
    corral: str
    corral_ns: float | None
    target: float | None

    @property
    def corral_over_anchor(self) -> float | None:
        return ratio(self.corral_ns, self.anchor_ns)

    @property
    def asyncio_over_corral(self) -> float | None:
        return ratio(self.asyncio_ns, self.corral_ns)

    @property
    def missed(self) -> bool:
        r = self.corral_over_anchor
        return self.target is not None and r is not None and not meets(r, self.target)


def main_rows(crit: CritResults, py: PyResults, workloads: list[str]) -> list[MainRow]:
    rows = []
    for w, n, corral, anchor, target in PAIRS:
        if w not in workloads:
            continue
        for rt in RUNTIMES:
            rows.append(MainRow(
                w, n, rt, py.get((w, "asyncio", n)), py.get((w, "uvloop", n)),
                anchor, crit_ns(crit, w, anchor, rt, n),
                corral, crit_ns(crit, w, corral, rt, n), target,
            ))
    return rows


MAIN_HEADER = ["workload", "n", "runtime", "asyncio ns/op", "uvloop ns/op", "anchor",
               "anchor ns/op", "corral", "corral ns/op", "corral/anchor", "target",
               "asyncio/corral"]


def render_main(rows: list[MainRow]) -> str:
    out = []
    for r in rows:
        co = r.corral_over_anchor
        co_s = fmt_ratio(co)
        if r.missed and co is not None and r.target is not None and round(co, 2) <= r.target:
            co_s = f"{co:.3f}×"  # a miss must not read as meeting the target after rounding
        out.append([r.workload, fmt_n(r.n), r.rt, fmt_ns(r.asyncio_ns), fmt_ns(r.uvloop_ns),
                    r.anchor, fmt_ns(r.anchor_ns), r.corral, fmt_ns(r.corral_ns),
                    co_s, fmt_target(co, r.target), fmt_ratio(r.asyncio_over_corral)])
    return table(MAIN_HEADER, out)


@dataclass
class ScaleRow:
    workload: str
    rt: str  # "ct" / "mt2" for criterion rows, "py" for asyncio/uvloop
    impl: str
    role: str  # "corral", "anchor" or "python"
    ns: dict[int, float | None]
    anchor_spread: float | None = None  # corral rows: the widest spread of their paired anchors

    @property
    def spread(self) -> float | None:
        """max/min ns per item over the sizes measured (needs at least two)."""
        vals = [v for v in self.ns.values() if v is not None]
        return max(vals) / min(vals) if len(vals) >= 2 and min(vals) > 0 else None

    @property
    def flat(self) -> bool:
        s, a = self.spread, self.anchor_spread
        return s is None or s <= FLAT_LIMIT or (a is not None and s <= a * ANCHOR_SLACK)


def scaling_rows(crit: CritResults, py: PyResults, workloads: list[str]) -> list[ScaleRow]:
    rows = []
    for w in SCALED:
        if w not in workloads:
            continue
        impls: list[tuple[str, str]] = []
        for pw, _n, corral, anchor, _t in PAIRS:
            if pw == w:
                for item in ((corral, "corral"), (anchor, "anchor")):
                    if item[0] not in [i for i, _ in impls] and (w, item[0]) not in UNSCALED_IMPLS:
                        impls.append(item)
        for rt in RUNTIMES:
            measured = [ScaleRow(w, rt, impl, role,
                                 {n: crit_ns(crit, w, impl, rt, n) for n in SCALING_SIZES})
                        for impl, role in impls]
            spreads = {r.impl: r.spread for r in measured}
            for r in measured:
                if r.role == "corral":
                    paired = [spreads.get(a) for pw, _n, c, a, _t in PAIRS if (pw, c) == (w, r.impl)]
                    r.anchor_spread = max((x for x in paired if x is not None), default=None)
            rows += measured
        for runtime in PY_RUNTIMES:
            ns = {n: py.get((w, runtime, n)) for n in SCALING_SIZES}
            if any(v is not None for v in ns.values()):
                rows.append(ScaleRow(w, "py", runtime, "python", ns))
    return rows


def render_scaling(rows: list[ScaleRow]) -> str:
    header = ["workload", "runtime", "impl"] + [f"ns/item @{fmt_n(n)}" for n in SCALING_SIZES]
    header.append("max/min")
    out = []
    for r in rows:
        spread = fmt_ratio(r.spread)
        if r.role == "corral" and not r.flat:
            spread += f" **not flat** (> {FLAT_LIMIT:g}×)"
        elif r.role == "corral" and r.spread is not None and r.spread > FLAT_LIMIT:
            spread += f" (anchor {fmt_ratio(r.anchor_spread)})"
        out.append([r.workload, r.rt, r.impl] + [fmt_ns(r.ns[n]) for n in SCALING_SIZES] + [spread])
    return table(header, out)


def render_report(crit: CritResults, py: PyResults, workloads: list[str], stat: str,
                  preamble: list[str] | None = None,
                  memory: tuple[list[MemRow], str] | None = None) -> str:
    rows = main_rows(crit, py, workloads)
    parts = ["\n".join(preamble)] if preamble else []
    parts.append(render_main(rows))
    misses = [f"{r.workload}/{r.corral}/{r.rt} vs {r.anchor}" for r in rows if r.missed]
    parts.append(
        f"ns/op: criterion {stat} point estimate per iteration / n; asyncio and uvloop: median "
        f"of the runs' elapsed_ns / ops (single-threaded, same figure on ct and mt2 rows). "
        f"`–`: no result. Targets missed: {', '.join(misses) if misses else 'none'}."
    )
    srows = scaling_rows(crit, py, workloads)
    if srows:
        parts.append("### Scaling (ns per item)")
        parts.append(render_scaling(srows))
    if memory and memory[0]:
        parts.append(render_memory(*memory))
    extra = unmatched(crit, workloads)
    if extra:
        parts.append("Criterion results that no row of compare.py's mapping shows (a naming slip, "
                     "or a row to add to PAIRS): " + ", ".join(f"`{i}`" for i in extra) + ".")
    return "\n\n".join(parts) + "\n"


def unmatched(crit: CritResults, workloads: list[str]) -> list[str]:
    """Full ids of results the tables do not show, in selected or unknown groups."""
    shown = set()
    for w, n, corral, anchor, _t in PAIRS:
        for i in (corral, anchor):
            sizes = {n, *(SCALING_SIZES if w in SCALED and (w, i) not in UNSCALED_IMPLS else ())}
            shown |= {(w, i, rt, s) for rt in RUNTIMES for s in sizes}
    known = set(all_workloads())
    return sorted(f"{g}/{i}/{rt}/{n}" for (g, i, rt, n) in crit
                  if (g, i, rt, n) not in shown and (g in workloads or g not in known))


# ---------------------------------------------------------------------------- memory
@dataclass(frozen=True)
class MemRow:
    impl: str
    tasks: int
    live: float  # bytes per live task, all tasks parked
    peak: float  # high-water bytes per task over spawn, release and join
    allocs: float | None  # allocations per task up to "all parked"
    after: int | None  # bytes still held once everything is gone


def load_memory(path: Path) -> tuple[list[MemRow], str]:
    """The rows of benches/memory.rs's JSON and its runtime; ([], "") if absent or unreadable."""
    try:
        data = json.loads(path.read_text())
        rows = [MemRow(str(r["impl"]), int(r["tasks"]), float(r["live_bytes_per_task"]),
                       float(r["peak_bytes_per_task"]),
                       float(r["allocs_per_task"]) if "allocs_per_task" in r else None,
                       int(r["after_bytes"]) if "after_bytes" in r else None)
                for r in data["rows"]]
        return rows, str(data.get("runtime", "?"))
    except FileNotFoundError:
        return [], ""
    except (OSError, ValueError, KeyError, TypeError) as e:
        log(f"warning: skipping {path}: {e}")
        return [], ""


MEM_HEADER = ["impl", "live tasks", "live B/task", "peak B/task", "allocs/task", "after (B)",
              f"live / {MEMORY_BASELINE}"]


def render_memory(rows: list[MemRow], runtime: str) -> str:
    base = next((r.live for r in rows if r.impl == MEMORY_BASELINE), None)
    out = [[r.impl, fmt_n(r.tasks), f"{r.live:,.1f}", f"{r.peak:,.1f}",
            DASH if r.allocs is None else f"{r.allocs:.2f}",
            DASH if r.after is None else f"{r.after:,}", fmt_ratio(ratio(r.live, base))]
           for r in rows]
    return "\n\n".join([
        f"### Memory per live task ({runtime} runtime, `cargo bench -p corral-bench --bench memory`)",
        table(MEM_HEADER, out),
        "live: heap held per task while all are parked on one Notify (task cell, handle, group "
        "bookkeeping); peak: high-water mark over spawn, release and join; after: heap still "
        "held once the tasks, handles and group are gone.",
    ])


def memory_selected(filt: str | None) -> bool:
    """Whether the criterion filter would run benches/memory.rs (it matches by substring)."""
    return not filt or filt in "memory" or "memory" in filt


# ---------------------------------------------------------------------------- selection
def all_workloads() -> list[str]:
    seen: list[str] = []
    for w, *_ in PAIRS:
        if w not in seen:
            seen.append(w)
    return seen


def select_workloads(filt: str | None) -> list[str]:
    """Workloads with a benchmark id that the criterion filter matches (all without one)."""
    if not filt:
        return all_workloads()
    try:
        rx = re.compile(filt)
        match = lambda s: rx.search(s) is not None  # noqa: E731
    except re.error:  # Rust regex syntax Python lacks: fall back to a substring
        match = lambda s: filt in s  # noqa: E731
    picked = []
    for w, n, corral, anchor, _t in PAIRS:
        sizes = {n, *(SCALING_SIZES if w in SCALED else ())}
        ids = [f"{w}/{i}/{rt}/{s}" for i in (corral, anchor) for rt in RUNTIMES for s in sizes]
        if any(match(i) for i in ids) and w not in picked:
            picked.append(w)
    return picked


def python_runs(workloads: list[str], scaling: bool) -> list[tuple[str, int, int | None]]:
    """(workload, n, --n argument or None) for each asyncio/uvloop measurement to make."""
    runs: list[tuple[str, int, int | None]] = []
    for w in workloads:
        if w in NO_ASYNCIO:
            continue
        n = next(pn for pw, pn, *_ in PAIRS if pw == w)
        runs.append((w, n, None))
        if scaling and w in SCALED:
            runs += [(w, s, s) for s in SCALING_SIZES if s != n]
    return runs


def loadavg() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return DASH


def machine_lines(python: str, uvloop: str, stat: str, crit_dir: Path, crit: CritResults,
                  argv: list[str], load_at_start: str | None = None) -> list[str]:
    """The report's header: date, machine, versions, inputs and the command line."""
    def out(cmd: list[str]) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            return p.stdout.strip() or DASH
        except (OSError, subprocess.TimeoutExpired):
            return DASH

    cpu = DASH
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    written = ""
    if crit:
        stamps = sorted(r.mtime for r in crit.values())
        fmt = lambda t: datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")  # noqa: E731
        written = f" (written {fmt(stamps[0])} to {fmt(stamps[-1])})"
    pyver = out([python, "-c", "import sys; print(sys.version.split()[0])"])
    mem = DASH
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                break
    except (OSError, ValueError, IndexError):
        pass
    load = f"load average (1/5/15 min) at the end {loadavg()}"
    if load_at_start is not None:
        load = f"load average (1/5/15 min) at the start {load_at_start}, at the end {loadavg()}"
    return [
        f"## corral benchmarks ({datetime.datetime.now().strftime('%Y-%m-%d %H:%M')})",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {cpu}, {mem}; {platform.system()} "
        f"{platform.release()}; {load}",
        f"- {out(['rustc', '--version'])}; Python {pyver}; uvloop {uvloop}",
        f"- criterion: {len(crit)} results from `{crit_dir}`{written}, {stat} estimates",
        f"- command: `{shlex.join(['bench/compare.sh'] + argv)}`",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-cargo", action="store_true", help="reuse existing criterion results")
    ap.add_argument("--skip-python", action="store_true", help="do not run asyncio/uvloop")
    ap.add_argument("--no-uvloop", action="store_true", help="run asyncio only")
    ap.add_argument("--filter", help="criterion filter regex; also selects the table's workloads")
    ap.add_argument("--stat", choices=("median", "mean", "slope"), default="median",
                    help="criterion point estimate to use (default: median)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per Python workload (median)")
    ap.add_argument("--python-scaling", action="store_true",
                    help="also run asyncio/uvloop at every scaling size (1M tasks: minutes)")
    ap.add_argument("--python", default=sys.executable or "python3", help="Python interpreter")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per Python run")
    ap.add_argument("--criterion-dir", type=Path, help="default: $CARGO_TARGET_DIR or target/, + criterion")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.md")
    ap.add_argument("--memory", type=Path,
                    help=f"memory probe JSON (default: the criterion dir's {MEMORY_JSON})")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    crit_dir = args.criterion_dir
    if crit_dir is None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
        crit_dir = (target if target.is_absolute() else ROOT / target) / "criterion"
    workloads = select_workloads(args.filter)
    if not workloads:
        log(f"warning: --filter {args.filter!r} matches no workload of the mapping")

    load_at_start = loadavg()
    cargo_ok = True
    if not args.skip_cargo:
        cargo_ok = run_cargo_bench(args.filter)
    crit = load_criterion(crit_dir, args.stat)
    log(f"read {len(crit)} criterion results from {crit_dir}")

    uvloop = False
    uvloop_note = "not run"
    py: PyResults = {}
    if not args.skip_python:
        uvloop = not args.no_uvloop and uvloop_available(args.python)
        if uvloop:
            uvloop_note = uvloop_version(args.python)
        elif not args.no_uvloop:
            uvloop_note = "not installed"
            log("note: uvloop is not importable; its column stays empty")
        runtimes = ["asyncio"] + (["uvloop"] if uvloop else [])
        for w, n, n_arg in python_runs(workloads, args.python_scaling):
            for runtime in runtimes:
                got = run_python(args.python, w, runtime, n_arg, args.repeat, args.timeout)
                if got is None:
                    continue
                ops, ns = got
                if ops != n:
                    log(f"warning: {w} under {runtime} ran {ops} ops, the mapping says {n}")
                py[(w, runtime, ops)] = ns

    memory = ([], "")
    if memory_selected(args.filter):
        memory = load_memory(args.memory or crit_dir / MEMORY_JSON)
    report = render_report(crit, py, workloads, args.stat,
                           machine_lines(args.python, uvloop_note, args.stat, crit_dir, crit,
                                         sys.argv[1:] if argv is None else argv, load_at_start),
                           memory)
    print(report, end="")
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
        log(f"wrote {args.out}")
    except OSError as e:
        log(f"warning: cannot write {args.out}: {e}")
    return 0 if cargo_ok else 1


if __name__ == "__main__":
    sys.exit(main())
