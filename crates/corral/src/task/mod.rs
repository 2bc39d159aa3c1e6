//! Structured concurrency: task groups, gathering, racing and waiting.
//!
//! # Coming from asyncio
//!
//! | asyncio | corral | spawns? |
//! |---|---|---|
//! | `async with TaskGroup() as tg: tg.create_task(c)` | [`TaskGroup::run`], [`TaskGroup::spawn`], [`TaskGroup::join`] | yes |
//! | `except* E` / `ExceptionGroup` | [`ErrorGroup`] | |
//! | `await asyncio.gather(*coros)` | [`gather`] | no, polled in place |
//! | `gather(*coros, return_exceptions=True)` | [`gather_settled`] | no |
//! | `for c in as_completed(coros): await c` | [`as_completed`] | no |
//! | `wait(tasks, return_when=FIRST_COMPLETED)` + cancel the rest | [`race`], or [`wait`] with [`WaitFor::FirstCompleted`] | `race`: no; `wait`: yes |
//! | first success among mirrors | [`first_ok`] | no |
//! | `asyncio.wait(tasks, return_when=...)` | [`wait`] | yes |
//! | `task.cancel()` | [`Task::abort`] | |
//! | the `background_tasks` set + `add_done_callback(discard)` | [`BackgroundTasks`] | yes |
//! | `except CancelledError: await cleanup(); raise` | [`TaskGroup::token`] + [`Builder::cancel_grace`] / [`TaskGroup::shutdown`] | |
//!
//! # Choosing
//!
//! - Work whose results you need together, on the current task: [`gather`] (first error
//!   cancels the rest) or [`gather_settled`] (keep every outcome). These poll the futures
//!   inside the calling task, so the futures may borrow local data and nothing is spawned.
//! - Results as they arrive: [`as_completed`]. The first to finish: [`race`]; the first to
//!   succeed: [`first_ok`].
//! - Work that should run in parallel on the runtime's threads, or that spawns more work as it
//!   goes: a [`TaskGroup`]. Nothing spawned into it outlives it; the first failure cancels the
//!   rest; every error is kept.
//! - Tasks you start and then inspect while they run: [`wait`], which hands back the done and
//!   the still-running tasks (dropping a still-running one aborts it).
//! - Fire-and-forget work that must still be tracked, reported and shut down:
//!   [`BackgroundTasks`].
//!
//! # Guarantees
//!
//! - **No task leaks out of a group.** Dropping a [`TaskGroup`] (or the future of its `join`)
//!   aborts every task it owns. A [`Spawner`] holds its group weakly, so a task keeping one
//!   does not keep its own group alive.
//! - **No error is silently dropped.** A group returns every error in its [`ErrorGroup`];
//!   a panic resumes in the code that joins; what can be returned to nobody (errors collected
//!   while a panic resumes, a group dropped unjoined, every failure of a [`BackgroundTasks`])
//!   goes to a report hook, by default the crate's [`report`](crate::report) (a `tracing`
//!   event, or standard error when no subscriber records it).
//! - **Finished tasks are reaped at once.** A task's future and what it captured are dropped
//!   when it completes; the group's abort handles of finished tasks are swept as it grows. A
//!   group that runs a million short tasks one after another holds memory in proportion to the
//!   running ones (a test counts the bytes).
//! - **A group cancels only itself.** A failing group cancels its own token and tasks, never
//!   its parent's; the code that awaited it goes on normally.
//!
//! # Cancel safety at a glance
//!
//! | future | dropped mid-wait |
//! |---|---|
//! | [`Task`] (awaiting a handle) | safe: the task keeps running, its value is kept |
//! | [`AsCompleted::next`] | safe: no output is lost |
//! | [`TaskGroup::join`] / [`run`](TaskGroup::run) / [`shutdown`](TaskGroup::shutdown) | aborts every task of the group (`run` only drops its body) |
//! | [`gather`], [`gather_settled`], [`race`], [`first_ok`] | drops the futures they hold |
//! | [`wait`] | aborts every task it spawned |
//! | [`BackgroundTasks::shutdown`] | the shutdown stays in effect; tasks are aborted when the manager drops |
//!
//! # Design
//!
//! A group's task is a plain Tokio task whose future is wrapped to catch a panic, report a
//! failure, and count itself out of the group when Tokio drops it (on completion or abort).
//! Completing tasks touch only an atomic count, never the group's lock; the group keeps an
//! abort handle per task, swept of finished ones as it grows, and cancels by aborting. That
//! costs less than a `JoinSet` (the `taskgroup` benchmark measures it), where a prototype with
//! a oneshot per task and a registration on the group's token cost 1.5×. The in-place
//! combinators are built on `FuturesUnordered`, so a wake-up polls only the future that was
//! woken and the cost per future stays flat from ten futures to a million.

mod as_completed;
mod background;
mod builder;
mod core;
mod error;
mod gather;
mod group;
mod handle;
mod indexed;
mod race;
mod spawner;
mod state;
mod wait;

pub use as_completed::{AsCompleted, as_completed};
pub use background::BackgroundTasks;
pub use builder::Builder;
pub(crate) use error::panic_message;
pub use error::{BoxError, ErrorGroup, Failure, PanicPayload, TaskError};
pub use gather::{Gather, GatherSettled, gather, gather_settled};
pub use group::TaskGroup;
pub use handle::Task;
pub use race::{FirstOk, Race, first_ok, race};
pub use spawner::Spawner;
pub use wait::{Done, Pending, WaitFor, wait};
