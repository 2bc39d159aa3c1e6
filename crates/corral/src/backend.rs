//! One trait per kind of primitive, implemented by the local type and by its distributed twin,
//! so code is written once and moved across processes by changing a constructor.
//!
//! | kind | trait | local type | across processes (crate `corral-redis`) |
//! |---|---|---|---|
//! | job queue with per-item acknowledgement | [`JobQueue`] | [`queue::Queue`](crate::queue::Queue) | `RedisQueue` |
//! | rate and burst | [`RateLimit`] | [`flow::RateLimiter`] | `RedisRateLimiter` |
//! | at most N at a time | [`ConcurrencyLimit`] | [`sync::Semaphore`](crate::sync::Semaphore) | `RedisSemaphore` |
//!
//! # Why these shapes
//!
//! - Every method returns `impl Future + Send`, even where the local type answers at once
//!   (`try_acquire`, `shutdown`): a distributed backend needs a round trip for each, and generic
//!   code must be able to spawn what it builds.
//! - Every operation can fail (`type Error`): a local type fails only where its own API does
//!   (a closed semaphore, a shut-down queue), a distributed one also when its server cannot be
//!   reached.
//! - A queue hands out a [`Delivery`]: the item plus its acknowledgement. asyncio's
//!   `task_done()` counts anonymous items; across processes the server must know *which* item
//!   is done, so the acknowledgement travels with the item ([`Delivery::done`]).
//!
//! # Examples
//!
//! A worker written once, run here on the local queue and semaphore:
//!
//! ```
//! use corral::backend::{ConcurrencyLimit, Delivery, JobQueue};
//! use corral::queue::Queue;
//! use corral::sync::Semaphore;
//!
//! async fn work<Q, L>(jobs: &Q, limit: &L) -> Result<u64, Box<dyn std::error::Error + Send + Sync>>
//! where
//!     Q: JobQueue<u64>,
//!     L: ConcurrencyLimit,
//! {
//!     let mut sum = 0;
//!     while let Ok(job) = jobs.get().await {
//!         let _permit = limit.acquire().await?;
//!         sum += *job;
//!         job.done().await?;
//!     }
//!     Ok(sum)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let queue = Queue::unbounded();
//! for n in 1..=4 {
//!     JobQueue::put(&queue, n).await?;
//! }
//! JobQueue::shutdown(&queue).await?;
//! assert_eq!(work(&queue, &Semaphore::new(2)).await?, 10);
//! JobQueue::join(&queue).await?;
//! # Ok(())
//! # }
//! ```
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::future::{Future, ready};
use std::ops::Deref;
use std::time::Duration;

use crate::flow::{self, RateLimiter};
use crate::queue::{GetError, PutError, Queue, TaskDoneError};
use crate::sync::{AcquireError, Semaphore, SemaphorePermit};

/// A limit on how often something may happen: a rate and a burst.
///
/// Implemented by the local [`RateLimiter`] and by `corral_redis::RedisRateLimiter`,
/// whose rate and burst are shared by every process.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::backend::{RateLimit, TryAcquireError};
///
/// // Call `send` at most as often as `limit` allows, whichever backend it is.
/// async fn send_all<L: RateLimit>(limit: &L, n: usize) -> Result<usize, L::Error> {
///     for _ in 0..n {
///         limit.acquire().await?;
///     }
///     Ok(n)
/// }
///
/// // Refuse instead of waiting: how long until the next call would be let through?
/// async fn poll_once<L: RateLimit>(limit: &L) -> Result<Option<Duration>, L::Error> {
///     match limit.try_acquire().await {
///         Ok(()) => Ok(None),
///         Err(TryAcquireError::RateLimited { retry_after }) => Ok(Some(retry_after)),
///         Err(TryAcquireError::Failed(error)) => Err(error),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = corral::flow::RateLimiter::per_second(10);
/// assert_eq!(send_all(&limiter, 3).await?, 3);
/// assert_eq!(poll_once(&limiter).await?, Some(Duration::from_millis(100)));
/// # Ok(())
/// # }
/// ```
pub trait RateLimit: Send + Sync {
    /// Why a call could not be let through at all: more asked for than the burst, or the
    /// backend failed.
    type Error: Error + Send + Sync + 'static;

