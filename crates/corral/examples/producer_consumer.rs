//! Producer/consumer with backpressure, the queue pattern of the asyncio guides.
//!
//! One producer feeds a bounded queue of 10; three workers take items, "process" them, and
//! mark each one done. The producer waits with `join` until every item is processed, then
//! shuts the queue down: the workers' next `get` fails and they stop. No `None` sentinel per
//! worker, and no way to forget one.
//!
//! The producer waits for room with `reserve` under a timeout, not with `put`: a `put` that
//! times out drops its item, a `reserve` that times out has not touched it.
//!
//! Run it with `cargo run --example producer_consumer`.

use std::time::{Duration, Instant};

use corral::queue::Queue;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ITEMS: u32 = 30;
const WORKERS: usize = 3;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn producer(queue: Queue<u32>) -> Result<(), BoxError> {
    for item in 0..ITEMS {
        let started = Instant::now();
        // Waits while 10 items are queued: the workers set the pace. Every 15 ms without room
        // it says so, and keeps the item (a `put` in the timeout would have dropped it).
        let permit = loop {
            match tokio::time::timeout(Duration::from_millis(15), queue.reserve()).await {
                Ok(permit) => break permit?,
                Err(_) => println!("producer: still no room for item {item}, waiting on"),
            }
        };
        permit.put(item); // never waits, never fails
        let waited = started.elapsed();
        if waited >= Duration::from_millis(1) {
            println!("producer: queue full, waited {waited:.0?} to put item {item}");
        }
    }
    println!("producer: all {ITEMS} items queued");
    Ok(())
}

async fn worker(name: String, queue: Queue<u32>) -> Result<usize, BoxError> {
    let mut handled = 0;
    // `get` fails once the queue is shut down and empty: that is the stop signal.
    while let Ok(item) = queue.get().await {
        tokio::time::sleep(Duration::from_millis(10)).await; // the "work"
        handled += 1;
        queue.task_done()?;
        if item % 10 == 9 {
            println!("{name}: processed item {item}");
        }
    }
    println!("{name}: queue shut down, stopping after {handled} items");
    Ok(handled)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let started = Instant::now();
    let queue = Queue::bounded(10);

    let workers: Vec<_> = (0..WORKERS)
        .map(|i| tokio::spawn(worker(format!("worker-{i}"), queue.clone())))
        .collect();

    producer(queue.clone()).await?;
    queue.join().await;
    println!("main: join returned, every item is processed; shutting the queue down");
    queue.shutdown();

    let mut total = 0;
    for handle in workers {
        total += handle.await??;
    }
    ensure!(
        total == ITEMS as usize,
        "main: the workers processed {total} of {ITEMS} items"
    );
    println!(
        "main: {total} items processed by {WORKERS} workers in {:.0?}",
        started.elapsed()
    );
    Ok(())
}
