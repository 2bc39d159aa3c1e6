use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::core::{Children, Supervisor, abort_all, spawn_child};
use super::error::{BoxError, ErrorGroup, Failure, Hook, PanicPayload, log_failure};
use super::handle::Task;

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
/// cancelled siblings add nothing to it. Errors of nested groups nest: a child that returns an
/// inner group's `ErrorGroup` (say with `?` into a [`BoxError`]) is one error of the outer
/// group, never flattened into it.
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
/// A group accepts tasks until it starts cancelling or finishes (its `join` or `run` returned).
/// After that, `spawn` drops the future without ever polling it and returns a [`Task`] that is
/// already cancelled. corral hands back a cancelled task rather than an error (asyncio raises
/// `RuntimeError`) because a failing group is an expected state: a child spawning a sibling at
/// the moment another child fails must not need an error path of its own.
///
/// # Dropping
///
/// Dropping the group, or the future of its `join`, `run` or `shutdown`, aborts every child:
/// nothing outlives its group. Errors the group held and no one received go to the report hook.
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
    shared: Arc<Shared<E>>,
}

/// A cheap, clonable handle that spawns into a [`TaskGroup`], for children that spawn their
/// siblings.
///
/// A `Spawner` holds its group weakly: a child holding one does not keep its group alive, so
/// dropping the `TaskGroup` still aborts everything. Spawning through a `Spawner` whose group is
/// gone, cancelling or finished drops the future unpolled and returns a cancelled [`Task`].
///
/// # Examples
///
/// A crawler whose tasks discover more work:
///
/// ```
/// use corral::task::{BoxError, Spawner, TaskGroup};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// fn visit(spawner: Spawner, depth: u32, seen: Arc<AtomicUsize>) {
///     let next = spawner.clone();
///     spawner.spawn(async move {
///         seen.fetch_add(1, Ordering::Relaxed);
///         if depth > 0 {
///             visit(next.clone(), depth - 1, seen.clone());
///             visit(next, depth - 1, seen);
///         }
///         Ok(())
///     });
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let seen = Arc::new(AtomicUsize::new(0));
/// let group: TaskGroup<BoxError> = TaskGroup::new();
/// visit(group.spawner(), 3, seen.clone());
/// group.join().await?;
/// assert_eq!(seen.load(Ordering::Relaxed), 15); // 1 + 2 + 4 + 8
/// # Ok(())
/// # }
/// ```
pub struct Spawner<E = BoxError> {
    shared: Weak<Shared<E>>,
}

/// Configures a [`TaskGroup`]: grace period, parent token and report hook.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::task::{BoxError, TaskGroup};
/// use tokio_util::sync::CancellationToken;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = CancellationToken::new();
/// let group: TaskGroup<BoxError> = TaskGroup::builder()
///     .parent_token(&app)
///     .cancel_grace(Duration::from_secs(1))
///     .on_failure(|failure| eprintln!("lost: {failure}"))
///     .build();
/// group.spawn(async { Ok(()) });
/// group.join().await?;
/// # Ok(())
/// # }
/// ```
pub struct Builder<E = BoxError> {
    grace: Duration,
    parent: Option<CancellationToken>,
    hook: Option<Hook<E>>,
}

struct Shared<E> {
    children: Children<State<E>>,
    token: CancellationToken,
    grace: Duration,
    hook: Hook<E>,
}

