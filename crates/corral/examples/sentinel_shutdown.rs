//! The guides' sentinel shutdown, why it hangs with several consumers, and the fix.
//!
//! Python (advanced guide, "Producer-Consumer with Queue"):
//! ```python
//! async def producer(queue, items):
//!     for item in items:
//!         await queue.put(item)
//!     await queue.put(None)  # Sentinel to signal completion
//!
//! async def consumer(queue, name):
//!     while True:
//!         item = await queue.get()
//!         if item is None:
//!             queue.task_done()
//!             break
//!         await process(item)
//!         queue.task_done()
//!
//! await asyncio.gather(producer(queue, items), consumer(queue, "worker-1"),
//!                      consumer(queue, "worker-2"), consumer(queue, "worker-3"))
//! ```
//!
//! One `None` stops one consumer; the other two wait in `get` forever, so `gather` never
//! returns. Part 1 ports that literally (a `None` sentinel in a `Queue<Option<u32>>`, the
//! producer and the three consumers in one gather) and shows the hang: after the producer is
//! done, two consumers are still parked in `get`. Part 2 is the fix, in the same setting: the
//! consumers wait in `get` while the producer trickles items in alongside them, and the producer
//! ends with `Queue::shutdown` instead of a sentinel. It first waits (`join`) until its items
//! are handled, so all three consumers are parked in `get` when the shutdown comes: every one
//! of them wakes and returns, however many there are. Part 3 shuts down with items still
//! queued: the consumers drain them first, then their `get` fails. (One sentinel per consumer
//! also works in Python, but the producer must then know how many consumers exist; `shutdown`
//! needs no such count.)
//!
//! Every part runs under a timeout, so a consumer that is never woken ends the program with an
//! error instead of hanging it.
//!
//! Run it with `cargo run --example sentinel_shutdown`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::queue::Queue;
use corral::task::gather;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ITEMS: u32 = 30;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn process(_item: u32) {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

/// Items trickle in more slowly than three consumers handle them, so consumers wait in `get`.
async fn produce_next() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

/// Part 1: the guide's producer, with its single sentinel.
async fn sentinel_producer(queue: Queue<Option<u32>>) -> Result<(), BoxError> {
    for item in 0..ITEMS {
        produce_next().await;
        queue.put(Some(item)).await?;
    }
    queue.put(None).await?; // the guide's single sentinel
    Ok(())
}

/// Part 1: the literal port, with its single sentinel.
async fn sentinel_consumer(
    queue: Queue<Option<u32>>,
    returned: &AtomicUsize,
) -> Result<usize, BoxError> {
    let mut handled = 0;
    loop {
        match queue.get().await? {
            None => {
                queue.task_done()?;
                returned.fetch_add(1, Ordering::SeqCst);
                return Ok(handled);
            }
            Some(item) => {
                process(item).await;
                handled += 1;
                queue.task_done()?;
            }
        }
    }
}

/// Part 2: the fix. The producer shuts the queue down when it is done.
async fn producer(queue: Queue<u32>) -> Result<(), BoxError> {
    for item in 0..ITEMS {
        produce_next().await;
        queue.put(item).await?;
    }
    queue.join().await; // every item handled: the consumers are all parked in get
    queue.shutdown(); // no sentinel: every parked get wakes and fails
    Ok(())
}

/// Part 2: `get` fails once the queue is shut down and drained.
async fn consumer(queue: Queue<u32>) -> Result<usize, BoxError> {
    let mut handled = 0;
    while let Ok(item) = queue.get().await {
        process(item).await;
        handled += 1;
        queue.task_done()?;
    }
    Ok(handled)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // Part 1: one sentinel, three consumers, all in one gather with the producer.
    let queue: Queue<Option<u32>> = Queue::bounded(100);
    let returned = AtomicUsize::new(0);
    let consumers = gather((0..3).map(|_| sentinel_consumer(queue.clone(), &returned)));
    let everyone = async { tokio::try_join!(sentinel_producer(queue.clone()), consumers) };
    let outcome = tokio::time::timeout(Duration::from_millis(300), everyone).await;
    let returned = returned.load(Ordering::SeqCst);
    ensure!(
        outcome.is_err() && returned == 1 && queue.is_empty(),
        "sentinel: expected one consumer to return and two to hang with the queue empty; \
         gather returned: {}, {returned} consumers returned, {} items left",
        outcome.is_ok(),
        queue.len()
    );
    println!(
        "sentinel: 300 ms in, the producer is long done, the queue is empty, {returned} of 3 \
         consumers returned and {} still wait in get; gather never returns (the Python version \
         hangs here the same way)",
        3 - returned
    );

    // Part 2: shutdown instead of a sentinel, with the consumers waiting in get.
    let queue: Queue<u32> = Queue::bounded(100);
    let consumers = gather((0..3).map(|_| consumer(queue.clone())));
    let everyone = async { tokio::try_join!(producer(queue.clone()), consumers) };
    let Ok(outcome) = tokio::time::timeout(Duration::from_secs(2), everyone).await else {
        return Err("shutdown: consumers still wait in get 2 s after the queue shut down".into());
    };
    let ((), handled) = outcome?;
    let total = handled.iter().sum::<usize>();
    ensure!(
        total == ITEMS as usize,
        "shutdown: the consumers handled {total} of {ITEMS} items"
    );
    println!(
        "shutdown: three consumers handled {total} items between them ({handled:?}), waited in \
         get, and all returned when the queue shut down"
    );

    // Part 3: shutdown with items still queued: they are drained first.
    let queue: Queue<u32> = Queue::bounded(100);
    for item in 0..ITEMS {
        queue.put(item).await?;
    }
    queue.shutdown();
    let draining = gather((0..3).map(|_| consumer(queue.clone())));
    let Ok(handled) = tokio::time::timeout(Duration::from_secs(2), draining).await else {
        return Err("drain: consumers still running 2 s after the queue shut down".into());
    };
    let total = handled?.iter().sum::<usize>();
    ensure!(
        total == ITEMS as usize,
        "drain: the consumers handled {total} of the {ITEMS} items queued before the shutdown"
    );
    println!("drain: the {total} items queued before the shutdown were all handled first");
    Ok(())
}
