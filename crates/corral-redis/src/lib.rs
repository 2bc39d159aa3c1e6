//! corral's queue, rate limiter and semaphore across processes, on Redis.
//!
//! The guides' producer/consumer, rate limiter and concurrency limit stop at one process. This
//! crate gives them the same API on Redis, so that workers on several machines drain one job
//! queue, every replica shares one API rate limit, and a fleet shares one cap on connections:
//!
//! | local (`corral`) | across processes | trait (`corral::backend`) |
//! |---|---|---|
//! | `queue::Queue<T>` | [`RedisQueue<T>`] (Streams + consumer group, at least once) | `JobQueue<T>` |
//! | `flow::RateLimiter` | [`RedisRateLimiter`] (GCRA in Lua on the server's clock) | `RateLimit` |
//! | `sync::Semaphore` | [`RedisSemaphore`] (expiring, renewed leases, fencing numbers) | `ConcurrencyLimit` |
//!
//! Code written against the traits moves to Redis by changing a constructor. Every type takes
//! a [`redis::aio::ConnectionManager`], which reconnects by itself: while Redis is down,
//! operations fail with [`Error::Redis`]; once it is back, the same handles work again.
//!
//! Requires Redis 7.0 or later (`XAUTOCLAIM`, Lua scripts reading `TIME`).
//!
//! # Contents
//!
//! - [A first example](#a-first-example): one worker, written once, on either backend.
//! - [Guarantees](#guarantees): what holds across processes, and what does not.
//! - [Cancel safety at a glance](#cancel-safety-at-a-glance).
//! - [When Redis fails](#when-redis-fails).
//! - [Testing](#testing): a private `redis-server` per test binary.
//!
//! # A first example
//!
//! ```
//! use corral::backend::{Delivery, JobQueue, RateLimit};
//! use corral_redis::{RedisQueue, RedisRateLimiter};
//!
//! type BoxError = Box<dyn std::error::Error + Send + Sync>;
//!
//! // Written once against the traits: runs on corral's local types or on Redis.
//! async fn worker<Q: JobQueue<String>, L: RateLimit>(jobs: &Q, limit: &L) -> Result<usize, BoxError> {
//!     let mut done = 0;
//!     while let Ok(job) = jobs.get().await {
//!         limit.acquire().await?;
//!         println!("sending {}", *job);
//!         job.done().await?;
//!         done += 1;
//!     }
//!     Ok(done)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! # let server = corral_redis::test_server::TestServer::start()?;
//! # let url = server.url();
//! let conn = redis::aio::ConnectionManager::new(redis::Client::open(url)?).await?;
//! let jobs = RedisQueue::<String>::bounded(conn.clone(), "mail:jobs", 1000)?;
//! let limit = RedisRateLimiter::per_second(conn, "mail:rate", 1000)?;
//! jobs.put("hello@example.com".to_owned()).await?;
//! jobs.shutdown().await?; // the workers drain what is left, then stop
//! assert_eq!(worker(&jobs, &limit).await?, 1);
//! jobs.join().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Guarantees
//!
//! - [`RedisQueue`]: delivery is **at least once**. An item is gone only after
//!   [`RedisDelivery::done`]; one whose consumer died, or whose delivery was dropped, is handed
//!   out again after the visibility timeout, also after a shutdown: a worker that asks with
//!   empty hands waits while anyone holds an item and takes a dead holder's over (one with
//!   items in hand is told the queue is drained once nothing else is left for it; see
//!   [`RedisQueue::get`]). An acknowledged item never comes back. Items are
//!   handed out in order, except redeliveries, which come first. A payload that does not decode
//!   is moved to a dead-letter stream and reported, never retried.
//! - [`RedisRateLimiter`]: over any window, every process together gets at most
//!   `burst + rate × window` calls (GCRA, atomic on the server, on the server's clock).
//! - [`RedisSemaphore`]: at most N unexpired leases exist at any instant. A holder that pauses
//!   longer than its lease (a GC pause, a frozen VM) may find it lost ([`RedisPermit::is_lost`]);
//!   give the [fencing number](RedisPermit::fence) to the guarded resource when that matters.
//!   A holder cut off from Redis sees its permit lost before the lease can run out on the
//!   server, so before another process can be granted it. A crashed holder's permit returns
//!   after one lease time.
//! - Waiters are not queued across processes: waiting operations poll with a backoff, so they
//!   are not served in order (the local types are).
//!
//! # Cancel safety at a glance
//!
//! Every future of this crate is cancel safe in the sense that dropping it loses nothing: a
//! dropped `get` leaves its item to be handed out again (at once if it was not yet taken, after
//! the visibility timeout if its reply was in flight), a dropped `put` inserted the item once or
//! not at all, a dropped `acquire` holds no permit (a lease granted while its reply was in
//! flight is released), and a dropped rate-limiter `acquire` takes nothing unless the
//! granting reply was in flight.
//!
//! # When Redis fails
//!
//! Every operation returns [`Error::Redis`] while the server cannot be reached
//! ([`Error::is_connection`] says so), and works again, on the same handles, once the
//! [`ConnectionManager`](redis::aio::ConnectionManager) has reconnected. Held permits keep
//! trying to renew; a lease that ran out meanwhile is reported lost.
//!
//! A request whose reply is lost, or comes after the connection's response timeout (500 ms by
//! default), fails with [`Error::Redis`] though the server may have run it: a semaphore
//! `acquire` then releases the lease it may have been granted, a rate-limiter call may have
//! spent its capacity (never more than the limit allows), a `put` may have inserted its item
//! and a `done` may have acknowledged it. With Redis persistence
//! (AOF), queued and unacknowledged items survive a restart; without it, a restart empties
//! every queue.
//!
//! # Testing
//!
//! The tests, examples and benchmarks of this crate start a private `redis-server` (it must be
//! on `PATH`: `apt-get install redis-server`) on a free loopback port and stop it when the
//! process ends. No mocks: the guarantees above are checked against the real server, including
//! a consumer process killed mid-item, a holder process killed while holding a permit, and a
//! Redis restart.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod queue;
mod rate_limiter;
mod semaphore;

#[doc(hidden)]
pub mod test_server;

pub use error::Error;
pub use queue::{Ack, RedisDelivery, RedisQueue};
pub use rate_limiter::{Builder as RateLimiterBuilder, RedisRateLimiter};
pub use semaphore::{RedisPermit, RedisSemaphore};

/// The longest lease or rate window accepted: 100 years. Redis refuses an expiry that does not
/// fit in its millisecond clock, and anything longer is "for ever" in practice.
const LONGEST: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);
