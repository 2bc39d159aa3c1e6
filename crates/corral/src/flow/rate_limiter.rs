//! `RateLimiter`: a GCRA rate limit with a lock-free fast path and a FIFO queue of waiters.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::clock::{Clock, Source};
use super::error::ConfigError;
use super::gcra::{Gcra, NEVER, wait_duration};
use crate::loom::{Arc, AtomicU64, Mutex, MutexGuard, Ordering};

/// A rate limit shared by many tasks: at most `burst` calls at once, refilled at a steady rate.
///
/// [`acquire`](Self::acquire) waits until the limit lets one call through;
/// [`try_acquire`](Self::try_acquire) never waits and says how long to wait when it refuses.
/// [`per_second`](Self::per_second) and [`per_minute`](Self::per_minute) space the calls
/// evenly (burst 1, like the asyncio guides' `RateLimiter` class); [`builder`](Self::builder)
/// sets any rate and burst.
///
/// The limit is the generic cell rate algorithm (GCRA), the one `governor` uses: in any window
/// of length `L` at most `burst + L / T` calls are let through, where `T` is the interval
/// between two calls at the steady rate. So no instant ever sees more than `burst` calls, and
/// over a long run the rate is the configured one (within 1% as long as the calls keep coming).
///
/// Waiters are served in the order they arrived. A call that finds somebody waiting queues
/// behind them instead of taking the capacity the first waiter is waiting for, and
/// [`try_acquire`](Self::try_acquire) refuses while anybody is waiting. Capacity is taken only
/// by the task that will use it, at the moment it runs, so no burst can be exceeded in the gap
/// between a waiter being woken and it running; a waiter that is dropped has taken nothing and
/// leaves the queue, and the next waiter moves up.
///
/// `RateLimiter` is a cheap handle: cloning it shares the same limit (an `Arc` inside), so give
/// each task its own clone.
///
/// # Performance
///
/// A call that does not wait costs one read of the clock, one atomic load (is anybody
/// queued?) and one compare-and-swap: no lock, no allocation. The clock read is most of it, so
/// by default ([`Clock::Auto`]) the limiter reads the CPU's counter, about 12 ns on a VM, as
/// `governor` does, unless Tokio's clock is paused: then it reads Tokio's (about 30 ns), and
/// tests on the paused clock are exact. A refusal on the default clock also looks whether
/// Tokio's clock has been paused since: two readings of it on a current-thread runtime, a look
/// at the runtime handle elsewhere (only a current-thread runtime's clock can be paused).
/// Building a limiter costs one allocation (104 bytes; the waiters' queue is allocated when
/// somebody first waits), that same look, and a reading of the counter. See
/// [`Builder::clock`] and the crate's benchmarks against `governor`.
///
/// # Horizon
///
/// The limiter counts time in 64-bit nanoseconds from when it was built: 584 years. Its
/// arithmetic is exact, so no configuration lets more calls through than the limit, and the
/// builder refuses a burst whose refill, `(burst - 1) × interval`, takes more than 292 years;
/// so the limit holds exactly for at least 292 years after the limiter is built. A call that
/// could only be let through past the horizon is refused for good:
/// [`try_acquire`](Self::try_acquire) says [`Duration::MAX`] and [`acquire`](Self::acquire)
/// waits forever.
///
/// # Timer resolution
///
/// Waiters sleep on Tokio's timer, which has millisecond resolution: a waiter may be woken up to
/// a millisecond late. The burst absorbs that lateness; with burst 1 and a rate above a few
/// hundred calls per second the waiters alone cannot keep the rate. For high rates, set a burst
/// of at least two milliseconds' worth of calls (`rate × 0.002`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::flow::RateLimiter;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let limiter = RateLimiter::per_second(10); // one call every 100 ms
/// let start = tokio::time::Instant::now();
/// for _ in 0..3 {
///     limiter.acquire().await;
/// }
/// assert_eq!(start.elapsed(), Duration::from_millis(200));
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    gcra: Gcra,
    /// The clock, started when the limiter was built: the GCRA's nanoseconds count from then.
    clock: Source,
    burst: u32,
    /// Cells asked for by the queued waiters: the fast path is taken only when this is zero.
    waiting: AtomicU64,
    /// The waiters; allocated when the first call queues, so that a limiter nobody waits on
    /// stays small (one allocation of 104 bytes), and so cheap to build.
    queue: Mutex<Option<Box<Waiters>>>,
}

#[derive(Default)]
struct Waiters {
    next_id: u64,
    /// First come, first served; ids increase from front to back.
    list: VecDeque<Waiter>,
}

struct Waiter {
    id: u64,
    waker: Option<Waker>,
}

