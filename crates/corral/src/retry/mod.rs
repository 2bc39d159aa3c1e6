//! Retrying a failing operation with backoff: the guides' `retry_with_backoff`.
//!
//! A [`Retry`] is a policy: how long to wait after each failure
//! ([`exponential`](Retry::exponential), [`fixed`](Retry::fixed),
//! [`fibonacci`](Retry::fibonacci)), when to stop ([`max_attempts`](Retry::max_attempts),
//! [`max_elapsed`](Retry::max_elapsed)), how much randomness to add ([`Jitter`]), which errors
//! are worth another attempt ([`when`](Retry::when)), and what to do before each retry
//! ([`on_retry`](Retry::on_retry)). [`run`](Retry::run) applies it to an operation and returns
//! the first success, or a [`RetryError`] with the last error and the number of attempts.
//!
//! ```
//! use std::time::Duration;
//! use corral::retry::{Jitter, Retry};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::time::pause();
//! let policy = Retry::exponential(Duration::from_millis(100))
//!     .max_attempts(5)
//!     .max_delay(Duration::from_secs(2))
//!     .jitter(Jitter::Full);
//! let mut calls = 0;
//! let answer = policy
//!     .run(|| {
//!         calls += 1;
//!         let n = calls;
//!         async move { if n < 3 { Err("busy") } else { Ok(42) } }
//!     })
//!     .await?;
//! assert_eq!((answer, calls), (42, 3));
//! # Ok(())
//! # }
//! ```
//!
//! # The schedule
//!
//! After the n-th failed attempt, [`Retry::exponential`] waits `base * factor^(n-1)` (100, 200,
//! 400 ms for a 100 ms base and the default factor 2), capped at `max_delay`, and then jittered.
//! Every step saturates: a schedule that would pass `Duration::MAX` stays there, and
//! `Duration::MAX` as a limit means "no limit". Before each wait, the policy checks
//! `max_elapsed`: it gives up rather than start a wait that would end past it, so a caller
//! never sleeps for a retry that is not allowed to happen.
//!
//! A wait is kept exactly, however long (Tokio's own `sleep` stops at about 30 years; a run
//! waits a century if its schedule says so). A wait that never ends, one that would end past
//! the end of Tokio's clock (`Duration::MAX`, a schedule saturated there, or a jittered wait
//! of hundreds of billions of years), means no retry will ever come: the run gives up at once
//! with [`GiveUp::Elapsed`] and the last error, as for any wait that would end past
//! `max_elapsed`, instead of hanging on to the error forever. The hook is not called for it.
//!
//! # What is never retried
//!
//! A panicking attempt is not caught: the panic goes through `run` to its caller. An error that
//! says work was cancelled or panicked ends the run at once, whatever [`when`](Retry::when)
//! says: retrying a cancellation would undo the decision of whoever cancelled. Those errors are
//! corral's [`TaskError`], Tokio's `JoinError`, a cancelled
//! [`ErrorGroup`]`<BoxError>` (its group was cancelled from outside,
//! or by its runtime shutting down) and a [`SubmitError`]`<BoxError>`
//! for a job that panicked or a pool that was shut down, each bare or boxed in a
//! [`BoxError`]. (An `ErrorGroup` or `SubmitError` of another error type cannot be told apart
//! by its type; say it in `when`.) Cancelling the run itself is dropping its future.
//!
//! # With a deadline
//!
//! `deadline.run(retry.run(op))` ends at the deadline with the deadline's
//! [`Elapsed`](crate::time::Elapsed), whether the deadline passes during an attempt or during a
//! wait: the retry loop is dropped there, as any future under a
//! [`Deadline`](crate::time::Deadline). The policy does not look at the enclosing deadline
//! itself, so it may start a wait that the deadline then cuts short; use `max_elapsed` to stop
//! early with the last error instead.
//!
//! # Why not backon
//!
//! [backon](https://docs.rs/backon) is the well-kept crate for this, and corral's benchmark
//! compares against it. It lacked what the guides and this crate need: its total-delay limit
//! adds up the sleeps but not the time the attempts took; its jitter adds up to one more delay
//! on top of the schedule rather than choosing within it (no full or equal jitter), and its
//! random source can be seeded but not replaced, so a test cannot state exact waits; its hook
//! is not isolated from panics; and it retries whatever the predicate accepts, cancellations
//! included. Writing the loop here is about a hundred lines over Tokio's `sleep`.

