//! Synchronization primitives: asyncio's `Event`, `Condition` and `Barrier`, and Tokio's
//! locks and semaphores under the names a Tokio user expects.
//!
//! | asyncio                              | corral                                              |
//! |--------------------------------------|-----------------------------------------------------|
//! | `asyncio.Event`                      | [`Event`]                                           |
//! | `asyncio.Condition` (+ its lock)     | [`Condition<T>`](Condition), which owns the data    |
//! | `asyncio.Barrier`                    | [`Barrier`]                                         |
//! | `asyncio.BrokenBarrierError`         | [`BrokenBarrier`]                                   |
//! | `asyncio.Lock`                       | [`Mutex<T>`](Mutex) (Tokio's, re-exported)          |
//! | `asyncio.Semaphore` / `BoundedSemaphore` | [`Semaphore`] (Tokio's, re-exported)            |
//! | a cancellation flag / `Event` for shutdown | [`CancellationToken`] (tokio-util's, re-exported) |
//! | `async with sem:` | `let _permit = sem.acquire().await?;` (see [below](#semaphore-permits-let-_permit-not-let-_)) |
//! | `while not pred: await cond.wait()` | `while !pred(&guard) { guard = guard.wait().await }` (see [`Condition`]) |
//! | `asyncio.Future()` + `fut.set_result(v)` / `await fut` | [`tokio::sync::oneshot`]: `let (tx, rx) = oneshot::channel(); tx.send(v); rx.await?` |
//!
//! # Choosing a primitive
//!
//! - **Something happened, and everyone may go on** (ready, started, shutting down): an
//!   [`Event`]. It stays set until cleared, so late comers go straight through. For a
//!   shutdown signal that spreads to child tasks, a [`CancellationToken`] is the better fit
//!   (it cannot be un-set, and it has child tokens).
//! - **Wake one task to take one thing**: a [`Notify`] if a stored permit is what you want
//!   (a `notify_one` with nobody waiting is kept for the next waiter); a [`Semaphore`] if
//!   the "things" are countable.
//! - **Wait until some shared state satisfies a predicate**, with several kinds of waiters
//!   and updaters (a bounded buffer, a state machine, "at least n workers idle"): a
//!   [`Condition`]. It owns the state, so nobody can change it without the lock, and it
//!   releases the lock while waiting.
//! - **N tasks move through phases in step**: a [`Barrier`].
//! - **Exclusive or shared access to data across `.await`**: [`Mutex`] or [`RwLock`]. For
//!   data only touched between awaits, `std::sync::Mutex` is faster.
//! - **A stream of values or a latest value**: not here; see `crate::queue`, or Tokio's
//!   `mpsc` and `watch`.
//!
//! # Semaphore permits: `let _permit`, not `let _`
//!
//! asyncio's `async with sem:` holds the permit until the block ends. In Rust the permit is
//! the [`SemaphorePermit`] guard, held for as long as the variable it is bound to lives. Bind
//! it to a named variable, conventionally `_permit`: the leading underscore silences the
//! unused-variable lint and keeps the guard alive to the end of the scope. `let _ = ...`
//! binds nothing: the permit is dropped, and released, on the same line.
//!
//! ```
//! use corral::sync::Semaphore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sem = Semaphore::new(1);
//!
//! let _ = sem.acquire().await?; // released at once: this holds nothing
//! assert_eq!(sem.available_permits(), 1);
//!
//! {
//!     let _permit = sem.acquire().await?; // held to the end of the block
//!     assert_eq!(sem.available_permits(), 0);
//!     assert!(sem.try_acquire().is_err());
//! }
//! assert_eq!(sem.available_permits(), 1); // released when `_permit` went out of scope
//! # Ok(())
//! # }
//! ```
//!
//! # Futures set by hand: `oneshot`
//!
//! asyncio's `loop.create_future()`, resolved elsewhere with `set_result` (or
//! `set_exception`) and awaited once, is Tokio's [`oneshot`](tokio::sync::oneshot) channel:
//! the `Sender` is the setter, the `Receiver` the awaitable. Dropping the sender unset is
//! seen by the receiver as an error, where asyncio would wait forever.
//!
//! ```
//! use tokio::sync::oneshot;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (set_result, fut) = oneshot::channel::<Result<u32, String>>();
//! tokio::spawn(async move {
//!     let _ = set_result.send(Ok(42)); // fut.set_result(42); Err(..) is set_exception
//! });
//! assert_eq!(fut.await?, Ok(42));
//! # Ok(())
//! # }
//! ```
//!
//! # Cancel safety at a glance
//!
//! | Future                          | If dropped mid-wait                                          |
//! |---------------------------------|--------------------------------------------------------------|
//! | [`Event::wait`]                 | nothing is lost; the event is unchanged                      |
//! | [`Condition::lock`]             | loses its place in the lock's queue                          |
//! | [`ConditionGuard::wait`] / [`wait_for`](ConditionGuard::wait_for) | loses its place; a notification it had received passes to the next waiter |
//! | [`Barrier::wait`]               | un-counted if its phase was not yet released; its index is reused |
//!
//! # Design
//!
//! Every primitive here is composed from Tokio's primitives and a small private wait list;
//! there is no `unsafe` code. The invariants, and why each design was chosen:
//!
//! **[`Event`]** is an atomic flag and a [`Notify`]. `set` raises the flag and, if it was
//! not raised, calls [`Notify::notify_waiters`], which wakes every waiter at once and stores
//! nothing. A wait registers for `notify_waiters` when it is *created* (Tokio's `Notified`
//! observes every `notify_waiters` made after it was created), and checks the flag when
//! polled: so a `set` either is seen through the flag or wakes the registered waiter, and a
//! `set` followed at once by a `clear` still releases everyone who was waiting. A woken
//! waiter never looks at the flag again. The wait costs what `Notify::notified` costs plus
//! one atomic load: no allocation, no lock of its own.
//!
//! **[`Condition`]** is Tokio's [`Mutex<T>`](Mutex) for the data, plus a first-come,
//! first-served list of waiters under its own short (synchronous) lock. Tokio's `Notify`
//! alone cannot do the job: `notify_one` with nobody waiting stores a permit that a later,
//! unrelated waiter would consume, and there is no "wake exactly `n`". So
//! `notify(n)` takes up to `n` waiters off the list under its lock and wakes them after
//! releasing it. A waiter puts itself on the list while it still holds the data lock, and
//! only then unlocks: any notifier that changed the data under the lock therefore finds it
//! there. Whether a waiter was notified is decided under the list's lock, so a waiter that
//! is dropped either leaves the list unnoticed or finds it was notified and passes the
//! notification to the next waiter; "notified" and "dropped" cannot both win.
//!
//! **[`Barrier`]** keeps its count, its free indices and its waiters under one short lock;
//! arriving takes that lock once. The last arrival ends the phase, under the lock: it takes
//! every waiter off the list, bumps a generation counter, and wakes them all after
//! unlocking (one batch wake per phase). A woken waiter sees the generation move with an
//! atomic load and returns without locking. Because the phase is ended and a new one begun
//! inside one critical section, a fast task that waits again cannot slip into the phase
//! being released. A waiter dropped before the release takes itself off the list and
//! returns its index to a free list, so indices stay unique within a phase when waiters are
//! cancelled and replaced; the last arrival then always has index `parties - 1`. Whether a
//! phase ended released or broken (by [`abort`](Barrier::abort) or [`reset`](Barrier::reset))
//! is kept in a small ledger of broken phases that is empty in normal use, rather than in a
//! slot per waiter, so the hot path allocates nothing. Tokio's own `Barrier` (a mutex and a
//! `watch` channel) has no abort, no reset and does not un-count a cancelled waiter, which is
//! why this one is not a wrapper.
//!
//! Measured on a 2-core machine, release build (`barrier` and `event_broadcast` benchmarks):
//! 8 tasks through 10,000 phases take this `Barrier` 0.36–0.52× the time of Tokio's `Barrier`
//! (5–13 ms against 14–30 ms); waking 10,000 tasks parked in [`Event::wait`] costs 1.01–1.04×
//! waking them from `Notify::notified` in most runs, 1.26–1.30× in two (`BENCHMARKS.md`).
//!
//! # Re-exports
//!
//! Tokio's [`Mutex`], [`RwLock`], [`Semaphore`] and [`Notify`], with the guards, permits,
//! futures and errors needed to name them, and tokio-util's [`CancellationToken`], are
//! re-exported unchanged, so that `corral::sync` is the one place to import from.
//!
//! ```
//! use std::sync::Arc;
//! use corral::sync::{CancellationToken, Mutex, Semaphore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let hits = Arc::new(Mutex::new(0));
//! let slots = Arc::new(Semaphore::new(2));
//! let stop = CancellationToken::new();
//!
//! let mut tasks = Vec::new();
//! for _ in 0..4 {
//!     let (hits, slots, stop) = (Arc::clone(&hits), Arc::clone(&slots), stop.clone());
//!     tasks.push(tokio::spawn(async move {
//!         let _slot = slots.acquire().await?;
//!         if !stop.is_cancelled() {
//!             *hits.lock().await += 1;
//!         }
//!         Ok::<_, corral::sync::AcquireError>(())
//!     }));
//! }
//! for task in tasks {
//!     task.await??;
//! }
//! assert_eq!(*hits.lock().await, 4);
//! # Ok(())
//! # }
//! ```

mod barrier;
mod condition;
mod event;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult, BrokenBarrier, ZeroPartiesError};
pub use condition::{Condition, ConditionGuard};
pub use event::{Event, EventWait};

pub use tokio::sync::futures::{Notified, OwnedNotified};
pub use tokio::sync::{
    AcquireError, MappedMutexGuard, Mutex, MutexGuard, Notify, OwnedMappedMutexGuard,
    OwnedMutexGuard, OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard,
    OwnedSemaphorePermit, RwLock, RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
    Semaphore, SemaphorePermit, TryAcquireError, TryLockError,
};
pub use tokio_util::sync::{
    CancellationToken, DropGuard, DropGuardRef, WaitForCancellationFuture,
    WaitForCancellationFutureOwned,
};