impl Waiters {
    fn position(&self, id: u64) -> Option<usize> {
        self.list.binary_search_by_key(&id, |waiter| waiter.id).ok()
    }
}

impl RateLimiter {
    /// A limiter that lets `n` calls through per second, evenly spaced (one every `1/n` s,
    /// burst 1).
    ///
    /// # Panics
    ///
    /// Panics if `n` is zero, or above 1,000,000,000: the limiter counts time in whole
    /// nanoseconds, so it cannot space calls closer than one per nanosecond (a rate that high
    /// is no limit in practice: one `acquire` alone takes longer).
    /// [`try_per_second`](Self::try_per_second) returns an error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::flow::RateLimiter;
    ///
    /// let limiter = RateLimiter::per_second(50);
    /// assert_eq!(limiter.interval(), std::time::Duration::from_millis(20));
    /// ```
    pub fn per_second(n: u32) -> Self {
        match Self::try_per_second(n) {
            Ok(limiter) => limiter,
            Err(error) => panic!("RateLimiter::per_second: {error}"),
        }
    }

    /// Like [`per_second`](Self::per_second), with an error instead of a panic.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `n` is zero, or above 1,000,000,000 (an interval under the
    /// nanosecond the limiter counts in).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::flow::RateLimiter;
    ///
    /// assert!(RateLimiter::try_per_second(0).is_err());
    /// assert!(RateLimiter::try_per_second(5).is_ok());
    /// assert!(RateLimiter::try_per_second(1_000_000_000).is_ok()); // one per nanosecond
    /// assert!(RateLimiter::try_per_second(u32::MAX).is_err()); // finer than a nanosecond
    /// ```
    pub fn try_per_second(n: u32) -> Result<Self, ConfigError> {
        Self::builder().rate(n, Duration::from_secs(1)).try_build()
    }

    /// A limiter that lets `n` calls through per minute, evenly spaced (burst 1).
    ///
    /// # Panics
    ///
    /// Panics if `n` is zero (every other `u32` is a rate the limiter can count: at most one
    /// call per 14 ns); use the [`builder`](Self::builder) and
    /// [`try_build`](Builder::try_build) for an error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::flow::RateLimiter;
    ///
    /// let limiter = RateLimiter::per_minute(120);
    /// assert_eq!(limiter.interval(), std::time::Duration::from_millis(500));
    /// ```
    pub fn per_minute(n: u32) -> Self {
        match Self::builder().rate(n, Duration::from_secs(60)).try_build() {
            Ok(limiter) => limiter,
            Err(error) => panic!("RateLimiter::per_minute: {error}"),
        }
    }

