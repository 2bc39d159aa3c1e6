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
