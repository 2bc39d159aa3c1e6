//! What every bench target shares: the workloads' constants (those of
//! `bench/asyncio/workloads.py`), the two runtimes, and the timing loop.
//!
//! Naming, which `bench/compare.py` relies on: criterion group = workload name; function id =
//! `"<impl>/<rt>"` with `rt` = `ct` (current-thread) or `mt2` (2 workers); parameter = `n`, the
//! number of ops in one iteration. One iteration is one whole workload of `n` ops.
//!
//! Each iteration runs in a task spawned on the runtime (so on `mt2` only the two workers run
//! the workload, never the thread that called `block_on`) and reports the time of its own timed
//! region, the region the asyncio version times; criterion sums those (`iter_custom`).

// Each bench target uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
use tokio::runtime::{Builder, Runtime};

/// Tasks in spawn_gather and taskgroup; ops in timeout_overhead.
pub(crate) const N: u64 = 100_000;
/// Items through queue_pipeline and condition.
pub(crate) const Q_ITEMS: u64 = 1_000_000;
/// Capacity of the bounded queue and buffer.
pub(crate) const Q_CAP: usize = 100;
/// Consumer tasks in queue_pipeline and condition.
pub(crate) const Q_CONSUMERS: usize = 4;
/// Tasks sharing the lock in lock_contention.
pub(crate) const LOCK_TASKS: u64 = 100;
/// Increments each lock_contention task makes under the lock.
pub(crate) const LOCK_ITERS: u64 = 10_000;
/// Waiters in event_broadcast.
pub(crate) const EVENT_WAITERS: u64 = 10_000;
/// Tasks meeting at the barrier.
pub(crate) const BARRIER_PARTIES: usize = 8;
/// Phases each barrier task goes through.
pub(crate) const BARRIER_PHASES: u64 = 10_000;
/// The limit of timeout_overhead: it never fires.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// The sizes of the scaling table (spawn_gather, taskgroup, queue_pipeline).
pub(crate) const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];

/// `0 + 1 + ... + (n - 1)`: the check sum of every workload that sums its items.
pub(crate) fn tri(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// The two runtimes every workload runs on, built once per group: `ct` and `mt2`.
pub(crate) fn runtimes() -> [(&'static str, Runtime); 2] {
    let ct = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a current-thread runtime");
    let mt2 = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a 2-worker runtime");
    [("ct", ct), ("mt2", mt2)]
}

/// A benchmark group with few samples and a measurement time that suits iterations of `n`
/// ops (an iteration of the 1M workloads takes up to a second).
pub(crate) fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group
}

/// Sets the measurement time for iterations of `n` ops: 2 s up to 10k, 3 s up to 100k, 5 s
/// above (criterion takes longer when 10 samples of one iteration need it).
pub(crate) fn fit(group: &mut BenchmarkGroup<'_, WallTime>, n: u64) {
    let secs = match n {
        0..=10_000 => 2,
        10_001..=100_000 => 3,
        _ => 5,
    };
    group.measurement_time(Duration::from_secs(secs));
}

/// Benchmarks `workload(n)` as `<imp>/<rt>` with parameter `n`: each iteration spawns the
/// workload on `runtime` and adds up the durations it reports.
pub(crate) fn bench<W, F>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    imp: &str,
    (rt, runtime): &(&str, Runtime),
    n: u64,
    workload: W,
) where
    W: Fn(u64) -> F,
    F: Future<Output = Duration> + Send + 'static,
{
    group.bench_function(BenchmarkId::new(format!("{imp}/{rt}"), n), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| run(runtime, workload(n)))
                .sum::<Duration>()
        });
    });
}

/// Runs one workload to completion in a task of `runtime` and returns the time it reports.
pub(crate) fn run<F>(runtime: &Runtime, workload: F) -> Duration
where
    F: Future<Output = Duration> + Send + 'static,
{
    runtime.block_on(async { tokio::spawn(workload).await.expect("the workload panicked") })
}
