use std::time::{Duration, Instant};

use corral::backend::{RateLimit, TryAcquireError};
use corral_redis::{Error, RedisRateLimiter};

use crate::support::{connect, key, server};

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
