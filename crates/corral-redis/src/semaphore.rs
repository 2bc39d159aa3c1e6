use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use corral::backend::ConcurrencyLimit;
use redis::Script;
use redis::aio::ConnectionManager;
use tokio::task::JoinHandle;

use crate::Error;

/// Grants a lease if fewer than `limit` unexpired leases are held. Expired holders are dropped
/// first, in the same script, so a crashed holder's permit comes back once its lease runs out.
/// KEYS: holders (sorted set, member = lease token, score = expiry in server ms), fence counter.
/// ARGV: limit, lease ms, token. Returns `{1, fence}` or `{0, ms until the first lease expires}`.
static GRANT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
  return {1, redis.call('INCR', KEYS[2])}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(first[2]) - now}
",
    )
});

/// Extends a lease that is still held and unexpired; `0` if it was lost.
/// KEYS: holders. ARGV: lease ms, token.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not expiry then return 0 end
if tonumber(expiry) <= now then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[2])
if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
return 1
",
    )
});

/// The longest pause between two attempts of a waiting [`RedisSemaphore::acquire`].
const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// At most N permits across every process that uses the same Redis key: the distributed twin
/// of [`corral::sync::Semaphore`].
///
/// A permit is a *lease*: an entry in a sorted set scored by its expiry (on the server's
/// clock). While a [`RedisPermit`] is held, a background task renews its lease every third of
/// the lease time; dropping the permit stops the renewal and releases the lease (a spawned
/// `ZREM`). If the holder dies, nobody renews its lease, and it expires: a crash never leaks a
/// permit for longer than one lease time. Each permit carries a fencing number (`INCR`,
/// increasing across every process), to hand to the resource so it can refuse a holder whose
/// lease was lost while it paused.
///
/// Keys used: `{key}:holders` (expires when every lease has) and `{key}:fence`.
///
/// # Clocks
///
/// Leases run on the server's clock (`TIME`); [`RedisPermit::is_lost`] counts on the
/// holder's monotonic clock, assuming the two run at the same rate (within 1 %). If the
/// server's clock steps forward, leases run out early: another process may be granted a
/// permit whose holder has not yet seen it lost (the fencing number still tells them apart).
/// If it steps back, leases last longer: a crashed holder's permit comes back that much
/// later.
///
/// # Comparison to the local `Semaphore`
///
/// One permit per `acquire`, no `close`. Waiters are not queued: a waiting
/// [`acquire`](Self::acquire) polls with a backoff (1 ms doubling to 100 ms, and never past the
/// first lease's expiry), so it is not fair. A lease can be *lost* (a holder paused past its
/// lease, or Redis restarted without persistence): check [`RedisPermit::is_lost`] or use the
/// fencing number where that matters.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral_redis::RedisSemaphore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = corral_redis::test_server::TestServer::start()?;
/// # let url = server.url();
/// let conn = redis::aio::ConnectionManager::new(redis::Client::open(url)?).await?;
/// // At most 2 connections to the database, across the fleet.
/// let limit = RedisSemaphore::new(conn, "db:connections", 2, Duration::from_secs(10))?;
/// let first = limit.acquire().await?;
/// let second = limit.acquire().await?;
/// assert!(limit.try_acquire().await?.is_none());
/// assert!(second.fence() > first.fence());
/// drop(first);
/// # drop(second);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisSemaphore {
    conn: ConnectionManager,
    holders: Arc<str>,
    fence: Arc<str>,
    limit: usize,
    lease: Duration,
}

