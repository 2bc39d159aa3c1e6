//! The clock a [`RateLimiter`](super::RateLimiter) reads: Tokio's (the default) or the CPU's
//! time-stamp counter.
//!
//! # Why two
//!
//! A limiter reads the clock on every call, and on a virtual machine `Instant::now()` (a
//! `clock_gettime` through the vDSO, which is what Tokio's clock is outside tests) costs about
//! 30 ns, more than the rest of a grant. `governor` reads the time-stamp counter through
//! [`quanta`] instead, at about 12 ns. But only Tokio's clock follows `tokio::time::pause` and
//! `advance`, which is how the tests of code that uses a limiter run exactly and instantly; a
//! limiter on the counter under a paused clock would see real time pass while its timers see
//! none. So Tokio's clock is the default, and [`Clock::Fast`] is a one-line opt-in for hot
//! paths that are not tested on a paused clock. We use `quanta` rather than reading the counter
//! ourselves: calibrating it against the monotonic clock, and falling back where there is no
//! stable counter, is its whole job.

use std::fmt;

use tokio::time::Instant;

/// Which clock a [`RateLimiter`](super::RateLimiter) reads.
///
/// # Examples
///
/// ```
/// use corral::flow::{Clock, RateLimiter};
///
/// // For a hot path in production: about 12 ns a reading instead of about 30 on a VM.
/// let limiter = RateLimiter::builder().calls_per_second(1000.0).clock(Clock::Fast).build();
/// assert!(limiter.try_acquire().is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clock {
    /// Tokio's clock (`tokio::time::Instant::now()`), the default: it follows
    /// `tokio::time::pause` and `advance`, so tests on a paused clock are exact.
    #[default]
    Tokio,
    /// The CPU's time-stamp counter, through the [`quanta`] crate (what `governor` reads),
    /// calibrated against the monotonic clock; the monotonic clock where the CPU has no stable
    /// counter. About 2.5× cheaper to read than Tokio's clock on a VM.
    ///
    /// It does **not** follow Tokio's paused clock: under `tokio::time::pause` the limiter sees
    /// real time pass while its waiters' timers see Tokio's. Use it where the limiter is not
    /// tested on a paused clock. The first `Fast` limiter of a process calibrates the counter,
    /// which takes from half a millisecond up to 200 ms.
    Fast,
}

/// A started clock: nanoseconds since the limiter was built.
pub(super) enum Source {
    Tokio(Instant),
    Fast(quanta::Clock, u64),
}

impl Source {
    pub(super) fn start(clock: Clock) -> Self {
        match clock {
            Clock::Tokio => Self::Tokio(Instant::now()),
            Clock::Fast => {
                let counter = quanta::Clock::new();
                let base = counter.raw();
                Self::Fast(counter, base)
            }
        }
    }

    /// Nanoseconds since the start (saturating at `u64::MAX`, 584 years).
    #[inline]
    pub(super) fn now_ns(&self) -> u64 {
        match self {
            Self::Tokio(base) => {
                let elapsed = Instant::now().saturating_duration_since(*base);
                u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
            }
            Self::Fast(counter, base) => counter.delta_as_nanos(*base, counter.raw()),
        }
    }

    pub(super) fn kind(&self) -> Clock {
        match self {
            Self::Tokio(_) => Clock::Tokio,
            Self::Fast(..) => Clock::Fast,
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind(), f)
    }
}
