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
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod pool;
pub mod queue;
pub mod report;
pub mod retry;
pub mod sync;
pub mod task;
pub mod time;

mod loom;
mod util;