    /// A builder for any rate and burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::RateLimiter;
    ///
    /// # fn main() -> Result<(), corral::flow::ConfigError> {
    /// // 100 calls per minute, up to 10 at once.
    /// let limiter = RateLimiter::builder()
    ///     .rate(100, Duration::from_secs(60))
    ///     .burst(10)
    ///     .try_build()?;
    /// assert_eq!(limiter.burst(), 10);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The interval between two calls at the steady rate.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = corral::flow::RateLimiter::per_second(4);
    /// assert_eq!(limiter.interval(), std::time::Duration::from_millis(250));
    /// ```
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.shared.gcra.emission())
    }

    /// The most calls let through at one instant.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(corral::flow::RateLimiter::per_second(4).burst(), 1);
    /// ```
    pub fn burst(&self) -> u32 {
        self.shared.burst
    }

    /// The clock the limiter reads now: [`Clock::Tokio`] or [`Clock::Fast`] (the default,
    /// [`Clock::Auto`], reads one of the two; see [`Builder::clock`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::flow::{Clock, RateLimiter};
    ///
    /// // Tokio's clock runs here, so the default reads the CPU's counter.
    /// assert_eq!(RateLimiter::per_second(4).clock(), Clock::Fast);
    /// ```
    pub fn clock(&self) -> Clock {
        self.shared.clock.kind()
    }

    /// Waits until the limit lets one call through.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute capacity in the order it was requested.
    /// Cancelling a call to `acquire` makes you lose your place in the queue. Nothing else is
    /// lost: a waiter takes capacity only when it completes, so a dropped waiter leaves all of
    /// it to the waiters behind it.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::flow::RateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = RateLimiter::per_second(100);
    /// limiter.acquire().await;
    /// // ... make the call ...
    /// # }
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            inner: Waiting::new(&self.shared, 1),
        }
    }

    /// Waits until the limit lets `n` calls through at once.
    ///
    /// `n` of zero completes at once.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute capacity in the order it was requested.
    /// Cancelling a call to `acquire_n` makes you lose your place in the queue; it has taken
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] at the first poll, without waiting, if `n` is above the burst: such a
    /// request could never be let through.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::RateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), corral::flow::AcquireError> {
    /// let limiter = RateLimiter::builder().rate(10, Duration::from_secs(1)).burst(5).build();
    /// limiter.acquire_n(5).await?;
    /// assert!(limiter.acquire_n(6).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn acquire_n(&self, n: u32) -> AcquireN<'_> {
        AcquireN {
            inner: (n <= self.shared.burst).then(|| Waiting::new(&self.shared, n)),
            requested: n,
            burst: self.shared.burst,
        }
    }

    /// Lets one call through if the limit allows it now, without waiting.
    ///
    /// It does not jump ahead of tasks already waiting in [`acquire`](Self::acquire): while
    /// anybody waits, it refuses.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::RateLimited`] with how long to wait (assuming nobody else takes
    /// capacity meanwhile, counting the waiters ahead).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::{RateLimiter, TryAcquireError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let limiter = RateLimiter::per_second(10);
    /// assert!(limiter.try_acquire().is_ok());
    /// assert_eq!(
    ///     limiter.try_acquire(),
    ///     Err(TryAcquireError::RateLimited { retry_after: Duration::from_millis(100) })
    /// );
    /// # }
    /// ```
    pub fn try_acquire(&self) -> Result<(), TryAcquireError> {
        self.try_acquire_n(1)
    }

    /// Lets `n` calls through at once if the limit allows it now, without waiting.
    ///
    /// `n` of zero always succeeds. Like [`try_acquire`](Self::try_acquire), it refuses while
    /// anybody waits.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::RateLimited`] with how long to wait, or
    /// [`TryAcquireError::ExceedsBurst`] if `n` is above the burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::{RateLimiter, TryAcquireError};
    ///
    /// let limiter = RateLimiter::builder().rate(1, Duration::from_secs(1)).burst(3).build();
    /// assert!(limiter.try_acquire_n(3).is_ok());
    /// assert!(matches!(limiter.try_acquire_n(4), Err(TryAcquireError::ExceedsBurst(_))));
    /// ```
    pub fn try_acquire_n(&self, n: u32) -> Result<(), TryAcquireError> {
        let shared = &self.shared;
        if n == 0 {
            // Takes nothing, so it waits behind nobody.
            return Ok(());
        }
        if n > shared.burst {
            return Err(TryAcquireError::ExceedsBurst(AcquireError {
                requested: n,
                burst: shared.burst,
            }));
        }
        loop {
            let now = shared.clock.now_ns();
            let ahead = shared.waiting.load(Ordering::Acquire);
            let refused = if ahead == 0 {
                match shared.gcra.try_take(n, now) {
                    Ok(()) => return Ok(()),
                    Err(wait) => wait,
                }
            } else {
                shared.gcra.wait_behind(ahead, n, now)
            };
            // A default limiter on the CPU's counter that finds Tokio's clock paused moves onto
            // it (once) and answers in the paused clock's time, which `advance` moves.
            if !shared.clock.follow_paused_clock() {
                return Err(TryAcquireError::RateLimited {
                    retry_after: wait_duration(refused),
                });
            }
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("interval", &self.interval())
            .field("burst", &self.shared.burst)
            .field("waiting", &self.shared.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

impl Shared {
    /// The fast path: takes `cells` now if nobody is queued and the limit allows it.
    #[inline]
    fn try_fast(&self, cells: u32) -> bool {
        if self.waiting.load(Ordering::Acquire) != 0 {
            return false;
        }
        self.gcra.try_take_now(cells, || self.clock.now_ns())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Box<Waiters>>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Builds a [`RateLimiter`] with any rate and burst.
///
/// The rate is set with [`rate`](Self::rate) (`n` calls per period) or
/// [`calls_per_second`](Self::calls_per_second) (a float, like the asyncio guides' class); the
/// burst defaults to 1.
///
/// # Examples
///
/// ```
/// use corral::flow::RateLimiter;
///
/// # fn main() -> Result<(), corral::flow::ConfigError> {
/// let limiter = RateLimiter::builder().calls_per_second(2.5).burst(2).try_build()?;
/// assert_eq!(limiter.interval(), std::time::Duration::from_millis(400));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` or `try_build`"]
pub struct Builder {
    emission: Option<Result<u64, ConfigError>>,
    burst: Option<u32>,
    clock: Clock,
}

impl Builder {
    /// `n` calls per `period`, evenly spaced.
    ///
    /// The interval, `period / n`, is rounded up to whole nanoseconds (the limiter's unit), so
    /// no more than `n` calls go through per `period`. It must be between 1 ns and 584 years,
    /// and `n` above zero; otherwise [`try_build`](Self::try_build) returns a [`ConfigError`]
    /// (and [`build`](Self::build) panics).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let limiter = corral::flow::RateLimiter::builder().rate(3, Duration::from_secs(3)).build();
    /// assert_eq!(limiter.interval(), Duration::from_secs(1));
    /// ```
    pub fn rate(mut self, n: u32, period: Duration) -> Self {
        let emission = if n == 0 {
            Err(ConfigError::new("the rate must be above zero"))
        } else {
            // Exact, in integers: the interval rounded up, so never more calls than asked. In
            // 64 bits when the period fits (584 years): a 128-bit division is a library call.
            let period = period.as_nanos();
            if period < u128::from(n) {
                Err(INTERVAL_OUT_OF_RANGE)
            } else if let Ok(period) = u64::try_from(period) {
                Ok(period.div_ceil(u64::from(n)))
            } else {
                u64::try_from(period.div_ceil(u128::from(n))).map_err(|_| INTERVAL_OUT_OF_RANGE)
            }
        };
        self.emission = Some(emission);
        self
    }

    /// `rate` calls per second, evenly spaced; fractional rates are fine (`0.5` is one call
    /// every two seconds).
    ///
    /// The interval, `1 / rate` seconds, is rounded up to whole nanoseconds (the limiter's
    /// unit). The rate must be a number between one call per 584 years and 1e9 (one call per
    /// nanosecond); otherwise [`try_build`](Self::try_build) returns a [`ConfigError`] (and
    /// [`build`](Self::build) panics).
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = corral::flow::RateLimiter::builder().calls_per_second(0.5).build();
    /// assert_eq!(limiter.interval(), std::time::Duration::from_secs(2));
    /// ```
    pub fn calls_per_second(mut self, rate: f64) -> Self {
        let emission = if rate.is_nan() || rate <= 0.0 {
            Err(ConfigError::new("the rate must be a number above zero"))
        } else {
            // The quotient is itself rounded, possibly down onto a whole number: an interval
            // that then falls short of `1 / rate` gets one more nanosecond. `mul_add` rounds
            // once, after the exact `nanos × rate − 1e9`, so its sign is exact.
            nanos_per_cell(1e9 / rate).map(|nanos| {
                if (nanos as f64).mul_add(rate, -1e9) < 0.0 {
                    nanos.saturating_add(1)
                } else {
                    nanos
                }
            })
        };
        self.emission = Some(emission);
        self
    }

    /// The most calls let through at one instant (default 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = corral::flow::RateLimiter::builder().calls_per_second(1.0).burst(5).build();
    /// assert_eq!(limiter.burst(), 5);
    /// ```
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// The clock the limiter reads: [`Clock::Auto`] (the default: the CPU's counter, or
    /// Tokio's clock while that is paused), [`Clock::Tokio`] (always Tokio's) or
    /// [`Clock::Fast`] (always the counter).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::flow::{Clock, RateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = RateLimiter::builder().calls_per_second(100.0).clock(Clock::Tokio).build();
    /// assert_eq!(limiter.clock(), Clock::Tokio);
    /// # }
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the limiter.
    ///
    /// # Panics
    ///
    /// Panics if the configuration is invalid (see [`try_build`](Self::try_build)).
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = corral::flow::RateLimiter::builder().calls_per_second(10.0).build();
    /// assert_eq!(limiter.burst(), 1);
    /// ```
    pub fn build(self) -> RateLimiter {
        match self.try_build() {
            Ok(limiter) => limiter,
            Err(error) => panic!("RateLimiter::builder: {error}"),
        }
    }

    /// Builds the limiter, or says what is wrong with the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if no rate was set, the rate is zero, negative, NaN, infinite, faster
    /// than one call per nanosecond or slower than one call per 584 years, or the burst is
    /// zero, or the burst does not fit the limiter's clock: `(burst - 1) × interval` (the time
    /// a full burst takes to refill after its first call's) must be at most 292 years (see
    /// [`RateLimiter`]'s horizon).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::RateLimiter;
    ///
    /// assert!(RateLimiter::builder().calls_per_second(f64::NAN).try_build().is_err());
    /// assert!(RateLimiter::builder().calls_per_second(1.0).burst(0).try_build().is_err());
    /// assert!(RateLimiter::builder().try_build().is_err()); // no rate
    /// // A burst of 10 at one call per century would take 900 years to refill.
    /// let century = Duration::from_secs(100 * 365 * 86_400);
    /// assert!(RateLimiter::builder().rate(1, century).burst(10).try_build().is_err());
    /// ```
    pub fn try_build(self) -> Result<RateLimiter, ConfigError> {
        let emission = self
            .emission
            .unwrap_or(Err(ConfigError::new("a rate must be set")))?;
        let burst = self.burst.unwrap_or(1);
        if burst == 0 {
            return Err(ConfigError::new("the burst must be above zero"));
        }
        Ok(RateLimiter {
            shared: Arc::new(Shared {
                gcra: Gcra::new(emission, burst)?,
                clock: Source::start(self.clock),
                burst,
                waiting: AtomicU64::new(0),
                queue: Mutex::new(None),
            }),
        })
    }
}

/// An interval between calls that the GCRA's 64-bit nanoseconds cannot hold.
const INTERVAL_OUT_OF_RANGE: ConfigError =
    ConfigError::new("the interval between calls must be between 1 ns and 584 years");

/// Rounds an interval in nanoseconds up to the GCRA's whole nanoseconds (a limit never lets
/// more calls through than asked), refusing what does not fit.
fn nanos_per_cell(nanos: f64) -> Result<u64, ConfigError> {
    if !(1.0..=u64::MAX as f64).contains(&nanos) {
        return Err(INTERVAL_OUT_OF_RANGE);
    }
    // Saturates at `u64::MAX` for the top of the range (`u64::MAX as f64` is 2^64).
    Ok(nanos.ceil() as u64)
}

/// The future of [`RateLimiter::acquire`].
///
/// # Examples
///
/// A named future, so it can be kept in a struct or raced against a timer:
///
/// ```
/// use std::time::Duration;
/// use corral::flow::{Acquire, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let limiter = RateLimiter::per_second(1);
/// limiter.acquire().await; // the first call goes through at once
/// let next: Acquire<'_> = limiter.acquire();
/// let let_through = tokio::select! {
///     () = next => true,
///     () = tokio::time::sleep(Duration::from_millis(10)) => false,
/// };
/// assert!(!let_through); // at one call a second, the next waits about a second
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
#[derive(Debug)]
pub struct Acquire<'a> {
    inner: Waiting<'a>,
}

impl Future for Acquire<'_> {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.poll(cx)
    }
}

/// The future of [`RateLimiter::acquire_n`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::flow::{AcquireN, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), corral::flow::AcquireError> {
/// let limiter = RateLimiter::builder().rate(10, Duration::from_secs(1)).burst(5).build();
/// let batch: AcquireN<'_> = limiter.acquire_n(5);
/// batch.await?; // five calls at once, within the burst
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
#[derive(Debug)]
pub struct AcquireN<'a> {
    /// `None` when the request exceeds the burst.
    inner: Option<Waiting<'a>>,
    requested: u32,
    burst: u32,
}

impl Future for AcquireN<'_> {
    type Output = Result<(), AcquireError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (requested, burst) = (self.requested, self.burst);
        match &mut self.inner {
            Some(waiting) => waiting.poll(cx).map(Ok),
            None => Poll::Ready(Err(AcquireError { requested, burst })),
        }
    }
}

