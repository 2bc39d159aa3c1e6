//! Queues for many producers and many consumers, with asyncio's `task_done`/`join` and
//! `shutdown`: [`Queue`] (first in, first out), [`PriorityQueue`] (smallest first) and
//! [`LifoQueue`] (last in, first out).
//!
//! The three share one API and one implementation; only the order in which `get` hands out
//! the items differs.
//!
//! | asyncio                                   | corral                                           |
//! |-------------------------------------------|--------------------------------------------------|
//! | `Queue(maxsize=n)`, `n > 0`               | [`Queue::bounded(n)`](Queue::bounded)            |
//! | `Queue()`, `Queue(maxsize=0)`             | [`Queue::unbounded()`](Queue::unbounded)         |
//! | `PriorityQueue`, `LifoQueue`              | [`PriorityQueue`], [`LifoQueue`]                 |
//! | `await q.put(x)` / `q.put_nowait(x)`      | [`q.put(x).await`](Queue::put) / [`q.try_put(x)`](Queue::try_put) |
//! | `await q.put(x)` under a timeout or in `wait(..., FIRST_COMPLETED)` | [`q.reserve().await?.put(x)`](Queue::reserve): the wait is cancel safe, the item is not given up |
//! | `await q.get()` / `q.get_nowait()`        | [`q.get().await`](Queue::get) / [`q.try_get()`](Queue::try_get) |
//! | `q.task_done()` / `await q.join()`        | [`q.task_done()`](Queue::task_done) / [`q.join().await`](Queue::join) |
//! | `q.shutdown()` / `q.shutdown(immediate=True)` (3.13) | [`q.shutdown()`](Queue::shutdown) / [`q.shutdown_immediate()`](Queue::shutdown_immediate) |
//! | `q.qsize()`, `q.empty()`, `q.full()`, `q.maxsize` | [`len`](Queue::len), [`is_empty`](Queue::is_empty), [`is_full`](Queue::is_full), [`capacity`](Queue::capacity): they agree with `try_get`/`try_put` |
//! | `QueueFull`, `QueueEmpty`, `QueueShutDown`, `ValueError` | [`TryPutError`], [`TryGetError`], [`PutError`] / [`GetError`], [`TaskDoneError`] |
//! | `async for` over a `get` loop             | [`Queue::into_stream`] (a `Stream` that ends at shutdown) |
//!
//! # The producer/consumer pattern
//!
//! ```
//! use corral::queue::Queue;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let queue = Queue::bounded(10); // backpressure: `put` waits while 10 items wait
//!
//! let mut workers = Vec::new();
//! for _ in 0..3 {
//!     let queue = queue.clone();
//!     workers.push(tokio::spawn(async move {
//!         let mut handled = 0;
//!         // No sentinel: `get` fails once the queue is shut down and drained.
//!         while let Ok(n) = queue.get().await {
//!             handled += n;
//!             queue.task_done()?;
//!         }
//!         Ok::<_, corral::queue::TaskDoneError>(handled)
//!     }));
//! }
//!
//! for n in 1..=100 {
//!     queue.put(n).await?;
//! }
//! queue.join().await; // every item processed
//! queue.shutdown(); // the workers stop
//!
//! let mut total = 0;
//! for worker in workers {
//!     total += worker.await??;
//! }
//! assert_eq!(total, 5050);
//! # Ok(())
//! # }
//! ```
//!
//! # Where corral differs from asyncio
//!
//! - **Sharing.** A queue is a cheap [`Clone`] handle (an `Arc` inside), as async-channel's
//!   `Sender`/`Receiver` are: clone it into each producer and consumer instead of wrapping it
//!   in `Arc<Queue<T>>`. Every clone can put and get. Dropping handles never closes the queue
//!   (unlike a channel, there is no "other side" to notice); [`Queue::shutdown`] is the
//!   explicit "no more items", and it replaces asyncio's `None` sentinels.
//! - **Capacity zero is refused.** asyncio reads `maxsize <= 0` as unbounded. In corral,
//!   `bounded(0)` panics and `try_bounded(0)` returns [`ZeroCapacityError`], so a computed
//!   bound of zero does not silently become "no bound"; say `unbounded()` for that.
//! - **`task_done` counts against the items taken**, not the items put: asyncio accepts a
//!   `task_done` for an item still waiting in the queue.
//! - **Fair hand-offs.** Tasks waiting in `put` or `get` are served strictly first come, first
//!   served, and a slot or an item freed for a woken task is kept for it until it runs:
//!   neither `try_put`/`try_get` nor a fresh `put`/`get` can take it first. In asyncio a woken
//!   putter whose slot was taken by `put_nowait` goes back to the end of the line.
//! - **Cancellation, item by item.** A `get` dropped after it was woken for an item passes
//!   the item to the next getter: no item is lost. A `put` dropped while it waits never
//!   inserts its item and passes on a slot it was given, but its item is dropped with it and
//!   lost, as with Tokio's `mpsc::Sender::send`. To wait for room without risking the item,
//!   use [`reserve`](Queue::reserve) and put with the permit, which neither waits nor fails.
//!   (In asyncio a cancelled `put` loses its item too.)
//! - **Status agrees with the operations.** [`len`](Queue::len) counts the items `try_get`
//!   could take, and [`is_full`](Queue::is_full) says whether `try_put` would find a slot: an
//!   item or slot set aside for a woken task, or held by a permit, is not free and is not
//!   counted as free.
//! - **`shutdown_immediate` returns what it removed** (in `get` order) instead of discarding
//!   it, and counts those items as done, as Python 3.13 does.
//! - **Equal priorities come out first in, first out.** Python's `heapq` is not stable.
//!
//! # Cancel safety at a glance
//!
//! | Method                  | Cancel safe | What a dropped call leaves behind                                 |
//! |-------------------------|-------------|-------------------------------------------------------------------|
//! | `put`                   | no          | the item was not inserted, and is dropped with the future: lost. A slot given to it goes on to the next putter |
//! | `reserve`, `reserve_owned` | yes      | nothing: no slot held; a slot given to it goes on to the next putter |
//! | `get`                   | yes         | nothing: no item was taken; an item set aside for it goes on       |
//! | `join`                  | yes         | nothing                                                           |
//! | a stream's `next()`     | yes         | nothing: the stream keeps its place in line but holds no item; when its turn comes it is only woken, and the item stays free for any consumer |
//!
//! A permit holds one slot until it is used ([`QueuePermit::put`], which neither waits nor
//! fails) or dropped (the slot goes to the first waiting putter). `put`, `reserve` and `get`
//! queue for fairness: a cancelled call loses its place in line.
//!
//! # Design
//!
//! All three kinds are one private core, generic over the buffer that orders the items
//! (`VecDeque`, a stack, or a binary heap with an arrival counter to keep equal items in
//! order). One `std::sync::Mutex` guards the buffer, the lists of parked getters and putters,
//! the reservations and the shutdown flag; it is held for a few instructions, never across an
//! `.await`, and wakers are woken after it is released.
//!
//! **Hand-offs.** Parked tasks wait in two first-come, first-served lists that hand a waiter
//! off in O(1) and let a waiter that gives up leave in O(1). A put that finds a getter parked
//! inserts the item and wakes exactly the first getter; the woken getter is counted in
//! `woken_getters`, and the first `woken_getters` items of the buffer are set aside for the
//! woken getters: a newcomer (`try_get`, or a `get` that has not waited) may only take an
//! item beyond them. Slots work the same way for putters. The invariants, which hold whenever
//! the lock is free:
//!
//! - no getter is parked while an item is free (`len <= woken_getters` whenever a getter is
//!   parked), and no putter is parked while a slot is free;
//! - `woken_getters` counts exactly the getters notified and not yet run or dropped, and
//!   likewise for putters;
//! - after shutdown, no putter is parked, and a getter is parked only while every item left
//!   is set aside for a woken getter that may yet pass it on, or a permit held since before
//!   the shutdown may still put an item; the last item taken (or permit dropped) wakes them
//!   all to fail.
//!
//! Permits are slots counted in `permits`: not free, not yet items. A stream waits in the same
//! list as the `get`s, but its ticket is marked: when it is notified nothing is set aside for
//! it (it may never be polled again), and the hand-off goes on to the next getter in line. So
//! `len` (items not set aside) and `is_full` (no slot that is not an item, a permit or set
//! aside) are exactly what `try_get` and `try_put` see.
//!
//! The price of streams holding nothing: when an item arrives and only streams wait, every
//! stream ahead of the first waiting `get` is woken for it (the first to run takes it, the
//! others wait again at the back of the line), where a `get` would have been woken alone.
//! The alternative, a reservation per woken stream, let an idle stream hold items while
//! `get`s waited: a stream's `next()` future can be dropped without the stream hearing of it,
//! so the queue could never tell an idle stream from one about to run.
//!
//! A woken getter that is dropped before it runs takes itself off the count and, if an item
//! is now free, wakes the next parked getter in its place: the wake-up is passed on, never
//! lost. A parked getter that is dropped simply leaves the list.
//!
//! **Counting.** `join` needs "every item put was marked done" and `task_done` needs "not more
//! than taken". Both are answered from three counters in atomics, so `task_done` never takes
//! the lock: `accepted` and `taken` are written only under the lock (a plain store, no atomic
//! read-modify-write), `done` is bumped by `task_done` with one compare-and-swap. `join`
//! registers on a [`Notify`](tokio::sync::Notify) with check, register, re-check, and
//! `task_done` touches the `Notify` only when a `join` is registered.
//!
//! **Alternatives measured** (1 producer, 4 consumers, capacity 100, 1M items with
//! `task_done` and `join`, a 2-worker runtime on a 2-core machine). A prototype that scanned
//! the waiters on every put and get and kept `task_done`'s count under a second lock cost about
//! 35% more than this design. With the lock-free counters kept as read-modify-write atomics
//! (`fetch_add` on put and get) the queue took about 1.4-1.5x flume's time; writing `accepted`
//! and `taken` under the lock instead brought it to about 1.1-1.2x flume at the time; later
//! work on the wake-ups brought it below both on one thread (0.79x flume, 0.72x
//! async-channel; `BENCHMARKS.md` has the current figures, including two-worker rows where
//! async-channel is faster). What gap remains on two workers is the price of the line: flume and
//! async-channel let a running task take an item that a woken one was about to get
//! ("barging"), which parks fewer tasks under load but lets a newcomer overtake; corral keeps
//! the line, which is what asyncio users expect of a queue. A pair of semaphores (slots and
//! items, as Tokio's bounded `mpsc` does) was not chosen because the buffer still needs its own
//! lock, `task_done`'s count would sit beside them, and `shutdown_immediate` must change all
//! three at once. Handing each waiter its item through a slot of its own (a oneshot per
//! waiter) allocates per wait; the reservation count needs no allocation once the waiter lists
//! have grown.

mod api;
mod buffer;
mod core;
mod error;
mod fifo;
mod lifo;
mod priority;

pub use error::{GetError, PutError, TaskDoneError, TryGetError, TryPutError, ZeroCapacityError};
pub use fifo::{OwnedQueuePermit, Queue, QueuePermit, QueueStream};
pub use lifo::{LifoQueue, LifoQueuePermit, LifoQueueStream, OwnedLifoQueuePermit};
pub use priority::{
    OwnedPriorityQueuePermit, PriorityQueue, PriorityQueuePermit, PriorityQueueStream,
};