mod backoff;
mod error;

use std::any::Any;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use crate::pool::SubmitError;
use crate::task::{BoxError, ErrorGroup, Failure, TaskError};
use crate::time::Timer;

pub use backoff::Jitter;
use backoff::{Shape, Source};
pub use error::{GiveUp, RetryError};

/// Decides whether an error is worth another attempt; see [`Retry::when`].
///
/// Implemented for every `Fn(&E) -> bool` and for [`Always`].
///
/// # Examples
///
/// A named predicate, for a rule reused by several policies:
///
/// ```
/// use std::io;
/// use corral::retry::Predicate;
///
/// struct Transient;
///
/// impl Predicate<io::Error> for Transient {
///     fn retryable(&self, error: &io::Error) -> bool {
///         matches!(error.kind(), io::ErrorKind::TimedOut | io::ErrorKind::ConnectionReset)
///     }
/// }
///
/// assert!(Transient.retryable(&io::Error::from(io::ErrorKind::TimedOut)));
/// assert!(!Transient.retryable(&io::Error::from(io::ErrorKind::PermissionDenied)));
/// ```
pub trait Predicate<E> {
    /// `true` if the operation should be tried again after `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::retry::Predicate;
    ///
    /// // Any `Fn(&E) -> bool` is a predicate.
    /// let transient = |status: &u16| *status == 429 || *status >= 500;
    /// assert!(transient.retryable(&503));
    /// assert!(!transient.retryable(&404));
    /// ```
    fn retryable(&self, error: &E) -> bool;
}

/// The default [`Predicate`]: every error is worth another attempt (but never a cancellation
/// or a panic, see [the module docs](self#what-is-never-retried)).
///
/// # Examples
///
/// ```
/// use corral::retry::{Always, Predicate};
///
/// assert!(Always.retryable(&"anything"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Always;

impl<E> Predicate<E> for Always {
    fn retryable(&self, _: &E) -> bool {
        true
    }
}

impl<E, F: Fn(&E) -> bool> Predicate<E> for F {
    fn retryable(&self, error: &E) -> bool {
        self(error)
    }
}

/// Runs before each retry; see [`Retry::on_retry`].
///
/// Implemented for every `Fn(u32, &E, Duration)` and for [`NoHook`].
///
/// # Examples
///
/// A named hook that counts the retries:
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use corral::retry::OnRetry;
///
/// #[derive(Default)]
/// struct CountRetries(AtomicU32);
///
/// impl<E> OnRetry<E> for CountRetries {
///     fn on_retry(&self, _attempt: u32, _error: &E, _delay: Duration) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let hook = CountRetries::default();
/// hook.on_retry(1, &"timed out", Duration::from_millis(100));
/// assert_eq!(hook.0.load(Ordering::Relaxed), 1);
/// ```
pub trait OnRetry<E> {
    /// Called after failed attempt number `attempt` (1 for the first) with its `error`, before
    /// waiting `delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use std::time::Duration;
    /// use corral::retry::{OnRetry, Retry};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Any `Fn(u32, &E, Duration)` is a hook; `Retry::run` calls it before each wait.
    /// let seen = Mutex::new(Vec::new());
    /// let hook = |attempt: u32, error: &&str, delay: Duration| {
    ///     if let Ok(mut seen) = seen.lock() {
    ///         seen.push((attempt, error.to_string(), delay));
    ///     }
    /// };
    /// hook.on_retry(1, &"timed out", Duration::from_millis(100));
    /// let retry = Retry::fixed(Duration::from_millis(100)).max_attempts(2).on_retry(&hook);
    /// let outcome = retry.run(|| async { Err::<(), _>("refused") }).await;
    /// assert!(outcome.is_err());
    /// let seen = seen.lock().map_err(|e| e.to_string())?;
    /// assert_eq!(seen.len(), 2); // the direct call, then the one retry
    /// assert_eq!(seen[1], (1, "refused".to_owned(), Duration::from_millis(100)));
    /// # Ok(())
    /// # }
    /// ```
    fn on_retry(&self, attempt: u32, error: &E, delay: Duration);
}