    /// Waits until the limit lets one call through.
    ///
    /// # Cancel safety
    ///
    /// Implementations in corral are cancel safe. A dropped `acquire` of corral's local
    /// `RateLimiter` has taken nothing. One of a distributed limiter such as
    /// `corral_redis::RedisRateLimiter` has taken nothing either, unless it is dropped while
    /// the server's granting reply is in flight: the call was then let through on the server,
    /// and that one call's capacity is spent, unused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::backend::RateLimit;
    /// use corral::flow::RateLimiter;
    ///
    /// async fn call_twice<L: RateLimit>(limit: &L) -> Result<(), L::Error> {
    ///     limit.acquire().await?;
    ///     limit.acquire().await?; // waits for the next slot
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let start = tokio::time::Instant::now();
    /// call_twice(&RateLimiter::per_second(10)).await?;
    /// assert!(start.elapsed() >= Duration::from_millis(100));
    /// # Ok(())
    /// # }
    /// ```
    fn acquire(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Waits until the limit lets `n` calls through at once; `n` above the burst is an error at
    /// once.
    ///
    /// # Cancel safety
    ///
    /// Implementations in corral are cancel safe, as for [`acquire`](Self::acquire): a dropped
    /// `acquire_n` has taken nothing, except that a distributed limiter dropped while the
    /// granting reply is in flight has spent the `n` calls (unused, and no more).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::RateLimit;
    /// use corral::flow::RateLimiter;
    ///
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    ///
    /// // One slot per item, taken at once for the whole batch.
    /// async fn send_batch<L: RateLimit>(limit: &L, batch: &[&str]) -> Result<usize, BoxError> {
    ///     limit.acquire_n(u32::try_from(batch.len())?).await?;
    ///     Ok(batch.len())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), BoxError> {
    /// let limiter = RateLimiter::builder().calls_per_second(10.0).burst(5).build();
    /// assert_eq!(send_batch(&limiter, &["a", "b", "c"]).await?, 3);
    /// // Six at once can never fit a burst of five: an error at once, not a wait.
    /// assert!(send_batch(&limiter, &["x"; 6]).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    fn acquire_n(&self, n: u32) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Lets one call through if the limit allows it now; otherwise says how long to wait.
    ///
    /// # Cancel safety
    ///
    /// Implementations in corral are cancel safe: if the future is dropped before it completes,
    /// the call was either let through (and that capacity is spent) or refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::{RateLimit, TryAcquireError};
    /// use corral::flow::RateLimiter;
    ///
    /// // Send now if the limit allows it; otherwise skip, and say so.
    /// async fn try_send<L: RateLimit>(limit: &L) -> Result<bool, L::Error> {
    ///     match limit.try_acquire().await {
    ///         Ok(()) => Ok(true),
    ///         Err(TryAcquireError::RateLimited { .. }) => Ok(false),
    ///         Err(TryAcquireError::Failed(error)) => Err(error),
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let limiter = RateLimiter::per_second(10);
    /// assert!(try_send(&limiter).await?);
    /// assert!(!try_send(&limiter).await?, "the next slot is 100 ms away");
    /// # Ok(())
    /// # }
    /// ```
    fn try_acquire(&self) -> impl Future<Output = Result<(), TryAcquireError<Self::Error>>> + Send;
}

impl RateLimit for RateLimiter {
    type Error = flow::AcquireError;

    fn acquire(&self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let wait = RateLimiter::acquire(self);
        async move {
            wait.await;
            Ok(())
        }
    }

    fn acquire_n(&self, n: u32) -> impl Future<Output = Result<(), Self::Error>> + Send {
        RateLimiter::acquire_n(self, n)
    }

