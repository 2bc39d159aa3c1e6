use std::error::Error;
use std::fmt;

use tokio::time::Instant;

/// A deadline passed before the operation finished.
///
/// An `Elapsed` says which deadline fired: its [instant](Elapsed::deadline), and, for a
/// [`Deadline`](crate::time::Deadline), [which one](Elapsed::is_from). When nested deadlines
/// expire together, the outermost one reports, so the `Elapsed` you get names the scope that
/// actually ran out. Cancellation from outside (dropping the future) is never reported as an
/// `Elapsed`.
///
/// Converts into [`std::io::Error`] of kind [`TimedOut`](std::io::ErrorKind::TimedOut).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::time::timeout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let start = corral::time::Instant::now();
/// let Err(err) = timeout(Duration::from_secs(1), std::future::pending::<()>()).await else {
///     return Err("expected the timeout to fire".into());
/// };
/// assert_eq!(err.deadline(), start + Duration::from_secs(1));
/// assert_eq!(err.to_string(), "deadline elapsed");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    deadline: Instant,
    /// The id of the `Deadline` that fired, or 0 for `timeout`/`timeout_at`.
    source: u64,
}

impl Elapsed {
    pub(crate) fn new(deadline: Instant, source: u64) -> Self {
        Self { deadline, source }
    }

    /// The instant the deadline that fired was set for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::Instant;
    /// use corral::time::timeout_at;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let at = Instant::now() + Duration::from_millis(10);
    /// let Err(err) = timeout_at(at, std::future::pending::<()>()).await else {
    ///     return Err("expected the deadline to fire".into());
    /// };
    /// assert_eq!(err.deadline(), at);
    /// # Ok(())
    /// # }
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether `deadline` is the one that fired.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let request = Deadline::after(Duration::from_secs(10));
    /// let step = Deadline::after(Duration::from_secs(1));
    /// let Err(err) = request.run(step.run(std::future::pending::<()>())).await? else {
    ///     return Err("expected the step's deadline to fire first".into());
    /// };
    /// assert!(err.is_from(&step) && !err.is_from(&request));
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_from(&self, deadline: &crate::time::Deadline) -> bool {
        self.source != 0 && self.source == deadline.id()
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
