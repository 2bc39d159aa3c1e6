//! `Throttler`: at most one call per interval, leading edge.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::clock::{Clock, Source};
use super::error::ConfigError;
use super::gcra::{Gcra, wait_duration};

/// At most one call per interval, on the leading edge: the first call goes through at once,
/// and calls in the next `interval` are refused with a [`Throttled`] that says how long until
/// the next one would pass. A refused call is not run, not queued and not retried later
/// (for "the last call of a burst runs", see [`Debouncer`](super::Debouncer); for "every call
/// runs, spaced out", see [`RateLimiter`](super::RateLimiter)).
///
/// It is a [`RateLimiter`](super::RateLimiter) of burst 1 without the waiting: the same
/// lock-free state, one compare-and-swap per call, and the same default clock
/// ([`Clock::Auto`](super::Clock::Auto): the CPU's counter, or Tokio's clock while that is
/// paused, so tests on the paused clock are exact). `Throttler` is a cheap handle: cloning it
/// shares the same interval.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::flow::Throttler;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let throttler = Throttler::new(Duration::from_millis(100));
/// let mut shown = 0;
/// for _ in 0..10 {
///     // A progress bar fed every 25 ms, redrawn at most every 100 ms.
///     if throttler.try_acquire().is_ok() {
///         shown += 1;
///     }
///     tokio::time::sleep(Duration::from_millis(25)).await;
/// }
/// assert_eq!(shown, 3); // at 0, 100 and 200 ms
/// # }
/// ```
#[derive(Clone)]
pub struct Throttler {
    shared: Arc<Shared>,
}

struct Shared {
    gcra: Gcra,
    /// The default clock, started when the throttler was built.
    clock: Source,
}

impl Throttler {
    /// A throttler that lets one call through per `interval`.
    ///
    /// # Panics
    ///
    /// Panics if `interval` is zero or longer than 584 years; [`try_new`](Self::try_new)
    /// returns an error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let throttler = corral::flow::Throttler::new(Duration::from_secs(1));
    /// assert_eq!(throttler.interval(), Duration::from_secs(1));
    /// ```
    pub fn new(interval: Duration) -> Self {
        match Self::try_new(interval) {
            Ok(throttler) => throttler,
            Err(error) => panic!("Throttler::new: {error}"),
        }
    }

    /// Like [`new`](Self::new), with an error instead of a panic.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `interval` is zero or does not fit in 64 bits of nanoseconds.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corral::flow::Throttler::try_new(std::time::Duration::ZERO).is_err());
    /// ```
    pub fn try_new(interval: Duration) -> Result<Self, ConfigError> {
        let nanos = u64::try_from(interval.as_nanos())
            .map_err(|_| ConfigError::new("the interval must be at most 584 years"))?;
        if nanos == 0 {
            return Err(ConfigError::new("the interval must be above zero"));
        }
        Ok(Self {
            shared: Arc::new(Shared {
                gcra: Gcra::new(nanos, 1)?,
                clock: Source::start(Clock::Auto),
            }),
        })
    }

    /// The shortest time between two calls let through.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::Throttler;
    ///
    /// let redraw = Throttler::new(Duration::from_millis(50));
    /// assert_eq!(redraw.interval(), Duration::from_millis(50));
    /// ```
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.shared.gcra.emission())
    }

    /// Lets this call through if none was in the last `interval`; never waits.
    ///
    /// # Errors
    ///
    /// [`Throttled`] with the time until the next call would pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::Throttler;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let throttler = Throttler::new(Duration::from_millis(100));
    /// assert!(throttler.try_acquire().is_ok());
    /// tokio::time::advance(Duration::from_millis(30)).await;
    /// let refused = throttler.try_acquire().map_err(|refused| refused.retry_after());
    /// assert_eq!(refused, Err(Duration::from_millis(70)));
    /// # }
    /// ```
    pub fn try_acquire(&self) -> Result<(), Throttled> {
        let shared = &*self.shared;
        loop {
            match shared.gcra.try_take(1, shared.clock.now_ns()) {
                Ok(()) => return Ok(()),
                // On the CPU's counter, a refusal looks whether Tokio's clock has been paused
                // since, and if so moves onto it (once) and answers in its time.
                Err(wait) if !shared.clock.follow_paused_clock() => {
                    return Err(Throttled {
                        retry_after: wait_duration(wait),
                    });
                }
                Err(_) => {}
            }
        }
    }

    /// Runs `call` if no call was let through in the last `interval`, and returns its
    /// result; otherwise drops `call` unrun and returns [`Throttled`] at once.
    ///
    /// The decision is taken when this future is first polled.
    ///
    /// # Cancel safety
    ///
    /// This method is only cancel safe if `call` is. A call dropped after it was let through
    /// still counts as the interval's call.
    ///
    /// # Errors
    ///
    /// [`Throttled`] if the call was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::Throttler;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let throttler = Throttler::new(Duration::from_secs(1));
    /// assert_eq!(throttler.run(async { "refreshed" }).await, Ok("refreshed"));
    /// assert!(throttler.run(async { "refreshed" }).await.is_err()); // too soon
    /// # }
    /// ```
    pub async fn run<F: Future>(&self, call: F) -> Result<F::Output, Throttled> {
        self.try_acquire()?;
        Ok(call.await)
    }
}

impl fmt::Debug for Throttler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttler")
            .field("interval", &self.interval())
            .finish()
    }
}

/// A call refused by a [`Throttler`]: another one went through less than an interval ago.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let throttler = corral::flow::Throttler::new(std::time::Duration::from_secs(2));
/// throttler.try_acquire()?;
/// let Err(refused) = throttler.try_acquire() else {
///     return Err("a second call within the interval should be refused".into());
/// };
/// assert!(refused.retry_after() <= std::time::Duration::from_secs(2));
/// assert!(refused.to_string().starts_with("throttled: next call allowed in"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    retry_after: Duration,
}

impl Throttled {
    /// How long until the next call would be let through; [`Duration::MAX`] if none will be
    /// within the throttler's clock, which counts 584 years from when it was built (an
    /// interval of 584 years lets one call through, then none).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::Throttler;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let throttler = Throttler::new(Duration::from_secs(1));
    /// assert!(throttler.try_acquire().is_ok());
    /// if let Err(refused) = throttler.try_acquire() {
    ///     tokio::time::sleep(refused.retry_after()).await; // wait out the interval
    /// }
    /// assert!(throttler.try_acquire().is_ok());
    /// # }
    /// ```
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "throttled: next call allowed in {:?}", self.retry_after)
    }
}

impl std::error::Error for Throttled {}