    fn try_acquire(&self) -> impl Future<Output = Result<(), TryAcquireError<Self::Error>>> + Send {
        ready(match RateLimiter::try_acquire(self) {
            Ok(()) => Ok(()),
            Err(flow::TryAcquireError::RateLimited { retry_after }) => {
                Err(TryAcquireError::RateLimited { retry_after })
            }
            Err(flow::TryAcquireError::ExceedsBurst(error)) => Err(TryAcquireError::Failed(error)),
        })
    }
}

/// Why [`RateLimit::try_acquire`] did not let a call through.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::backend::TryAcquireError;
///
/// let refused: TryAcquireError<std::io::Error> =
///     TryAcquireError::RateLimited { retry_after: Duration::from_millis(100) };
/// assert_eq!(refused.retry_after(), Some(Duration::from_millis(100)));
/// assert_eq!(refused.to_string(), "rate limited: retry after 100ms");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryAcquireError<E> {
    /// The limit does not allow the call now; it would after `retry_after`, if nobody else takes
    /// capacity meanwhile.
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The call can never be let through, or the backend failed.
    Failed(E),
}

impl<E> TryAcquireError<E> {
    /// How long to wait before the call would be let through; `None` for
    /// [`Failed`](Self::Failed).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::backend::TryAcquireError;
    ///
    /// let refused: TryAcquireError<std::io::Error> =
    ///     TryAcquireError::RateLimited { retry_after: Duration::from_secs(1) };
    /// assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
    /// let failed = TryAcquireError::Failed(std::io::Error::other("unreachable"));
    /// assert_eq!(failed.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Failed(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for TryAcquireError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RateLimited { retry_after } => {
                write!(f, "rate limited: retry after {retry_after:?}")
            }
            Self::Failed(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<E: Error + 'static> Error for TryAcquireError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::RateLimited { .. } => None,
            Self::Failed(error) => Some(error),
        }
    }
}

/// A limit on how many holders may be inside at once: acquire a permit, drop it to leave.
///
/// Implemented by [`Semaphore`] (Tokio's, re-exported as `corral::sync::Semaphore`; one permit per
/// `acquire`) and by `corral_redis::RedisSemaphore`, whose permits are leases shared by every
/// process.
///
/// # Examples
///
/// ```
/// use corral::backend::ConcurrencyLimit;
/// use corral::sync::Semaphore;
///
/// async fn guarded<L: ConcurrencyLimit>(limit: &L) -> Result<bool, L::Error> {
///     let _permit = limit.acquire().await?;
///     // At most N callers, across every holder of the limit, are here at once.
///     Ok(limit.try_acquire().await?.is_some())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert!(!guarded(&Semaphore::new(1)).await?, "the only permit is held");
/// assert!(guarded(&Semaphore::new(2)).await?);
/// # Ok(())
/// # }
/// ```
pub trait ConcurrencyLimit: Send + Sync {
    /// The guard: the permit is held until it is dropped.
    type Permit<'a>: Send
    where
        Self: 'a;

    /// Why no permit can be had: the limit was closed, or the backend failed.
    type Error: Error + Send + Sync + 'static;

    /// Waits for a permit.
    ///
    /// # Cancel safety
    ///
    /// Implementations in corral are cancel safe: a dropped `acquire` holds no permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::ConcurrencyLimit;
    /// use corral::sync::Semaphore;
    ///
    /// async fn run_job<L: ConcurrencyLimit>(limit: &L, job: u32) -> Result<u32, L::Error> {
    ///     let _permit = limit.acquire().await?; // held until the job is done
    ///     Ok(job * 2)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let semaphore = Semaphore::new(1);
    /// assert_eq!(run_job(&semaphore, 21).await?, 42);
    /// assert_eq!(semaphore.available_permits(), 1, "the permit was given back");
    /// # Ok(())
    /// # }
    /// ```
    fn acquire(&self) -> impl Future<Output = Result<Self::Permit<'_>, Self::Error>> + Send;

    /// Takes a permit if one is free now; `Ok(None)` if none is.
    ///
    /// # Cancel safety
    ///
    /// Implementations in corral are cancel safe: a dropped `try_acquire` holds no permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::ConcurrencyLimit;
    /// use corral::sync::Semaphore;
    ///
    /// // Run the job if a permit is free now; `None` if every permit is taken.
    /// async fn try_job<L: ConcurrencyLimit>(limit: &L) -> Result<Option<&'static str>, L::Error> {
    ///     let Some(_permit) = limit.try_acquire().await? else {
    ///         return Ok(None);
    ///     };
    ///     Ok(Some("ran"))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let semaphore = Semaphore::new(1);
    /// let held = ConcurrencyLimit::acquire(&semaphore).await?;
    /// assert_eq!(try_job(&semaphore).await?, None, "the only permit is held");
    /// drop(held);
    /// assert_eq!(try_job(&semaphore).await?, Some("ran"));
    /// # Ok(())
    /// # }
    /// ```
    fn try_acquire(
        &self,
    ) -> impl Future<Output = Result<Option<Self::Permit<'_>>, Self::Error>> + Send;
}

