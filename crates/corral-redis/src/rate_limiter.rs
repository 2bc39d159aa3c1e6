use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use corral::backend::{RateLimit, TryAcquireError};
use redis::Script;
use redis::aio::ConnectionManager;

use crate::Error;

/// GCRA on the server's clock, in microseconds, kept relative so it stays exact. The key is a
/// hash: `at`, the server's time of the last grant (integer µs), and `ahead`, the backlog then
/// (the theoretical arrival time (TAT) of the next call minus `at`: a small number of µs).
/// Absolute times (~1.7e15 µs) are never added to: as a double their step is 0.25 µs, which
/// would swallow `n·T` below 0.125 µs (every call free at a few million calls a second) and
/// round larger ones by up to ±25%. The backlog now is `b = max(ahead − max(now − at, 0), 0)`
/// (`now − at` is an exact difference of integers; a clock stepped back, `now < at`, counts as
/// no time passed, so the wait owed then is owed now). A request for `n` calls is let through
/// when `b + n·T ≤ τ`, with `T` the interval between calls and `τ = burst·T` (this caller's):
/// the classic `TAT + n·T − τ ≤ now` in relative terms. A grant stores `ahead = b + n·T`,
/// `at = now`; refused requests change nothing. A backlog beyond `τ` (written by a process
/// with a larger burst or a slower rate) is simply waited for: settings that differ make the
/// limit stricter, never looser.
/// Earlier formats are read, and the next grant rewrites them: a plain TAT (no write time) as
/// the released version did (a TAT further ahead than `τ` is taken as a clock step and reset
/// to `now`), and a hash of an absolute `tat` and `at` as the backlog `tat − at` at `at`.
/// Returns `{1, 0}` when let through, `{0, wait_µs}` otherwise.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local kind = redis.call('TYPE', KEYS[1]).ok
local ahead = 0
local at = now
local absolute = false
if kind == 'hash' then
  local state = redis.call('HMGET', KEYS[1], 'ahead', 'at', 'tat')
  at = tonumber(state[2]) or now
  if state[1] then
    ahead = tonumber(state[1]) or 0
  elseif state[3] then
    absolute = true
    ahead = (tonumber(state[3]) or at) - at
  end
elseif kind == 'string' then
  local tat = tonumber(redis.call('GET', KEYS[1])) or now
  if tat > now + tolerance then tat = now end
  ahead = tat - now
end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
local backlog = ahead - elapsed
if backlog < 0 then backlog = 0 end
local new_ahead = backlog + n * interval
if new_ahead > tolerance then
  return {0, math.ceil(new_ahead - tolerance)}
end
if kind == 'string' then redis.call('DEL', KEYS[1]) end
if absolute then redis.call('HDEL', KEYS[1], 'tat') end
redis.call('HSET', KEYS[1], 'ahead', string.format('%.17g', new_ahead), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(new_ahead / 1000) + 1)
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
/// The key holds two numbers (a hash: the backlog of calls still owed, in µs, and the server's
/// time of the last grant) and expires once that backlog has drained. The backlog is kept
/// relative to the time of the grant, so it stays exact at any rate: a limiter of 100 million
/// units a second (bytes, say) charges `acquire_n(12)` its 0.12 µs, neither nothing nor a
/// rounded amount.
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
/// through at once. The key keeps the server's time of its last grant, so a step back is
/// seen as such (the clock is behind that grant) and counts as no time passed: the wait owed
/// then is owed now, and the limit holds as if the clock had not moved (neither every call
/// refused until the clock caught up, nor a burst let through early).
///
/// # Processes sharing a key
///
/// Every process that uses a key should build its limiter with the same rate and burst. If
/// they differ (say, during a rolling deploy that changes them), the processes still share one
/// budget: each request is judged by its caller's rate and burst against the state that every
/// grant moved on. A process never lets through more than its own settings would alone
/// (counting what the others took), and one with a smaller burst or a faster rate waits out
/// the debt that one with a larger burst or a slower rate ran up: the strictest settings win,
/// roughly. However the requests interleave, the processes together let through at most the
/// sum of what each would alone, never an unlimited number.
///
/// A key written by an earlier version of this crate (a plain number, with no time of
/// writing) is read as that version did and rewritten in the current format by the next
/// grant. An earlier version cannot read the current format (its requests fail with
/// [`Error::Redis`]), so do not run the two on one key at once.
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
