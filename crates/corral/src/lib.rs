//! corral: the concurrency patterns of Python's asyncio, on Tokio, done the way Rust can do
//! them.
//!
//! No task leaks out of a group, no error is silently dropped, every wait says whether it is
//! cancel safe, and each pattern costs close to the Tokio primitive under it (the benchmarks in
//! `BENCHMARKS.md` measure each against its anchor and against CPython's asyncio).
//!
//! # Contents
//!
//! - [Coming from asyncio](#coming-from-asyncio): the porting table.
//! - [Choosing a primitive](#choosing-a-primitive).
//! - [Cancel safety at a glance](#cancel-safety-at-a-glance).
//! - [API themes](#api-themes): the conventions every module follows.
//! - [Testing](#testing): the paused clock, poll-level checks, cancellation, mocks.
//! - Modules: [`task`] (structured concurrency), [`time`] (timeouts, deadlines, shield),
//!   [`sync`] (events, conditions, barriers, and Tokio's locks), [`queue`] (joinable queues),
//!   [`report`] (failures nobody can receive).
//!
//! # A first example
//!
//! ```
//! use std::time::Duration;
//! use corral::task::{BoxError, TaskGroup};
//! use corral::time::timeout;
//!
//! async fn fetch(url: &str) -> Result<String, BoxError> {
//!     tokio::time::sleep(Duration::from_millis(50)).await; // simulated I/O
//!     Ok(format!("<html>{url}</html>"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! # tokio::time::pause();
//! let group = TaskGroup::new();
//! let pages: Vec<_> = ["a.example", "b.example"]
//!     .into_iter()
//!     .map(|url| group.spawn(async move { Ok(timeout(Duration::from_secs(1), fetch(url)).await??) }))
//!     .collect();
//! group.join().await?; // the first failure cancels the rest; every error is kept
//! for page in pages {
//!     println!("{}", page.await?);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Coming from asyncio
//!
//! | asyncio | corral |
//! |---|---|
//! | `async with asyncio.TaskGroup() as tg` | [`task::TaskGroup`] ([`run`](task::TaskGroup::run), [`spawn`](task::TaskGroup::spawn), [`join`](task::TaskGroup::join)) |
//! | `ExceptionGroup` | [`task::ErrorGroup`] |
//! | `asyncio.gather(*aws)` | [`task::gather`] |
//! | `gather(*aws, return_exceptions=True)` | [`task::gather_settled`] |
//! | `asyncio.as_completed(aws)` | [`task::as_completed`] |
//! | `asyncio.wait(aws, return_when=...)` | [`task::wait`] with [`task::WaitFor`] |
//! | first completed, cancel the rest | [`task::race`] |
//! | first success among several | [`task::first_ok`] |
//! | `background_tasks` set + `add_done_callback` | [`task::BackgroundTasks`] |
//! | `task.cancel()` / `except CancelledError: cleanup` | [`task::Task::abort`] / [`task::TaskGroup::token`] + grace period |
//! | `asyncio.timeout(s)`, `wait_for(aw, s)` | [`time::timeout`] |
//! | `asyncio.timeout_at(when)` | [`time::timeout_at`] |
//! | one timeout over several awaits, `cm.reschedule()` | [`time::Deadline`] |
//! | `asyncio.shield(aw)` | [`time::shield`] |
//! | `asyncio.Event` | [`sync::Event`] |
//! | `asyncio.Condition` | [`sync::Condition`] (owns the data it guards) |
//! | `asyncio.Barrier` | [`sync::Barrier`] |
//! | `asyncio.Lock`, `asyncio.Semaphore` | [`sync::Mutex`], [`sync::Semaphore`] (Tokio's, re-exported) |
//! | `asyncio.Queue`, `PriorityQueue`, `LifoQueue` | [`queue::Queue`], [`queue::PriorityQueue`], [`queue::LifoQueue`] |
//! | `queue.task_done()` / `queue.join()` / `queue.shutdown()` | the same names on every queue |
//!
//! Where corral chooses differently from asyncio, the item's docs say so in a sentence.
//!
//! # Choosing a primitive
//!
//! - **Run several things and use all the results**: [`task::gather`] if they can run on the
//!   current task (they may borrow; nothing is spawned), a [`task::TaskGroup`] if they should
//!   run in parallel or spawn more work. Both cancel the rest on the first error.
//! - **Take the first result**: [`task::race`]; the first success: [`task::first_ok`]; results
//!   as they come: [`task::as_completed`].
//! - **Bound the time**: [`time::timeout`] for one operation, a [`time::Deadline`] for a budget
//!   shared by several (and moved with `reschedule`).
//! - **Let work finish even if the caller goes away**: [`time::shield`]; long-lived work that
//!   must be tracked and shut down: [`task::BackgroundTasks`].
//! - **Signal a state to many tasks**: [`sync::Event`]. Wait for a condition on shared data:
//!   [`sync::Condition`]. Rendezvous of a fixed number of tasks: [`sync::Barrier`].
//! - **Hand work from producers to consumers with backpressure**: a bounded [`queue::Queue`],
//!   with `task_done`/`join` to know when everything taken is processed, and `shutdown` to stop
//!   consumers without sentinel values.
//!
//! # Cancel safety at a glance
//!
//! Cancelling a future in Rust is dropping it. Every method that returns a future documents,
//! under `# Cancel safety`, what dropping it mid-wait loses, and a test drops it there and checks.
//!
//! | the wait | dropped mid-wait |
//! |---|---|
//! | awaiting a [`task::Task`], [`task::AsCompleted::next`] | nothing lost |
//! | [`task::TaskGroup::join`] | aborts the group's tasks (nothing outlives its group) |
//! | [`time::timeout`], [`time::Deadline::run`] | as cancel safe as the wrapped future |
//! | awaiting a [`time::Shielded`] | nothing lost: the work goes on |
//! | [`sync::Event::wait`] | nothing lost |
//! | [`queue::Queue::get`] / [`queue::Queue::put`] | no item lost, none inserted |
//!
//! # API themes
//!
//! - Tokio's dialect: `try_x` never waits; `x_owned` takes an `Arc<Self>`; errors are small,
//!   one per operation (`TryPutError<T>` gives the item back).
//! - Work is cancelled by dropping it; async cleanup gets a cancellation token and a grace
//!   period, because Rust has no async drop.
//! - Failures nobody can receive (a panic being resumed, a group dropped unjoined, background
//!   and shielded work) are [reported](report): a `tracing` error event, or a line on standard
//!   error when no subscriber records it; [`report::set_hook`] routes or silences them.
//! - Everything is built on Tokio's primitives; the crate has no `unsafe` code.
//!
//! # Testing
//!
//! asyncio's `pytest-asyncio` and `AsyncMock` have Rust counterparts, and corral's own tests
//! use them all (`crates/corral/tests/`).
//!
//! - **An async test** is `#[tokio::test]` (pytest-asyncio's `@pytest.mark.asyncio`).
//! - **Time without waiting**: `#[tokio::test(start_paused = true)]` runs the test on a paused
//!   clock that jumps to the next timer whenever every task is idle, so a 30 s timeout takes no
//!   real time and its timing is exact; `tokio::time::advance(d)` moves the clock by hand.
//!   Never `sleep` to let another task run: the order would depend on the machine's speed.
//! - **Poll-level checks**: `tokio_test::task::spawn(fut)` polls a future by hand, and
//!   `assert_pending!` / `assert_ready!` say exactly what a poll did, for tests where order
//!   matters (is the waiter parked? did `set` wake it?).
//! - **Cancellation** is dropping a future: poll it until it waits, drop it, then check that
//!   nothing was lost (the item is still in the queue, the permit was returned).
//! - **Mocks** (`AsyncMock(return_value=...)`, `assert_awaited_once()`): take what the code calls
//!   as a trait and hand the test a mock; `mockall`'s `#[automock]` writes it, `async fn`
//!   methods included, and `times(1)` is `assert_awaited_once()`. The runnable example is
//!   `examples/testing_mocks.rs`.
//!
//! A timeout, tested on the paused clock, and a cancelled `get` that loses nothing:
//!
//! ```
//! use std::time::Duration;
//! use corral::queue::Queue;
//! use corral::time::timeout;
//! use tokio_test::{assert_pending, assert_ready_eq, task};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // #[tokio::test(start_paused = true)]
//! let start = tokio::time::Instant::now();
//! let slow = timeout(Duration::from_secs(30), std::future::pending::<()>()).await;
//! assert!(slow.is_err());
//! assert_eq!(start.elapsed(), Duration::from_secs(30)); // exact, and instant in real time
//!
//! let queue = Queue::unbounded();
//! let mut get = task::spawn(queue.get());
//! assert_pending!(get.poll()); // the getter waits
//! drop(get); // cancelled mid-wait
//! queue.try_put(1)?;
//! let mut again = task::spawn(queue.get());
//! assert_ready_eq!(again.poll(), Ok(1)); // the item went to the next getter, not lost
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod backend;
pub mod blocking;
pub mod debug;
pub mod flow;
pub mod queue;
pub mod report;
pub mod scope;
pub mod stream;
pub mod sync;
pub mod task;
pub mod time;

mod loom;
mod util;

// Every Rust block of the README compiles and runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