impl ConcurrencyLimit for Semaphore {
    type Permit<'a> = SemaphorePermit<'a>;
    type Error = AcquireError;

    fn acquire(&self) -> impl Future<Output = Result<Self::Permit<'_>, Self::Error>> + Send {
        Semaphore::acquire(self)
    }

    async fn try_acquire(&self) -> Result<Option<Self::Permit<'_>>, Self::Error> {
        match Semaphore::try_acquire(self) {
            Ok(permit) => Ok(Some(permit)),
            Err(tokio::sync::TryAcquireError::NoPermits) => Ok(None),
            // Closed: `acquire` fails at once with the error this trait returns.
            Err(tokio::sync::TryAcquireError::Closed) => Semaphore::acquire(self).await.map(Some),
        }
    }
}

/// A queue of jobs shared by producers and workers, each item acknowledged when it is done.
///
/// Implemented by [`Queue`] (in this process) and by `corral_redis::RedisQueue` (across
/// processes, with at-least-once delivery). [`get`](Self::get) returns a [`Delivery`]: the item
/// and its acknowledgement; [`join`](Self::join) returns once every item put has been
/// acknowledged.
///
/// # Examples
///
/// ```
/// use corral::backend::{Delivery, JobQueue};
/// use corral::queue::Queue;
///
/// async fn produce<Q: JobQueue<String>>(queue: &Q) -> Result<(), Q::PutError> {
///     for name in ["a", "b"] {
///         queue.put(name.to_owned()).await?;
///     }
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let queue = Queue::bounded(8);
/// produce(&queue).await?;
/// let first = JobQueue::get(&queue).await?;
/// assert_eq!(first.as_str(), "a");
/// first.done().await?;
/// JobQueue::get(&queue).await?.done().await?;
/// JobQueue::join(&queue).await?; // both were acknowledged
/// # Ok(())
/// # }
/// ```
pub trait JobQueue<T>: Send + Sync {
    /// An item taken by [`get`](Self::get), with its acknowledgement.
    type Delivery<'a>: Delivery<T>
    where
        Self: 'a;

    /// Why [`put`](Self::put) failed: the queue is shut down, or the backend failed.
    type PutError: Error + Send + Sync + 'static;

    /// Why [`get`](Self::get) failed: the queue is shut down and drained, or the backend failed.
    type GetError: Error + Send + Sync + 'static;

    /// Why [`join`](Self::join) or [`shutdown`](Self::shutdown) failed (only a backend can).
    type Error: Error + Send + Sync + 'static;

    /// Puts an item, waiting while a bounded queue is full.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe for the item: a `put` dropped before it completes drops its item with
    /// it. The item was then never inserted (the local [`Queue`]), or, for a distributed
    /// queue dropped while its reply is in flight, inserted once; never twice. To wait for
    /// room in a local queue without risking the item, use [`Queue::reserve`].
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::JobQueue;
    /// use corral::queue::Queue;
    ///
    /// async fn enqueue<Q: JobQueue<u32>>(queue: &Q, jobs: std::ops::Range<u32>) -> Result<(), Q::PutError> {
    ///     for job in jobs {
    ///         queue.put(job).await?; // waits while a bounded queue is full
    ///     }
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(4);
    /// enqueue(&queue, 0..3).await?;
    /// assert_eq!(queue.len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    fn put(&self, item: T) -> impl Future<Output = Result<(), Self::PutError>> + Send;

