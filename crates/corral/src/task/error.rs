use std::any::Any;
use std::error::Error;
use std::fmt;

/// A boxed error that can cross threads: the default error type of [`TaskGroup`] and
/// [`BackgroundTasks`].
///
/// [`TaskGroup`]: crate::task::TaskGroup
/// [`BackgroundTasks`]: crate::task::BackgroundTasks
///
/// # Examples
///
/// ```
/// use corral::task::BoxError;
///
/// fn parse(port: &str) -> Result<u16, BoxError> {
///     Ok(port.parse()?) // any error type converts with `?`
/// }
/// assert!(parse("80").is_ok());
/// assert!(parse("eighty").is_err());
/// ```
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// The payload of a caught panic, as [`std::panic::catch_unwind`] returns it.
///
/// # Examples
///
/// ```
/// use corral::task::{Failure, PanicPayload};
///
/// let payload: PanicPayload = Box::new(String::from("worker crashed"));
/// let failure: Failure<std::io::Error> = Failure::Panic(payload);
/// assert_eq!(failure.panic_message(), Some("worker crashed"));
/// ```
pub type PanicPayload = Box<dyn Any + Send + 'static>;

/// Every error of a group of tasks, in the order they happened: asyncio's `ExceptionGroup`.
///
/// [`TaskGroup::join`]: crate::task::TaskGroup::join
/// [`TaskGroup::run`]: crate::task::TaskGroup::run
/// [`first_ok`]: crate::task::first_ok
///
/// Returned by [`TaskGroup::join`], [`TaskGroup::run`] and [`first_ok`]. An `ErrorGroup` is
/// never empty of meaning: it holds at least one error, or it says the group was
/// [cancelled](ErrorGroup::is_cancelled) from outside with no real error, or (only from
/// [`first_ok`] with no input) it is empty and says so.
///
/// Nested groups nest: a child that returns an inner group's `ErrorGroup` (for example with
/// `?` into a [`BoxError`]) appears as one error of the outer group, and can be downcast back
/// to the inner `ErrorGroup`. Errors are never flattened, so the shape of the failure is kept.
///
/// # Examples
///
/// ```
/// use corral::task::{BoxError, TaskGroup};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let group: TaskGroup<BoxError> = TaskGroup::new();
/// group.spawn(async { Err::<(), BoxError>("disk full".into()) });
/// group.spawn(async { Err::<(), BoxError>("no route to host".into()) });
///
/// let errors = group.join().await.expect_err("both children failed");
/// assert!(!errors.is_cancelled());
/// assert!(errors.len() >= 1); // the first error cancels the other child, if it had not failed yet
/// assert_eq!(errors.errors()[0].to_string(), "disk full");
/// # Ok(())
/// # }
/// ```
pub struct ErrorGroup<E> {
    errors: Vec<E>,
    cancelled: bool,
}

impl<E> ErrorGroup<E> {
    pub(crate) fn from_errors(errors: Vec<E>) -> Self {
        Self {
            errors,
            cancelled: false,
        }
    }

    pub(crate) fn cancelled() -> Self {
        Self {
            errors: Vec::new(),
            cancelled: true,
        }
    }

    /// The errors, in the order they happened (for [`first_ok`](crate::task::first_ok), in
    /// input order).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let errors = corral::task::first_ok(["a", "b"].map(|e| async move { Err::<(), _>(e) }))
    ///     .await
    ///     .expect_err("both fail");
    /// assert_eq!(errors.errors(), ["a", "b"]);
    /// # }
    /// ```
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// Takes the errors out.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let errors = corral::task::first_ok([async { Err::<(), _>("a") }]).await.expect_err("fails");
    /// let owned: Vec<&str> = errors.into_errors();
    /// assert_eq!(owned, ["a"]);
    /// # }
    /// ```
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }

    /// An iterator over the errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let errors = corral::task::first_ok([1, 2].map(|e| async move { Err::<(), _>(e) }))
    ///     .await
    ///     .expect_err("both fail");
    /// assert_eq!(errors.iter().sum::<i32>(), 3);
    /// # }
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, E> {
        self.errors.iter()
    }

    /// How many errors there are.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let errors = corral::task::first_ok([async { Err::<(), _>("a") }]).await.expect_err("fails");
    /// assert_eq!(errors.len(), 1);
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are no errors (the group was cancelled, or
    /// [`first_ok`](crate::task::first_ok) had no input).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let none: Vec<std::future::Ready<Result<(), &str>>> = Vec::new();
    /// let errors = corral::task::first_ok(none).await.expect_err("nothing succeeded");
    /// assert!(errors.is_empty() && !errors.is_cancelled());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether the group was cancelled from outside (its token was cancelled by someone else)
    /// while no task had failed. Such a group reports one plain cancellation, never one
    /// error per cancelled child; a real error always wins over cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// group.spawn(std::future::pending::<Result<(), BoxError>>());
    /// group.token().cancel(); // from outside
    /// let errors = group.join().await.expect_err("cancelled");
    /// assert!(errors.is_cancelled());
    /// # }
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }
}

impl<E> IntoIterator for ErrorGroup<E> {
    type Item = E;
    type IntoIter = std::vec::IntoIter<E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a, E> IntoIterator for &'a ErrorGroup<E> {
    type Item = &'a E;
    type IntoIter = std::slice::Iter<'a, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl<E: fmt::Debug> fmt::Debug for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorGroup")
            .field("errors", &self.errors)
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [] if self.cancelled => f.write_str("task group cancelled"),
            [] => f.write_str("no task succeeded (there were none)"),
            [only] => write!(f, "1 task failed: {only}"),
            [first, rest @ ..] => write!(f, "{} tasks failed; first: {first}", rest.len() + 1),
        }
    }
}