enum State {
    Start,
    Queued(u64),
    Done,
}

/// One request for `cells`: the fast path, then a place in the queue.
struct Waiting<'a> {
    shared: &'a Shared,
    cells: u32,
    state: State,
    /// The head of the queue sleeps until its cells are due; boxed, so only waiters pay for it.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl fmt::Debug for Waiting<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Queued(_) => "queued",
            State::Done => "done",
        };
        f.debug_struct("Acquire")
            .field("cells", &self.cells)
            .field("state", &state)
            .finish()
    }
}

impl<'a> Waiting<'a> {
    fn new(shared: &'a Shared, cells: u32) -> Self {
        Self {
            shared,
            cells,
            state: State::Start,
            sleep: None,
        }
    }

    /// The fast path, inlined into the caller's future; the queue is out of line.
    #[inline]
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.state {
            State::Done => Poll::Ready(()),
            // Only while nobody waits: a caller never takes the capacity a queued waiter is
            // waiting for.
            State::Start if self.cells == 0 || self.shared.try_fast(self.cells) => {
                self.state = State::Done;
                Poll::Ready(())
            }
            State::Start | State::Queued(_) => self.poll_queued(cx),
        }
    }

    #[inline(never)]
    fn poll_queued(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let shared = self.shared;
        let id = match self.state {
            State::Done => return Poll::Ready(()),
            State::Queued(id) => id,
            State::Start => {
                let id = shared.join_queue(self.cells);
                self.state = State::Queued(id);
                id
            }
        };
        loop {
            let now = shared.clock.now_ns();
            match shared.take_turn(id, self.cells, now, cx.waker()) {
                Turn::Gone => {
                    // Unreachable: only this future removes its own entry.
                    self.state = State::Done;
                    return Poll::Ready(());
                }
                // Not our turn: the waiter ahead of us wakes us when it leaves.
                Turn::Behind => return Poll::Pending,
                Turn::Granted(next) => {
                    self.state = State::Done;
                    self.sleep = None;
                    if let Some(next) = next {
                        // Another task's waker: its panic is reported, not made this granted
                        // call's (which has taken its calls).
                        crate::report::contain("RateLimiter", "the next waiter's waker", || {
                            next.wake();
                        });
                    }
                    return Poll::Ready(());
                }
                Turn::Wait(wait) => {
                    // A default limiter on the CPU's counter that finds Tokio's clock paused
                    // moves onto it, or its timers (virtual) and readings (real) never agree.
                    if shared.clock.follow_paused_clock() {
                        continue;
                    }
                    // Past the limiter's horizon, or an instant past the end of time: never.
                    // Wait for no timer (the waiter behind is woken if this one is dropped).
                    let due = (wait != NEVER)
                        .then(|| Instant::now().checked_add(Duration::from_nanos(wait)))
                        .flatten();
                    let Some(due) = due else {
                        self.sleep = None;
                        return Poll::Pending;
                    };
                    match &mut self.sleep {
                        Some(sleep) => sleep.as_mut().reset(due),
                        None => self.sleep = Some(Box::pin(tokio::time::sleep_until(due))),
                    }
                    if let Some(sleep) = &mut self.sleep
                        && sleep.as_mut().poll(cx).is_pending()
                    {
                        return Poll::Pending;
                    }
                    // Already due (a zero-length sleep): try again.
                }
            }
        }
    }
}