struct State<E> {
    phase: Phase,
    errors: Vec<E>,
    panics: Vec<PanicPayload>,
    /// When the group started cancelling, for the grace period.
    cancel_started: Option<Instant>,
    /// `shutdown` cancelled the token: not a cancellation from outside.
    shutdown: bool,
    /// The token was found cancelled while work was still running.
    cancelled_running: bool,
    /// The remaining children have been aborted.
    aborted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    Cancelling,
    Closed,
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
        Builder {
            grace: Duration::ZERO,
            parent: None,
            hook: None,
        }
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
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        self.shared.spawn(future)
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
        Spawner {
            shared: Arc::downgrade(&self.shared),
        }
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
        self.shared.token.clone()
    }

    /// How many of the group's tasks are alive: spawned and not yet finished or dropped.
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
        self.shared.children.live()
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
    /// [`join`](TaskGroup::join). Use it in `select!` only if that is what you want.
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
    /// let errors = result.expect_err("the child failed");
    /// assert_eq!(errors.errors()[0].to_string(), "upstream refused");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F, T>(&self, body: F) -> Result<T, ErrorGroup<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let shared = &*self.shared;
        let end = {
            let mut body = pin!(body);
            let mut cancelled = pin!(shared.token.cancelled());
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
                shared.fail(None, Failure::Error(error));
                None
            }
            BodyEnd::Panicked(payload) => {
                shared.fail(None, Failure::Panic(payload));
                None
            }
            BodyEnd::Cancelled => {
                shared.children.lock().owner.cancelled_running = true;
                None
            }
        };
        shared.wait_children(shared.grace).await;
        shared.finish(value)
    }

    /// Waits for every task of the group.
    ///
    /// Returns `Ok(())` if all of them succeeded (or were aborted one by one with
    /// [`Task::abort`]), and otherwise the [`ErrorGroup`] of every error that happened. Tasks
    /// may spawn siblings while the group is joining; `join` waits for those too. The first
    /// failure cancels the remaining tasks (after the grace period, if one is set). A panic of
    /// a task resumes here once every other task is gone.
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
    /// let errors = group.join().await.expect_err("task 7 failed");
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
    /// during the shutdown. A panic of a task resumes here.
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
    /// assert!(stubborn.await.expect_err("aborted after the grace").is_cancelled());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(self, grace: Duration) -> Result<(), ErrorGroup<E>> {
        {
            let mut set = self.shared.children.lock();
            let state = &mut set.owner;
            state.shutdown = true;
            if state.phase == Phase::Open {
                state.phase = Phase::Cancelling;
                state.cancel_started = Some(Instant::now());
            }
        }
        self.shared.token.cancel();
        self.shared.wait_children(grace).await;
        self.shared.finish(Some(()))
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        let (handles, errors, panics) = {
            let mut set = self.shared.children.lock();
            set.owner.phase = Phase::Closed;
            let handles = set.take_abort_handles(None);
            let errors = std::mem::take(&mut set.owner.errors);
            let panics = std::mem::take(&mut set.owner.panics);
            (handles, errors, panics)
        };
        self.shared.token.cancel();
        abort_all(handles);
        report(&self.shared.hook, errors, panics);
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.shared.children.lock();
        f.debug_struct("TaskGroup")
            .field("live", &self.shared.children.live())
            .field("phase", &set.owner.phase)
            .field("errors", &set.owner.errors.len())
            .finish()
    }
}

impl<E: Send + 'static> Spawner<E> {
    /// Spawns `future` into the group, like [`TaskGroup::spawn`]; if the group is gone,
    /// cancelling or finished, drops `future` unpolled and returns a cancelled task.
    ///
    /// # Panics
    ///
    /// Panics if called outside a Tokio runtime while the group accepts tasks.
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
    /// group.join().await?;
    /// let late = spawner.spawn(async { Ok(1) });
    /// assert!(late.await.expect_err("group is gone").is_cancelled());
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        match self.shared.upgrade() {
            Some(shared) => shared.spawn(future),
            None => Task::refused(),
        }
    }

    /// The group's cancellation token, or `None` if the group is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let spawner = group.spawner();
    /// assert!(spawner.token().is_some());
    /// drop(group);
    /// assert!(spawner.token().is_none());
    /// ```
    pub fn token(&self) -> Option<CancellationToken> {
        self.shared.upgrade().map(|shared| shared.token.clone())
    }
}

impl<E> Clone for Spawner<E> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<E> fmt::Debug for Spawner<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("group_alive", &(self.shared.strong_count() > 0))
            .finish()
    }
}

impl<E> Builder<E>
where
    E: fmt::Debug + Send + 'static,
{
    /// How long children get, once the group starts cancelling because a task failed or the
    /// token was cancelled from outside, to notice the [token](TaskGroup::token) and return
    /// before they are aborted. Zero (the default) aborts them at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// let group: TaskGroup<BoxError> = TaskGroup::builder()
    ///     .cancel_grace(Duration::from_secs(2))
    ///     .build();
    /// # drop(group);
    /// ```
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Makes the group's token a child of `parent`: cancelling `parent` cancels the group from
    /// outside. The group's own failures never cancel `parent`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let app = CancellationToken::new();
    /// let group: TaskGroup<BoxError> = TaskGroup::builder().parent_token(&app).build();
    /// group.spawn(std::future::pending::<Result<(), BoxError>>());
    /// app.cancel();
    /// let err = group.join().await.expect_err("cancelled from outside");
    /// assert!(err.is_cancelled() && err.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn parent_token(mut self, parent: &CancellationToken) -> Self {
        self.parent = Some(parent.child_token());
        self
    }

    /// Where failures go that the group cannot return: errors collected while a panic is being
    /// resumed, panics after the first, and errors of a group dropped without being joined.
    /// The default sends each failure to the crate's [`report`](crate::report): a `tracing`
    /// error event, or a line on standard error when no subscriber records it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lost = Arc::new(Mutex::new(Vec::new()));
    /// let sink = lost.clone();
    /// let group: TaskGroup<BoxError> = TaskGroup::builder()
    ///     .on_failure(move |failure| sink.lock().unwrap().push(failure.to_string()))
    ///     .build();
    /// let task = group.spawn(async { Err::<(), BoxError>("nobody joined me".into()) });
    /// let _ = task.await;
    /// drop(group); // dropped without join: the error goes to the hook
    /// assert_eq!(*lost.lock().unwrap(), ["task failed: nobody joined me"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_failure<H>(mut self, hook: H) -> Self
    where
        H: Fn(Failure<E>) + Send + Sync + 'static,
    {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Builds the group.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// let group: TaskGroup<BoxError> = TaskGroup::builder().build();
    /// assert!(group.is_empty());
    /// ```
    pub fn build(self) -> TaskGroup<E> {
        TaskGroup {
            shared: Arc::new(Shared {
                children: Children::new(State {
                    phase: Phase::Open,
                    errors: Vec::new(),
                    panics: Vec::new(),
                    cancel_started: None,
                    shutdown: false,
                    cancelled_running: false,
                    aborted: false,
                }),
                token: self.parent.unwrap_or_default(),
                grace: self.grace,
                hook: self.hook.unwrap_or_else(|| log_failure("TaskGroup")),
            }),
        }
    }
}

