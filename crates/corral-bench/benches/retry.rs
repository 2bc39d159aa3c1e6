//! retry_success: `n` sequential operations that succeed at the first attempt, each run under
//! a retry policy (exponential backoff from 100 ms, 3 attempts): the cost of the policy when
//! nothing fails, which is the common case.
//!
//! - `corral`: `Retry::run` with one shared `Retry` value.
//! - `backon`: backon's `Retryable::retry` with an `ExponentialBuilder` (anchor).
//! - `plain`: the operation awaited with no retry at all (the floor).
//!
//! Timed: the loop, as asyncio's `await retry_with_backoff(op)` loop.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use common::N;
use corral::retry::Retry;
use criterion::{Criterion, criterion_group, criterion_main};

const BASE: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Refused;

async fn op(i: u64) -> Result<u64, Refused> {
    Ok(black_box(i))
}

async fn corral(n: u64) -> Duration {
    let policy = Retry::exponential(BASE).max_attempts(3);
    let mut sum = 0;
    let start = Instant::now();
    for i in 0..n {
        sum += policy.run(|| op(i)).await.expect("never fails");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, common::tri(n));
    elapsed
}

async fn backon(n: u64) -> Duration {
    let policy = ExponentialBuilder::default()
        .with_min_delay(BASE)
        .with_max_times(2);
    let mut sum = 0;
    let start = Instant::now();
    for i in 0..n {
        sum += (|| op(i)).retry(policy).await.expect("never fails");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, common::tri(n));
    elapsed
}

async fn plain(n: u64) -> Duration {
    let mut sum = 0;
    let start = Instant::now();
    for i in 0..n {
        sum += op(i).await.expect("never fails");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, common::tri(n));
    elapsed
}

fn retry_success(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "retry_success");
    common::fit(&mut group, N);
    for rt in &runtimes {
        common::bench(&mut group, "corral", rt, N, corral);
        common::bench(&mut group, "backon", rt, N, backon);
        common::bench(&mut group, "plain", rt, N, plain);
    }
    group.finish();
}

criterion_group!(benches, retry_success);
criterion_main!(benches);
