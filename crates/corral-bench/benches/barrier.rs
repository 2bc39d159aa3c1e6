//! barrier: 8 tasks × 10k phases on one barrier; `n` = 80,000 waits.
//!
//! - `corral_barrier`: `corral::sync::Barrier::wait`.
//! - `tokio_barrier`: `tokio::sync::Barrier::wait` (anchor).
//!
//! Each phase has exactly one leader, which counts the phase. Timed: from creating the barrier
//! until every task has passed the last phase, as the asyncio version.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{BARRIER_PARTIES, BARRIER_PHASES};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::task::JoinHandle;

/// Waits: every task waits once per phase.
const WAITS: u64 = BARRIER_PARTIES as u64 * BARRIER_PHASES;

/// Awaits the tasks and checks that every wait happened and every phase had one leader.
async fn check(tasks: Vec<JoinHandle<u64>>, phases: &AtomicU64) {
    let mut waits = 0;
    for task in tasks {
        waits += task.await.expect("no task panics");
    }
    assert_eq!(waits, WAITS);
    assert_eq!(phases.load(Ordering::Relaxed), BARRIER_PHASES);
}

async fn corral_barrier(_waits: u64) -> Duration {
    let start = Instant::now();
    let barrier = Arc::new(corral::sync::Barrier::new(BARRIER_PARTIES));
    let phases = Arc::new(AtomicU64::new(0));
    let tasks = (0..BARRIER_PARTIES)
        .map(|_| {
            let (barrier, phases) = (Arc::clone(&barrier), Arc::clone(&phases));
            tokio::spawn(async move {
                let mut waits = 0;
                for _ in 0..BARRIER_PHASES {
                    if barrier.wait().await.expect("never broken").is_leader() {
                        phases.fetch_add(1, Ordering::Relaxed);
                    }
                    waits += 1;
                }
                waits
            })
        })
        .collect();
    check(tasks, &phases).await;
    start.elapsed()
}

async fn tokio_barrier(_waits: u64) -> Duration {
    let start = Instant::now();
    let barrier = Arc::new(tokio::sync::Barrier::new(BARRIER_PARTIES));
    let phases = Arc::new(AtomicU64::new(0));
    let tasks = (0..BARRIER_PARTIES)
        .map(|_| {
            let (barrier, phases) = (Arc::clone(&barrier), Arc::clone(&phases));
            tokio::spawn(async move {
                let mut waits = 0;
                for _ in 0..BARRIER_PHASES {
                    if barrier.wait().await.is_leader() {
                        phases.fetch_add(1, Ordering::Relaxed);
                    }
                    waits += 1;
                }
                waits
            })
        })
        .collect();
    check(tasks, &phases).await;
    start.elapsed()
}

fn barrier(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "barrier");
    common::fit(&mut group, WAITS);
    for rt in &runtimes {
        common::bench(&mut group, "corral_barrier", rt, WAITS, corral_barrier);
        common::bench(&mut group, "tokio_barrier", rt, WAITS, tokio_barrier);
    }
    group.finish();
}

criterion_group!(benches, barrier);
criterion_main!(benches);