/// The default [`OnRetry`]: does nothing.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::retry::{NoHook, OnRetry};
///
/// NoHook.on_retry(1, &"error", Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHook;

impl<E> OnRetry<E> for NoHook {
    fn on_retry(&self, _: u32, _: &E, _: Duration) {}
}

impl<E, F: Fn(u32, &E, Duration)> OnRetry<E> for F {
    fn on_retry(&self, attempt: u32, error: &E, delay: Duration) {
        self(attempt, error, delay)
    }
}

/// A retry policy: backoff schedule, limits, jitter, predicate and hook.
///
/// A `Retry` is a value: build it once, share it (it is `Clone`, and `Send + Sync` when its
/// predicate and hook are), and [`run`](Retry::run) any number of operations with it, one after
/// the other or at the same time. Each run keeps its own count and clock.
///
/// Defaults: 3 attempts (as the guides' `retry`), no cap on a single wait, no limit on the total
/// time, no jitter, every error retried.
///
/// # Waits that never end
///
/// Every wait is kept exactly, a century included. A wait that would end past the end of
/// Tokio's clock (`Retry::fixed(Duration::MAX)`, an exponential schedule saturated at
/// `Duration::MAX` because no [`max_delay`](Retry::max_delay) caps it) never ends, so no retry
/// would ever come: [`run`](Retry::run) gives up at once with [`GiveUp::Elapsed`] and the last
/// error, without calling the [`on_retry`](Retry::on_retry) hook (which is only ever told a
/// wait that really happens). Cap the schedule with `max_delay` to retry for ever.
///
/// ```
/// use std::time::Duration;
/// use corral::retry::{GiveUp, Retry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outcome = Retry::fixed(Duration::MAX).run(|| async { Err::<(), _>("down") }).await;
/// let Err(err) = outcome else { return Err("expected the run to give up".into()) };
/// assert_eq!((err.attempts(), err.reason()), (1, GiveUp::Elapsed));
/// # Ok(())
/// # }
/// ```
///
/// # Examples
///
/// The guides' `retry(coro_func, max_retries=3, delay=1.0)`:
///
/// ```
/// use std::time::Duration;
/// use corral::retry::Retry;
///
/// async fn fetch() -> Result<String, std::io::Error> {
///     Ok("data".into())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let data = Retry::exponential(Duration::from_secs(1)).run(fetch).await?;
/// assert_eq!(data, "data");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Retry<P = Always, H = NoHook> {
    shape: Shape,
    base: Duration,
    max_attempts: u32,
    max_delay: Duration,
    max_elapsed: Duration,
    jitter: Jitter,
    source: Source,
    when: P,
    hook: H,
}

impl Retry {
    fn with_shape(shape: Shape, base: Duration) -> Self {
        Retry {
            shape,
            base,
            max_attempts: 3,
            max_delay: Duration::MAX,
            max_elapsed: Duration::MAX,
            jitter: Jitter::None,
            source: Source::Default,
            when: Always,
            hook: NoHook,
        }
    }

    /// Exponential backoff: after the n-th failure, wait `base * factor^(n-1)`, with
    /// [`factor`](Retry::factor) 2 unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// let retry = Retry::exponential(Duration::from_millis(100));
    /// let waits: Vec<_> = (1..=3).map(|n| retry.delay(n).as_millis()).collect();
    /// assert_eq!(waits, [100, 200, 400]);
    /// ```
    pub fn exponential(base: Duration) -> Self {
        Self::with_shape(Shape::Exponential { factor: 2.0 }, base)
    }

