use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::core::{Core, Policy};
use super::error::{BoxError, Failure, Hook, log_failure};
use super::handle::Task;

/// The source named in the reports.
const SOURCE: &str = "BackgroundTasks";

/// Fire-and-forget tasks that are still tracked: the guides' `BackgroundTaskManager`.
///
/// Unlike a [`TaskGroup`](crate::task::TaskGroup), a failing background task cancels nothing:
/// its error or panic goes to the report hook (the crate's [`report`](crate::report) by default, or your
/// callback from [`with_hook`](BackgroundTasks::with_hook)), so none is silently lost.
/// [`len`](BackgroundTasks::len) is exact: a task stops counting the moment it finishes, and
/// its memory is reclaimed then.
///
/// [`shutdown`](BackgroundTasks::shutdown) cancels the [token](BackgroundTasks::token), gives the
/// tasks a grace period to return, aborts the rest and waits until all are gone. Dropping a
/// `BackgroundTasks` aborts every task still running: the tasks outlive the code that spawned
/// them, not their manager.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::task::{BackgroundTasks, BoxError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
/// let token = background.token();
/// background.spawn(async move {
///     // A heartbeat that runs until shutdown.
///     loop {
///         tokio::select! {
///             _ = token.cancelled() => return Ok(()),
///             _ = tokio::time::sleep(Duration::from_secs(1)) => {}
///         }
///     }
/// });
/// assert_eq!(background.len(), 1);
/// background.shutdown(Duration::from_secs(5)).await;
/// assert!(background.is_empty());
/// # Ok(())
/// # }
/// ```
pub struct BackgroundTasks<E = BoxError> {
    core: Arc<Core<E>>,
}

impl BackgroundTasks<BoxError> {
    /// A new manager for tasks that fail with a [`BoxError`], whose failures are logged as
    /// the crate's [`report`](crate::report). For another error type, use [`BackgroundTasks::default`] or
    /// [`BackgroundTasks::with_hook`].
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::BackgroundTasks;
    ///
    /// let background = BackgroundTasks::new();
    /// assert!(background.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<E> Default for BackgroundTasks<E>
where
    E: fmt::Debug + Send + 'static,
{
    /// A new manager for any error type, reporting failures through the crate's [`report`](crate::report).
    fn default() -> Self {
        Self::from_hook(log_failure(SOURCE))
    }
}

impl<E: Send + 'static> BackgroundTasks<E> {
    /// A new manager that hands every failure (error or panic) of its tasks to `hook`.
    ///
    /// The hook runs on the thread where the task failed, so keep it short and non-blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use corral::task::{BackgroundTasks, BoxError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (sink, failures) = mpsc::channel();
    /// let background = BackgroundTasks::<BoxError>::with_hook(move |failure| {
    ///     let _ = sink.send(failure.to_string()); // fails only once nobody reads
    /// });
    /// let task = background.spawn(async { Err::<(), BoxError>("cache refresh failed".into()) });
    /// assert!(matches!(task.await, Err(error) if error.is_failed()));
    /// assert_eq!(failures.try_iter().collect::<Vec<_>>(), ["task failed: cache refresh failed"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_hook<H>(hook: H) -> Self
    where
        H: Fn(Failure<E>) + Send + Sync + 'static,
    {
        Self::from_hook(Arc::new(hook))
    }

    fn from_hook(hook: Hook<E>) -> Self {
        Self {
            core: Core::new(
                Policy::Report,
                CancellationToken::new(),
                Duration::ZERO,
                hook,
                SOURCE,
            ),
        }
    }

    /// Spawns `future` in the background and returns its handle.
    ///
    /// Awaiting the handle is optional: if the task fails, its error goes to the hook either
    /// way, and the handle says [it failed](crate::task::TaskError::is_failed). After
    /// [`shutdown`](BackgroundTasks::shutdown), `future` is dropped unpolled and the returned
    /// task is already cancelled.
    ///
    /// # Panics
    ///
    /// Panics if called outside a Tokio runtime, as `tokio::spawn` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BackgroundTasks, BoxError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
    /// let task = background.spawn(async { Ok(2 + 2) });
    /// assert_eq!(task.await?, 4);
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

    /// How many tasks are running: spawned and not yet finished.
    ///
    /// Exact whenever no spawn is being refused at that moment: a spawn refused after
    /// [`shutdown`](Self::shutdown) counts for an instant before it is undone, so a `len` read
    /// concurrently may include it.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BackgroundTasks, BoxError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
    /// let task = background.spawn(async { Ok(()) });
    /// assert_eq!(background.len(), 1);
    /// task.await?;
    /// assert_eq!(background.len(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.core.live()
    }

    /// Whether no task is running.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BackgroundTasks, BoxError};
    ///
    /// let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
    /// assert!(background.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The token that [`shutdown`](BackgroundTasks::shutdown) (or dropping the manager)
    /// cancels; tasks watch it to stop cleanly.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BackgroundTasks, BoxError};
    ///
    /// let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
    /// let token = background.token();
    /// drop(background);
    /// assert!(token.is_cancelled());
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.core.token.clone()
    }

    /// Stops every task: cancels the [token](BackgroundTasks::token), waits up to `grace` for
    /// the tasks to return, aborts those still running, and waits until all are gone. Tasks
    /// spawned afterwards are refused (dropped unpolled).
    ///
    /// "All" includes the tasks of a [`TaskGroup`](crate::task::TaskGroup) created inside a
    /// background task, which nests in the manager as in a group's task, and the tasks that
    /// [`wait`](crate::task::wait) spawns in one, with every group and `wait` inside those, at
    /// any depth: aborting the background task drops the group (or the `wait`) and aborts its
    /// tasks, and `shutdown` returns only once they have stopped (one mid-step on another
    /// worker finishes that step first). A group or a `wait`'s pending entries handed out of
    /// its background task (sent elsewhere, kept alive) hold the shutdown up until their own
    /// tasks are gone: join, await or drop them.
    ///
    /// Failures during the shutdown go to the hook like any other.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the wait, not the shutdown: the token stays cancelled and new
    /// tasks stay refused; tasks still running are aborted when the manager is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{BackgroundTasks, BoxError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
    /// let stuck = background.spawn(std::future::pending::<Result<(), BoxError>>());
    /// background.shutdown(Duration::from_millis(50)).await;
    /// assert!(matches!(stuck.await, Err(error) if error.is_cancelled()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self, grace: Duration) {
        self.core.shutdown(grace);
        // Failures went to the hook as they happened: nothing is left to return.
        let _ = self.core.wait().await;
    }
}

impl<E> Drop for BackgroundTasks<E> {
    fn drop(&mut self) {
        self.core.report_abandoned();
        self.core.close();
    }
}

impl<E> fmt::Debug for BackgroundTasks<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Read under the lock, formatted after it (the formatter is the caller's code).
        let phase = self.core.lock().phase();
        f.debug_struct("BackgroundTasks")
            .field("live", &self.core.live())
            .field("phase", &phase)
            .finish()
    }
}
