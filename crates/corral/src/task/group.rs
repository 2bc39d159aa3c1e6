//! [`TaskGroup`]: spawn, run, join, shutdown, drop.

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::builder::Builder;
use super::core::Core;
use super::error::{BoxError, ErrorGroup, Failure, PanicPayload};
use super::handle::Task;
use super::spawner::Spawner;

/// Structured concurrency: a scope that owns its tasks, asyncio's `TaskGroup`, trio's nursery.
///
/// Spawn tasks with [`spawn`](TaskGroup::spawn); each returns `Result<T, E>` with its own `T`.
/// Then wait for all of them with [`join`](TaskGroup::join), or run the group's body with
/// [`run`](TaskGroup::run), the equivalent of the block under `async with TaskGroup() as tg:`.
///
/// # Failure
///
/// The first task to return `Err` (or to panic) cancels every sibling and the body's wait.
/// Every error that happened is kept, in order, in the [`ErrorGroup`] that `join` returns;
/// cancelled siblings add nothing to it. Errors that happen together are all kept: the abort
/// after a failure waits one turn of the scheduler, so siblings already ready at that instant
/// run first on a current-thread runtime (on a multi-thread one, a sibling queued on another
/// worker may be aborted before its first poll: it never ran), a sibling mid-step on another
/// worker is waited for, and their errors count; the group still fails at the instant of the
/// first error.
///
/// Errors of nested groups nest: a child that returns an inner group's `ErrorGroup` (say with
/// `?` into a [`BoxError`]) is one error of the outer group, never flattened into it.
///
/// A panic is not an error: once the siblings are cancelled and gone, `join` resumes the
/// original panic. Errors collected meanwhile (and any further panic) go to the group's report
/// hook (the crate's [`report`](crate::report) unless [`Builder::on_failure`] sets another), so nothing is
/// lost.
///
/// Cancelling is aborting: the sibling's future is dropped at its next await. To let children
/// clean up asynchronously first (Rust has no async drop), every group has a
/// [`token`](TaskGroup::token) that is cancelled when the group starts cancelling; set a grace
/// period with [`Builder::cancel_grace`], or use [`shutdown`](TaskGroup::shutdown), and
/// children that watch the token get that long to return before they are aborted.
///
/// A group whose token is cancelled from outside (by you, or through a
/// [parent token](Builder::parent_token)) while work was running, and in which no task failed,
/// ends with one plain cancellation: an `ErrorGroup` that
/// [is cancelled](ErrorGroup::is_cancelled), never one entry per cancelled child. A real error
/// always wins over cancellation. A group only ever cancels itself and its own children: the
/// task that awaited a failed group goes on normally.
///
/// # Spawning into a group that is done
///
/// A group accepts tasks until it starts cancelling (a task failed, its token was cancelled,
/// by you or through a parent token, or `shutdown` began) or finishes (its `join` or `run`
/// returned). After that, `spawn` drops the future without ever polling it and returns a
/// [`Task`] that is already cancelled. corral hands back a cancelled task rather than an error (asyncio raises
/// `RuntimeError`) because a failing group is an expected state: a child spawning a sibling at
/// the moment another child fails must not need an error path of its own.
///
/// # Dropping
///
/// Dropping the group, or the future of its `join`, `run` or `shutdown`, aborts every child:
/// nothing outlives its group. Errors the group held and no one received go to the report hook.
///
/// A group created inside a task of another group is nested in it, at any depth, also inside
/// a future that [`wait`](crate::task::wait) spawned in such a task: the outer group's `join`
/// waits until every task of the inner group has stopped, even one the inner group's `Drop`
/// aborted in the middle of a step on another worker. (So a group that a task hands out of
/// itself, say as its return value, still holds up the group it was created in while its own
/// tasks run.)
///
/// If the runtime the tasks run on shuts down under them, a later `join` returns a cancelled
/// [`ErrorGroup`]: the tasks did not complete.
///
/// A task that finishes is reaped at once: Tokio drops its future, and everything it
/// captured, the moment it completes, and the group's small record of it (an abort handle) is
/// swept as the group grows, so a long-lived group holds memory in proportion to the tasks
/// still running.
///
/// # Comparison to `JoinSet`
///
/// Tokio's `JoinSet` is the primitive under the same idea. A `TaskGroup` adds what asyncio's
/// users expect: a failing task cancels its siblings, errors are collected instead of handed
/// out one by one, panics resume in the owner, finished tasks are reaped without the owner
/// calling `join_next`, tasks can spawn siblings through a [`Spawner`], and each task keeps its
/// own result type behind its [`Task`] handle.
///
/// # Examples
///
/// The guides' `fetch_all`:
///
/// ```
/// use std::time::Duration;
/// use corral::task::{BoxError, TaskGroup};
///
/// async fn fetch_url(url: &str) -> Result<String, BoxError> {
///     tokio::time::sleep(Duration::from_millis(100)).await; // simulate network
///     Ok(format!("Content from {url}"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let urls = ["a.example", "b.example", "c.example"];
/// let group = TaskGroup::new();
/// let tasks: Vec<_> = urls.iter().map(|url| group.spawn(fetch_url(url))).collect();
/// group.join().await?;
///
/// let mut pages = Vec::new();
/// for task in tasks {
///     pages.push(task.await?);
/// }
/// assert_eq!(pages[0], "Content from a.example");
/// # Ok(())
/// # }
/// ```
pub struct TaskGroup<E = BoxError> {
    core: Arc<Core<E>>,
}

