use std::any::Any;
use std::error::Error;
use std::fmt;

use super::indexed::same;

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
/// to the inner `ErrorGroup`. Errors are never flattened, so the shape of the failure is kept;
/// [`leaves`](ErrorGroup::leaves) walks them all.
///
/// Python's `except* T` is [`split_type::<T>()`](ErrorGroup::split_type) (and
/// [`split`](ErrorGroup::split) for any predicate): it gives the matching errors and the
/// rest, each an `ErrorGroup` of the same shape, and [`into_result`](ErrorGroup::into_result)
/// passes on the rest if anything is left.
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
/// let Err(errors) = group.join().await else {
///     return Err("expected both children to fail".into());
/// };
/// assert!(!errors.is_cancelled());
/// assert_eq!(errors.len(), 2); // both failed in the same tick: both are kept
/// assert_eq!(errors.errors()[0].to_string(), "disk full");
/// # Ok(())
/// # }
/// ```
pub struct ErrorGroup<E> {
    errors: Vec<E>,
    cancelled: bool,
    /// The cancellation came from the tasks' runtime shutting down, not from a token.
    runtime_shut_down: bool,
}

impl<E> ErrorGroup<E> {
    pub(crate) fn from_errors(errors: Vec<E>) -> Self {
        Self {
            errors,
            cancelled: false,
            runtime_shut_down: false,
        }
    }

    pub(crate) fn cancelled() -> Self {
        Self {
            errors: Vec::new(),
            cancelled: true,
            runtime_shut_down: false,
        }
    }

    /// Cancelled because the runtime the tasks ran on shut down before they finished.
    pub(crate) fn runtime_shut_down() -> Self {
        Self {
            errors: Vec::new(),
            cancelled: true,
            runtime_shut_down: true,
        }
    }

    /// The errors, in the order they happened (for [`first_ok`](crate::task::first_ok), in
    /// input order).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let outcome = corral::task::first_ok(["a", "b"].map(|e| async move { Err::<(), _>(e) })).await;
    /// let Err(errors) = outcome else { return Err("expected both to fail".into()) };
    /// assert_eq!(errors.errors(), ["a", "b"]);
    /// # Ok(())
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
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let Err(errors) = corral::task::first_ok([async { Err::<(), _>("a") }]).await else {
    ///     return Err("expected it to fail".into());
    /// };
    /// let owned: Vec<&str> = errors.into_errors();
    /// assert_eq!(owned, ["a"]);
    /// # Ok(())
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
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let outcome = corral::task::first_ok([1, 2].map(|e| async move { Err::<(), _>(e) })).await;
    /// let Err(errors) = outcome else { return Err("expected both to fail".into()) };
    /// assert_eq!(errors.iter().sum::<i32>(), 3);
    /// # Ok(())
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
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let Err(errors) = corral::task::first_ok([async { Err::<(), _>("a") }]).await else {
    ///     return Err("expected it to fail".into());
    /// };
    /// assert_eq!(errors.len(), 1);
    /// # Ok(())
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
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let none: Vec<std::future::Ready<Result<(), &str>>> = Vec::new();
    /// let Err(errors) = corral::task::first_ok(none).await else {
    ///     return Err("expected nothing to succeed".into());
    /// };
    /// assert!(errors.is_empty() && !errors.is_cancelled());
    /// # Ok(())
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
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// group.spawn(std::future::pending::<Result<(), BoxError>>());
    /// group.token().cancel(); // from outside
    /// let Err(errors) = group.join().await else { return Err("expected a cancellation".into()) };
    /// assert!(errors.is_cancelled());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Whether the group was cancelled because the runtime its tasks ran on shut down before
    /// they finished (then [`is_cancelled`](Self::is_cancelled) is true too): the tasks did not
    /// fail and were not cancelled by anyone, they were dropped with their runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// let first = tokio::runtime::Builder::new_current_thread().build()?;
    /// let group = first.block_on(async {
    ///     let group: TaskGroup<BoxError> = TaskGroup::new();
    ///     group.spawn(std::future::pending::<Result<(), BoxError>>());
    ///     group
    /// });
    /// drop(first); // the runtime shuts down with the task unfinished
    /// let second = tokio::runtime::Builder::new_current_thread().build()?;
    /// let Err(errors) = second.block_on(group.join()) else {
    ///     return Err("expected nothing to run to the end".into());
    /// };
    /// assert!(errors.is_runtime_shut_down() && errors.is_cancelled());
    /// assert_eq!(errors.to_string(), "task group cancelled: its tasks' runtime shut down");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_runtime_shut_down(&self) -> bool {
        self.runtime_shut_down
    }
}

impl<E> ErrorGroup<E> {
    /// A group of these errors, in this order: for a combinator of your own, for tests, or to
    /// pass on errors after an `except*` chain (see [`split`](Self::split)).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::ErrorGroup;
    ///
    /// let errors = ErrorGroup::new(vec!["disk full", "timed out"]);
    /// assert_eq!(errors.len(), 2);
    /// assert!(!errors.is_cancelled());
    /// let same: ErrorGroup<&str> = ["disk full", "timed out"].into_iter().collect();
    /// assert_eq!(same.errors(), errors.errors());
    /// ```
    pub fn new(errors: Vec<E>) -> Self {
        Self::from_errors(errors)
    }