impl<E> fmt::Debug for Builder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("grace", &self.grace)
            .field("parent", &self.parent.is_some())
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl<E: Send + 'static> Supervisor for Shared<E> {
    type Error = E;
    type State = State<E>;

    fn children(&self) -> &Children<State<E>> {
        &self.children
    }

    fn child_failed(&self, failure: Failure<E>) {
        self.fail(tokio::task::try_id(), failure);
    }
}

impl<E: Send + 'static> Shared<E> {
    fn spawn<F, T>(self: &Arc<Self>, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        spawn_child(self, future, |state| state.phase == Phase::Open)
    }

    /// Records a failure of a child (`me`, its task id) or of the body (`None`) and starts
    /// cancelling.
    fn fail(&self, me: Option<tokio::task::Id>, failure: Failure<E>) {
        let handles = {
            let mut set = self.children.lock();
            let state = &mut set.owner;
            if state.phase == Phase::Closed {
                // Nobody will join: the group was dropped while this child was finishing.
                drop(set);
                (self.hook)(failure);
                return;
            }
            match failure {
                Failure::Error(error) => state.errors.push(error),
                Failure::Panic(payload) => state.panics.push(payload),
            }
            if state.phase == Phase::Open {
                state.phase = Phase::Cancelling;
                state.cancel_started = Some(Instant::now());
            }
            if !state.aborted && self.grace.is_zero() {
                state.aborted = true;
                set.take_abort_handles(me)
            } else {
                Vec::new()
            }
        };
        self.token.cancel();
        abort_all(handles);
        self.children.wake_watchers();
    }

    /// Waits until every child is gone, cancelling them (after `grace`) once the token is
    /// cancelled.
    async fn wait_children(&self, grace: Duration) {
        loop {
            let mut notified = pin!(self.children.idle().notified());
            notified.as_mut().enable();
            let token_cancelled = self.token.is_cancelled();
            let mut grace_end = None;
            let handles = {
                let mut set = self.children.lock();
                if self.children.watch() {
                    set.owner.phase = Phase::Closed;
                    return;
                }
                let state = &mut set.owner;
                if token_cancelled && !state.aborted {
                    state.cancelled_running = true;
                    let started = *state.cancel_started.get_or_insert_with(Instant::now);
                    state.phase = state.phase.max_cancelling();
                    let end = started + grace;
                    if grace.is_zero() || Instant::now() >= end {
                        state.aborted = true;
                        set.take_abort_handles(None)
                    } else {
                        grace_end = Some(end);
                        Vec::new()
                    }
                } else {
                    Vec::new()
                }
            };
            abort_all(handles);
            tokio::select! {
                () = notified => {}
                () = self.token.cancelled(), if !token_cancelled => {}
                () = sleep_until_some(grace_end) => {}
            }
        }
    }

    /// Turns what the group collected into `join`'s result; resumes the first panic.
    fn finish<T>(&self, value: Option<T>) -> Result<T, ErrorGroup<E>> {
        let (errors, panics, cancelled) = {
            let mut set = self.children.lock();
            let state = &mut set.owner;
            state.phase = Phase::Closed;
            (
                std::mem::take(&mut state.errors),
                std::mem::take(&mut state.panics),
                state.cancelled_running && !state.shutdown,
            )
        };
        let mut panics = panics.into_iter();
        if let Some(first) = panics.next() {
            report(&self.hook, errors, panics.collect());
            resume_unwind(first);
        }
        if !errors.is_empty() {
            return Err(ErrorGroup::from_errors(errors));
        }
        match value {
            Some(value) if !cancelled => Ok(value),
            _ => Err(ErrorGroup::cancelled()),
        }
    }
}

impl Phase {
    fn max_cancelling(self) -> Self {
        match self {
            Phase::Open => Phase::Cancelling,
            other => other,
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn report<E>(hook: &Hook<E>, errors: Vec<E>, panics: Vec<PanicPayload>) {
    for error in errors {
        hook(Failure::Error(error));
    }
    for payload in panics {
        hook(Failure::Panic(payload));
    }
}