enum BodyEnd<T, E> {
    Done(Result<T, E>),
    Panicked(PanicPayload),
    Cancelled,
}

impl TaskGroup<BoxError> {
    /// A new, empty group whose tasks fail with a [`BoxError`]: no grace period, its own
    /// token, failures it cannot return sent to the crate's [`report`](crate::report).
    ///
    /// Like `HashMap::new`, which exists only for the default hasher, `new` exists only for
    /// the default error type, so `TaskGroup::new()` needs no annotation. For another error
    /// type, use [`TaskGroup::default`] or [`TaskGroup::builder`].
    ///
    /// Creating a group needs no runtime; spawning does.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::TaskGroup;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = TaskGroup::new();
    /// group.spawn(async { Ok(()) });
    /// group.join().await?;
    ///
    /// // Another error type:
    /// let io_group: TaskGroup<std::io::Error> = TaskGroup::default();
    /// io_group.spawn(async { Ok(()) });
    /// io_group.join().await?; // an ErrorGroup<io::Error> is an error too
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::builder().build()
    }
}

impl<E> TaskGroup<E>
where
    E: fmt::Debug + Send + 'static,
{
    /// A [`Builder`] to configure the group.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// let group: TaskGroup<BoxError> = TaskGroup::builder()
    ///     .cancel_grace(Duration::from_millis(250))
    ///     .build();
    /// assert!(group.is_empty());
    /// ```
    pub fn builder() -> Builder<E> {
        Builder::new()
    }
}

impl<E> Default for TaskGroup<E>
where
    E: fmt::Debug + Send + 'static,
{
    /// A new, empty group for any error type; see [`TaskGroup::new`].
    fn default() -> Self {
        Self::builder().build()
    }
}

impl<E> TaskGroup<E> {
    pub(super) fn from_core(core: Arc<Core<E>>) -> Self {
        Self { core }
    }
}

