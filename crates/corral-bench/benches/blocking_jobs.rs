//! blocking_jobs: `n` tiny jobs handed to a pool, 64 in flight at a time, each result awaited.
//!
//! - `corral_run_blocking`: `corral::blocking::run_blocking(f)` per job.
//! - `tokio_spawn_blocking`: `tokio::task::spawn_blocking(f)` per job (anchor of the above).
//! - `corral_run_cpu`: `corral::blocking::run_cpu(f)` per job.
//! - `rayon_oneshot`: `rayon::spawn` + a Tokio oneshot per job, by hand (anchor of the above).
//!
//! Timed: the whole batch, as asyncio's `gather(*(loop.run_in_executor(None, f) ...))`.

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

const JOBS: u64 = 10_000;
const IN_FLIGHT: usize = 64;

async fn drive<F, Fut>(n: u64, job: F) -> Duration
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let start = Instant::now();
    let mut running = FuturesUnordered::new();
    let mut sum = 0;
    for i in 0..n {
        if running.len() == IN_FLIGHT {
            sum += running.next().await.unwrap_or(0);
        }
        running.push(job(i));
    }
    while let Some(v) = running.next().await {
        sum += v;
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, common::tri(n));
    elapsed
}

async fn corral_run_blocking(n: u64) -> Duration {
    drive(n, |i| async move {
        corral::blocking::run_blocking(move || i)
            .await
            .expect("in a runtime")
    })
    .await
}

async fn tokio_spawn_blocking(n: u64) -> Duration {
    drive(n, |i| async move {
        tokio::task::spawn_blocking(move || i)
            .await
            .expect("no panic")
    })
    .await
}

async fn corral_run_cpu(n: u64) -> Duration {
    drive(n, |i| corral::blocking::run_cpu(move || i)).await
}

async fn rayon_oneshot(n: u64) -> Duration {
    drive(n, |i| async move {
        let (tx, rx) = tokio::sync::oneshot::channel();
        rayon::spawn(move || {
            let _ = tx.send(i);
        });
        rx.await.expect("sent")
    })
    .await
}

fn blocking_jobs(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "blocking_jobs");
    common::fit(&mut group, JOBS);
    for rt in &runtimes {
        common::bench(
            &mut group,
            "corral_run_blocking",
            rt,
            JOBS,
            corral_run_blocking,
        );
        common::bench(
            &mut group,
            "tokio_spawn_blocking",
            rt,
            JOBS,
            tokio_spawn_blocking,
        );
        common::bench(&mut group, "corral_run_cpu", rt, JOBS, corral_run_cpu);
        common::bench(&mut group, "rayon_oneshot", rt, JOBS, rayon_oneshot);
    }
    group.finish();
}

criterion_group!(benches, blocking_jobs);
criterion_main!(benches);