    /// The same wait, `delay`, after every failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// let retry = Retry::fixed(Duration::from_millis(250));
    /// assert_eq!(retry.delay(1), retry.delay(9));
    /// ```
    pub fn fixed(delay: Duration) -> Self {
        Self::with_shape(Shape::Fixed, delay)
    }

    /// Fibonacci backoff: after the n-th failure, wait `base * fib(n)` (1, 1, 2, 3, 5, 8, ...
    /// times `base`), growing more gently than exponential.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// let retry = Retry::fibonacci(Duration::from_millis(100));
    /// let waits: Vec<_> = (1..=5).map(|n| retry.delay(n).as_millis()).collect();
    /// assert_eq!(waits, [100, 100, 200, 300, 500]);
    /// ```
    pub fn fibonacci(base: Duration) -> Self {
        Self::with_shape(Shape::Fibonacci, base)
    }
}

impl<P, H> Retry<P, H> {
    /// The growth factor of an [exponential](Retry::exponential) schedule (2 by default). It
    /// has no effect on the other schedules.
    ///
    /// # Panics
    ///
    /// Panics if `factor` is below 1 or not finite: a shrinking schedule is not backoff.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// let retry = Retry::exponential(Duration::from_millis(100)).factor(3.0);
    /// assert_eq!(retry.delay(3), Duration::from_millis(900));
    /// ```
    #[track_caller]
    pub fn factor(mut self, factor: f64) -> Self {
        assert!(
            factor.is_finite() && factor >= 1.0,
            "a retry factor must be finite and at least 1, got {factor}"
        );
        if let Shape::Exponential { .. } = self.shape {
            self.shape = Shape::Exponential { factor };
        }
        self
    }

