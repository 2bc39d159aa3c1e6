//! Structured concurrency: task groups, gathering, racing and waiting.
//!
//! # Coming from asyncio
//!
//! | asyncio | corral | spawns? |
//! |---|---|---|
//! | `async with TaskGroup() as tg: tg.create_task(c)` | [`TaskGroup::run`], [`TaskGroup::spawn`], [`TaskGroup::join`] | yes |
//! | `except* E` / `ExceptionGroup` | [`ErrorGroup`] | |
//! | `await asyncio.gather(*coros)` | [`gather`] | no, polled in place |
//! | `await asyncio.gather(*tasks)` (tasks already created) | [`gather_unpin`] over the handles | no |
//! | `gather(*coros, return_exceptions=True)` | [`gather_settled`] | no |
//! | `for c in as_completed(coros): await c` | [`as_completed`] | no |
//! | `wait(tasks, return_when=FIRST_COMPLETED)` + cancel the rest | [`race`] over futures (a losing task handle is only dropped: its task runs on), or [`wait`] with [`WaitFor::FirstCompleted`] over tasks (dropping `pending` aborts them) | `race`: no; `wait`: yes |
//! | first success among mirrors | [`first_ok`] (over futures, as `race`) | no |
//! | `asyncio.wait(tasks, return_when=...)` | [`wait`] | yes |
//! | `task.cancel()` | [`Task::abort`] | |
//! | `task.add_done_callback(cb)` | [`Task::on_done`] | a watcher, if the task still runs |
//! | the `background_tasks` set + `add_done_callback(discard)` | [`BackgroundTasks`] | yes |
//! | `except CancelledError: await cleanup(); raise` | [`TaskGroup::token`] + [`Builder::cancel_grace`] / [`TaskGroup::shutdown`] | |
//!
//! # Choosing
//!
//! - Work whose results you need together, on the current task: [`gather`] (first error
//!   cancels the rest) or [`gather_settled`] (keep every outcome). These poll the futures
//!   inside the calling task, so the futures may borrow local data and nothing is spawned.
//!   Gathering 100k `JoinHandle`s costs about what awaiting them in a loop does (1.08× the
//!   instructions); over task handles (or any `Unpin` futures), [`gather_unpin`] stores them
//!   as they are instead of pinning them, for a little less (1.05×).
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
//! - **Nothing outlives its group, at any depth.** Dropping a [`TaskGroup`] (or the future of
//!   its `join`) aborts every task it owns, and `join` returns only once every task under the
//!   group has stopped: its own, and those of every group (and `wait`) started inside them,
//!   even when an inner group was dropped with a task mid-step on another worker. (Tasks that
//!   other corral types spawn for their own work, such as a `WorkerPool`'s, belong to those
//!   types.) A [`Spawner`] holds its
//!   group weakly, so a task keeping one does not keep its own group alive.
//! - **No error is silently dropped.** A group returns every error in its [`ErrorGroup`],
//!   including errors that happen in the same tick as the first one (or as a cancellation):
//!   the abort that follows a failure waits for one turn of the scheduler, so on a
//!   current-thread runtime tasks already ready at that instant run and keep their errors, and
//!   on any runtime a task mid-poll on another worker is waited for, its real outcome kept. (On
//!   a multi-thread runtime the turn is the joining task's own: a sibling still queued on
//!   another worker may be aborted before its first poll. It never ran, so it had no error to
//!   lose.) A panic resumes in the code that joins; what can be
//!   returned to nobody (errors collected while a panic resumes, a group dropped unjoined,
//!   every failure of a [`BackgroundTasks`]) goes to a report hook, by default the crate's
//!   [`report`](crate::report) (a `tracing` event, or standard error when no subscriber
//!   records it). Hooks and done callbacks run under `catch_unwind`: a panicking hook is
//!   reported, never resumed in place of a task's panic, and never aborts the process.
//! - **A runtime shutting down is not success.** If the runtime of a group's tasks shuts down
//!   under them, a later `join` returns a cancelled [`ErrorGroup`], not `Ok(())`.
//! - **Nothing new starts once cancelled.** Once a group's token is cancelled (by a failure,
//!   `shutdown`, you, or a parent token), `spawn` drops the future unpolled and returns a task
//!   that is already cancelled.
//! - **Grace periods hold.** The grace given to [`TaskGroup::shutdown`] holds whatever a task
//!   does meanwhile, a failing cleanup included; `Duration::MAX` means "as long as it takes",
//!   for `shutdown`, [`Builder::cancel_grace`] and [`BackgroundTasks::shutdown`].
//! - **No user code under a lock.** Spawning, dropping a refused future, hooks, callbacks and
//!   wake-ups all run with no lock of corral's held; a destructor may spawn into its own group.
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
//! | [`gather`], [`gather_unpin`], [`gather_settled`], [`race`], [`first_ok`] | drops the futures they hold (a dropped task handle leaves its task running) |
//! | [`wait`] | aborts every task it was given or spawned, including a [`Task`] or `JoinHandle` passed in: keep the `Pending` entries (see [`wait`]) to keep them running |
//! | [`BackgroundTasks::shutdown`] | the shutdown stays in effect; tasks are aborted when the manager drops |
//!
//! # Design
//!
//! [`TaskGroup`] and [`BackgroundTasks`] are two faces of one core, which differ only in
//! their failure policy: a group records a failure and cancels the siblings, background tasks
//! hand it to the hook and go on. The core's state is one owned state machine, a phase
//! (`Open`, `Cancelling { abort_at, aborted }`, `Finished`) with what it collected, changed
//! only by a few private transitions (admit, fail, shutdown, cancelled from outside, abort
//! when due, finish, close), each a single step under one lock that returns what the caller
//! must do after releasing it: the handles to abort, the failure to report. `Duration::MAX`
//! grace is an `abort_at` of "never".
//!
//! Each task is a plain Tokio task whose future is wrapped to catch a panic, hand a failure to
//! the core, and count itself out of the core's live word when Tokio drops it (on completion
//! or abort). Spawning admits the task with one atomic step on that word (count plus a
//! "closed" bit: a `TaskTracker` counts, but cannot refuse a task), calls `tokio::spawn` with
//! no lock held, then takes the lock once to record the abort handle (or abort at once if the
//! group began aborting meanwhile). It does not ask the token, which would take the token's
//! mutex: a waker registered with the token when the group is made closes the word from inside
//! `cancel()` (the group's or a parent's), before `cancel()` returns. A waiter finishes the group by closing the word only when
//! no task is alive, so a task admitted before the group finished is always waited for, and
//! none after. Completing tasks never take the lock. The word and the state have loom models.
//!
//! Nesting is tracked, not trusted to `Drop`: while a task is polled, a thread-local names its
//! group; a group created there records the `TaskTracker`s (tokio-util's) of every group above
//! it, and each of its tasks holds a token of each. So an outer `join` waits for every task
//! beneath it, including the task of a dropped inner group that is still finishing a step on
//! another worker. Background tasks are meant to outlive the code that started them, so they
//! nest in nothing; a group created inside a background task nests in its manager, whose
//! `shutdown` then waits for that group's tasks too. The tasks `wait` spawns hold the same
//! tokens as a nested group's, and while one is polled a second thread-local holds its scope,
//! so a group or a `wait` inside it nests too, at any depth (only those tasks set it: the poll
//! of a group's own task is unchanged).
//!
//! That costs a little more than `tokio::spawn` plus awaiting the handles, and less than a
//! `JoinSet` (the `taskgroup` benchmark measures it), where a prototype with a oneshot per
//! task and a registration on the group's token cost 1.5×. The in-place combinators poll only
//! the futures that were woken (`as_completed`, `race`, `first_ok` and `wait` on a
//! `FuturesUnordered`; `gather` once polling in turn stops paying, with a waker per future),
//! so the cost per future stays flat from ten futures to a million.

mod as_completed;
mod background;
mod builder;
mod core;
mod error;
mod gather;
mod group;
mod handle;
pub(crate) mod indexed;
mod live;
mod pinned;
mod race;
mod spawner;
mod state;
mod wait;

pub use as_completed::{AsCompleted, as_completed};
pub use background::BackgroundTasks;
pub use builder::Builder;
pub(crate) use error::panic_message;
pub use error::{BoxError, ErrorGroup, Failure, PanicPayload, TaskError};
pub use gather::{Gather, GatherSettled, GatherUnpin, gather, gather_settled, gather_unpin};
pub use group::TaskGroup;
pub use handle::Task;
pub use race::{FirstOk, Race, first_ok, race};
pub use spawner::Spawner;
pub use wait::{Done, Pending, WaitFor, wait};
