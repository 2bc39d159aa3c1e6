use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::FutureExt;
use tokio::task::{Id, JoinHandle};

use super::error::TaskError;

/// What a child's future produced, as its `JoinHandle` sees it. The error or panic itself went
/// to the supervisor.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    Done(Unclaimed<T>),
    Failed,
    Panicked,
}

/// A task's value on its way to its [`Task`]. If nobody claims it (the `Task` was dropped
/// before or after the task finished), Tokio drops it inside its own `catch_unwind`, where a
/// panic of its destructor would go nowhere: this drops it first, under
/// [`drop_contained`](crate::report::drop_contained), which reports such a panic. Free for a
/// value with no destructor (the check is a constant).
#[derive(Debug)]
pub(crate) struct Unclaimed<T>(Option<T>);

impl<T> Unclaimed<T> {
    #[inline(always)]
    pub(crate) fn new(value: T) -> Self {
        Self(Some(value))
    }

    /// The value, for the `Task` that claims it (always there: it is taken only here).
    #[inline(always)]
    fn claim(mut self) -> Option<T> {
        self.0.take()
    }
}

impl<T> Drop for Unclaimed<T> {
    #[inline(always)]
    fn drop(&mut self) {
        if std::mem::needs_drop::<T>()
            && let Some(value) = self.0.take()
        {
            crate::report::drop_contained(
                "Task",
                "the destructor of a task's unclaimed value",
                value,
            );
        }
    }
}

/// A handle to a task spawned into a [`TaskGroup`] or [`BackgroundTasks`]: await it for the
/// task's value.
///
/// Awaiting a `Task<T>` gives the `T` the task returned, or a [`TaskError`] saying it was
/// cancelled, failed or panicked. The error or panic itself is not handed to this handle: it
/// belongs to the group, which returns it from `join` (or to the hook of
/// [`BackgroundTasks`]), so that exactly one place reports it.
///
/// Dropping a `Task` only lets go of the handle, as with Tokio's `JoinHandle`: the group still
/// owns the task, which keeps running until it finishes or the group cancels it. That is why a
/// `Task` is not `#[must_use]`. The value of a task nobody claims is dropped when both the task
/// has finished and its `Task` is gone; a panic of its destructor then goes to the crate's
/// [`report`](crate::report) (it is not a failure of the task: the task had succeeded).
///
/// [`TaskGroup`]: crate::task::TaskGroup
/// [`BackgroundTasks`]: crate::task::BackgroundTasks
///
/// # Cancel safety
///
/// Awaiting a `Task` is cancel safe: dropping the `.await` (or the `&mut task` borrow being
/// awaited) neither cancels the task nor loses its value, which a later await still gets.
///
/// # Examples
///
/// ```
/// use corral::task::{BoxError, TaskGroup};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let group: TaskGroup<BoxError> = TaskGroup::new();
/// let answer = group.spawn(async { Ok(6 * 7) });
/// let greeting = group.spawn(async { Ok("hello") });
/// group.join().await?;
/// assert_eq!(answer.await?, 42);
/// assert_eq!(greeting.await?, "hello");
/// # Ok(())
/// # }
/// ```
pub struct Task<T> {
    handle: Option<JoinHandle<Outcome<T>>>,
}

impl<T> Task<T> {
    pub(crate) fn new(handle: JoinHandle<Outcome<T>>) -> Self {
        Self {
            handle: Some(handle),
        }
    }

    /// A task that was never started because its group no longer accepts tasks.
    pub(crate) fn refused() -> Self {
        Self { handle: None }
    }

    /// Cancels the task: its future is dropped at its next opportunity, without running
    /// further. Cancelling one task this way is not a failure: its group goes on, and awaiting
    /// this handle gives a [`TaskError`] that [is cancelled](TaskError::is_cancelled) (unless
    /// the task had already finished).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let slow = group.spawn(std::future::pending::<Result<(), BoxError>>());
    /// slow.abort();
    /// group.join().await?; // the group does not fail
    /// assert!(slow.await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn abort(&self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }

    /// Whether the task has finished (returned, failed, panicked or been cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let task = group.spawn(async { Ok(1) });
    /// group.join().await?;
    /// assert!(task.is_finished());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The Tokio task id, or `None` if the task was never started.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let task = group.spawn(async { Ok(tokio::task::id()) });
    /// let id = task.id();
    /// group.join().await?;
    /// assert_eq!(Some(task.await?), id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> Option<Id> {
        self.handle.as_ref().map(JoinHandle::id)
    }
}

