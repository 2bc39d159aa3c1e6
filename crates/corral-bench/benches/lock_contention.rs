//! lock_contention: `LOCK_TASKS` tasks each take a shared lock `LOCK_ITERS` times; under the
//! lock a task reads the counter, yields to the runtime once (the lock is held across an
//! await, so the other tasks find it taken and queue), and writes the counter plus one. `n` =
//! `LOCK_TASKS * LOCK_ITERS` lock acquisitions. The asyncio workload of the same name does this
//! with `asyncio.Lock` and `await asyncio.sleep(0)`.
//! - `corral_mutex`: `corral::sync::Mutex`, the porting table's `asyncio.Lock`.
//! - `tokio_mutex`: `tokio::sync::Mutex` (anchor).
//!
//! `corral::sync::Mutex` is Tokio's `Mutex` re-exported, not a lock of corral's own, so the
//! pair measures the same code twice: its ratio is the noise of one run (expect 1.00 within a
//! few per cent), and the row's point is the asyncio/corral column.
//!
//! Timed: spawning the tasks until the last one is joined, as the asyncio version times its
//! `gather`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{LOCK_ITERS, LOCK_TASKS};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::task::yield_now;

/// Lock acquisitions in one iteration.
const N: u64 = LOCK_TASKS * LOCK_ITERS;

async fn corral_mutex(n: u64) -> Duration {
    increments(Arc::new(corral::sync::Mutex::new(0_u64)), n).await
}

async fn tokio_mutex(n: u64) -> Duration {
    increments(Arc::new(tokio::sync::Mutex::new(0_u64)), n).await
}

/// The workload on `lock`. One body serves both sides because they are one type:
/// `corral::sync::Mutex` is `tokio::sync::Mutex`.
async fn increments(lock: Arc<tokio::sync::Mutex<u64>>, n: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..LOCK_TASKS)
        .map(|_| {
            let lock = lock.clone();
            tokio::spawn(async move {
                for _ in 0..n / LOCK_TASKS {
                    let mut counter = lock.lock().await;
                    let v = *counter;
                    yield_now().await;
                    *counter = v + 1;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert_eq!(*lock.lock().await, n);
    elapsed
}

fn lock_contention(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "lock_contention");
    common::fit(&mut group, N);
    for rt in &runtimes {
        common::bench(&mut group, "corral_mutex", rt, N, corral_mutex);
        common::bench(&mut group, "tokio_mutex", rt, N, tokio_mutex);
    }
    group.finish();
}

criterion_group!(benches, lock_contention);
criterion_main!(benches);
