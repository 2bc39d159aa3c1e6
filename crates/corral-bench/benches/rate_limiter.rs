//! Two workloads of 1,000,000 acquires of a rate limit that never binds; `n` = acquires.
//!
//! rate_limiter_overhead (one task):
//! - `corral_rate_limiter`: `corral::flow::RateLimiter::acquire` on the default clock
//!   (`Clock::Auto`: the TSC, as governor reads, since Tokio's clock is not paused here).
//! - `corral_rate_limiter_tokio`: the same always on Tokio's clock (`Clock::Tokio`).
//! - `governor`: `governor::RateLimiter::until_ready` (anchor).
//!
//! rate_limiter_contended (the same acquires spread over 100 tasks sharing one limiter: a
//! clone each for corral, an `Arc` for governor):
//! - `corral_rate_limiter`, `corral_rate_limiter_tokio`, `governor` (anchor).
//!
//! rate_limiter_build (1,000 limiters built, as a server with one limiter per client does):
//! - `corral_rate_limiter`: `RateLimiter::builder()...build()` on the default clock, which
//!   clones a counter clock made once per process.
//! - `governor`: `governor::RateLimiter::direct_with_clock` with a clone of one clock made
//!   before the timed region (anchor). Like for like: `governor::RateLimiter::direct` makes a
//!   new clock on every call (`quanta::Clock::new` asks `cpuid` whether the CPU has an
//!   invariant TSC, ~18 µs on a VM where `cpuid` traps to the hypervisor), which a server
//!   building one limiter per client would not do either.
//! - `governor_arc`: the same, each limiter in an `Arc` (anchor): corral's `RateLimiter` is a
//!   handle whose clones share one limit, as an `Arc<governor::RateLimiter>` is, so this one
//!   pays the allocation corral's does.
//!
//! Both limiters allow 10⁹ calls a second with a burst of 1,000, so no call ever waits: this
//! measures the cost a limiter adds to every request. Timed: the acquire loop (and, with 100
//! tasks, spawning and joining them), as the asyncio version times its loop.

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

/// Acquires per iteration (`RL_OPS` of the asyncio workloads).
const RL_OPS: u64 = 1_000_000;
/// Tasks of the contended variant.
const TASKS: u64 = 100;
const RATE: u32 = 1_000_000_000;
const BURST: u32 = 1_000;

fn corral_limiter(clock: corral::flow::Clock) -> corral::flow::RateLimiter {
    corral::flow::RateLimiter::builder()
        .rate(RATE, Duration::from_secs(1))
        .burst(BURST)
        .clock(clock)
        .build()
}

type Governor = governor::DefaultDirectRateLimiter;

fn governor_quota() -> governor::Quota {
    let rate = NonZeroU32::new(RATE).expect("non-zero");
    let burst = NonZeroU32::new(BURST).expect("non-zero");
    governor::Quota::per_second(rate).allow_burst(burst)
}

fn governor_limiter() -> Governor {
    governor::RateLimiter::direct(governor_quota())
}

async fn corral_rate_limiter(n: u64) -> Duration {
    corral_single(n, corral::flow::Clock::default()).await
}

async fn corral_rate_limiter_tokio(n: u64) -> Duration {
    corral_single(n, corral::flow::Clock::Tokio).await
}