    /// `Ok(())` if this group holds nothing (no error, and not [cancelled](Self::is_cancelled)),
    /// else `Err(self)`: the last step of an `except*` chain, which passes on what no branch
    /// handled (Python re-raises it).
    ///
    /// # Errors
    ///
    /// `self`, unless it holds nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::ErrorGroup;
    ///
    /// let (_handled, rest) = ErrorGroup::new(vec![1, 2]).split(|n| *n < 10);
    /// assert!(rest.into_result().is_ok()); // every error was handled
    /// let (_handled, rest) = ErrorGroup::new(vec![1, 20]).split(|n| *n < 10);
    /// assert_eq!(rest.into_result().map_err(|rest| rest.into_errors()), Err(vec![20]));
    /// ```
    pub fn into_result(self) -> Result<(), Self> {
        if self.holds_nothing() {
            Ok(())
        } else {
            Err(self)
        }
    }

    fn holds_nothing(&self) -> bool {
        self.errors.is_empty() && !self.cancelled
    }
}

impl<E: 'static> ErrorGroup<E> {
    /// Splits the group by `predicate` into the errors that match and the rest, keeping the
    /// nesting: what Python's `except*` (and `ExceptionGroup.split`) is made of.
    ///
    /// `predicate` sees each *leaf* error once, in order. An error that is itself a group (an
    /// `ErrorGroup<BoxError>` boxed into an `ErrorGroup<BoxError>`, as a child that returns an
    /// inner group's errors with `?` puts it) is not a leaf: it is split in turn, its matching
    /// leaves go to the matching side inside a nested group of the same shape, the others to
    /// the rest inside another, and a nested side left with nothing is dropped. Each leaf ends
    /// up on exactly one side; both sides keep the order of the original. A nested group that
    /// holds nothing to begin with (no error, not cancelled: what
    /// [`first_ok`](crate::task::first_ok) over no futures fails with) is still a failure: it
    /// goes to the rest whole, and `predicate` is not asked about it.
    ///
    /// Cancellation is not an error and matches nothing: a group that was
    /// [cancelled](Self::is_cancelled) gives an empty, not-cancelled matching side and the rest
    /// is cancelled, at every level of nesting. Unlike Python, `predicate` is never asked about
    /// a nested group as a whole, so the matching side's leaves all satisfy it.
    ///
    /// For boxed errors, [`split_type`](Self::split_type) splits by the type of the error.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::ErrorGroup;
    ///
    /// let errors = ErrorGroup::new(vec![404, 500, 403, 503]);
    /// let (client, server) = errors.split(|status| *status < 500);
    /// assert_eq!(client.errors(), [404, 403]);
    /// assert_eq!(server.errors(), [500, 503]);
    /// ```
    ///
    /// Nesting is kept on both sides:
    ///
    /// ```
    /// use corral::task::{BoxError, ErrorGroup};
    ///
    /// let inner: BoxError = Box::new(ErrorGroup::<BoxError>::new(vec!["a1".into(), "b1".into()]));
    /// let outer = ErrorGroup::<BoxError>::new(vec!["a0".into(), inner, "b0".into()]);
    /// let (a, b) = outer.split(|leaf| leaf.to_string().starts_with('a'));
    /// // a = [a0, [a1]], b = [[b1], b0]
    /// assert_eq!(a.len(), 2);
    /// let a_inner = a.errors()[1].downcast_ref::<ErrorGroup<BoxError>>().ok_or("nested")?;
    /// assert_eq!(a_inner.errors()[0].to_string(), "a1");
    /// let leaves: Vec<String> = b.leaves().map(ToString::to_string).collect();
    /// assert_eq!(leaves, ["b1", "b0"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split<P>(self, mut predicate: P) -> (Self, Self)
    where
        P: FnMut(&E) -> bool,
    {
        self.split_with(&mut predicate)
    }