impl<T: Send + 'static> Task<T> {
    /// Runs `callback` with the task's outcome when the task finishes, without anyone awaiting
    /// it: asyncio's `task.add_done_callback(...)`.
    ///
    /// The callback gets what awaiting the task would have given: the value, or a
    /// [`TaskError`] saying the task failed, panicked or was cancelled (the error or panic
    /// itself belongs to the group, which returns or reports it). It runs exactly once: at
    /// once, on this thread, if the task has already finished (or was refused by its group);
    /// otherwise on the runtime, in a small task that awaits this one, and never under a
    /// lock of corral's. If that runtime shuts down first, the callback runs as it drops,
    /// with the task's outcome if the task had finished by then, and a cancellation otherwise.
    /// A panic of the callback is caught and goes to the crate's
    /// [`report`](crate::report).
    ///
    /// The callback consumes the handle, so it owns the value: nothing needs `Clone`. To
    /// run several callbacks, call them from one.
    ///
    /// # Panics
    ///
    /// Panics if called outside a Tokio runtime while the task is still running.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BackgroundTasks, BoxError};
    /// use tokio::sync::oneshot;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
    /// let (tell, told) = oneshot::channel();
    /// background.spawn(async { Ok(6 * 7) }).on_done(move |outcome| {
    ///     let _ = tell.send(outcome.ok()); // runs when the task finishes
    /// });
    /// assert_eq!(told.await?, Some(42));
    ///
    /// // Attached to a task that is already finished (here: refused after shutdown), the
    /// // callback runs at once.
    /// background.shutdown(std::time::Duration::ZERO).await;
    /// let refused = background.spawn(async { Ok(0) });
    /// let (tell, mut told) = oneshot::channel();
    /// refused.on_done(move |outcome| {
    ///     let _ = tell.send(outcome.is_err_and(|e| e.is_cancelled()));
    /// });
    /// assert!(told.try_recv()?);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn on_done<F>(mut self, callback: F)
    where
        F: FnOnce(Result<T, TaskError>) + Send + 'static,
    {
        let mut done = DoneCallback {
            callback: Some(callback),
            task: None,
        };
        // Unconstrained: with the coop budget spent, a finished handle would read as pending,
        // and the callback would wait for a watcher instead of running here, at once.
        if self.is_finished()
            && let Some(outcome) = tokio::task::unconstrained(&mut self).now_or_never()
        {
            done.call(outcome);
            return;
        }
        // The watcher holds the task inside the callback's holder: if the runtime drops the
        // watcher before it ran, the holder still gives the callback a value the task had.
        done.task = Some(self);
        // Watched in debug mode, under the callback's name: it runs in the watcher's poll.
        drop(crate::debug::spawn(
            done,
            0,
            std::any::type_name::<F>(),
            std::panic::Location::caller(),
        ));
    }
}

/// A done callback that runs exactly once, and, as a future, the watcher that waits for its
/// task: with the task's outcome, or, if it is dropped first (the runtime shutting down drops
/// the watcher), with what the task has by then: its outcome if it finished (the runtime may
/// shut down before the watcher ran), a cancellation otherwise.
struct DoneCallback<T, F: FnOnce(Result<T, TaskError>)> {
    callback: Option<F>,
    /// The task watched; `None` when the callback runs at once.
    task: Option<Task<T>>,
}

// Never pinned structurally: the callback is only ever moved out, and a `Task` is `Unpin`.
impl<T, F: FnOnce(Result<T, TaskError>)> Unpin for DoneCallback<T, F> {}

impl<T, F: FnOnce(Result<T, TaskError>)> Future for DoneCallback<T, F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let outcome = match self.task.as_mut() {
            Some(task) => ready!(Pin::new(task).poll(cx)),
            None => Err(TaskError::CANCELLED),
        };
        self.task = None;
        self.call(outcome);
        Poll::Ready(())
    }
}

impl<T, F: FnOnce(Result<T, TaskError>)> DoneCallback<T, F> {
    fn call(&mut self, outcome: Result<T, TaskError>) {
        let Some(callback) = self.callback.take() else {
            return;
        };
        crate::report::contain("Task::on_done", "the done callback", || callback(outcome));
    }
}

impl<T, F: FnOnce(Result<T, TaskError>)> Drop for DoneCallback<T, F> {
    fn drop(&mut self) {
        if self.callback.is_none() {
            return;
        }
        // A task that finished has its outcome; unconstrained, as the budget may be spent.
        let outcome = self
            .task
            .take()
            .and_then(|mut task| tokio::task::unconstrained(&mut task).now_or_never());
        self.call(outcome.unwrap_or(Err(TaskError::CANCELLED)));
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(handle) = self.handle.as_mut() else {
            return Poll::Ready(Err(TaskError::CANCELLED));
        };
        Poll::Ready(match ready!(Pin::new(handle).poll(cx)) {
            Ok(Outcome::Done(value)) => value.claim().ok_or(TaskError::CANCELLED),
            Ok(Outcome::Failed) => Err(TaskError::FAILED),
            Ok(Outcome::Panicked) => Err(TaskError::PANICKED),
            Err(err) if err.is_cancelled() => Err(TaskError::CANCELLED),
            // The child catches its own panics; this is a panic in its destructor.
            Err(_) => Err(TaskError::PANICKED),
        })
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