    /// Takes an item, waiting while the queue is empty.
    ///
    /// # Cancel safety
    ///
    /// Implementations in corral are cancel safe: no item is lost; a distributed queue hands an
    /// item whose `get` was dropped in flight to another worker after its visibility timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::{Delivery, JobQueue};
    /// use corral::queue::Queue;
    ///
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    ///
    /// async fn next_job<Q: JobQueue<String>>(queue: &Q) -> Result<usize, BoxError> {
    ///     let job = queue.get().await?; // waits while the queue is empty
    ///     let len = job.len(); // the item, through `Deref`
    ///     job.done().await?;
    ///     Ok(len)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let queue = Queue::unbounded();
    /// JobQueue::put(&queue, "hello".to_owned()).await?;
    /// assert_eq!(next_job(&queue).await?, 5);
    /// # Ok(())
    /// # }
    /// ```
    fn get(&self) -> impl Future<Output = Result<Self::Delivery<'_>, Self::GetError>> + Send;

    /// Waits until every item put has been acknowledged.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: it takes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::{Delivery, JobQueue};
    /// use corral::queue::Queue;
    ///
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    ///
    /// async fn work<Q: JobQueue<u32>>(queue: &Q) -> Result<(), BoxError> {
    ///     while let Ok(job) = queue.get().await {
    ///         job.done().await?;
    ///     }
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let queue = Queue::unbounded();
    /// for n in 0..3 {
    ///     JobQueue::put(&queue, n).await?;
    /// }
    /// let worker = tokio::spawn({
    ///     let queue = queue.clone();
    ///     async move { work(&queue).await }
    /// });
    /// JobQueue::join(&queue).await?; // the worker acknowledged all three
    /// assert!(queue.is_empty());
    /// JobQueue::shutdown(&queue).await?; // the worker's `get` fails: it ends
    /// worker.await??;
    /// # Ok(())
    /// # }
    /// ```
    fn join(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Shuts the queue down: `put` fails from now on, `get` drains what is left, then fails.
    ///
    /// A worker that holds items when it calls `get` after the shutdown is not made to wait for
    /// the items other workers hold: they are theirs to finish. A caller with empty hands, such
    /// as `finish` below, waits while other workers hold items; with a distributed queue (such
    /// as `corral_redis::RedisQueue`), if a holder dies, its item is handed to that caller
    /// once the visibility timeout has passed, so `finish` processes it and `join` returns.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropped before it completes, it either shut the queue down or
    /// did nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::{Delivery, JobQueue};
    /// use corral::queue::Queue;
    ///
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    ///
    /// // Stops new work, finishes what is left, and waits until it is all acknowledged.
    /// async fn finish<Q: JobQueue<&'static str>>(queue: &Q) -> Result<usize, BoxError> {
    ///     queue.shutdown().await?;
    ///     let mut left = 0;
    ///     while let Ok(job) = queue.get().await {
    ///         job.done().await?;
    ///         left += 1;
    ///     }
    ///     queue.join().await?;
    ///     Ok(left)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let queue = Queue::unbounded();
    /// JobQueue::put(&queue, "last job").await?;
    /// assert_eq!(finish(&queue).await?, 1);
    /// assert!(JobQueue::put(&queue, "too late").await.is_err(), "shut down");
    /// # Ok(())
    /// # }
    /// ```
    fn shutdown(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// An item taken from a [`JobQueue`], with its acknowledgement.
///
/// Read the item through `Deref`; call [`done`](Self::done) when it has been processed. What
/// dropping a delivery without `done` means depends on the queue: the local [`Queue`] counts it
/// as done (nobody else could take it), a distributed queue hands the item to another worker
/// after its visibility timeout.
///
/// # Examples
///
/// ```
/// use corral::backend::{Delivery, JobQueue};
/// use corral::queue::Queue;
///
/// // Handles one delivery from any queue: reads the item, then acknowledges it.
/// async fn handle<D: Delivery<String>>(job: D) -> Result<usize, D::Error> {
///     let words = job.split_whitespace().count();
///     job.done().await?;
///     Ok(words)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let queue = Queue::unbounded();
/// JobQueue::put(&queue, "two words".to_owned()).await?;
/// assert_eq!(handle(JobQueue::get(&queue).await?).await?, 2);
/// JobQueue::join(&queue).await?;
/// # Ok(())
/// # }
/// ```
pub trait Delivery<T>: Deref<Target = T> + Send {
    /// Why the acknowledgement failed.
    type Error: Error + Send + Sync + 'static;

    /// Acknowledges the item: it counts as done for `join`, and is never handed out again.
    ///
    /// # Cancel safety
    ///
    /// Implementations in corral are cancel safe in the sense that a dropped `done` either
    /// acknowledged the item or left it to be handed out again.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::backend::{Delivery, JobQueue};
    /// use corral::queue::Queue;
    ///
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    ///
    /// async fn process<Q: JobQueue<u32>>(queue: &Q) -> Result<u32, BoxError> {
    ///     let job = queue.get().await?;
    ///     let doubled = *job * 2;
    ///     job.done().await?; // counts for `join`, never handed out again
    ///     Ok(doubled)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let queue = Queue::unbounded();
    /// JobQueue::put(&queue, 21).await?;
    /// assert_eq!(process(&queue).await?, 42);
    /// JobQueue::join(&queue).await?; // returns: the only item is done
    /// # Ok(())
    /// # }
    /// ```
    fn done(self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// An item taken from a local [`Queue`] through [`JobQueue::get`].
///
/// [`done`](Delivery::done) calls [`Queue::task_done`]. Dropped without `done`, it calls
/// `task_done` itself, so [`join`](Queue::join) never waits for an item nobody will finish: a
/// local queue has no other process to hand it to.
///
/// # Examples
///
/// ```
/// use corral::backend::{Delivery, JobQueue};
/// use corral::queue::Queue;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let queue = Queue::unbounded();
/// JobQueue::put(&queue, 7).await?;
/// let job = JobQueue::get(&queue).await?;
/// assert_eq!(*job, 7);
/// job.done().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "call `done` once the item is processed"]
pub struct LocalDelivery<'a, T> {
    item: T,
    queue: &'a Queue<T>,
    acknowledged: bool,
}

impl<T> Deref for LocalDelivery<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.item
    }
}

impl<T: Send + Sync> Delivery<T> for LocalDelivery<'_, T> {
    type Error = TaskDoneError;

    fn done(mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.acknowledged = true;
        ready(self.queue.task_done())
    }
}

impl<T> Drop for LocalDelivery<'_, T> {
    fn drop(&mut self) {
        if !self.acknowledged {
            // Counted by the `get` that made this delivery, so it cannot be over-counted.
            let _ = self.queue.task_done();
        }
    }
}