/// What a queued waiter's turn came to (see [`Shared::take_turn`]).
enum Turn {
    /// Granted: it has left the queue, and this is the new head's waker, to be woken once
    /// the caller is done (the new head must start its own timer).
    Granted(Option<Waker>),
    /// Not at the head: its waker is stored for the waiter ahead to wake when it leaves.
    Behind,
    /// At the head, but the capacity is not there yet: wait this many nanoseconds, on a
    /// timer. Its waker is stored in its place, as before.
    Wait(u64),
    /// Not in the queue. Unreachable: only the waiter itself removes its entry.
    Gone,
}

/// The queue protocol, apart from the timer a head sleeps on, so the loom models can drive it.
impl Shared {
    /// Joins the back of the queue for `cells`, counted in `waiting` (which shuts the fast
    /// path), and returns the place's id.
    fn join_queue(&self, cells: u32) -> u64 {
        let mut guard = self.lock();
        let queue = guard.get_or_insert_with(Box::default);
        let id = queue.next_id;
        queue.next_id += 1;
        queue.list.push_back(Waiter { id, waker: None });
        self.waiting.fetch_add(u64::from(cells), Ordering::AcqRel);
        drop(guard);
        id
    }

    /// One turn of the queued waiter `id` at time `now`: if it is at the head and the
    /// capacity is there, it takes it and leaves the queue.
    fn take_turn(&self, id: u64, cells: u32, now: u64, waker: &Waker) -> Turn {
        let mut guard = self.lock();
        let Some(queue) = guard.as_deref_mut() else {
            return Turn::Gone;
        };
        let Some(position) = queue.position(id) else {
            return Turn::Gone;
        };
        // Wakers replaced or let go are dropped after unlocking: dropping one may run a task's
        // destructor, which may use this limiter.
        if position != 0 {
            let replaced = set_waker(&mut queue.list[position].waker, waker);
            drop(guard);
            drop(replaced);
            return Turn::Behind;
        }
        match self.gcra.try_take(cells, now) {
            Ok(()) => {
                let granted = queue.list.pop_front();
                self.waiting.fetch_sub(u64::from(cells), Ordering::AcqRel);
                let next = queue.list.front_mut().and_then(|next| next.waker.take());
                drop(guard);
                drop(granted);
                Turn::Granted(next)
            }
            Err(wait) => {
                let replaced = set_waker(&mut queue.list[0].waker, waker);
                drop(guard);
                drop(replaced);
                Turn::Wait(wait)
            }
        }
    }

