//! [`Builder`]: a group's grace period, parent token and report hook.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::core::{Core, Policy};
use super::error::{BoxError, Failure, Hook, log_failure};
use super::group::TaskGroup;

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

/// The source named in the reports of a group.
const SOURCE: &str = "TaskGroup";

impl<E> Builder<E> {
    pub(super) fn new() -> Self {
        Self {
            grace: Duration::ZERO,
            parent: None,
            hook: None,
        }
    }
}

impl<E> Builder<E>
where
    E: fmt::Debug + Send + 'static,
{
    /// How long children get, once the group starts cancelling because a task failed or the
    /// token was cancelled from outside, to notice the [token](TaskGroup::token) and return
    /// before they are aborted. Zero (the default) aborts them at once; `Duration::MAX` never
    /// aborts them (they get as long as they take). A [`shutdown`](TaskGroup::shutdown) under
    /// way keeps its own grace, whatever fails meanwhile. The abort comes when the grace ends
    /// whether or not anyone is joining the group then (a group whose `run` or `join` starts
    /// later, or was dropped mid-wait, is aborted on time all the same).
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
    /// let Err(err) = group.join().await else {
    ///     return Err("expected a cancellation from outside".into());
    /// };
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
    /// use std::sync::mpsc;
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (sink, lost) = mpsc::channel();
    /// let group: TaskGroup<BoxError> = TaskGroup::builder()
    ///     .on_failure(move |failure| {
    ///         let _ = sink.send(failure.to_string()); // fails only once nobody reads
    ///     })
    ///     .build();
    /// let task = group.spawn(async { Err::<(), BoxError>("nobody joined me".into()) });
    /// let _ = task.await;
    /// drop(group); // dropped without join: the error goes to the hook
    /// assert_eq!(lost.try_iter().collect::<Vec<_>>(), ["task failed: nobody joined me"]);
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
        TaskGroup::from_core(Core::new(
            Policy::CancelSiblings,
            self.parent.unwrap_or_default(),
            self.grace,
            self.hook.unwrap_or_else(|| log_failure(SOURCE)),
            SOURCE,
        ))
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
