//! A bounded buffer on a condition variable: the guides' `Buffer`, with one producer and
//! several consumers.
//!
//! `put` waits while the buffer is full and `get` waits while it is empty, both on the same
//! `Condition`, which owns the items. When the producer is done it closes the buffer, and each
//! consumer stops once the buffer is closed and empty.
//!
//! Run it with `cargo run --example condition_buffer`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use corral::sync::Condition;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

#[derive(Debug)]
struct Items {
    queue: VecDeque<u32>,
    closed: bool,
}

/// The guides' `Buffer`: at most `max_size` items, `put` and `get` wait as needed.
#[derive(Debug)]
struct Buffer {
    items: Condition<Items>,
    max_size: usize,
}

impl Buffer {
    fn new(max_size: usize) -> Self {
        Self {
            items: Condition::new(Items {
                queue: VecDeque::new(),
                closed: false,
            }),
            max_size,
        }
    }

    async fn put(&self, item: u32) {
        let mut items = self
            .items
            .lock()
            .await
            .wait_for(|items| items.queue.len() < self.max_size)
            .await;
        items.queue.push_back(item);
        drop(items);
        // Producers and consumers wait on the same condition, so a `notify_one` here could
        // wake a consumer that finds nothing for it while the producer that could go on
        // sleeps (the guides' version, with `notify()`, can stall that way). Wake everyone:
        // each re-checks its own predicate under the lock.
        self.items.notify_all();
    }

    /// The next item, or `None` once the buffer is closed and drained.
    async fn get(&self) -> Option<u32> {
        let mut items = self
            .items
            .lock()
            .await
            .wait_for(|items| !items.queue.is_empty() || items.closed)
            .await;
        let item = items.queue.pop_front();
        drop(items);
        self.items.notify_all();
        item
    }

    async fn close(&self) {
        self.items.lock().await.closed = true;
        self.items.notify_all();
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let buffer = Arc::new(Buffer::new(3));

    let mut consumers = Vec::new();
    for name in ["consumer-1", "consumer-2", "consumer-3"] {
        let buffer = Arc::clone(&buffer);
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = buffer.get().await {
                tokio::time::sleep(Duration::from_millis(10)).await; // process it
                got.push(item);
            }
            println!("{name}: took {got:?}");
            got
        }));
    }

    for item in 0..12 {
        buffer.put(item).await;
        println!("producer: put {item}");
    }
    buffer.close().await;
    println!("producer: closed the buffer");

    let mut taken = Vec::new();
    for consumer in consumers {
        taken.extend(consumer.await?);
    }
    taken.sort_unstable();
    ensure!(
        taken == (0..12).collect::<Vec<_>>(),
        "the consumers took {taken:?}, not each of 0..12 exactly once"
    );
    println!("main: {} items consumed, none lost", taken.len());
    Ok(())
}
