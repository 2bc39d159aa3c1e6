use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use corral::backend::{RateLimit, TryAcquireError};
use redis::Script;
use redis::aio::ConnectionManager;

use crate::Error;

/// GCRA on the server's clock, in microseconds. The key holds the theoretical arrival time
/// (TAT) of the next call; a request for `n` calls is let through when `TAT + n·T − τ ≤ now`,
/// with `T` the interval between calls and `τ = burst·T`. Refused requests change nothing.
/// A grant never sets the TAT past `now + τ`, so a TAT beyond that means the server's clock
/// stepped back since: it is reset to `now` (at most one burst goes through early), or every
/// call would be refused until the clock caught up.
/// Returns `{1, 0}` when let through, `{0, wait_µs}` otherwise.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now or tat > now + tolerance then tat = now end
local new_tat = tat + n * interval
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
",
    )
});

/// A rate and a burst shared by every process that uses the same Redis key: the distributed
/// twin of corral's local `RateLimiter`.
///
/// Each request is one round trip: a Lua script (sent by `EVALSHA`, with a fallback to `EVAL`
/// when the server does not know it yet) runs the GCRA algorithm atomically on the server,
/// reading the server's clock (`TIME`), so clients whose clocks drift still share one rate.
/// The key holds one number and expires when the limiter is idle.
///
/// # Comparison to the local `RateLimiter`
///
/// Same methods, same semantics for the rate and the burst, with two differences:
/// - Waiters are not served in order: a waiting [`acquire`](Self::acquire) sleeps for the wait
///   the server computed and asks again, and another process may take the capacity first. A
///   long wait for `acquire_n(k)` with a large `k` can be overtaken by small requests.
/// - Every method can fail with [`Error::Redis`] when the server cannot be reached.
///
/// # Clock steps
///
/// The limiter runs on the server's clock (`TIME`), so the clients' clocks do not matter. If
/// the server's clock steps forward, the limiter sees an idle spell: at most one burst goes
/// through at once. If it steps back, a state written before the step lies in the future:
/// one further ahead than a burst can set is taken as "idle" (at most one burst goes through
/// early), rather than refusing every call until the clock has caught up.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral_redis::RedisRateLimiter;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = corral_redis::test_server::TestServer::start()?;
/// # let url = server.url();
/// let client = redis::Client::open(url)?;
/// let conn = redis::aio::ConnectionManager::new(client).await?;
/// // 100 calls per second across every replica, at most 10 at once.
/// let limiter = RedisRateLimiter::builder(conn, "api:limit")
///     .rate(100, Duration::from_secs(1))
///     .burst(10)
///     .build()?;
/// limiter.acquire().await?;
/// // ... make the call ...
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisRateLimiter {
    conn: ConnectionManager,
    key: Arc<str>,
    /// Microseconds between two calls.
    interval_us: f64,
    burst: u32,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("key", &self.key)
            .field("interval_us", &self.interval_us)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisRateLimiter`]: a rate (default one call per second) and a burst (default 1).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral_redis::RedisRateLimiter;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = corral_redis::test_server::TestServer::start()?;
/// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
/// // 600 calls a minute across every process, up to 20 at once.
/// let limiter = RedisRateLimiter::builder(conn, "search:limit")
///     .rate(600, Duration::from_secs(60))
///     .burst(20)
///     .build()?;
/// assert_eq!(limiter.burst(), 20);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    conn: ConnectionManager,
    key: String,
    calls: u32,
    period: Duration,
    burst: u32,
}

impl Builder {
    /// `calls` calls per `period`, over a long run.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::backend::TryAcquireError;
    /// use corral_redis::RedisRateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// // One call every two seconds.
    /// let limiter = RedisRateLimiter::builder(conn, "slow:limit")
    ///     .rate(1, Duration::from_secs(2))
    ///     .build()?;
    /// limiter.acquire().await?;
    /// let next = limiter.try_acquire().await;
    /// assert!(matches!(next, Err(TryAcquireError::RateLimited { .. })), "two seconds away");
    /// # Ok(())
    /// # }
    /// ```
    pub fn rate(mut self, calls: u32, period: Duration) -> Self {
        self.calls = calls;
        self.period = period;
        self
    }

    /// How many calls may go through at once after an idle spell (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::RedisRateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = RedisRateLimiter::builder(conn, "burst:limit")
    ///     .rate(1, Duration::from_secs(60))
    ///     .burst(3)
    ///     .build()?;
    /// for _ in 0..3 {
    ///     limiter.try_acquire().await?; // three at once after an idle spell
    /// }
    /// assert!(limiter.try_acquire().await.is_err(), "then one a minute");
    /// # Ok(())
    /// # }
    /// ```
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// The limiter.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a zero rate, period or burst, or if a full burst takes over 100
    /// years to drain (a time Redis could not set as an expiry).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral_redis::{Error, RedisRateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = RedisRateLimiter::builder(conn.clone(), "default:limit").build()?;
    /// assert_eq!(limiter.burst(), 1); // one call per second, one at a time
    /// let zero = RedisRateLimiter::builder(conn, "bad:limit").burst(0).build();
    /// assert!(matches!(zero, Err(Error::Config(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn build(self) -> Result<RedisRateLimiter, Error> {
        if self.calls == 0 || self.period.is_zero() {
            return Err(Error::Config("the rate must be above zero"));
        }
        if self.burst == 0 {
            return Err(Error::Config("the burst must be at least 1"));
        }
        let interval_us = self.period.as_secs_f64() * 1e6 / f64::from(self.calls);
        // The state's key expires once a full burst has drained.
        if interval_us * f64::from(self.burst) > crate::LONGEST.as_secs_f64() * 1e6 {
            return Err(Error::Config(
                "a full burst must drain within 100 years (period / calls * burst)",
            ));
        }
        Ok(RedisRateLimiter {
            conn: self.conn,
            key: self.key.into(),
            interval_us,
            burst: self.burst,
        })
    }
}

