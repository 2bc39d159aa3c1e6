//! queue_pipeline: 1 producer and 4 consumers through a bounded queue of capacity 100,
//! `n` items.
//!
//! - `corral_queue`: `corral::queue::Queue`; each consumer calls `task_done` per item; the
//!   main task awaits the producer, then `join`, then `shutdown` stops the consumers (their
//!   `get` fails once the queue is shut down and empty).
//! - `flume` / `async_channel`: `bounded(100)` channels (anchors). They have no `join`: each
//!   consumer counts its items and the producer closes the channel by dropping its sender.
//!
//! Timed: from creating the queue until every consumer has returned its sum, as asyncio's
//! version (which cancels its consumers after `q.join()`).

mod common;

use std::time::{Duration, Instant};

use common::{Q_CAP, Q_CONSUMERS, SIZES, tri};
use corral::queue::Queue;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::task::JoinHandle;

/// Awaits the consumers and returns the sum of their sums.
async fn sum_of(consumers: Vec<JoinHandle<u64>>) -> u64 {
    let mut sum = 0;
    for consumer in consumers {
        sum += consumer.await.expect("no consumer panics");
    }
    sum
}

async fn corral_queue(n: u64) -> Duration {
    let start = Instant::now();
    let queue = Queue::bounded(Q_CAP);
    let producer = tokio::spawn({
        let queue = queue.clone();
        async move {
            for i in 0..n {
                queue.put(i).await.expect("the queue is open");
            }
        }
    });
    let consumers: Vec<JoinHandle<u64>> = (0..Q_CONSUMERS)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                while let Ok(item) = queue.get().await {
                    sum += item;
                    queue.task_done().expect("one task_done per get");
                }
                sum
            })
        })
        .collect();
    producer.await.expect("the producer does not panic");
    queue.join().await;
    queue.shutdown();
    let sum = sum_of(consumers).await;
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn flume(n: u64) -> Duration {
    let start = Instant::now();
    let (tx, rx) = flume::bounded(Q_CAP);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send_async(i).await.expect("a consumer is alive");
        }
    });
    let consumers: Vec<JoinHandle<u64>> = (0..Q_CONSUMERS)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                while let Ok(item) = rx.recv_async().await {
                    sum += item;
                }
                sum
            })
        })
        .collect();
    drop(rx);
    producer.await.expect("the producer does not panic");
    let sum = sum_of(consumers).await;
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn async_channel(n: u64) -> Duration {
    let start = Instant::now();
    let (tx, rx) = async_channel::bounded(Q_CAP);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send(i).await.expect("a consumer is alive");
        }
    });
    let consumers: Vec<JoinHandle<u64>> = (0..Q_CONSUMERS)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                while let Ok(item) = rx.recv().await {
                    sum += item;
                }
                sum
            })
        })
        .collect();
    drop(rx);
    producer.await.expect("the producer does not panic");
    let sum = sum_of(consumers).await;
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

fn queue_pipeline(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "queue_pipeline");
    for n in SIZES {
        common::fit(&mut group, n);
        for rt in &runtimes {
            common::bench(&mut group, "corral_queue", rt, n, corral_queue);
            common::bench(&mut group, "flume", rt, n, flume);
            common::bench(&mut group, "async_channel", rt, n, async_channel);
        }
    }
    group.finish();
}

criterion_group!(benches, queue_pipeline);
criterion_main!(benches);