    /// Every leaf error, depth first, in order: the errors of nested groups (see
    /// [`split`](Self::split)) in place of the groups themselves.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, ErrorGroup};
    ///
    /// let inner: BoxError = Box::new(ErrorGroup::<BoxError>::new(vec!["b".into(), "c".into()]));
    /// let outer = ErrorGroup::<BoxError>::new(vec!["a".into(), inner, "d".into()]);
    /// assert_eq!(outer.len(), 3);
    /// let leaves: Vec<String> = outer.leaves().map(ToString::to_string).collect();
    /// assert_eq!(leaves, ["a", "b", "c", "d"]);
    /// ```
    pub fn leaves(&self) -> impl Iterator<Item = &E> + '_ {
        let mut stack = vec![self.errors.iter()];
        std::iter::from_fn(move || {
            loop {
                let top = stack.last_mut()?;
                let Some(error) = top.next() else {
                    stack.pop();
                    continue;
                };
                match as_group(error) {
                    Some(group) => stack.push(group.errors.iter()),
                    None => return Some(error),
                }
            }
        })
    }

    fn split_with(self, predicate: &mut dyn FnMut(&E) -> bool) -> (Self, Self) {
        let mut matching = Vec::new();
        let mut rest = Vec::new();
        let nesting = Nesting::<E>::of();
        for error in self.errors {
            let leaf = match &nesting {
                Some(nesting) => match nesting.open(error) {
                    // A nested group with no error and no cancellation (what `first_ok` over
                    // no futures fails with) is a failure in its own right, and splitting it
                    // would leave nothing on either side: it stays whole, with the rest.
                    Ok(group) if group.holds_nothing() => {
                        rest.push(nesting.close(group));
                        continue;
                    }
                    Ok(group) => {
                        let (yes, no) = group.split_with(predicate);
                        if !yes.holds_nothing() {
                            matching.push(nesting.close(yes));
                        }
                        if !no.holds_nothing() {
                            rest.push(nesting.close(no));
                        }
                        continue;
                    }
                    Err(leaf) => leaf,
                },
                None => error,
            };
            if predicate(&leaf) {
                matching.push(leaf);
            } else {
                rest.push(leaf);
            }
        }
        (
            Self::from_errors(matching),
            Self {
                errors: rest,
                cancelled: self.cancelled,
                runtime_shut_down: self.runtime_shut_down,
            },
        )
    }
}

