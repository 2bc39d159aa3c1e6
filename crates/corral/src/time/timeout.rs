use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::elapsed::Elapsed;
use super::scope::{Timer, poll_scope};

/// Runs `future` with a time limit of `duration`: asyncio's `timeout` / `wait_for`.
///
/// Returns the future's output, or [`Elapsed`] if `duration` passes first, in which case the
/// future is dropped (cancelled). The duration counts from the first poll, not from the call,
/// so a timeout built ahead of time does not start early.
///
/// Differences from `tokio::time::timeout`, which this otherwise matches in cost:
/// - nested deadlines: when this and an enclosing [`timeout`] or [`Deadline`] expire
///   together, the outermost reports and the code between them does not run;
/// - a zero duration fires at the first await: a future that completes without waiting still
///   completes, one that waits gets `Elapsed` at once;
/// - dropping the future is cancellation, never reported as a timeout;
/// - `Duration::MAX` (or any duration past the end of [`Instant`]) means no limit: no timer
///   is armed, where Tokio's fires after about 30 years (which a paused clock reaches at once
///   when nothing else can run).
///
/// [`Deadline`]: crate::time::Deadline
///
/// # Cancel safety
///
/// Only cancel safe if `future` is: dropping the `Timeout` drops `future`.
///
/// # Panics
///
/// Polling panics outside a Tokio runtime with the time driver enabled.
///
/// # Examples
///
/// The guides' `fetch_with_timeout`:
///
/// ```
/// use std::time::Duration;
/// use corral::time::timeout;
///
/// async fn fetch_data(url: &str) -> String {
///     tokio::time::sleep(Duration::from_secs(2)).await; // a slow server
///     format!("body of {url}")
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let body = match timeout(Duration::from_secs(1), fetch_data("https://example.com")).await {
///     Ok(body) => body,
///     Err(_elapsed) => "error: timeout".to_string(),
/// };
/// assert_eq!(body, "error: timeout");
/// # Ok(())
/// # }
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        timer: Timer::After { duration },
        deferred: false,
    }
}

/// Runs `future` until `deadline`: like [`timeout`], with an instant instead of a duration.
///
/// A deadline in the past fires at the first await.
///
/// # Cancel safety
///
/// Only cancel safe if `future` is: dropping the `Timeout` drops `future`.
///
/// # Panics
///
/// Polling panics outside a Tokio runtime with the time driver enabled.
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
/// let deadline = Instant::now() + Duration::from_millis(500);
/// let quick = timeout_at(deadline, async { 1 }).await?;
/// let slow = timeout_at(deadline, tokio::time::sleep(Duration::from_secs(1))).await;
/// assert_eq!(quick, 1);
/// assert!(slow.is_err());
/// # Ok(())
/// # }
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        timer: Timer::At { deadline },
        deferred: false,
    }
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::{Timeout, timeout};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let limited: Timeout<_> = timeout(Duration::from_secs(1), async { 5 });
    /// assert_eq!(limited.await?, 5);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        #[pin]
        timer: Timer,
        deferred: bool,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::timeout;
    ///
    /// let limited = timeout(Duration::from_secs(1), std::future::ready(5));
    /// let _inner: &std::future::Ready<i32> = limited.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::timeout;
    ///
    /// let mut limited = timeout(Duration::from_secs(1), std::future::ready(5));
    /// let _inner: &mut std::future::Ready<i32> = limited.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// Takes the wrapped future out, dropping the time limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::timeout;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limited = timeout(Duration::from_secs(1), async { 5 });
    /// assert_eq!(limited.into_inner().await, 5);
    /// # }
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }

    /// The deadline, once known: at once for [`timeout_at`], from the first poll for
    /// [`timeout`]; `None` before then, and for a [`timeout`] without limit
    /// (`Duration::MAX`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::{Instant, timeout, timeout_at};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(timeout_at(at, async {}).deadline(), Some(at));
    /// assert_eq!(timeout(Duration::from_secs(1), async {}).deadline(), None); // not yet polled
    /// # }
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.timer.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut timer = this.timer;
        let expired = timer.as_mut().start();
        let mut future = this.future;
        poll_scope(timer, expired, this.deferred, cx, |cx| {
            future.as_mut().poll(cx)
        })
        .map(|result| result.map_err(|deadline| Elapsed::new(deadline, 0)))
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.timer.deadline())
            .finish()
    }
}
