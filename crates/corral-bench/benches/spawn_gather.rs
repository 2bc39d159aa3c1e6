//! spawn_gather: `n` trivial tasks (one `yield_now` each), their results in input order.
//!
//! - `corral_gather`: `corral::task::gather` over the futures, polled in place.
//! - `corral_taskgroup`: `TaskGroup::spawn` each, `join`, then await the `Task`s in order.
//! - `futures_join_all`: `futures::future::join_all` over the futures, no spawn (anchor).
//! - `tokio_spawn`: `tokio::spawn` each, then await the `JoinHandle`s in order (anchor).
//!
//! And at 100k only, tasks already spawned: `corral_gather_handles` (`gather_unpin` over 100k
//! `JoinHandle`s: handles are `Unpin`, so they are stored as they are) and
//! `corral_gather_pinned_handles` (`gather` over them, which pins them sixteen to an
//! allocation, as it does any future) against `await_handles_loop` (the same handles awaited
//! one by one in a loop, the anchor), and `futures_join_all_handles` (`join_all` over them),
//! the case that is known to be ~90× slower than the loop.
//!
//! Timed: from creating the first future to having every result in a `Vec`, as asyncio's
//! `await gather(*coros)`; the order check runs after the clock stops.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, Instant};

use common::{N, SIZES};
use corral::task::{BoxError, Task, TaskGroup, gather, gather_unpin};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::join_all;
use tokio::task::{JoinHandle, yield_now};

/// The trivial task: yield once, return the index.
async fn trivial(i: u64) -> u64 {
    yield_now().await;
    i
}

/// The same for APIs whose futures return `Result`.
async fn trivial_ok<E>(i: u64) -> Result<u64, E> {
    yield_now().await;
    Ok(i)
}

/// Panics unless `results` is `0..n` in order.
fn check(results: &[u64], n: u64) {
    assert!(
        results.iter().copied().eq(0..n),
        "results out of order or missing"
    );
}

/// Times `body` and checks what it returns.
async fn timed<F: Future<Output = Vec<u64>>>(n: u64, body: F) -> Duration {
    let start = Instant::now();
    let results = body.await;
    let elapsed = start.elapsed();
    check(&results, n);
    elapsed
}

async fn corral_gather(n: u64) -> Duration {
    timed(n, async {
        match gather((0..n).map(trivial_ok::<Infallible>)).await {
            Ok(results) => results,
            Err(never) => match never {},
        }
    })
    .await
}

async fn corral_taskgroup(n: u64) -> Duration {
    timed(n, async {
        let group: TaskGroup<BoxError> = TaskGroup::new();
        let tasks: Vec<Task<u64>> = (0..n).map(|i| group.spawn(trivial_ok(i))).collect();
        group.join().await.expect("no task fails");
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(task.await.expect("no task fails"));
        }
        results
    })
    .await
}

async fn futures_join_all(n: u64) -> Duration {
    timed(n, join_all((0..n).map(trivial))).await
}

async fn tokio_spawn(n: u64) -> Duration {
    timed(n, async {
        let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("no task panics"));
        }
        results
    })
    .await
}

async fn corral_gather_handles(n: u64) -> Duration {
    timed(n, async {
        let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
        gather_unpin(handles).await.expect("no task panics")
    })
    .await
}

async fn corral_gather_pinned_handles(n: u64) -> Duration {
    timed(n, async {
        let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
        gather(handles).await.expect("no task panics")
    })
    .await
}

/// The anchor of `corral_gather_handles`: the same handles, awaited in order in a loop.
async fn await_handles_loop(n: u64) -> Duration {
    timed(n, async {
        let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("no task panics"));
        }
        results
    })
    .await
}

async fn futures_join_all_handles(n: u64) -> Duration {
    timed(n, async {
        let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
        join_all(handles)
            .await
            .into_iter()
            .map(|result| result.expect("no task panics"))
            .collect()
    })
    .await
}

fn spawn_gather(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "spawn_gather");
    for n in SIZES {
        common::fit(&mut group, n);
        for rt in &runtimes {
            common::bench(&mut group, "corral_gather", rt, n, corral_gather);
            common::bench(&mut group, "futures_join_all", rt, n, futures_join_all);
            common::bench(&mut group, "corral_taskgroup", rt, n, corral_taskgroup);
            common::bench(&mut group, "tokio_spawn", rt, n, tokio_spawn);
        }
    }
    common::fit(&mut group, N);
    for rt in &runtimes {
        common::bench(
            &mut group,
            "corral_gather_handles",
            rt,
            N,
            corral_gather_handles,
        );
        common::bench(
            &mut group,
            "corral_gather_pinned_handles",
            rt,
            N,
            corral_gather_pinned_handles,
        );
        common::bench(&mut group, "await_handles_loop", rt, N, await_handles_loop);
        common::bench(
            &mut group,
            "futures_join_all_handles",
            rt,
            N,
            futures_join_all_handles,
        );
    }
    group.finish();
}

criterion_group!(benches, spawn_gather);
criterion_main!(benches);