async fn corral_single(n: u64, clock: corral::flow::Clock) -> Duration {
    let limiter = corral_limiter(clock);
    let mut ok = 0;
    let start = Instant::now();
    for _ in 0..n {
        limiter.acquire().await;
        ok += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(ok, n);
    elapsed
}

async fn governor(n: u64) -> Duration {
    let limiter = governor_limiter();
    let mut ok = 0;
    let start = Instant::now();
    for _ in 0..n {
        limiter.until_ready().await;
        ok += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(ok, n);
    elapsed
}

async fn corral_rate_limiter_100tasks(n: u64) -> Duration {
    corral_contended(n, corral::flow::Clock::default()).await
}

async fn corral_rate_limiter_tokio_100tasks(n: u64) -> Duration {
    corral_contended(n, corral::flow::Clock::Tokio).await
}

async fn corral_contended(n: u64, clock: corral::flow::Clock) -> Duration {
    let limiter = corral_limiter(clock);
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                for _ in 0..n / TASKS {
                    limiter.acquire().await;
                }
                n / TASKS
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += task.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert_eq!(ok, n);
    elapsed
}

async fn governor_100tasks(n: u64) -> Duration {
    let limiter = Arc::new(governor_limiter());
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                for _ in 0..n / TASKS {
                    limiter.until_ready().await;
                }
                n / TASKS
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += task.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert_eq!(ok, n);
    elapsed
}

fn rate_limiter_overhead(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "rate_limiter_overhead");
    common::fit(&mut group, RL_OPS);
    for rt in &runtimes {
        common::bench(
            &mut group,
            "corral_rate_limiter",
            rt,
            RL_OPS,
            corral_rate_limiter,
        );
        common::bench(
            &mut group,
            "corral_rate_limiter_tokio",
            rt,
            RL_OPS,
            corral_rate_limiter_tokio,
        );
        common::bench(&mut group, "governor", rt, RL_OPS, governor);
    }
    group.finish();
}

fn rate_limiter_contended(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "rate_limiter_contended");
    common::fit(&mut group, RL_OPS);
    for rt in &runtimes {
        common::bench(
            &mut group,
            "corral_rate_limiter",
            rt,
            RL_OPS,
            corral_rate_limiter_100tasks,
        );
        common::bench(
            &mut group,
            "corral_rate_limiter_tokio",
            rt,
            RL_OPS,
            corral_rate_limiter_tokio_100tasks,
        );
        common::bench(&mut group, "governor", rt, RL_OPS, governor_100tasks);
    }
    group.finish();
}

/// Limiters built per iteration.
const BUILDS: u64 = 1_000;

async fn corral_build(n: u64) -> Duration {
    let start = Instant::now();
    let limiters: Vec<_> = (0..n)
        .map(|_| corral_limiter(corral::flow::Clock::default()))
        .collect();
    let elapsed = start.elapsed();
    assert_eq!(limiters.len() as u64, n);
    elapsed
}

async fn governor_build(n: u64) -> Duration {
    // One clock, made outside the timed region and cloned into each limiter, as corral's
    // default clock is.
    let clock = governor::clock::DefaultClock::default();
    let start = Instant::now();
    let limiters: Vec<Governor> = (0..n)
        .map(|_| governor::RateLimiter::direct_with_clock(governor_quota(), clock.clone()))
        .collect();
    let elapsed = start.elapsed();
    assert_eq!(limiters.len() as u64, n);
    elapsed
}

async fn governor_arc_build(n: u64) -> Duration {
    let clock = governor::clock::DefaultClock::default();
    let start = Instant::now();
    let limiters: Vec<Arc<Governor>> = (0..n)
        .map(|_| {
            Arc::new(governor::RateLimiter::direct_with_clock(
                governor_quota(),
                clock.clone(),
            ))
        })
        .collect();
    let elapsed = start.elapsed();
    assert_eq!(limiters.len() as u64, n);
    elapsed
}

fn rate_limiter_build(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "rate_limiter_build");
    common::fit(&mut group, BUILDS);
    for rt in &runtimes {
        common::bench(&mut group, "corral_rate_limiter", rt, BUILDS, corral_build);
        common::bench(&mut group, "governor", rt, BUILDS, governor_build);
        common::bench(&mut group, "governor_arc", rt, BUILDS, governor_arc_build);
    }
    group.finish();
}

criterion_group!(
    benches,
    rate_limiter_overhead,
    rate_limiter_contended,
    rate_limiter_build
);
criterion_main!(benches);
