//! Two workloads of `corral::pool`, each against its anchor in the same run.
//!
//! pool_acquire: `POOL_TASKS` tasks share a pool of `POOL_SIZE` resources; each task acquires
//! a resource, yields once while holding it (the query), and releases it, `n / POOL_TASKS`
//! times. `n` acquisitions in all.
//! - `corral`: `corral::pool::Pool` with a trivial `Manager`.
//! - `deadpool`: deadpool's `managed::Pool` with a trivial `Manager` (anchor).
//!
//! worker_pool: `WP_WORKERS` workers over a queue of `Q_CAP`; `POOL_TASKS` client tasks each
//! submit `n / POOL_TASKS` items one after the other and await each result (the item doubled).
//! - `corral`: `corral::pool::WorkerPool::submit`.
//! - `async_channel_actor`: the hand-written version: an `async_channel::bounded(Q_CAP)`
//!   (multi-producer, multi-consumer) of `(item, oneshot::Sender)`, a clone of its receiver in
//!   each of the `WP_WORKERS` workers (anchor).
//! - `flume_actor`: the same on a `flume::bounded(Q_CAP)` channel (anchor).
//!
//!   An earlier anchor shared one Tokio `mpsc` receiver behind a Tokio `Mutex` held across
//!   `recv().await`, so each item also paid a mutex hand-off between workers that
//!   `WorkerPool`'s own multi-consumer queue does not: that flattered corral. Both anchors now
//!   take items from a real multi-consumer channel, with the same capacity and workers.
//!
//! Timed: spawning the tasks and awaiting them all, with the pool already built.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{N, Q_CAP};
use corral::pool::{Manager, Pool, WorkerPool};
use corral::task::BoxError;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::oneshot;
use tokio::task::yield_now;

/// Tasks sharing the pool in both workloads.
const POOL_TASKS: u64 = 100;
/// Resources in pool_acquire.
const POOL_SIZE: usize = 10;
/// Workers in worker_pool.
const WP_WORKERS: usize = 4;

struct Trivial;

impl Manager for Trivial {
    type Resource = u64;
    type Error = Infallible;

    async fn create(&self) -> Result<u64, Infallible> {
        Ok(0)
    }
}

struct DeadpoolTrivial;

impl deadpool::managed::Manager for DeadpoolTrivial {
    type Type = u64;
    type Error = Infallible;

    async fn create(&self) -> Result<u64, Infallible> {
        Ok(0)
    }

    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Infallible> {
        Ok(())
    }
}

async fn corral_pool(n: u64) -> Duration {
    let pool = Pool::new(Trivial, POOL_SIZE);
    let start = Instant::now();
    let tasks: Vec<_> = (0..POOL_TASKS)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for _ in 0..n / POOL_TASKS {
                    let mut conn = pool.acquire().await.expect("never fails");
                    *conn += 1;
                    yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert!(pool.status().size <= POOL_SIZE);
    elapsed
}

async fn deadpool_pool(n: u64) -> Duration {
    let pool: deadpool::managed::Pool<DeadpoolTrivial> =
        deadpool::managed::Pool::builder(DeadpoolTrivial)
            .max_size(POOL_SIZE)
            .build()
            .expect("build a deadpool pool");
    let start = Instant::now();
    let tasks: Vec<_> = (0..POOL_TASKS)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for _ in 0..n / POOL_TASKS {
                    let mut conn = pool.get().await.expect("never fails");
                    *conn += 1;
                    yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert!(pool.status().size <= POOL_SIZE);
    elapsed
}

fn pool_acquire(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "pool_acquire");
    common::fit(&mut group, N);
    for rt in &runtimes {
        common::bench(&mut group, "corral", rt, N, corral_pool);
        common::bench(&mut group, "deadpool", rt, N, deadpool_pool);
    }
    group.finish();
}

async fn corral_workers(n: u64) -> Duration {
    let pool = Arc::new(
        WorkerPool::builder(WP_WORKERS)
            .capacity(Q_CAP)
            .build(|x: u64| async move { Ok::<_, BoxError>(x * 2) }),
    );
    let start = Instant::now();
    let clients: Vec<_> = (0..POOL_TASKS)
        .map(|c| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                for i in 0..n / POOL_TASKS {
                    sum += pool.submit(c + i).await.expect("never fails");
                }
                sum
            })
        })
        .collect();
    let mut sum = 0;
    for client in clients {
        sum += client.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert!(sum > 0);
    pool.shutdown().await;
    elapsed
}

type Request = (u64, oneshot::Sender<u64>);

/// The actor by hand on an async-channel MPMC channel: each worker holds a clone of the
/// receiver, and an item goes to whichever worker is free, with no lock between them.
async fn async_channel_actor(n: u64) -> Duration {
    let (tx, rx) = async_channel::bounded::<Request>(Q_CAP);
    let workers: Vec<_> = (0..WP_WORKERS)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                while let Ok((x, reply)) = rx.recv().await {
                    reply.send(x * 2).ok();
                }
            })
        })
        .collect();
    drop(rx);
    let start = Instant::now();
    let clients: Vec<_> = (0..POOL_TASKS)
        .map(|c| {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                for i in 0..n / POOL_TASKS {
                    let (reply, result) = oneshot::channel();
                    tx.send((c + i, reply)).await.expect("workers alive");
                    sum += result.await.expect("a reply");
                }
                sum
            })
        })
        .collect();
    let mut sum = 0;
    for client in clients {
        sum += client.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert!(sum > 0);
    drop(tx);
    for worker in workers {
        worker.await.expect("no panic");
    }
    elapsed
}

/// The same actor on a flume MPMC channel.
async fn flume_actor(n: u64) -> Duration {
    let (tx, rx) = flume::bounded::<Request>(Q_CAP);
    let workers: Vec<_> = (0..WP_WORKERS)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                while let Ok((x, reply)) = rx.recv_async().await {
                    reply.send(x * 2).ok();
                }
            })
        })
        .collect();
    drop(rx);
    let start = Instant::now();
    let clients: Vec<_> = (0..POOL_TASKS)
        .map(|c| {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                for i in 0..n / POOL_TASKS {
                    let (reply, result) = oneshot::channel();
                    tx.send_async((c + i, reply)).await.expect("workers alive");
                    sum += result.await.expect("a reply");
                }
                sum
            })
        })
        .collect();
    let mut sum = 0;
    for client in clients {
        sum += client.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert!(sum > 0);
    drop(tx);
    for worker in workers {
        worker.await.expect("no panic");
    }
    elapsed
}

fn worker_pool(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "worker_pool");
    common::fit(&mut group, N);
    for rt in &runtimes {
        common::bench(&mut group, "corral", rt, N, corral_workers);
        common::bench(
            &mut group,
            "async_channel_actor",
            rt,
            N,
            async_channel_actor,
        );
        common::bench(&mut group, "flume_actor", rt, N, flume_actor);
    }
    group.finish();
}

criterion_group!(benches, pool_acquire, worker_pool);
criterion_main!(benches);
