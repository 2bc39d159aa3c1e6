//! timeout_overhead: `n` sequential ops, each one `yield_now` under a 10 s limit that never
//! fires.
//!
//! - `corral_timeout`: `corral::time::timeout(10 s, op)` per op.
//! - `corral_deadline`: one `Deadline::after(10 s)` per iteration, `deadline.run(op)` per op.
//! - `tokio_timeout`: `tokio::time::timeout(10 s, op)` per op (anchor).
//!
//! Timed: the loop (and, for `corral_deadline`, creating the deadline), as asyncio's
//! `async with asyncio.timeout(10): await asyncio.sleep(0)` loop.

mod common;

use std::time::{Duration, Instant};

use common::{N, TIMEOUT};
use corral::time::{Deadline, timeout};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::task::yield_now;

async fn corral_timeout(n: u64) -> Duration {
    let mut done = 0;
    let start = Instant::now();
    for _ in 0..n {
        timeout(TIMEOUT, yield_now()).await.expect("never fires");
        done += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(done, n);
    elapsed
}

async fn corral_deadline(n: u64) -> Duration {
    let mut done = 0;
    let start = Instant::now();
    let deadline = Deadline::after(TIMEOUT);
    for _ in 0..n {
        deadline.run(yield_now()).await.expect("never fires");
        done += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(done, n);
    elapsed
}

async fn tokio_timeout(n: u64) -> Duration {
    let mut done = 0;
    let start = Instant::now();
    for _ in 0..n {
        tokio::time::timeout(TIMEOUT, yield_now())
            .await
            .expect("never fires");
        done += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(done, n);
    elapsed
}

fn timeout_overhead(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "timeout_overhead");
    common::fit(&mut group, N);
    for rt in &runtimes {
        common::bench(&mut group, "corral_timeout", rt, N, corral_timeout);
        common::bench(&mut group, "corral_deadline", rt, N, corral_deadline);
        common::bench(&mut group, "tokio_timeout", rt, N, tokio_timeout);
    }
    group.finish();
}

criterion_group!(benches, timeout_overhead);
criterion_main!(benches);
