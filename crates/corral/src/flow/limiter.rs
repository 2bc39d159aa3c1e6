//! `Limiter`: at most `limit` futures running at once, over Tokio's `Semaphore`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::error::ConfigError;

/// A concurrency limit around any future: at most `limit` of the futures passed to
/// [`run`](Self::run) are running at once; the others wait their turn, first come, first
/// served. asyncio's `async with semaphore:` around a call, as one method.
///
/// It is a thin layer over Tokio's [`Semaphore`]: `run` waits for a permit, runs the future
/// holding it, and gives it back when the future finishes or is dropped, so a permit is never
/// lost. `Limiter` is a cheap handle: cloning it shares the same limit (an `Arc` inside).
///
/// To run a list of items through a limit and collect the results, use
/// [`map_concurrent`](super::map_concurrent) instead.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::flow::Limiter;
/// use corral::task::gather;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), std::io::Error> {
/// let limiter = Limiter::new(2);
/// let start = tokio::time::Instant::now();
/// let fetches = (0..6).map(|i| {
///     limiter.run(async move {
///         tokio::time::sleep(Duration::from_millis(100)).await; // a request
///         Ok::<_, std::io::Error>(i)
///     })
/// });
/// let pages = gather(fetches).await?;
/// assert_eq!(pages, [0, 1, 2, 3, 4, 5]);
/// assert_eq!(start.elapsed(), Duration::from_millis(300)); // 6 requests, 2 at a time
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Limiter {
    semaphore: Arc<Semaphore>,
    limit: usize,
}

impl Limiter {
    /// A limit of `limit` futures running at once.
    ///
    /// # Panics
    ///
    /// Panics if `limit` is zero (nothing could ever run) or above
    /// [`Semaphore::MAX_PERMITS`]; [`try_new`](Self::try_new) returns an error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = corral::flow::Limiter::new(10);
    /// assert_eq!(limiter.limit(), 10);
    /// ```
    pub fn new(limit: usize) -> Self {
        match Self::try_new(limit) {
            Ok(limiter) => limiter,
            Err(error) => panic!("Limiter::new: {error}"),
        }
    }

    /// Like [`new`](Self::new), with an error instead of a panic.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `limit` is zero or above [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corral::flow::Limiter::try_new(0).is_err());
    /// ```
    pub fn try_new(limit: usize) -> Result<Self, ConfigError> {
        check_limit(limit)?;
        Ok(Self {
            semaphore: Arc::new(Semaphore::new(limit)),
            limit,
        })
    }

    /// Waits until fewer than `limit` futures are running, then runs `fut` and returns its
    /// output.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute permits in the order they were
    /// requested. Cancelling it while it waits loses your place in the queue; cancelling it
    /// while `fut` runs drops `fut` and frees its slot. It is only cancel safe if `fut` is.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = corral::flow::Limiter::new(1);
    /// assert_eq!(limiter.run(async { 2 + 2 }).await, 4);
    /// # }
    /// ```
    pub async fn run<F: Future>(&self, fut: F) -> F::Output {
        // The semaphore is never closed, so the permit always comes.
        let _permit = self.semaphore.acquire().await.ok();
        fut.await
    }

    /// The most futures that run at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(corral::flow::Limiter::new(3).limit(), 3);
    /// ```
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many futures passed to [`run`](Self::run) are running now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(corral::flow::Limiter::new(3).running(), 0);
    /// ```
    pub fn running(&self) -> usize {
        self.limit - self.semaphore.available_permits()
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit)
            .field("running", &self.running())
            .finish()
    }
}

/// Refuses a limit nothing could run under.
fn check_limit(limit: usize) -> Result<(), ConfigError> {
    if limit == 0 {
        Err(ConfigError::new("the limit must be above zero"))
    } else if limit > Semaphore::MAX_PERMITS {
        Err(ConfigError::new(
            "the limit is above Semaphore::MAX_PERMITS",
        ))
    } else {
        Ok(())
    }
}
