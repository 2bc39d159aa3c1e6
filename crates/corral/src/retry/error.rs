use std::error::Error;
use std::fmt;

/// Why a [`Retry`](super::Retry) gave up.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::retry::{GiveUp, Retry};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let retry = Retry::fixed(Duration::from_millis(10)).max_attempts(2);
/// let Err(err) = retry.run(|| async { Err::<(), _>("down") }).await else { return Err("expected the run to give up".into()) };
/// assert_eq!(err.reason(), GiveUp::Attempts);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiveUp {
    /// Every attempt allowed by [`max_attempts`](super::Retry::max_attempts) failed.
    Attempts,
    /// The next wait would have crossed [`max_elapsed`](super::Retry::max_elapsed), or would
    /// never end (past the end of Tokio's clock, as `Duration::MAX` is).
    Elapsed,
    /// The error is not one to retry: the predicate of [`when`](super::Retry::when) said no,
    /// or the error says a task was cancelled or panicked.
    NotRetryable,
}

/// The error of [`Retry::run`](super::Retry::run): the last attempt's error, how many attempts
/// were made, and why it stopped.
///
/// Its `Display` is `"gave up after N attempts: <last error>"`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::retry::Retry;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let outcome = Retry::exponential(Duration::from_millis(100))
///     .max_attempts(3)
///     .run(|| async { Err::<(), _>(std::io::Error::other("refused")) })
///     .await;
/// let Err(err) = outcome else { return Err("expected the run to give up".into()) };
/// assert_eq!(err.attempts(), 3);
/// assert_eq!(err.to_string(), "gave up after 3 attempts: refused");
/// let last: std::io::Error = err.into_inner();
/// assert_eq!(last.to_string(), "refused");
/// # Ok(())
/// # }
/// ```
pub struct RetryError<E> {
    last: E,
    attempts: u32,
    reason: GiveUp,
}

impl<E> RetryError<E> {
    pub(crate) fn new(last: E, attempts: u32, reason: GiveUp) -> Self {
        Self {
            last,
            attempts,
            reason,
        }
    }

    /// The error of the last attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let outcome = Retry::fixed(Duration::ZERO).run(|| async { Err::<(), _>(7) }).await;
    /// let Err(err) = outcome else { return Err("expected the run to give up".into()) };
    /// assert_eq!(*err.last(), 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn last(&self) -> &E {
        &self.last
    }

    /// How many attempts were made, the failed last one included (at least 1; a run with no
    /// limit that went on past `u32::MAX` attempts counts `u32::MAX`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let retry = Retry::fixed(Duration::ZERO).max_attempts(5);
    /// let Err(err) = retry.run(|| async { Err::<(), _>("no") }).await else { return Err("expected the run to give up".into()) };
    /// assert_eq!(err.attempts(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why it gave up.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::{GiveUp, Retry};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let retry = Retry::fixed(Duration::ZERO).when(|e: &&str| *e != "fatal");
    /// let Err(err) = retry.run(|| async { Err::<(), _>("fatal") }).await else { return Err("expected the run to give up".into()) };
    /// assert_eq!((err.reason(), err.attempts()), (GiveUp::NotRetryable, 1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn reason(&self) -> GiveUp {
        self.reason
    }

    /// The error of the last attempt, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let outcome = Retry::fixed(Duration::ZERO).run(|| async { Err::<(), _>(7) }).await;
    /// let Err(err) = outcome else { return Err("expected the run to give up".into()) };
    /// assert_eq!(err.into_inner(), 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> E {
        self.last
    }
}

impl<E: fmt::Debug> fmt::Debug for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryError")
            .field("last", &self.last)
            .field("attempts", &self.attempts)
            .field("reason", &self.reason)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "gave up after {} attempt{s}: {}",
            self.attempts, self.last
        )
    }
}

/// `RetryError<BoxError>` is an error too, so `?` works on it in a function returning
/// `BoxError`. Its `Display` already includes the last error, so `source` is left empty rather
/// than repeating it; [`into_inner`](RetryError::into_inner) gives it back.
impl<E: fmt::Debug + fmt::Display> Error for RetryError<E> {}