    /// The waiter `id` gives up: it leaves the queue, and if it was the head, wakes the new
    /// head (after unlocking) to start its own timer.
    #[cold]
    #[inline(never)]
    fn leave_queue(&self, id: u64, cells: u32) {
        let mut guard = self.lock();
        let Some(queue) = guard.as_deref_mut() else {
            return;
        };
        let Some(position) = queue.position(id) else {
            return;
        };
        let left = queue.list.remove(position);
        self.waiting.fetch_sub(u64::from(cells), Ordering::AcqRel);
        // The head left: the new head must start its own timer.
        let next = if position == 0 {
            queue.list.front_mut().and_then(|next| next.waker.take())
        } else {
            None
        };
        drop(guard);
        drop(left);
        if let Some(next) = next {
            // Called from a dropped `acquire`'s destructor: a panicking waker is reported,
            // not let out of `Drop`.
            crate::report::contain("RateLimiter", "the next waiter's waker", || next.wake());
        }
    }
}

/// Stores `waker` in `slot` unless it would wake the same task; returns the waker it replaced,
/// for the caller to drop after unlocking.
#[must_use = "drop the replaced waker after unlocking"]
fn set_waker(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(old) if old.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

impl Drop for Waiting<'_> {
    #[inline]
    fn drop(&mut self) {
        if let State::Queued(id) = self.state {
            self.shared.leave_queue(id, self.cells);
        }
    }
}

