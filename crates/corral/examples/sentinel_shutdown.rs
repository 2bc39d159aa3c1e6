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
//! returns. Part 1 ports that literally (a `None` sentinel in a `Queue<Option<u32>>`) and shows
//! the hang: after the producer is done, two consumers are still parked in `get`. Part 2 is the
//! fix: `Queue::shutdown`, after which every consumer's `get` drains what is left and then fails,
//! however many consumers there are. (One sentinel per consumer also works in Python, but the
//! producer must then know how many consumers exist; `shutdown` needs no such count.)
//!
//! Run it with `cargo run --example sentinel_shutdown`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::queue::Queue;
use corral::task::gather;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn process(_item: u32) {
    tokio::time::sleep(Duration::from_millis(2)).await;
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

/// Part 2: the fix. `get` fails once the queue is shut down and drained.
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
    // Part 1: one sentinel, three consumers.
    let queue: Queue<Option<u32>> = Queue::bounded(100);
    for item in 0..30 {
        queue.put(Some(item)).await?;
    }
    queue.put(None).await?; // the guide's single sentinel
    let returned = AtomicUsize::new(0);
    let consumers = gather((0..3).map(|_| sentinel_consumer(queue.clone(), &returned)));
    let outcome = tokio::time::timeout(Duration::from_millis(200), consumers).await;
    let returned = returned.load(Ordering::SeqCst);
    println!(
        "sentinel: 200 ms after the last item, the queue holds {} items, {returned} of 3 consumers \
         returned and {} still wait in get; gather {}",
        queue.len(),
        3 - returned,
        if outcome.is_err() {
            "never returns (the Python version hangs here the same way)"
        } else {
            "returned (unexpected)"
        }
    );

    // Part 2: shutdown instead of a sentinel.
    let queue: Queue<u32> = Queue::bounded(100);
    for item in 0..30 {
        queue.put(item).await?;
    }
    queue.shutdown(); // no sentinel: consumers drain, then their get fails
    let handled = gather((0..3).map(|_| consumer(queue.clone()))).await?;
    println!(
        "shutdown: three consumers drained {} items between them ({handled:?}) and all returned",
        handled.iter().sum::<usize>()
    );
    Ok(())
}