    /// The most attempts to make, the first one included (3 by default; `u32::MAX` for no
    /// limit: the run goes on past 2^32 - 1 attempts, and a [`RetryError`] from
    /// `max_elapsed` or the predicate counts them up to `u32::MAX`). Zero counts as one: the
    /// operation always runs at least once.
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
    /// let retry = Retry::fixed(Duration::from_millis(1)).max_attempts(10);
    /// let Err(err) = retry.run(|| async { Err::<(), _>("down") }).await else { return Err("expected the run to give up".into()) };
    /// assert_eq!(err.attempts(), 10);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The longest single wait (before jitter); longer waits of the schedule are cut to it.
    /// `Duration::MAX` (the default) means no cap.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// let retry = Retry::exponential(Duration::from_secs(1)).max_delay(Duration::from_secs(5));
    /// assert_eq!(retry.delay(10), Duration::from_secs(5));
    /// ```
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// The longest a [`run`](Retry::run) may take, counted from the start of its first attempt.
    /// The run gives up, with [`GiveUp::Elapsed`] and the last error, instead of starting a wait
    /// that would end past this limit. It does not cut an attempt short: wrap the attempt (or
    /// the run) in a [`timeout`](crate::time::timeout) or a [`Deadline`](crate::time::Deadline)
    /// for that. `Duration::MAX` (the default) means no limit.
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
    /// let retry = Retry::exponential(Duration::from_millis(100))
    ///     .max_attempts(u32::MAX)
    ///     .max_elapsed(Duration::from_millis(500));
    /// let Err(err) = retry.run(|| async { Err::<(), _>("down") }).await else { return Err("expected the run to give up".into()) };
    /// // waits of 100 and 200 ms fit in 500 ms; the next, 400 ms, would not
    /// assert_eq!((err.attempts(), err.reason()), (3, GiveUp::Elapsed));
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// Randomises each wait as `jitter` says, with a fast thread-local generator (`fastrand`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::{Jitter, Retry};
    ///
    /// let retry = Retry::fixed(Duration::from_millis(100)).jitter(Jitter::Equal);
    /// # let _ = retry;
    /// ```
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self.source = Source::Default;
        self
    }

    /// Randomises each wait as `jitter` says, drawing from `source`, a function returning
    /// numbers in `[0, 1)` (values outside are clamped). Tests pass a fixed sequence to state
    /// exact waits; a program can pass a seeded generator to replay a run.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::{Jitter, Retry};
    ///
    /// let retry = Retry::fixed(Duration::from_millis(100)).jitter_with(Jitter::Full, || 0.5);
    /// assert_eq!(retry.next_delay(1), Duration::from_millis(50));
    /// ```
    pub fn jitter_with<S>(mut self, jitter: Jitter, source: S) -> Self
    where
        S: Fn() -> f64 + Send + Sync + 'static,
    {
        self.jitter = jitter;
        self.source = Source::Custom(Arc::new(source));
        self
    }

    /// Retries only the errors for which `predicate` returns `true`; another error ends the run
    /// at once with [`GiveUp::NotRetryable`]. A cancellation or a panic is never retried,
    /// whatever the predicate says.
    ///
    /// The predicate runs on the task that awaits the run; if it panics, the panic goes to that
    /// task, as one in an attempt does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Error, ErrorKind};
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let retry = Retry::exponential(Duration::from_millis(10))
    ///     .when(|e: &Error| e.kind() != ErrorKind::PermissionDenied);
    /// let outcome = retry
    ///     .run(|| async { Err::<(), _>(Error::from(ErrorKind::PermissionDenied)) })
    ///     .await;
    /// let Err(err) = outcome else { return Err("expected the run to give up".into()) };
    /// assert_eq!(err.attempts(), 1); // not worth retrying
    /// # Ok(())
    /// # }
    /// ```
    pub fn when<E, W>(self, predicate: W) -> Retry<W, H>
    where
        W: Fn(&E) -> bool,
    {
        Retry {
            shape: self.shape,
            base: self.base,
            max_attempts: self.max_attempts,
            max_delay: self.max_delay,
            max_elapsed: self.max_elapsed,
            jitter: self.jitter,
            source: self.source,
            when: predicate,
            hook: self.hook,
        }
    }

    /// Calls `hook(attempt, &error, delay)` after each failed attempt that will be retried,
    /// before the wait: `attempt` is the number of the attempt that failed (1 for the first),
    /// `delay` the wait about to start (jitter included). Logging and metrics go here.
    ///
    /// The hook runs under `catch_unwind`: a hook that panics is
    /// [reported](crate::report) and the run goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # tokio::time::pause();
    /// let retry = Retry::exponential(Duration::from_millis(100)).on_retry(
    ///     |attempt, error: &&str, delay: Duration| {
    ///         eprintln!("attempt {attempt} failed ({error}), retrying in {delay:?}");
    ///     },
    /// );
    /// let _ = retry.run(|| async { Err::<(), _>("busy") }).await;
    /// # }
    /// ```
    pub fn on_retry<E, G>(self, hook: G) -> Retry<P, G>
    where
        G: Fn(u32, &E, Duration),
    {
        Retry {
            shape: self.shape,
            base: self.base,
            max_attempts: self.max_attempts,
            max_delay: self.max_delay,
            max_elapsed: self.max_elapsed,
            jitter: self.jitter,
            source: self.source,
            when: self.when,
            hook,
        }
    }

    /// The scheduled wait after the `failures`-th failed attempt, capped at
    /// [`max_delay`](Retry::max_delay), before jitter. `delay(0)` is `delay(1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// let retry = Retry::exponential(Duration::from_secs(1)).max_delay(Duration::from_secs(3));
    /// assert_eq!(retry.delay(1), Duration::from_secs(1));
    /// assert_eq!(retry.delay(2), Duration::from_secs(2));
    /// assert_eq!(retry.delay(3), Duration::from_secs(3)); // 4 s, capped
    /// ```
    pub fn delay(&self, failures: u32) -> Duration {
        self.shape.delay(self.base, failures).min(self.max_delay)
    }

    /// The wait [`run`](Retry::run) would start after the `failures`-th failed attempt: the
    /// [`delay`](Retry::delay) with jitter applied, drawing one number from the random source
    /// (none without jitter).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::{Jitter, Retry};
    ///
    /// let retry = Retry::exponential(Duration::from_millis(100)).jitter_with(Jitter::Equal, || 0.0);
    /// assert_eq!(retry.next_delay(3), Duration::from_millis(200)); // half of 400 ms
    /// ```
    pub fn next_delay(&self, failures: u32) -> Duration {
        let delay = self.delay(failures);
        match self.jitter {
            Jitter::None => delay,
            jitter => jitter.apply(delay, self.source.next()),
        }
    }

    /// Runs `operation` until it succeeds or the policy gives up.
    ///
    /// `operation` is called once per attempt and returns that attempt's future. Returns the
    /// first `Ok`, or a [`RetryError`] holding the last error, the number of attempts and the
    /// reason ([`GiveUp`]). After a failed attempt the run asks, in order: is this a
    /// cancellation or a panic reported as an error, or an error the predicate rejects
    /// (stop: [`GiveUp::NotRetryable`]); was this the last attempt allowed
    /// ([`GiveUp::Attempts`]); would the next wait cross `max_elapsed`, or never end
    /// ([`GiveUp::Elapsed`]; see [waits that never end](Retry#waits-that-never-end)).
    /// Otherwise it calls the hook, drops the error and waits.
    ///
    /// An attempt that panics is not caught: the panic propagates to the caller, and no further
    /// attempt is made. `E: 'static` lets the run recognise cancellation errors by type.
    ///
    /// # Cancel safety
    ///
    /// Only cancel safe if the attempt's future is: dropping the run during an attempt drops
    /// that attempt's future; dropping it during a wait loses nothing (no attempt is running).
    /// Under a [`Deadline`](crate::time::Deadline) the run ends at the deadline with its
    /// [`Elapsed`](crate::time::Elapsed), in an attempt or in a wait.
    ///
    /// # Errors
    ///
    /// [`RetryError`] when the policy gives up; see above.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Retry;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let start = tokio::time::Instant::now();
    /// let mut failures_left = 2;
    /// let value = Retry::exponential(Duration::from_millis(100))
    ///     .run(|| {
    ///         let fail = failures_left > 0;
    ///         failures_left -= 1;
    ///         async move { if fail { Err("flaky") } else { Ok("done") } }
    ///     })
    ///     .await?;
    /// assert_eq!(value, "done");
    /// assert_eq!(start.elapsed(), Duration::from_millis(300)); // waited 100 + 200 ms
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<F, Fut, T, E>(&self, mut operation: F) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: 'static,
        P: Predicate<E>,
        H: OnRetry<E>,
    {
        let start = (self.max_elapsed != Duration::MAX).then(Instant::now);
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let error = match operation().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let retry_at = match self.after_failure(attempts, &error, start) {
                Ok(retry_at) => retry_at,
                Err(reason) => return Err(RetryError::new(error, attempts, reason)),
            };
            drop(error);
            sleep_until(retry_at).await;
        }
    }

    /// Decides what follows failed attempt number `attempts`: the instant to retry at, or why
    /// to give up.
    fn after_failure<E: 'static>(
        &self,
        attempts: u32,
        error: &E,
        start: Option<Instant>,
    ) -> Result<Instant, GiveUp>
    where
        P: Predicate<E>,
        H: OnRetry<E>,
    {
        if is_cancellation_or_panic(error) || !self.when.retryable(error) {
            return Err(GiveUp::NotRetryable);
        }
        // `u32::MAX` is no limit: the count saturates there, and is never checked against it.
        if self.max_attempts != u32::MAX && attempts >= self.max_attempts {
            return Err(GiveUp::Attempts);
        }
        let delay = self.next_delay(attempts);
        if let Some(start) = start {
            let ends = start.elapsed().checked_add(delay);
            if ends.is_none_or(|ends| ends > self.max_elapsed) {
                return Err(GiveUp::Elapsed);
            }
        }
        // A wait that would end past the end of Tokio's clock never ends: no retry would
        // ever come, so the run gives up now, with the last error, rather than hang.
        let Some(retry_at) = Instant::now().checked_add(delay) else {
            return Err(GiveUp::Elapsed);
        };
        let hook = &self.hook;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
            hook.on_retry(attempts, error, delay);
        })) {
            crate::report::report_failure("Retry hook", Failure::<()>::Panic(payload));
        }
        Ok(retry_at)
    }
}