/// The error of [`RateLimiter::acquire_n`]: more calls asked for at once than the burst allows,
/// which could never be let through.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = corral::flow::RateLimiter::per_second(10);
/// let Err(error) = limiter.acquire_n(2).await else {
///     return Err("two calls at once should be above the burst of one".into());
/// };
/// assert_eq!((error.requested(), error.burst()), (2, 1));
/// assert_eq!(error.to_string(), "asked for 2 calls at once, above the burst of 1");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError {
    requested: u32,
    burst: u32,
}

impl AcquireError {
    /// The number of calls asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::RateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = RateLimiter::builder().rate(10, Duration::from_secs(1)).burst(4).build();
    /// if let Err(error) = limiter.acquire_n(5).await {
    ///     assert_eq!(error.requested(), 5);
    /// }
    /// # }
    /// ```
    pub fn requested(&self) -> u32 {
        self.requested
    }

    /// The limiter's burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::RateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), corral::flow::AcquireError> {
    /// let limiter = RateLimiter::builder().rate(10, Duration::from_secs(1)).burst(4).build();
    /// if let Err(error) = limiter.acquire_n(5).await {
    ///     limiter.acquire_n(error.burst()).await?; // ask for what fits instead
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "asked for {} calls at once, above the burst of {}",
            self.requested, self.burst
        )
    }
}

impl std::error::Error for AcquireError {}

/// The error of [`RateLimiter::try_acquire`] and [`RateLimiter::try_acquire_n`].
///
/// # Examples
///
/// ```
/// use corral::flow::{RateLimiter, TryAcquireError};
///
/// let limiter = RateLimiter::per_minute(60);
/// limiter.try_acquire()?;
/// match limiter.try_acquire() {
///     Err(TryAcquireError::RateLimited { retry_after }) => assert!(retry_after.as_millis() > 990),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), TryAcquireError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The limit does not allow the calls now; it would after `retry_after`, if nobody else
    /// takes capacity meanwhile.
    RateLimited {
        /// How long to wait; [`Duration::MAX`] if the calls would be let through only past
        /// the limiter's 584-year horizon (see [`RateLimiter`]), that is never.
        retry_after: Duration,
    },
    /// More calls asked for at once than the burst allows (only from `try_acquire_n`).
    ExceedsBurst(AcquireError),
}

