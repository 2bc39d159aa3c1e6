//! semaphore_fanout: 100,000 items through a concurrency limit of 100; each yields once and
//! returns its index; `n` = items.
//!
//! In place (on the awaiting task):
//! - `corral_map_concurrent`: `corral::flow::map_concurrent(0..n, 100, f)`, results in order,
//!   with `f` returning `Result` itself (as a fallible fetch does).
//! - `futures_buffer_unordered`: `stream::iter(0..n).map(f).buffer_unordered(100)` collected
//!   into a `Vec` (anchor).
//!
//! Spawned (at most 100 tasks alive):
//! - `corral_map_concurrent_spawned`: `corral::flow::map_concurrent_spawned(0..n, 100, f)`.
//! - `tokio_semaphore_spawn`: the hand-written form: acquire an owned `Semaphore` permit, spawn
//!   a task that holds it, keep the `JoinHandle`s and await them in order (anchor).
//!
//! Timed: from the start until the results are summed, as the asyncio version (a
//! `Semaphore(100)` around each of 100k coroutines under `gather`).

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{N, tri};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use tokio::sync::Semaphore;

/// `SEM_PERMITS` of the asyncio workloads.
const LIMIT: usize = 100;

async fn item(i: u64) -> u64 {
    tokio::task::yield_now().await;
    i
}

/// The same work as `item`, returning a `Result` as a fallible call (a fetch) does: what
/// `map_concurrent`'s fail-fast form is given in practice. Wrapping `item` in a second async
/// block to add the `Ok` would time an extra state machine per item that the anchor's
/// `map(item)` does not have.
async fn fallible_item(i: u64) -> Result<u64, Infallible> {
    tokio::task::yield_now().await;
    Ok(i)
}

async fn corral_map_concurrent(n: u64) -> Duration {
    let start = Instant::now();
    let out = corral::flow::map_concurrent(0..n, LIMIT, fallible_item).await;
    let sum: u64 = out.unwrap_or_default().iter().sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn futures_buffer_unordered(n: u64) -> Duration {
    let start = Instant::now();
    let out: Vec<u64> = futures::stream::iter(0..n)
        .map(item)
        .buffer_unordered(LIMIT)
        .collect()
        .await;
    let sum: u64 = out.iter().sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn corral_map_concurrent_spawned(n: u64) -> Duration {
    let start = Instant::now();
    let out = corral::flow::map_concurrent_spawned(0..n, LIMIT, fallible_item).await;
    let sum: u64 = out.unwrap_or_default().iter().sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn tokio_semaphore_spawn(n: u64) -> Duration {
    let start = Instant::now();
    let semaphore = Arc::new(Semaphore::new(LIMIT));
    let mut handles = Vec::with_capacity(usize::try_from(n).expect("fits"));
    for i in 0..n {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .expect("never closed");
        handles.push(tokio::spawn(async move {
            let out = item(i).await;
            drop(permit);
            out
        }));
    }
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

fn semaphore_fanout(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "semaphore_fanout");
    common::fit(&mut group, N);
    for rt in &runtimes {
        common::bench(
            &mut group,
            "corral_map_concurrent",
            rt,
            N,
            corral_map_concurrent,
        );
        common::bench(
            &mut group,
            "futures_buffer_unordered",
            rt,
            N,
            futures_buffer_unordered,
        );
        common::bench(
            &mut group,
            "corral_map_concurrent_spawned",
            rt,
            N,
            corral_map_concurrent_spawned,
        );
        common::bench(
            &mut group,
            "tokio_semaphore_spawn",
            rt,
            N,
            tokio_semaphore_spawn,
        );
    }
    group.finish();
}

criterion_group!(benches, semaphore_fanout);
criterion_main!(benches);
