//! condition: the guides' bounded `Buffer` (capacity 100), 1 producer / 4 consumers, `n`
//! items, then one `None` end marker per consumer.
//!
//! - `corral_condition`: the `Buffer` of the seed guide ("Condition Variable") on
//!   `corral::sync::Condition`: `wait_for` the predicate under the lock, change the data,
//!   `notify_one` while still holding the lock, as the guide's `async with self._condition`.
//! - `tokio_mutex_notify`: the same buffer written by hand on a Tokio `Mutex<VecDeque>` and two
//!   `Notify`s (`not_full`, `not_empty`), with check → register (`enable()` under the lock) →
//!   wait, so no wake-up is lost (anchor).
//!
//! Timed: from creating the buffer until every consumer has finished, as the asyncio version.

mod common;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Q_CAP, Q_CONSUMERS, Q_ITEMS, tri};
use corral::sync::Condition;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

/// The guide's `Buffer`, on corral's `Condition`.
struct Buffer {
    items: Condition<VecDeque<Option<u64>>>,
    max_size: usize,
}

impl Buffer {
    fn new(max_size: usize) -> Self {
        Self {
            items: Condition::new(VecDeque::with_capacity(max_size)),
            max_size,
        }
    }

    async fn put(&self, item: Option<u64>) {
        let items = self.items.lock().await;
        let mut items = items.wait_for(|items| items.len() < self.max_size).await;
        items.push_back(item);
        self.items.notify_one();
    }

    async fn get(&self) -> Option<u64> {
        let items = self.items.lock().await;
        let mut items = items.wait_for(|items| !items.is_empty()).await;
        let item = items.pop_front().expect("wait_for saw an item");
        self.items.notify_one();
        item
    }
}

/// The same buffer, by hand on Tokio's `Mutex` and two `Notify`s.
struct NotifyBuffer {
    items: Mutex<VecDeque<Option<u64>>>,
    not_full: Notify,
    not_empty: Notify,
    max_size: usize,
}

impl NotifyBuffer {
    fn new(max_size: usize) -> Self {
        Self {
            items: Mutex::new(VecDeque::with_capacity(max_size)),
            not_full: Notify::new(),
            not_empty: Notify::new(),
            max_size,
        }
    }

    async fn put(&self, item: Option<u64>) {
        loop {
            let mut not_full = pin!(self.not_full.notified());
            {
                let mut items = self.items.lock().await;
                if items.len() < self.max_size {
                    items.push_back(item);
                    self.not_empty.notify_one();
                    return;
                }
                // Registered while the lock is held: a `get` that makes room after this
                // point notifies us (or leaves a permit).
                not_full.as_mut().enable();
            }
            not_full.await;
        }
    }

    async fn get(&self) -> Option<u64> {
        loop {
            let mut not_empty = pin!(self.not_empty.notified());
            {
                let mut items = self.items.lock().await;
                if let Some(item) = items.pop_front() {
                    self.not_full.notify_one();
                    return item;
                }
                not_empty.as_mut().enable();
            }
            not_empty.await;
        }
    }
}

/// What the workload needs of a buffer.
trait Bounded: Send + Sync + 'static {
    fn put(&self, item: Option<u64>) -> impl Future<Output = ()> + Send;
    fn get(&self) -> impl Future<Output = Option<u64>> + Send;
}

impl Bounded for Buffer {
    async fn put(&self, item: Option<u64>) {
        Buffer::put(self, item).await;
    }

    async fn get(&self) -> Option<u64> {
        Buffer::get(self).await
    }
}

impl Bounded for NotifyBuffer {
    async fn put(&self, item: Option<u64>) {
        NotifyBuffer::put(self, item).await;
    }

    async fn get(&self) -> Option<u64> {
        NotifyBuffer::get(self).await
    }
}

/// The guide's workload over `buffer`: the producer puts `n` items and then one `None` per
/// consumer; each consumer sums what it gets until its `None`.
async fn workload<B: Bounded>(buffer: B, n: u64, start: Instant) -> Duration {
    let buffer = Arc::new(buffer);
    let producer = tokio::spawn({
        let buffer = Arc::clone(&buffer);
        async move {
            for i in 0..n {
                buffer.put(Some(i)).await;
            }
            for _ in 0..Q_CONSUMERS {
                buffer.put(None).await;
            }
        }
    });
    let consumers: Vec<JoinHandle<u64>> = (0..Q_CONSUMERS)
        .map(|_| {
            let buffer = Arc::clone(&buffer);
            tokio::spawn(async move {
                let mut sum = 0;
                while let Some(item) = buffer.get().await {
                    sum += item;
                }
                sum
            })
        })
        .collect();
    producer.await.expect("the producer does not panic");
    let mut sum = 0;
    for consumer in consumers {
        sum += consumer.await.expect("no consumer panics");
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tri(n));
    elapsed
}

async fn corral_condition(n: u64) -> Duration {
    let start = Instant::now();
    workload(Buffer::new(Q_CAP), n, start).await
}

async fn tokio_mutex_notify(n: u64) -> Duration {
    let start = Instant::now();
    workload(NotifyBuffer::new(Q_CAP), n, start).await
}

fn condition(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "condition");
    common::fit(&mut group, Q_ITEMS);
    for rt in &runtimes {
        common::bench(
            &mut group,
            "corral_condition",
            rt,
            Q_ITEMS,
            corral_condition,
        );
        common::bench(
            &mut group,
            "tokio_mutex_notify",
            rt,
            Q_ITEMS,
            tokio_mutex_notify,
        );
    }
    group.finish();
}

criterion_group!(benches, condition);
criterion_main!(benches);