impl TryAcquireError {
    /// How long to wait before the request would be allowed; `None` if it never would.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::flow::TryAcquireError;
    ///
    /// let limiter = corral::flow::RateLimiter::per_second(1);
    /// let refused = limiter.try_acquire_n(2); // above the burst
    /// assert!(matches!(refused, Err(TryAcquireError::ExceedsBurst(_))));
    /// assert_eq!(refused.err().and_then(|error| error.retry_after()), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::ExceedsBurst(_) => None,
        }
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RateLimited { retry_after } => {
                write!(f, "rate limited: retry after {retry_after:?}")
            }
            Self::ExceedsBurst(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Loom models of the queue protocol. What is modelled: the queue (`crate::loom::Mutex`), the
/// `waiting` counter and the GCRA state (loom atomics), driven through the steps
/// `Waiting::poll` and its `Drop` are made of (`join_queue`, `take_turn`, `leave_queue`), and
/// the fast path's `try_fast`. What is not: the head's timer (loom cannot run Tokio's timers),
/// so a head refused capacity gives up instead of sleeping, and times are passed in rather
/// than read. Waiters run on loom's `block_on`, so a lost wake-up is a deadlock loom reports.
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::future::poll_fn;

    use loom::future::block_on;
    use loom::thread;

    use super::*;

    /// One cell an hour: nothing refills during a model, whatever the real clock says.
    const HOUR: Duration = Duration::from_secs(3600);

    fn limiter(burst: u32) -> RateLimiter {
        RateLimiter::builder()
            .rate(1, HOUR)
            .burst(burst)
            .clock(Clock::Tokio)
            .build()
    }

    /// Queues for one cell and takes turns at time `now` as `Waiting::poll` does, until it is
    /// granted (`true`) or, at the head, refused: then it gives up as a dropped `Acquire`
    /// does (`false`), since the model has no timer to sleep on.
    fn queue_for_one(shared: &Shared, now: u64) -> bool {
        let id = shared.join_queue(1);
        let granted = block_on(poll_fn(|cx| {
            match shared.take_turn(id, 1, now, cx.waker()) {
                Turn::Granted(next) => {
                    if let Some(next) = next {
                        next.wake();
                    }
                    Poll::Ready(true)
                }
                Turn::Behind => Poll::Pending,
                Turn::Wait(_) => Poll::Ready(false),
                Turn::Gone => panic!("only the waiter removes its own place"),
            }
        }));
        if !granted {
            shared.leave_queue(id, 1);
        }
        granted
    }

    /// Nobody left in the queue, and `waiting` back to 0 (never below: it is unsigned, and
    /// an underflow would show as a huge count).
    fn assert_settled(shared: &Shared) {
        assert!(
            shared
                .lock()
                .as_ref()
                .is_none_or(|queue| queue.list.is_empty())
        );
        assert_eq!(shared.waiting.load(Ordering::Acquire), 0);
    }

    /// No lost wake-up on a grant: two waiters queue at once with capacity for both; the
    /// one behind is woken by the head's grant (or finds itself at the head), so both are
    /// granted, in turn.
    #[test]
    fn loom_rate_limiter_granted_head_wakes_the_next() {
        loom::model(|| {
            let limiter = limiter(2);
            let other = {
                let limiter = limiter.clone();
                thread::spawn(move || queue_for_one(&limiter.shared, 0))
            };
            assert!(queue_for_one(&limiter.shared, 0));
            assert!(other.join().unwrap());
            assert_settled(&limiter.shared);
        });
    }

    /// No lost wake-up on a departure: with the capacity spent, one waiter queues at time 0
    /// (refused at the head, it leaves) while another queues an interval later (granted at
    /// the head). If the first was the head when the second parked behind it, its leaving
    /// wakes the second; if the second was first, its grant wakes the first to be refused.
    #[test]
    fn loom_rate_limiter_head_that_leaves_wakes_the_next() {
        loom::model(|| {
            let limiter = limiter(1);
            let interval = limiter.shared.gcra.emission();
            assert_eq!(limiter.shared.gcra.try_take(1, 0), Ok(()));
            let early = {
                let limiter = limiter.clone();
                thread::spawn(move || queue_for_one(&limiter.shared, 0))
            };
            assert!(queue_for_one(&limiter.shared, interval));
            assert!(!early.join().unwrap(), "nothing is left for time 0");
            assert_settled(&limiter.shared);
        });
    }

    /// The fast path never takes the capacity a queued waiter waits for: while one waiter
    /// is queued (for the last cell), a caller on another thread tries the fast path. It is
    /// refused, whether it looks while the waiter is queued (`waiting` is not 0) or after the
    /// waiter was granted (the cell is gone), and the waiter is always granted.
    #[test]
    fn loom_rate_limiter_fast_path_never_takes_a_queued_waiters_cell() {
        loom::model(|| {
            let limiter = limiter(1);
            let shared = &limiter.shared;
            let id = shared.join_queue(1);
            let fast = {
                let limiter = limiter.clone();
                thread::spawn(move || limiter.shared.try_fast(1))
            };
            let turn = shared.take_turn(id, 1, 0, Waker::noop());
            assert!(
                matches!(turn, Turn::Granted(None)),
                "the queued waiter gets its cell"
            );
            assert!(
                !fast.join().unwrap(),
                "the fast path took a queued waiter's cell"
            );
            assert_settled(shared);
        });
    }
}
/// A limiter is one allocation of its shared state, kept small: building one is an allocation
/// and a look at the clock. At 88 bytes (104 with the `Arc`'s counts) a thousand limiters
/// built and dropped in turn stay under glibc's 128 KiB trim threshold; at 176 bytes each
/// round gave the memory back to the system and faulted it in again (`perf`: page faults and
/// `brk` in the build benchmark on a current-thread runtime).
#[cfg(all(test, not(corral_loom), target_pointer_width = "64"))]
#[test]
fn a_limiter_is_one_small_allocation() {
    assert!(size_of::<Shared>() <= 88, "{} bytes", size_of::<Shared>());
}
