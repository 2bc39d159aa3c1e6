//! taskgroup: `n` trivial tasks (one `yield_now` each) in a structured group, results summed.
//!
//! - `corral_taskgroup`: `TaskGroup::spawn` each, `join`, then await the `Task`s and sum.
//! - `tokio_joinset`: `JoinSet::spawn` each, then `join_next` until empty and sum (anchor).
//! - `tokio_spawn`: `tokio::spawn` each, then await the `JoinHandle`s in order and sum (the
//!   floor: what a group costs beyond it is the price of its promises).
//! - `tokio_tracker`: tokio-util's `TaskTracker::spawn` each, `close` and `wait`, then await the
//!   `JoinHandle`s and sum: the smallest group that counts its tasks (an `Arc` and a counter
//!   per task, no failure handling, no abort), for what counting alone costs on `mt2`.
//! - `corral_taskgroup_debug`: `corral_taskgroup` with `corral::debug` on (100 ms threshold):
//!   the price of watching every poll and spawn site, compared with `corral_taskgroup`.
//!
//! Timed: from creating the group to having the sum, as asyncio's
//! `async with TaskGroup() as tg: ...; sum(t.result() for t in tasks)`.

mod common;

use std::time::{Duration, Instant};

use common::{SIZES, tri};
use corral::task::{BoxError, Task, TaskGroup};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::task::{JoinSet, yield_now};

async fn corral_taskgroup(n: u64) -> Duration {
    let start = Instant::now();
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let tasks: Vec<Task<u64>> = (0..n)
        .map(|i| {
            group.spawn(async move {
                yield_now().await;
                Ok(i)
            })
        })
        .collect();
    group.join().await.expect("no task fails");
    let mut sum = 0;
    for task in tasks {
        sum += task.await.expect("no task fails");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn corral_taskgroup_debug(n: u64) -> Duration {
    corral::debug::enable(Duration::from_millis(100));
    let elapsed = corral_taskgroup(n).await;
    corral::debug::disable();
    elapsed
}

async fn tokio_joinset(n: u64) -> Duration {
    let start = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        set.spawn(async move {
            yield_now().await;
            i
        });
    }
    let mut sum = 0;
    while let Some(result) = set.join_next().await {
        sum += result.expect("no task panics");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn tokio_tracker(n: u64) -> Duration {
    let start = Instant::now();
    let tracker = tokio_util::task::TaskTracker::new();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            tracker.spawn(async move {
                yield_now().await;
                i
            })
        })
        .collect();
    tracker.close();
    tracker.wait().await;
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.expect("no task panics");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn tokio_spawn(n: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                yield_now().await;
                i
            })
        })
        .collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.expect("no task panics");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

fn taskgroup(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "taskgroup");
    for n in SIZES {
        common::fit(&mut group, n);
        for rt in &runtimes {
            common::bench(&mut group, "corral_taskgroup", rt, n, corral_taskgroup);
            common::bench(&mut group, "tokio_joinset", rt, n, tokio_joinset);
            common::bench(&mut group, "tokio_spawn", rt, n, tokio_spawn);
            common::bench(&mut group, "tokio_tracker", rt, n, tokio_tracker);
            common::bench(
                &mut group,
                "corral_taskgroup_debug",
                rt,
                n,
                corral_taskgroup_debug,
            );
        }
    }
    group.finish();
}

criterion_group!(benches, taskgroup);
criterion_main!(benches);