impl<E: Send + 'static> TaskGroup<E> {
    /// Spawns `future` as a task of this group and returns its handle.
    ///
    /// The task starts at once, on the current Tokio runtime. If it returns `Err` or panics,
    /// the group cancels every other task and the body. If the group is cancelling or has
    /// finished, `future` is dropped without being polled and the returned task is already
    /// cancelled (see "Spawning into a group that is done" above).
    ///
    /// # Panics
    ///
    /// Panics if called outside a Tokio runtime, as `tokio::spawn` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let len = group.spawn(async { Ok("hello".len()) });
    /// let upper = group.spawn(async { Ok("hello".to_uppercase()) });
    /// group.join().await?;
    /// assert_eq!((len.await?, upper.await?), (5, "HELLO".to_string()));
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        self.core.spawn(future)
    }

    /// A handle that children can use to spawn siblings; it does not keep the group alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let spawner = group.spawner();
    /// group.spawn(async move {
    ///     let sibling = spawner.spawn(async { Ok(1) });
    ///     assert_eq!(sibling.await?, 1);
    ///     Ok(())
    /// });
    /// group.join().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawner(&self) -> Spawner<E> {
        Spawner::new(Arc::downgrade(&self.core))
    }

    /// The group's cancellation token: cancelled when the group starts cancelling (a task
    /// failed, [`shutdown`](TaskGroup::shutdown) was called, the group was dropped, or the
    /// parent token was cancelled).
    ///
    /// Children await `token.cancelled()` to notice cancellation and clean up asynchronously
    /// within the grace period. Cancelling the token yourself cancels the group from outside.
    ///
    /// # Examples
    ///
    /// A child that flushes its buffer before it stops:
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let token = group.token();
    /// let writer = group.spawn(async move {
    ///     token.cancelled().await;
    ///     tokio::time::sleep(Duration::from_millis(10)).await; // async cleanup
    ///     Ok("flushed")
    /// });
    /// group.shutdown(Duration::from_secs(1)).await?;
    /// assert_eq!(writer.await?, "flushed");
    /// # Ok(())
    /// # }
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.core.token.clone()
    }

    /// How many of the group's tasks are alive: spawned and not yet finished or dropped.
    ///
    /// Exact whenever no spawn is being refused at that moment: a spawn refused once the group
    /// was cancelled or finished counts for an instant before it is undone, so a `len` read
    /// concurrently may include it. (Refusing without that instant costs every spawn a
    /// compare-and-swap loop: 12 more instructions a task.)
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let task = group.spawn(async { Ok(()) });
    /// assert_eq!(group.len(), 1);
    /// task.await?;
    /// assert_eq!(group.len(), 0); // reaped as soon as it finished
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.core.live()
    }

    /// Whether no task of the group is alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `body` as the group's body, then waits for every task: the block under
    /// `async with TaskGroup() as tg:`.
    ///
    /// `body` may borrow the group to spawn into it. If a task fails (or panics), `body` is
    /// cancelled (dropped) at its current await; if `body` returns `Err` or panics, the tasks
    /// are cancelled. Either way the remaining tasks are cancelled and awaited, and the result
    /// is `body`'s value, or the [`ErrorGroup`] of everything that failed (the body's error
    /// included, in the order it happened). A panic, of the body or a task, resumes here once
    /// every task is gone.
    ///
    /// After `run` returns, the group accepts no more tasks. Call it (or `join`) once.
    ///
    /// # Cancel safety
    ///
    /// Dropping the `run` future drops `body`, but the group's tasks keep running until the
    /// group itself is dropped (which aborts them) or awaited again with
    /// [`join`](TaskGroup::join). Use it in `select!` only if that is what you want. The
    /// group is then no longer joined: a failure, before or after the drop, cancels and aborts
    /// the siblings as in a group nobody joined yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let result = group
    ///     .run(async {
    ///         group.spawn(async { Err::<(), BoxError>("upstream refused".into()) });
    ///         // The failure above cancels this wait: the body never reaches `Ok`.
    ///         tokio::time::sleep(Duration::from_secs(3600)).await;
    ///         Ok("finished")
    ///     })
    ///     .await;
    /// let Err(errors) = result else {
    ///     return Err("expected the child's failure".into());
    /// };
    /// assert_eq!(errors.errors()[0].to_string(), "upstream refused");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F, T>(&self, body: F) -> Result<T, ErrorGroup<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let core = &self.core;
        core.set_joining();
        let mut joining = Joining { core, done: false };
        let end = {
            let mut body = pin!(body);
            let mut cancelled = pin!(core.token.cancelled());
            poll_fn(|cx| {
                match catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))) {
                    Ok(Poll::Ready(result)) => return Poll::Ready(BodyEnd::Done(result)),
                    Err(payload) => return Poll::Ready(BodyEnd::Panicked(payload)),
                    Ok(Poll::Pending) => {}
                }
                match cancelled.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(BodyEnd::Cancelled),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await
            // `body` is dropped here, before the wait for the children.
        };
        let value = match end {
            BodyEnd::Done(Ok(value)) => Some(value),
            BodyEnd::Done(Err(error)) => {
                core.fail(Failure::Error(error));
                None
            }
            BodyEnd::Panicked(payload) => {
                core.fail(Failure::Panic(payload));
                None
            }
            BodyEnd::Cancelled => {
                core.body_cancelled();
                None
            }
        };
        let collected = core.wait().await;
        joining.done = true;
        core.result(collected, value)
    }

    /// Waits for every task of the group.
    ///
    /// Returns `Ok(())` if all of them succeeded (or were aborted one by one with
    /// [`Task::abort`]), and otherwise the [`ErrorGroup`] of every error that happened. Tasks
    /// may spawn siblings while the group is joining; `join` waits for those too. The first
    /// failure cancels the remaining tasks (after the grace period, if one is set). A panic of
    /// a task resumes here once every other task is gone. A panic of a value a task held, as
    /// it was dropped (on completion or abort), counts as a panic of the task: its payload
    /// went to the [`Task`] handle (and the panic hook printed it), so the one resumed here
    /// says what happened, and the group's errors go to its hook.
    ///
    /// # Cancel safety
    ///
    /// Dropping the `join` future drops the group, which aborts every task: nothing outlives
    /// its group.
    ///
    /// # Errors
    ///
    /// The [`ErrorGroup`] of every task error, or a plain cancellation if the group's token
    /// was cancelled from outside while tasks were running and none failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// for i in 0..10 {
    ///     group.spawn(async move { if i == 7 { Err("seven".into()) } else { Ok(i) } });
    /// }
    /// let Err(errors) = group.join().await else {
    ///     return Err("expected task 7 to fail".into());
    /// };
    /// assert_eq!(errors.len(), 1);
    /// assert_eq!(errors.errors()[0].to_string(), "seven");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn join(self) -> Result<(), ErrorGroup<E>> {
        self.run(async { Ok(()) }).await
    }

    /// Cancels the group and waits for it: cancels its [`token`](TaskGroup::token), gives the
    /// tasks `grace` to return, aborts those still running, and waits until every task is
    /// gone.
    ///
    /// Shutting down is not a failure: the result is `Ok(())` unless a task failed before or
    /// during the shutdown. A panic of a task resumes here. The `grace` holds whatever a task
    /// does meanwhile: a task whose cleanup fails does not cut its siblings' cleanup short.
    /// `Duration::MAX` waits as long as the tasks take.
    ///
    /// # Cancel safety
    ///
    /// Dropping the `shutdown` future drops the group, which aborts every task at once.
    ///
    /// # Errors
    ///
    /// The [`ErrorGroup`] of every task error that happened.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let stubborn = group.spawn(std::future::pending::<Result<(), BoxError>>());
    /// group.shutdown(Duration::from_millis(100)).await?;
    /// // aborted after the grace
    /// assert!(matches!(stubborn.await, Err(error) if error.is_cancelled()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(self, grace: Duration) -> Result<(), ErrorGroup<E>> {
        self.core.shutdown(grace);
        let collected = self.core.wait().await;
        self.core.result(collected, Some(()))
    }
}

/// `run` joins the group from its start; if its future is dropped before the group finished,
/// the group is no longer joined (see [`Core::waiter_gone`]).
struct Joining<'a, E: Send + 'static> {
    core: &'a Arc<Core<E>>,
    done: bool,
}

impl<E: Send + 'static> Drop for Joining<'_, E> {
    fn drop(&mut self) {
        if !self.done {
            self.core.waiter_gone();
        }
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        self.core.report_abandoned();
        self.core.close();
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Read under the lock, formatted after it (the formatter is the caller's code).
        let (phase, errors) = {
            let state = self.core.lock();
            (state.phase(), state.errors())
        };
        f.debug_struct("TaskGroup")
            .field("live", &self.core.live())
            .field("phase", &phase)
            .field("errors", &errors)
            .finish()
    }
}
