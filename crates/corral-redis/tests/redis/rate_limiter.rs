use std::time::{Duration, Instant};

use corral::backend::{RateLimit, TryAcquireError};
use corral_redis::{Error, RedisRateLimiter};

use crate::support::{DropPoint, connect, drop_mid_flight, key, server};

async fn limiter(key: &str, calls: u32, period: Duration, burst: u32) -> RedisRateLimiter {
    RedisRateLimiter::builder(connect(server()).await, key)
        .rate(calls, period)
        .burst(burst)
        .build()
        .expect("a valid configuration")
}

#[tokio::test]
async fn burst_goes_through_then_refuses_with_the_wait() {
    let limiter = limiter(&key("burst"), 10, Duration::from_secs(1), 3).await;
    for _ in 0..3 {
        limiter.try_acquire().await.expect("within the burst");
    }
    match limiter.try_acquire().await {
        Err(TryAcquireError::RateLimited { retry_after }) => {
            assert!(retry_after <= Duration::from_millis(100), "{retry_after:?}");
            assert!(!retry_after.is_zero());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn processes_share_one_budget() {
    // Two limiters on two connections (two "processes") on one key.
    let name = key("shared");
    let a = limiter(&name, 1, Duration::from_secs(60), 4).await;
    let b = limiter(&name, 1, Duration::from_secs(60), 4).await;
    let mut granted = 0;
    for _ in 0..4 {
        granted += usize::from(a.try_acquire().await.is_ok());
        granted += usize::from(b.try_acquire().await.is_ok());
    }
    assert_eq!(granted, 4, "the burst is shared, not per process");
}

#[tokio::test]
async fn acquire_n_above_burst_fails_at_once() {
    let limiter = limiter(&key("above"), 10, Duration::from_secs(1), 5).await;
    assert!(matches!(
        limiter.acquire_n(6).await,
        Err(Error::ExceedsBurst {
            requested: 6,
            burst: 5
        })
    ));
    limiter.acquire_n(5).await.expect("the whole burst");
    limiter.acquire_n(0).await.expect("zero always");
    assert!(limiter.try_acquire().await.is_err(), "the burst was spent");
}

#[tokio::test]
async fn acquire_waits_for_the_rate_across_processes() {
    // 50 per second, burst 1: 21 calls from two processes need at least 20 intervals.
    let name = key("rate");
    let a = limiter(&name, 50, Duration::from_secs(1), 1).await;
    let b = limiter(&name, 50, Duration::from_secs(1), 1).await;
    let started = Instant::now();
    let (ra, rb) = tokio::join!(
        async {
            for _ in 0..11 {
                a.acquire().await?;
            }
            Ok::<_, Error>(())
        },
        async {
            for _ in 0..10 {
                b.acquire().await?;
            }
            Ok::<_, Error>(())
        }
    );
    ra.expect("acquire");
    rb.expect("acquire");
    let elapsed = started.elapsed();
    // The server's clock decides: 20 intervals of 20 ms, minus a little rounding.
    assert!(
        elapsed >= Duration::from_millis(395),
        "too fast: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "too slow: {elapsed:?}");
}

#[tokio::test]
async fn dropped_acquire_takes_nothing() {
    let limiter = limiter(&key("cancel"), 2, Duration::from_secs(1), 1).await;
    limiter.acquire().await.expect("the first is free");
    // This one must wait ~500 ms; drop it after 20 ms.
    let waited = tokio::time::timeout(Duration::from_millis(20), limiter.acquire()).await;
    assert!(waited.is_err(), "it had to wait");
    // Had the dropped waiter reserved capacity, the next call would wait ~1 s.
    let started = Instant::now();
    limiter.acquire().await.expect("acquire");
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
}

async fn generic<L: RateLimit>(limit: &L) -> Result<bool, L::Error> {
    limit.acquire().await?;
    Ok(limit.try_acquire().await.is_ok())
}

#[tokio::test]
async fn works_through_the_trait() {
    let limiter = limiter(&key("trait"), 1, Duration::from_secs(10), 1).await;
    assert!(!generic(&limiter).await.expect("redis is up"));
}

#[test]
fn invalid_configuration_is_an_error() {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let conn = connect(server()).await;
        assert!(matches!(
            RedisRateLimiter::builder(conn.clone(), "x")
                .burst(0)
                .build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            RedisRateLimiter::per_second(conn.clone(), "x", 0),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            RedisRateLimiter::builder(conn, "x")
                .rate(1, Duration::MAX)
                .build(),
            Err(Error::Config(_))
        ));
    });
}

/// A limiter of burst 3 refilling one call a minute (so nothing refills during a test), on
/// `conn`.
fn slow_limiter(conn: &redis::aio::ConnectionManager, key: &str) -> RedisRateLimiter {
    RedisRateLimiter::builder(conn.clone(), key)
        .rate(1, Duration::from_secs(60))
        .burst(3)
        .build()
        .expect("a valid configuration")
}

/// How many calls `limiter` lets through now (it has a burst of 3 and no refill to speak of).
async fn capacity_left(limiter: &RedisRateLimiter) -> u32 {
    for n in (1..=3).rev() {
        if limiter.try_acquire_n(n).await.is_ok() {
            assert!(
                limiter.try_acquire().await.is_err(),
                "{n} was all that was left"
            );
            return n;
        }
    }
    0
}

#[tokio::test]
async fn a_dropped_try_acquire_spent_its_calls_or_took_nothing() {
    let mut conn = connect(server()).await;
    // The GCRA script is loaded: one request per attempt.
    let _ = slow_limiter(&conn, &key("warm")).try_acquire().await;

    // Reply in flight: the server let the calls through, and only those.
    let one = slow_limiter(&conn, &key("try-one"));
    drop_mid_flight(&mut conn, one.try_acquire(), DropPoint::ReplyInFlight).await;
    assert_eq!(capacity_left(&one).await, 2);
    let two = slow_limiter(&conn, &key("try-two"));
    drop_mid_flight(&mut conn, two.try_acquire_n(2), DropPoint::ReplyInFlight).await;
    assert_eq!(capacity_left(&two).await, 1);

    // Before it is sent: took nothing, or exactly its calls.
    let unsent = slow_limiter(&conn, &key("try-unsent"));
    drop_mid_flight(&mut conn, unsent.try_acquire_n(2), DropPoint::BeforeSent).await;
    let left = capacity_left(&unsent).await;
    assert!(left == 3 || left == 1, "{left} left");
}

#[tokio::test]
async fn an_acquire_dropped_with_its_reply_in_flight_spent_only_its_calls() {
    let mut conn = connect(server()).await;
    let _ = slow_limiter(&conn, &key("warm")).try_acquire().await;

    let one = slow_limiter(&conn, &key("acquire-one"));
    drop_mid_flight(&mut conn, one.acquire(), DropPoint::ReplyInFlight).await;
    assert_eq!(capacity_left(&one).await, 2);
    let two = slow_limiter(&conn, &key("acquire-two"));
    drop_mid_flight(&mut conn, two.acquire_n(2), DropPoint::ReplyInFlight).await;
    assert_eq!(capacity_left(&two).await, 1);

    // Refused, then dropped while it waits (its refusal read): it took nothing.
    let waiting = slow_limiter(&conn, &key("acquire-waiting"));
    waiting.try_acquire_n(2).await.expect("within the burst");
    let mut acquire = tokio_test::task::spawn(waiting.acquire_n(2));
    assert!(acquire.poll().is_pending());
    crate::support::fence(&mut conn).await;
    assert!(acquire.is_woken(), "its refusal arrived");
    assert!(
        acquire.poll().is_pending(),
        "it sleeps until the calls are due"
    );
    drop(acquire);
    assert_eq!(capacity_left(&waiting).await, 1);
}