impl RedisRateLimiter {
    /// `n` calls per second, with a burst of 1, on the Redis key `key`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `n` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral_redis::RedisRateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let url = server.url();
    /// let conn = redis::aio::ConnectionManager::new(redis::Client::open(url)?).await?;
    /// let limiter = RedisRateLimiter::per_second(conn, "mail:limit", 5)?;
    /// assert_eq!(limiter.burst(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn per_second(
        conn: ConnectionManager,
        key: impl Into<String>,
        n: u32,
    ) -> Result<Self, Error> {
        Self::builder(conn, key)
            .rate(n, Duration::from_secs(1))
            .build()
    }

    /// A builder for any rate and burst, on the Redis key `key`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::RedisRateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = RedisRateLimiter::builder(conn, "api:limit")
    ///     .rate(50, Duration::from_secs(1))
    ///     .burst(5)
    ///     .build()?;
    /// limiter.acquire_n(5).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(conn: ConnectionManager, key: impl Into<String>) -> Builder {
        Builder {
            conn,
            key: key.into(),
            calls: 1,
            period: Duration::from_secs(1),
            burst: 1,
        }
    }

    /// The burst.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = corral_redis::RedisRateLimiter::builder(conn, "b:limit").burst(4).build()?;
    /// assert_eq!(limiter.burst(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Waits until the limit lets one call through.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: a dropped `acquire` has taken nothing, unless it is dropped
    /// while the granting reply is in flight (then that one call's capacity is spent).
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached. A reply that is lost or comes too late
    /// (the connection's response timeout) is [`Error::Redis`] too, though the server may have
    /// let the call through: its capacity is then spent, unused. Nothing refunds it: the client
    /// cannot tell whether the script ran, and refunding a call that was never let through
    /// would let one more through than the limit allows. So a failure can under-use the limit,
    /// never exceed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use corral_redis::RedisRateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = RedisRateLimiter::per_second(conn, "send:limit", 20)?;
    /// let start = Instant::now();
    /// limiter.acquire().await?; // at once
    /// limiter.acquire().await?; // one interval (50 ms) later
    /// assert!(start.elapsed() >= Duration::from_millis(40));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<(), Error> {
        self.acquire_n(1).await
    }

    /// Waits until the limit lets `n` calls through at once. `n` of zero completes at once.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Errors
    ///
    /// [`Error::ExceedsBurst`] at once, without a round trip, if `n` is above the burst;
    /// [`Error::Redis`] if the server cannot be reached (after a lost or late reply, the `n`
    /// calls may have been spent, as for [`acquire`](Self::acquire)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::{Error, RedisRateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = RedisRateLimiter::builder(conn, "batch:limit")
    ///     .rate(10, Duration::from_secs(1))
    ///     .burst(5)
    ///     .build()?;
    /// limiter.acquire_n(5).await?;
    /// assert!(matches!(limiter.acquire_n(6).await, Err(Error::ExceedsBurst { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire_n(&self, n: u32) -> Result<(), Error> {
        loop {
            match self.try_acquire_n(n).await {
                Ok(()) => return Ok(()),
                Err(TryAcquireError::RateLimited { retry_after }) => {
                    tokio::time::sleep(retry_after).await;
                }
                Err(TryAcquireError::Failed(error)) => return Err(error),
            }
        }
    }

    /// Lets one call through if the limit allows it now; otherwise says how long to wait.
    ///
    /// One round trip.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropped before it completes, it either let the call through
    /// (the capacity is spent) or took nothing.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::RateLimited`] with how long to wait (assuming nobody else takes
    /// capacity meanwhile), or [`TryAcquireError::Failed`] with [`Error::Redis`]. After a
    /// reply that is lost or comes too late (the connection's response timeout), the call may
    /// have been let through all the same and its capacity spent, unused (see
    /// [`acquire`](Self::acquire) for why nothing refunds it).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral_redis::RedisRateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = RedisRateLimiter::per_second(conn, "poll:limit", 10)?;
    /// limiter.try_acquire().await?;
    /// let Err(refused) = limiter.try_acquire().await else {
    ///     return Err("expected the second call to be refused".into());
    /// };
    /// assert!(refused.retry_after().is_some_and(|wait| wait.as_millis() <= 100));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn try_acquire(&self) -> Result<(), TryAcquireError<Error>> {
        self.try_acquire_n(1).await
    }

    /// Lets `n` calls through at once if the limit allows it now; otherwise says how long to
    /// wait. `n` of zero always succeeds.
    ///
    /// # Cancel safety
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire), and [`Error::ExceedsBurst`] if `n` is above the
    /// burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral_redis::RedisRateLimiter;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limiter = RedisRateLimiter::per_second(conn, "n:limit", 10)?;
    /// assert!(limiter.try_acquire_n(2).await.is_err(), "above the burst of 1");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn try_acquire_n(&self, n: u32) -> Result<(), TryAcquireError<Error>> {
        if n > self.burst {
            return Err(TryAcquireError::Failed(Error::ExceedsBurst {
                requested: n,
                burst: self.burst,
            }));
        }
        if n == 0 {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let (granted, wait_us): (i64, i64) = GCRA
            .key(&*self.key)
            .arg(self.interval_us)
            .arg(self.interval_us * f64::from(self.burst))
            .arg(n)
            .invoke_async(&mut conn)
            .await
            .map_err(|error| TryAcquireError::Failed(Error::Redis(error)))?;
        if granted == 1 {
            Ok(())
        } else {
            Err(TryAcquireError::RateLimited {
                retry_after: Duration::from_micros(wait_us.max(1).unsigned_abs()),
            })
        }
    }
}

impl RateLimit for RedisRateLimiter {
    type Error = Error;

    fn acquire(&self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        RedisRateLimiter::acquire(self)
    }

    fn acquire_n(&self, n: u32) -> impl Future<Output = Result<(), Self::Error>> + Send {
        RedisRateLimiter::acquire_n(self, n)
    }

    fn try_acquire(&self) -> impl Future<Output = Result<(), TryAcquireError<Self::Error>>> + Send {
        RedisRateLimiter::try_acquire(self)
    }
}