impl std::fmt::Debug for RedisSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSemaphore")
            .field("holders", &self.holders)
            .field("limit", &self.limit)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl RedisSemaphore {
    /// At most `limit` permits on the Redis key `key`, each a lease of `lease` (renewed while
    /// held).
    ///
    /// Choose `lease` as the longest a crashed holder may keep its permit; every process that
    /// shares `key` must use the same `limit`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `limit` is zero, or `lease` is under 10 ms or over 100 years (a
    /// time Redis could not set as an expiry).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::{Error, RedisSemaphore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// // 4 permits across every process; a crashed holder's permit comes back within 30 s.
    /// let limit = RedisSemaphore::new(conn.clone(), "workers", 4, Duration::from_secs(30))?;
    /// assert_eq!(limit.limit(), 4);
    /// let none = RedisSemaphore::new(conn, "workers", 0, Duration::from_secs(30));
    /// assert!(matches!(none, Err(Error::Config(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(
        conn: ConnectionManager,
        key: impl Into<String>,
        limit: usize,
        lease: Duration,
    ) -> Result<Self, Error> {
        if limit == 0 {
            return Err(Error::Config("the limit must be at least 1"));
        }
        if lease < Duration::from_millis(10) {
            return Err(Error::Config("the lease must be at least 10 ms"));
        }
        if lease > crate::LONGEST {
            return Err(Error::Config("the lease must be at most 100 years"));
        }
        let key = key.into();
        Ok(Self {
            conn,
            holders: format!("{key}:holders").into(),
            fence: format!("{key}:fence").into(),
            limit,
            lease,
        })
    }

    /// The number of permits.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limit = corral_redis::RedisSemaphore::new(conn, "n", 3, Duration::from_secs(5))?;
    /// assert_eq!(limit.limit(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Waits for a permit.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: a dropped `acquire` holds no permit. Dropped while a
    /// granting reply is in flight, it releases the lease it was granted: a spawned `ZREM` of
    /// the lease's token on the same connection, so Redis runs it after the grant. (Outside a
    /// Tokio runtime, or if the connection was lost in between, that lease is never renewed
    /// and expires after one lease time.)
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached. A reply that is lost or comes too late
    /// (the connection's response timeout) may hide a grant: the permit is then released as
    /// for a dropped `acquire` (see above), so a failed `acquire` holds no permit once that
    /// release has reached Redis, instead of one held by nobody for a whole lease.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::RedisSemaphore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limit = RedisSemaphore::new(conn, "gpu", 1, Duration::from_secs(10))?;
    /// let permit = limit.acquire().await?; // waits while every permit is held
    /// assert!(limit.try_acquire().await?.is_none(), "the only permit is held");
    /// permit.release().await?;
    /// limit.acquire().await?.release().await?; // free again
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<RedisPermit, Error> {
        let mut backoff = Duration::from_millis(1);
        loop {
            match self.grant().await? {
                Ok(permit) => return Ok(permit),
                Err(first_expiry) => {
                    tokio::time::sleep(backoff.min(first_expiry)).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Takes a permit if one is free now; `Ok(None)` if none is. One round trip.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::RedisSemaphore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limit = RedisSemaphore::new(conn, "slots", 1, Duration::from_secs(10))?;
    /// let Some(permit) = limit.try_acquire().await? else {
    ///     return Err("the semaphore is fresh: a permit is free".into());
    /// };
    /// assert!(limit.try_acquire().await?.is_none(), "busy: no waiting");
    /// permit.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn try_acquire(&self) -> Result<Option<RedisPermit>, Error> {
        Ok(self.grant().await?.ok())
    }

    /// One attempt: the permit, or how long until the first lease expires.
    ///
    /// Until the reply says what happened, the token is a [`Granting`]: if this future is
    /// dropped, or the reply fails or does not parse, the lease it may have been granted is
    /// released.
    async fn grant(&self) -> Result<Result<RedisPermit, Duration>, Error> {
        let mut granting = Granting {
            conn: self.conn.clone(),
            holders: self.holders.clone(),
            token: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        };
        let mut conn = self.conn.clone();
        // The lease runs on the server from the grant, which comes after this instant.
        let sent = tokio::time::Instant::now();
        let reply = GRANT
            .key(&*self.holders)
            .key(&*self.fence)
            .arg(self.limit)
            .arg(lease_ms(self.lease))
            .arg(&granting.token)
            .invoke_async(&mut conn)
            .await;
        let (granted, value): (i64, i64) = match reply {
            Ok(reply) => reply,
            Err(error) => {
                if error.is_connection_refusal() {
                    granting.token.clear(); // never sent: nothing to release
                }
                return Err(error.into());
            }
        };
        if granted != 1 {
            granting.token.clear(); // refused: nothing to release
            let wait = Duration::from_millis(value.max(1).unsigned_abs());
            return Ok(Err(wait));
        }
        let fence = u64::try_from(value).map_err(|_| Error::Protocol(format!("fence {value}")))?;
        let token = std::mem::take(&mut granting.token); // the permit owns it from here
        let lease = Arc::new(Lease::new(sent, self.lease));
        let renewal = tokio::spawn(renew(
            conn,
            self.holders.clone(),
            token.clone(),
            self.lease,
            lease.clone(),
            sent,
        ));
        Ok(Ok(RedisPermit {
            conn: self.conn.clone(),
            holders: self.holders.clone(),
            token,
            fence,
            lease,
            renewal,
        }))
    }
}

/// A lease token whose grant may be in flight. Dropped while it still holds the token (the
/// `grant` future was dropped, or its reply failed), it releases the lease the grant may have
/// made: a `ZREM` on the connection the grant went out on, sent after it, so Redis runs it
/// after the grant.
struct Granting {
    conn: ConnectionManager,
    holders: Arc<str>,
    /// Empty once the reply said "refused", or the permit took the token over.
    token: String,
}

impl Drop for Granting {
    fn drop(&mut self) {
        if !self.token.is_empty() {
            release_in_background(
                &self.conn,
                &self.holders,
                std::mem::take(&mut self.token),
                "RedisSemaphore",
                "a lease granted to an acquire that failed or was dropped",
            );
        }
    }
}

/// Releases the lease `token` on a spawned task (a `ZREM` on `conn`, queued on its connection
/// now, after every request sent on it before). Outside a runtime, or if that fails (reported
/// through [`corral::report`]), the lease expires by itself.
fn release_in_background(
    conn: &ConnectionManager,
    holders: &Arc<str>,
    token: String,
    source: &'static str,
    what: &'static str,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return; // no runtime to send on: the lease expires by itself
    };
    let mut conn = conn.clone();
    let holders = holders.clone();
    runtime.spawn(async move {
        if let Err(error) = redis::cmd("ZREM")
            .arg(&*holders)
            .arg(token)
            .exec_async(&mut conn)
            .await
        {
            corral::report::report(
                source,
                corral::report::ReportKind::Error,
                &format_args!(
                    "release of {what} on {holders} failed ({error}); unless the request still \
                     reaches Redis, the lease expires by itself"
                ),
            );
        }
    });
}

fn lease_ms(lease: Duration) -> u64 {
    u64::try_from(lease.as_millis()).unwrap_or(u64::MAX)
}

/// The part of a lease's time this process gives up, to be sure it says "lost" before the
/// lease can run out on the server: 1 %, for the two clocks to run at slightly different rates
/// (NTP slews a clock by at most 0.05 %).
const MARGIN_DIVISOR: u32 = 100;

/// When a lease whose last grant or renewal was sent at `sent` must be taken as lost: one
/// lease after it as the server counts it, less the margin. The server is given the lease in
/// whole milliseconds ([`lease_ms`]) and counts from its own time rounded down to one, so its
/// lease can end up to a millisecond before `sent` plus the whole milliseconds: that
/// millisecond is given up too. `None` (never) if that instant is past what the clock can
/// count.
fn lost_at(sent: tokio::time::Instant, lease: Duration) -> Option<tokio::time::Instant> {
    let on_server = Duration::from_millis(lease_ms(lease));
    let kept = on_server
        .saturating_sub(on_server / MARGIN_DIVISOR)
        .saturating_sub(Duration::from_millis(1));
    sent.checked_add(kept)
}

/// What the permit and its renewal task know of the lease.
///
/// The lease is lost once the renewal found it so, or once the clock passes [`lost_at`] the
/// last renewal sent that went through. [`is_lost`](Self::is_lost) reads the clock itself, so
/// a renewal task that runs late (a busy runtime) cannot make it late; both sides change the
/// state under one lock, so a lease taken as lost stays lost.
#[derive(Debug)]
struct Lease {
    state: Mutex<LeaseState>,
}

#[derive(Debug)]
struct LeaseState {
    lost: bool,
    /// When the lease counts as lost without news (`None`: never).
    deadline: Option<tokio::time::Instant>,
}

impl Lease {
    fn new(sent: tokio::time::Instant, lease: Duration) -> Self {
        Self {
            state: Mutex::new(LeaseState {
                lost: false,
                deadline: lost_at(sent, lease),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_lost(&self) -> bool {
        let mut state = self.state();
        if !state.lost
            && state
                .deadline
                .is_some_and(|deadline| tokio::time::Instant::now() >= deadline)
        {
            state.lost = true;
        }
        state.lost
    }

    /// A renewal sent at `sent` went through: the lease runs until [`lost_at`] that, unless it
    /// was taken as lost already (then it stays lost: `false`).
    fn renewed(&self, sent: tokio::time::Instant, lease: Duration) -> bool {
        let mut state = self.state();
        if state.lost
            || state
                .deadline
                .is_some_and(|deadline| tokio::time::Instant::now() >= deadline)
        {
            state.lost = true;
            return false;
        }
        state.deadline = lost_at(sent, lease);
        true
    }

    fn set_lost(&self) {
        self.state().lost = true;
    }

    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.state().deadline
    }
}

/// Sleeps until `instant`, or for ever if it is `None`.
async fn sleep_until(instant: Option<tokio::time::Instant>) {
    match instant {
        Some(instant) => tokio::time::sleep_until(instant).await,
        None => std::future::pending().await,
    }
}

/// Renews the lease every third of its time until it is lost (or the task is aborted).
///
/// Each attempt races the lease's deadline (one lease, less the margin, after the last renewal
/// that went through was sent): once it passes, the lease is lost whatever the attempt in
/// flight may bring, since the server may have let the lease run out. A failed attempt is
/// tried again soon (a tenth of a period later, at most 100 ms); `sent` is when the grant was
/// sent.
async fn renew(
    mut conn: ConnectionManager,
    holders: Arc<str>,
    token: String,
    lease: Duration,
    state: Arc<Lease>,
    sent: tokio::time::Instant,
) {
    let period = lease / 3;
    let retry = (period / 10).min(Duration::from_millis(100));
    let mut next = sent.checked_add(period);
    let mut last_error = String::from("none");
    loop {
        let attempt = async {
            sleep_until(next).await;
            let sent = tokio::time::Instant::now();
            // At most one period per attempt: reconnecting to a Redis that is gone can take
            // seconds.
            let reply = tokio::time::timeout(
                period,
                RENEW
                    .key(&*holders)
                    .arg(lease_ms(lease))
                    .arg(&token)
                    .invoke_async::<i64>(&mut conn),
            )
            .await;
            (sent, reply)
        };
        let outcome = tokio::select! {
            biased;
            () = sleep_until(state.deadline()) => None,
            attempt = attempt => Some(attempt),
        };
        match outcome {
            Some((sent, Ok(Ok(1)))) => {
                if !state.renewed(sent, lease) {
                    report_ran_out(&holders, lease, "the renewal came too late");
                    return;
                }
                next = sent.checked_add(period);
            }
            Some((_, Ok(Ok(_)))) => {
                state.set_lost();
                corral::report::report(
                    "RedisSemaphore",
                    corral::report::ReportKind::Error,
                    &format_args!(
                        "a permit's lease on {holders} was found lost by its renewal (it had \
                         expired, or Redis forgot it): another holder may have the permit"
                    ),
                );
                return;
            }
            // Redis unreachable, or refusing: try again soon, until the deadline.
            Some((_, Ok(Err(error)))) => {
                last_error = error.to_string();
                next = tokio::time::Instant::now().checked_add(retry);
            }
            Some((_, Err(_))) => {
                last_error = format!("no reply within {period:?}");
                next = Some(tokio::time::Instant::now());
            }
            // A whole lease (less the margin) since the last renewal that went through was
            // sent: it may have run out on the server, another process may hold the permit.
            None => {
                state.set_lost();
                report_ran_out(&holders, lease, &last_error);
                return;
            }
        }
    }
}

/// Reports a lease whose renewals did not go through in time.
fn report_ran_out(holders: &str, lease: Duration, last_error: &str) {
    corral::report::report(
        "RedisSemaphore",
        corral::report::ReportKind::Error,
        &format_args!(
            "no renewal of a permit's lease on {holders} went through within its whole lease \
             of {lease:?} (less a margin of 1% and 1 ms); it is lost (last error: {last_error})"
        ),
    );
}

/// A permit of a [`RedisSemaphore`]: a lease, renewed in the background while this value lives.
///
/// Dropping it stops the renewal and releases the lease (a spawned `ZREM` on the current Tokio
/// runtime; outside a runtime, or if that command fails, the lease simply expires). Use
/// [`release`](Self::release) to release it and see the outcome.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral_redis::RedisSemaphore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = corral_redis::test_server::TestServer::start()?;
/// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
/// let limit = RedisSemaphore::new(conn, "permits", 1, Duration::from_secs(10))?;
/// let permit = limit.acquire().await?; // renewed in the background while it lives
/// assert!(!permit.is_lost());
/// permit.release().await?; // or drop it: the lease is released in the background
/// assert!(limit.try_acquire().await?.is_some());
/// # Ok(())
/// # }
/// ```
#[must_use = "the permit is released when dropped"]
pub struct RedisPermit {
    conn: ConnectionManager,
    holders: Arc<str>,
    token: String,
    fence: u64,
    lease: Arc<Lease>,
    renewal: JoinHandle<()>,
}

impl RedisPermit {
    /// The fencing number handed out with this permit: larger than every one handed out
    /// before it, by any process, on this semaphore, for as long as Redis keeps its data (a
    /// server that restarts without persistence starts the count over).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::RedisSemaphore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limit = RedisSemaphore::new(conn, "fenced", 1, Duration::from_secs(10))?;
    /// let first = limit.acquire().await?;
    /// let first_fence = first.fence();
    /// first.release().await?;
    /// let second = limit.acquire().await?;
    /// // A resource that remembers the highest fence it saw refuses the older holder.
    /// assert!(second.fence() > first_fence);
    /// second.release().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn fence(&self) -> u64 {
        self.fence
    }

    /// Whether the lease is lost: its renewal found it so (it had expired, or Redis forgot
    /// it), or no renewal went through within one lease, less a margin of 1 % and a
    /// millisecond, of when the last
    /// one that did was sent (Redis unreachable, or refusing). The permit then no longer
    /// counts against the limit.
    ///
    /// That time is counted on this process's clock from when the request was *sent*, so it
    /// passes before the lease can run out on the server (which counts from when it ran the
    /// request), as long as the two clocks run at the same rate within the margin: `is_lost`
    /// reads the clock itself, and is `true` by the time another process can be granted the
    /// permit, however late the renewal task runs. Once `true`, it stays `true`. A holder
    /// that pauses (a GC pause, a frozen VM) between checking and acting can still act on a
    /// lost lease: give the [fencing number](Self::fence) to the resource where that matters.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limit = corral_redis::RedisSemaphore::new(conn, "lost", 1, Duration::from_secs(5))?;
    /// let permit = limit.acquire().await?;
    /// assert!(!permit.is_lost());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_lost(&self) -> bool {
        self.lease.is_lost()
    }

    /// Releases the permit now and waits for Redis to confirm.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropped before it completes, the lease is released all the
    /// same (the permit is dropped: a spawned `ZREM`), or expires by itself.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached (the lease then expires by itself).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let limit = corral_redis::RedisSemaphore::new(conn, "rel", 1, Duration::from_secs(5))?;
    /// limit.acquire().await?.release().await?;
    /// assert!(limit.try_acquire().await?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn release(mut self) -> Result<(), Error> {
        self.renewal.abort();
        let mut conn = self.conn.clone();
        // The token stays until the reply: dropped before it, this permit's `Drop` releases
        // the lease (a second `ZREM` of a token nobody else holds is harmless).
        let outcome = redis::cmd("ZREM")
            .arg(&*self.holders)
            .arg(&self.token)
            .exec_async(&mut conn)
            .await;
        self.token.clear(); // released, or failed and returned: nothing for `Drop` to do
        outcome?;
        Ok(())
    }
}

impl Drop for RedisPermit {
    fn drop(&mut self) {
        self.renewal.abort();
        if self.token.is_empty() {
            return; // released by `release`
        }
        release_in_background(
            &self.conn,
            &self.holders,
            std::mem::take(&mut self.token),
            "RedisPermit",
            "a dropped permit",
        );
    }
}

impl std::fmt::Debug for RedisPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPermit")
            .field("fence", &self.fence)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

impl ConcurrencyLimit for RedisSemaphore {
    type Permit<'a> = RedisPermit;
    type Error = Error;

    fn acquire(&self) -> impl Future<Output = Result<RedisPermit, Error>> + Send {
        RedisSemaphore::acquire(self)
    }

    fn try_acquire(&self) -> impl Future<Output = Result<Option<RedisPermit>, Error>> + Send {
        RedisSemaphore::try_acquire(self)
    }
}