impl<T> fmt::Debug for LocalDelivery<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalDelivery")
            .field("acknowledged", &self.acknowledged)
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> JobQueue<T> for Queue<T> {
    type Delivery<'a> = LocalDelivery<'a, T>;
    type PutError = PutError<T>;
    type GetError = GetError;
    type Error = Infallible;

    fn put(&self, item: T) -> impl Future<Output = Result<(), Self::PutError>> + Send {
        Queue::put(self, item)
    }

    async fn get(&self) -> Result<Self::Delivery<'_>, Self::GetError> {
        let item = Queue::get(self).await?;
        Ok(LocalDelivery {
            item,
            queue: self,
            acknowledged: false,
        })
    }

    async fn join(&self) -> Result<(), Self::Error> {
        Queue::join(self).await;
        Ok(())
    }

    fn shutdown(&self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        Queue::shutdown(self);
        ready(Ok(()))
    }
}

#[cfg(all(test, not(corral_loom)))]
mod tests {

    #[tokio::test(start_paused = true)]
    async fn local_rate_limiter_through_the_trait() {
        let limiter = RateLimiter::per_second(10);
        RateLimit::acquire(&limiter).await.expect("acquire");
        let refused = RateLimit::try_acquire(&limiter).await.expect_err("spent");
        assert_eq!(refused.retry_after(), Some(Duration::from_millis(100)));
        assert!(RateLimit::acquire_n(&limiter, 2).await.is_err());
    }
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_dropped_local_delivery_counts_as_done() {
        let queue = Queue::unbounded();
        JobQueue::put(&queue, 1).await.expect("put");
        JobQueue::put(&queue, 2).await.expect("put");
        let first = JobQueue::get(&queue).await.expect("get");
        first.done().await.expect("done");
        assert!(
            JobQueue::join(&queue).now_or_never().is_none(),
            "one item is still out"
        );
        drop(JobQueue::get(&queue).await.expect("get"));
        assert!(matches!(
            JobQueue::join(&queue).now_or_never(),
            Some(Ok(()))
        ));
        assert!(queue.task_done().is_err(), "the drop spent the count once");
    }