impl ErrorGroup<BoxError> {
    /// Splits the group into the errors of type `T` and the rest, keeping the nesting: Python's
    /// `except* T`. The matching errors stay boxed; [`leaves_of`](Self::leaves_of) gives them
    /// as `&T`.
    ///
    /// This is [`split`](Self::split) with `|error| error.is::<T>()`: the same rules for nested
    /// groups and cancellation.
    ///
    /// # Examples
    ///
    /// The Python
    ///
    /// ```python
    /// try:
    ///     async with asyncio.TaskGroup() as tg:
    ///         tg.create_task(read_config())   # raises OSError
    ///         tg.create_task(parse_port())    # raises ValueError
    /// except* OSError as eg:
    ///     print(f"{len(eg.exceptions)} I/O errors")
    /// except* ValueError as eg:
    ///     print(f"{len(eg.exceptions)} bad values")
    /// # anything else is re-raised
    /// ```
    ///
    /// ported:
    ///
    /// ```
    /// use std::io;
    /// use std::num::ParseIntError;
    /// use corral::task::{BoxError, ErrorGroup, TaskGroup};
    ///
    /// async fn read_config() -> Result<(), BoxError> {
    ///     Err(io::Error::new(io::ErrorKind::NotFound, "config.toml").into())
    /// }
    ///
    /// async fn parse_port() -> Result<(), BoxError> {
    ///     "eighty".parse::<u16>()?;
    ///     Ok(())
    /// }
    ///
    /// async fn run() -> Result<(), ErrorGroup<BoxError>> {
    ///     let group: TaskGroup<BoxError> = TaskGroup::new();
    ///     group.spawn(read_config());
    ///     group.spawn(parse_port());
    ///     let Err(errors) = group.join().await else { return Ok(()) };
    ///
    ///     let (io_errors, rest) = errors.split_type::<io::Error>(); // except* OSError as eg:
    ///     if !io_errors.is_empty() {
    ///         println!("{} I/O errors", io_errors.leaves().count());
    ///     }
    ///     let (bad_values, rest) = rest.split_type::<ParseIntError>(); // except* ValueError as eg:
    ///     for error in bad_values.leaves_of::<ParseIntError>() {
    ///         println!("bad value: {error}");
    ///     }
    ///     rest.into_result() // anything else is passed on
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// run().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn split_type<T: Error + 'static>(self) -> (Self, Self) {
        self.split(|error| error.is::<T>())
    }

    /// The leaf errors of type `T`, depth first, in order (see [`leaves`](Self::leaves)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use corral::task::{BoxError, ErrorGroup};
    ///
    /// let errors = ErrorGroup::<BoxError>::new(vec![
    ///     io::Error::from(io::ErrorKind::TimedOut).into(),
    ///     "not an io::Error".into(),
    ///     io::Error::from(io::ErrorKind::NotFound).into(),
    /// ]);
    /// let kinds: Vec<io::ErrorKind> = errors.leaves_of::<io::Error>().map(io::Error::kind).collect();
    /// assert_eq!(kinds, [io::ErrorKind::TimedOut, io::ErrorKind::NotFound]);
    /// ```
    pub fn leaves_of<T: Error + 'static>(&self) -> impl Iterator<Item = &T> + '_ {
        self.leaves().filter_map(|error| error.downcast_ref::<T>())
    }
}

impl<E> FromIterator<E> for ErrorGroup<E> {
    fn from_iter<I: IntoIterator<Item = E>>(errors: I) -> Self {
        Self::from_errors(errors.into_iter().collect())
    }
}

/// `error` as a nested group, when `E` is [`BoxError`] and the error is an
/// `ErrorGroup<BoxError>`.
fn as_group<E: 'static>(error: &E) -> Option<&ErrorGroup<E>> {
    let boxed = (error as &dyn Any).downcast_ref::<BoxError>()?;
    let group = boxed.downcast_ref::<ErrorGroup<BoxError>>()?;
    (group as &dyn Any).downcast_ref::<ErrorGroup<E>>()
}

/// How to open an error that is a nested group and box a group back into an error: only when
/// `E` is [`BoxError`], the one error type that can hold a group of itself.
struct Nesting<E> {
    into_box: fn(E) -> BoxError,
    from_box: fn(BoxError) -> E,
    into_group: fn(ErrorGroup<BoxError>) -> ErrorGroup<E>,
    from_group: fn(ErrorGroup<E>) -> ErrorGroup<BoxError>,
}

impl<E: 'static> Nesting<E> {
    fn of() -> Option<Self> {
        Some(Self {
            into_box: same()?,
            from_box: same()?,
            into_group: same()?,
            from_group: same()?,
        })
    }

    /// The group inside `error`, or the leaf back.
    fn open(&self, error: E) -> Result<ErrorGroup<E>, E> {
        match (self.into_box)(error).downcast::<ErrorGroup<BoxError>>() {
            Ok(group) => Ok((self.into_group)(*group)),
            Err(leaf) => Err((self.from_box)(leaf)),
        }
    }

    fn close(&self, group: ErrorGroup<E>) -> E {
        (self.from_box)(Box::new((self.from_group)(group)))
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
            .field("runtime_shut_down", &self.runtime_shut_down)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [] if self.runtime_shut_down => {
                f.write_str("task group cancelled: its tasks' runtime shut down")
            }
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
/// let Err(err) = task.await else { return Err("expected the task to be aborted".into()) };
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
    /// assert!(matches!(late.await, Err(err) if err.is_cancelled()), "never started");
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
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let task = group.spawn(async { Err::<(), BoxError>("no".into()) });
    /// let Err(errors) = group.join().await else { return Err("expected the task to fail".into()) };
    /// assert!(matches!(task.await, Err(err) if err.is_failed()));
    /// assert_eq!(errors.errors()[0].to_string(), "no"); // the error itself is here
    /// # Ok(())
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
    /// assert!(matches!(task.await, Err(err) if err.is_panic()));
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