/// Sleeps until `deadline` on Tokio's timer, exactly however far it is: Tokio's `sleep` caps a
/// wait at about 30 years, so a longer one is waited for in steps of that horizon.
async fn sleep_until(deadline: Instant) {
    let mut timer = pin!(Timer::Unarmed);
    timer.as_mut().arm_at(Some(deadline));
    poll_fn(|cx| {
        if timer.as_mut().poll_fired(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

impl<P, H> fmt::Debug for Retry<P, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("shape", &self.shape)
            .field("base", &self.base)
            .field("max_attempts", &self.max_attempts)
            .field("max_delay", &self.max_delay)
            .field("max_elapsed", &self.max_elapsed)
            .field("jitter", &self.jitter)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Whether `error` says that work was cancelled or panicked, bare or in a `BoxError`: corral's
/// `TaskError`, Tokio's `JoinError`, a cancelled `ErrorGroup<BoxError>` (a group cancelled from
/// outside, or by its runtime shutting down), or a `SubmitError<BoxError>` for a job that
/// panicked or a pool that was shut down. An `ErrorGroup` or `SubmitError` of another error
/// type cannot be recognised (Rust has no specialisation): the predicate decides for those.
fn is_cancellation_or_panic<E: 'static>(error: &E) -> bool {
    let error: &dyn Any = error;
    says_stop(
        error.downcast_ref(),
        error.downcast_ref(),
        error.downcast_ref(),
        error.downcast_ref(),
    ) || error.downcast_ref::<BoxError>().is_some_and(|boxed| {
        says_stop(
            boxed.downcast_ref(),
            boxed.downcast_ref(),
            boxed.downcast_ref(),
            boxed.downcast_ref(),
        )
    })
}

/// The verdict of [`is_cancellation_or_panic`] on whichever of these the error is.
fn says_stop(
    task: Option<&TaskError>,
    join: Option<&tokio::task::JoinError>,
    group: Option<&ErrorGroup<BoxError>>,
    submit: Option<&SubmitError<BoxError>>,
) -> bool {
    task.is_some_and(|e| e.is_cancelled() || e.is_panic())
        || join.is_some_and(|e| e.is_cancelled() || e.is_panic())
        || group.is_some_and(ErrorGroup::is_cancelled)
        || submit.is_some_and(|e| matches!(e, SubmitError::Panicked(_) | SubmitError::Closed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `max_attempts(u32::MAX)` is no limit: at the attempt count's saturation point (where a
    /// run that went on past 2^32 - 1 attempts stays) the attempts check is skipped, while any
    /// lower limit still holds there. An audit found the run gave up after 2^32 - 1 attempts.
    #[test]
    fn u32_max_attempts_is_no_limit() {
        for retry in [
            Retry::fixed(Duration::from_millis(1)),
            Retry::exponential(Duration::from_millis(1)).max_delay(Duration::from_secs(1)),
            Retry::fibonacci(Duration::from_millis(1)).max_delay(Duration::from_secs(1)),
        ] {
            let unlimited = retry.clone().max_attempts(u32::MAX);
            assert!(
                unlimited.after_failure(u32::MAX, &"down", None).is_ok(),
                "{unlimited:?}"
            );
            let limited = retry.max_attempts(u32::MAX - 1);
            assert_eq!(
                limited.after_failure(u32::MAX - 1, &"down", None),
                Err(GiveUp::Attempts)
            );
            assert_eq!(
                limited.after_failure(u32::MAX, &"down", None),
                Err(GiveUp::Attempts)
            );
            assert!(limited.after_failure(u32::MAX - 2, &"down", None).is_ok());
        }
    }
}