    #[tokio::test]
    async fn local_get_after_shutdown_drains_then_fails() {
        let queue = Queue::unbounded();
        JobQueue::put(&queue, "a").await.expect("put");
        JobQueue::shutdown(&queue).await.expect("shutdown");
        assert!(JobQueue::put(&queue, "b").await.is_err());
        JobQueue::get(&queue)
            .await
            .expect("drain")
            .done()
            .await
            .expect("done");
        assert!(JobQueue::get(&queue).await.is_err());
    }

    #[tokio::test]
    async fn semaphore_through_the_trait() {
        let semaphore = Semaphore::new(1);
        let held = ConcurrencyLimit::acquire(&semaphore)
            .await
            .expect("acquire");
        assert!(
            ConcurrencyLimit::try_acquire(&semaphore)
                .await
                .expect("open")
                .is_none()
        );
        drop(held);
        assert!(
            ConcurrencyLimit::try_acquire(&semaphore)
                .await
                .expect("open")
                .is_some()
        );
        semaphore.close();
        assert!(ConcurrencyLimit::try_acquire(&semaphore).await.is_err());
        assert!(ConcurrencyLimit::acquire(&semaphore).await.is_err());
    }

    /// Polls `future` once; whether it is still waiting.
    fn pending_once<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
        future.now_or_never().is_none()
    }

    #[tokio::test]
    async fn local_queue_futures_dropped_mid_wait_lose_nothing() {
        let queue = Queue::bounded(1);
        // A `get` dropped while it waits takes nothing: the next one gets the item.
        let mut get = Box::pin(JobQueue::get(&queue));
        assert!(pending_once(get.as_mut()));
        JobQueue::put(&queue, 1).await.expect("put");
        drop(get);
        let first = JobQueue::get(&queue).now_or_never();
        let first = first.expect("ready").expect("the item is there");
        assert_eq!(*first, 1);
        // A `join` dropped while it waits changes nothing: a later one returns once done.
        let mut join = Box::pin(JobQueue::join(&queue));
        assert!(pending_once(join.as_mut()));
        drop(join);
        first.done().await.expect("done");
        assert!(matches!(
            JobQueue::join(&queue).now_or_never(),
            Some(Ok(()))
        ));
        // A `put` dropped while the queue is full inserted nothing (and dropped its item).
        JobQueue::put(&queue, 2).await.expect("put");
        let mut put = Box::pin(JobQueue::put(&queue, 3));
        assert!(pending_once(put.as_mut()));
        drop(put);
        assert_eq!(queue.try_get(), Ok(2));
        assert!(queue.try_get().is_err(), "3 was never inserted");
    }

    #[tokio::test(start_paused = true)]
    async fn local_limits_dropped_mid_wait_take_nothing() {
        let limiter = RateLimiter::per_second(10);
        RateLimit::acquire(&limiter).await.expect("acquire");
        // Each waits for the next slot (100 ms away) and is dropped halfway.
        let mut one = Box::pin(RateLimit::acquire(&limiter));
        assert!(pending_once(one.as_mut()));
        let mut two = Box::pin(RateLimit::acquire_n(&limiter, 1));
        assert!(pending_once(two.as_mut()));
        tokio::time::advance(Duration::from_millis(50)).await;
        drop((one, two));
        tokio::time::advance(Duration::from_millis(50)).await;
        // The slot they waited for is still free.
        RateLimit::try_acquire(&limiter)
            .await
            .expect("the dropped acquires took no slot");

        let semaphore = Semaphore::new(1);
        let held = ConcurrencyLimit::acquire(&semaphore)
            .await
            .expect("acquire");
        let mut waiting = Box::pin(ConcurrencyLimit::acquire(&semaphore));
        assert!(pending_once(waiting.as_mut()));
        drop(waiting);
        drop(held);
        assert_eq!(
            semaphore.available_permits(),
            1,
            "the dropped waiter holds nothing"
        );
    }
}