// Bounded on `Debug + Display` rather than `Error` so that `ErrorGroup<BoxError>` is an error
// too (`Box<dyn Error>` does not implement `Error`): that is what lets a child return an inner
// group's errors with `?`. The errors are reached through `errors()`; `Display` shows the first.
impl<E: fmt::Debug + fmt::Display> Error for ErrorGroup<E> {}

/// Why awaiting a [`Task`](crate::task::Task) gave no value.
///
/// The error or panic itself is not here: it belongs to the group (or to the
/// [`BackgroundTasks`](crate::task::BackgroundTasks) hook), which reports it exactly once.
///
/// # Examples
///
/// ```
/// use corral::task::{BoxError, TaskGroup};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let group: TaskGroup<BoxError> = TaskGroup::new();
/// let task = group.spawn(std::future::pending::<Result<(), BoxError>>());
/// task.abort();
/// let err = task.await.expect_err("aborted");
/// assert!(err.is_cancelled());
/// group.join().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskError {
    kind: TaskErrorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TaskErrorKind {
    Cancelled,
    Failed,
    Panicked,
}

impl TaskError {
    pub(crate) const CANCELLED: Self = Self {
        kind: TaskErrorKind::Cancelled,
    };
    pub(crate) const FAILED: Self = Self {
        kind: TaskErrorKind::Failed,
    };
    pub(crate) const PANICKED: Self = Self {
        kind: TaskErrorKind::Panicked,
    };

    /// The task was cancelled before it finished: aborted, cancelled by a failing sibling or a
    /// shutdown, or never started because its group was no longer accepting tasks.
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
    /// let late = spawner.spawn(async { Ok(()) }); // the group has finished
    /// assert!(late.await.expect_err("never started").is_cancelled());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.kind == TaskErrorKind::Cancelled
    }

    /// The task returned an error; the error went to its group.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let task = group.spawn(async { Err::<(), BoxError>("no".into()) });
    /// let errors = group.join().await.expect_err("the task failed");
    /// assert!(task.await.expect_err("failed").is_failed());
    /// assert_eq!(errors.errors()[0].to_string(), "no"); // the error itself is here
    /// # }
    /// ```
    pub fn is_failed(&self) -> bool {
        self.kind == TaskErrorKind::Failed
    }

    /// The task panicked; the panic went to its group, which resumes it in `join`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BackgroundTasks, BoxError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let tasks = BackgroundTasks::<BoxError>::with_hook(|_failure| {});
    /// let task = tasks.spawn(async {
    ///     if true {
    ///         panic!("bug");
    ///     }
    ///     Ok(())
    /// });
    /// assert!(task.await.expect_err("panicked").is_panic());
    /// # }
    /// ```
    pub fn is_panic(&self) -> bool {
        self.kind == TaskErrorKind::Panicked
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            TaskErrorKind::Cancelled => "task was cancelled",
            TaskErrorKind::Failed => "task failed",
            TaskErrorKind::Panicked => "task panicked",
        })
    }
}

impl Error for TaskError {}

/// A failure handed to a report hook: an error or a panic that no caller is left to receive.
///
/// [`BackgroundTasks`](crate::task::BackgroundTasks) reports every failure of its tasks this
/// way. A [`TaskGroup`](crate::task::TaskGroup) uses its hook only for what it cannot return:
/// the errors collected while a panic is being resumed, further panics, and errors of a group
/// dropped without being joined.
///
/// # Examples
///
/// ```
/// use corral::task::Failure;
///
/// let failure: Failure<std::io::Error> = Failure::Panic(Box::new("boom"));
/// assert_eq!(failure.panic_message(), Some("boom"));
/// ```
pub enum Failure<E> {
    /// The task returned this error.
    Error(E),
    /// The task panicked with this payload.
    Panic(PanicPayload),
}

impl<E> Failure<E> {
    /// The panic message, when this is a panic whose payload is a string (as `panic!` makes).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::Failure;
    ///
    /// let error: Failure<&str> = Failure::Error("timeout");
    /// assert_eq!(error.panic_message(), None);
    /// let panic: Failure<&str> = Failure::Panic(Box::new("index out of bounds"));
    /// assert_eq!(panic.panic_message(), Some("index out of bounds"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            Failure::Error(_) => None,
            Failure::Panic(payload) => panic_message(payload.as_ref()),
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => f.debug_tuple("Error").field(e).finish(),
            Failure::Panic(p) => f
                .debug_tuple("Panic")
                .field(&panic_message(p.as_ref()).unwrap_or("<non-string payload>"))
                .finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "task failed: {e}"),
            Failure::Panic(p) => match panic_message(p.as_ref()) {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

/// Where failures that no caller can receive go.
pub(crate) type Hook<E> = std::sync::Arc<dyn Fn(Failure<E>) + Send + Sync + 'static>;

/// The default hook: the crate's [`report`](crate::report), which reaches standard error
/// when no `tracing` subscriber records it.
pub(crate) fn log_failure<E: fmt::Debug>(source: &'static str) -> Hook<E> {
    std::sync::Arc::new(move |failure: Failure<E>| crate::report::report_failure(source, failure))
}
