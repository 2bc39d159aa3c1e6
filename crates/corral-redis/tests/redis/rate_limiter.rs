use std::cell::Cell;
use std::time::Duration;

use corral::backend::{RateLimit, TryAcquireError};
use corral_redis::{Error, RedisRateLimiter};

use crate::support::{DropPoint, connect, drop_mid_flight, fence, key, server};

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

/// The limiter's state on the server at one instant: the theoretical arrival time of the next
/// call (µs on the server's clock: the time of the last grant plus the backlog it left; `None`
/// once the key has expired, which it does just after that time has passed) and the server's
/// clock (µs). A state of an earlier format (an absolute `tat`) is read as it is.
async fn gcra_state(conn: &mut redis::aio::ConnectionManager, key: &str) -> (Option<f64>, f64) {
    let (fields, (seconds, micros)): (Vec<Option<f64>>, (u64, u64)) = redis::pipe()
        .atomic()
        .cmd("HMGET")
        .arg(key)
        .arg(&["ahead", "at", "tat"])
        .cmd("TIME")
        .query_async(conn)
        .await
        .expect("get and time");
    let [ahead, at, tat] = fields[..] else {
        panic!("three fields, got {fields:?}");
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "µs since 1970 fit in an f64's 53 bits"
    )]
    let now = (seconds * 1_000_000 + micros) as f64;
    let tat = match (ahead, at) {
        (Some(ahead), Some(at)) => Some(at + ahead),
        _ => tat,
    };
    (tat, now)
}

#[tokio::test]
async fn acquire_waits_for_the_rate_across_processes() {
    // 100 per second, burst 1 (a tolerance of one interval): 21 calls from two processes.
    let name = key("rate");
    let interval = 10_000.0; // µs
    let a = limiter(&name, 100, Duration::from_secs(1), 1).await;
    let b = limiter(&name, 100, Duration::from_secs(1), 1).await;
    let mut conn = connect(server()).await;
    let (_, start) = gcra_state(&mut conn, &name).await;
    let granted = Cell::new(0_u32);
    // After each grant, checked on the server's own state: every call granted so far moved
    // the shared arrival time on by one interval (both processes spend one budget), and that
    // time never runs ahead of the server's clock by more than the burst (nobody was let
    // through early). Together: by the time 21 calls are through, the server's clock has
    // moved at least 20 intervals. The waiting between calls is acquire's own (it sleeps for
    // the wait the server computed): inherent, and not measured here.
    let check = |tat: Option<f64>, now: f64| {
        let calls = f64::from(granted.get());
        // An expired key means the arrival time has passed: it is at most `now`.
        let tat_or_now = tat.unwrap_or(now);
        assert!(
            tat_or_now >= start + calls * interval,
            "{calls} calls, arrival time {tat:?}, start {start}"
        );
        if let Some(tat) = tat {
            assert!(tat <= now + interval, "ran ahead: {tat} at {now}");
        }
    };
    let run = |limiter: RedisRateLimiter, calls: u32| {
        let (granted, check, name) = (&granted, &check, name.as_str());
        async move {
            let mut conn = connect(server()).await;
            for _ in 0..calls {
                limiter.acquire().await?;
                granted.set(granted.get() + 1);
                let (tat, now) = gcra_state(&mut conn, name).await;
                check(tat, now);
            }
            Ok::<_, Error>(())
        }
    };
    let (ra, rb) = tokio::time::timeout(
        Duration::from_secs(10), // a guard against a hang
        async { tokio::join!(run(a, 11), run(b, 10)) },
    )
    .await
    .expect("no hang");
    ra.expect("acquire");
    rb.expect("acquire");
    assert_eq!(granted.get(), 21);
}

#[tokio::test]
async fn dropped_acquire_takes_nothing() {
    let name = key("cancel");
    let mut conn = connect(server()).await;
    // One call a minute: however long the machine stalls, the state cannot expire and the
    // next call cannot come due during the test.
    let limiter = RedisRateLimiter::builder(conn.clone(), &name)
        .rate(1, Duration::from_secs(60))
        .build()
        .expect("a valid configuration");
    limiter.acquire().await.expect("the first is free"); // the GCRA script is loaded
    let (before, _) = gcra_state(&mut conn, &name).await;
    // Refused (its reply read), then dropped while it sleeps for the ~60 s wait.
    let mut waiting = tokio_test::task::spawn(limiter.acquire());
    assert!(waiting.poll().is_pending());
    fence(&mut conn).await;
    assert!(waiting.is_woken(), "its refusal arrived");
    assert!(waiting.poll().is_pending(), "it had to wait");
    drop(waiting);
    // It reserved nothing: the state is as the first call left it, and the next call is due
    // within one interval (had it reserved, two).
    let (after, _) = gcra_state(&mut conn, &name).await;
    assert!(before.is_some());
    assert_eq!(after, before, "the refused call changed nothing");
    match limiter.try_acquire().await {
        Err(TryAcquireError::RateLimited { retry_after }) => {
            assert!(retry_after <= Duration::from_secs(60), "{retry_after:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
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

#[tokio::test]
async fn a_try_acquire_whose_reply_comes_too_late_may_have_spent_its_call() {
    // As documented: the server let the call through, the caller got an error, and nothing
    // refunds the call (a refund could let one more through than the limit).
    let name = key("late");
    let proxy = crate::support::FrozenProxy::start(server().port()).await;
    let late_conn = proxy
        .connect(crate::support::impatient(Duration::from_millis(100)))
        .await;
    let mut conn = connect(server()).await;
    let _ = slow_limiter(&conn, &key("warm")).try_acquire().await; // the script is loaded
    let late = slow_limiter(&late_conn, &name);
    proxy.freeze();
    match late.try_acquire().await {
        Err(TryAcquireError::Failed(error)) => assert!(error.is_connection(), "{error}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    proxy.thaw();
    let mut late_conn = late_conn;
    crate::support::fence_patiently(&mut late_conn).await; // the script ran before this
    let (tat, _) = gcra_state(&mut conn, &name).await;
    assert!(tat.is_some(), "the call was let through");
    assert_eq!(
        capacity_left(&slow_limiter(&conn, &name)).await,
        2,
        "and spent"
    );
}

#[tokio::test]
async fn a_key_of_the_earlier_format_from_a_clock_stepped_back_does_not_refuse_every_call() {
    // The earlier format: the arrival time alone, with no time of writing. It is read as the
    // earlier version did (an arrival time beyond one burst is taken as a clock step).
    let name = key("clock-back");
    let mut conn = connect(server()).await;
    let limiter = slow_limiter(&conn, &name); // burst 3, one call a minute
    // The state a server whose clock ran an hour ahead left: an arrival time further ahead
    // of the clock than any grant can set (one burst, 3 minutes).
    let (_, now) = gcra_state(&mut conn, &name).await;
    let _: () = redis::cmd("SET")
        .arg(&name)
        .arg(format!("{:.0}", now + 3_600e6))
        .arg("PX")
        .arg(7_200_000)
        .query_async(&mut conn)
        .await
        .expect("set");
    // Taken as an idle spell: one burst goes through, and then the rate holds again.
    assert_eq!(capacity_left(&limiter).await, 3);
    let (tat, now) = gcra_state(&mut conn, &name).await;
    let tat = tat.expect("a state");
    assert!(
        tat <= now + 180e6,
        "{tat} at {now}: back to at most one burst ahead"
    );
}

/// Writes the limiter's state at `name` as a grant made at server time `at` would have left it,
/// with the next call's arrival time at `tat`.
async fn set_state(conn: &mut redis::aio::ConnectionManager, name: &str, tat: f64, at: f64) {
    let _: () = redis::pipe()
        .atomic()
        .hset_multiple(
            name,
            &[
                ("ahead", format!("{:.0}", tat - at)),
                ("at", format!("{at:.0}")),
            ],
        )
        .ignore()
        .pexpire(name, 7_200_000)
        .ignore()
        .query_async(conn)
        .await
        .expect("hset");
}

#[tokio::test]
async fn a_server_clock_stepped_back_keeps_the_limit_as_it_was() {
    let mut conn = connect(server()).await;
    // A server whose clock ran an hour ahead wrote these states, then its clock stepped back
    // an hour: the states are moved back by the step.
    // The whole burst spent: still spent, the next call a minute away (not an hour).
    let spent = key("clock-back-spent");
    let (_, now) = gcra_state(&mut conn, &spent).await;
    set_state(&mut conn, &spent, now + 3_600e6 + 180e6, now + 3_600e6).await;
    let limiter = slow_limiter(&conn, &spent);
    match limiter.try_acquire().await {
        Err(TryAcquireError::RateLimited { retry_after }) => {
            assert!(
                retry_after <= Duration::from_secs(60) && retry_after > Duration::from_secs(50),
                "{retry_after:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Idle: the whole burst, and not more.
    let idle = key("clock-back-idle");
    let (_, now) = gcra_state(&mut conn, &idle).await;
    set_state(&mut conn, &idle, now + 3_600e6, now + 3_600e6).await;
    assert_eq!(capacity_left(&slow_limiter(&conn, &idle)).await, 3);
    let (tat, now) = gcra_state(&mut conn, &idle).await;
    let tat = tat.expect("a state");
    assert!(
        tat <= now + 180e6,
        "{tat} at {now}: at most one burst ahead"
    );
}

#[tokio::test]
async fn an_arrival_time_beyond_the_burst_is_waited_for_not_reset() {
    // Written at the server's current time by a process with a larger burst: no clock step,
    // so the caller waits until the arrival time is within its own burst.
    let mut conn = connect(server()).await;
    let name = key("far-ahead");
    let (_, now) = gcra_state(&mut conn, &name).await;
    set_state(&mut conn, &name, now + 3_600e6, now).await;
    match slow_limiter(&conn, &name).try_acquire().await {
        Err(TryAcquireError::RateLimited { retry_after }) => {
            // Due when the arrival time + one interval - the burst (3 min) is reached.
            let due = Duration::from_secs(3_600 + 60 - 180);
            assert!(
                retry_after <= due && retry_after > due - Duration::from_secs(10),
                "{retry_after:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// A second audit found that two processes on one key with different settings (a rolling
// deploy changing the burst or the rate) reset each other's state: the clock-step check took
// any arrival time beyond the caller's own burst for a clock stepped back, and the limit was
// gone (101 calls within a second at one a minute). Now the stricter settings win.

#[tokio::test]
async fn processes_with_different_bursts_keep_the_limit() {
    let name = key("mismatch-burst");
    let old = limiter(&name, 1, Duration::from_secs(60), 10).await;
    let new = limiter(&name, 1, Duration::from_secs(60), 1).await;
    let mut granted = 0;
    for _ in 0..10 {
        for _ in 0..10 {
            granted += usize::from(old.try_acquire().await.is_ok());
        }
        granted += usize::from(new.try_acquire().await.is_ok());
    }
    // One call a minute, burst 10 at most, over about a second: the old burst, and no more.
    assert_eq!(granted, 10, "{granted} calls let through at one a minute");
}

#[tokio::test]
async fn processes_with_different_rates_keep_the_limit() {
    let name = key("mismatch-rate");
    let old = limiter(&name, 1, Duration::from_secs(1), 5).await;
    let new = limiter(&name, 10, Duration::from_secs(1), 5).await;
    let mut granted = 0;
    for _ in 0..10 {
        for _ in 0..5 {
            granted += usize::from(old.try_acquire().await.is_ok());
        }
        granted += usize::from(new.try_acquire().await.is_ok());
    }
    // The old burst spent its 5 seconds' worth: nothing more for either within a second.
    assert!(granted <= 7, "{granted} calls let through within a second");
}

#[tokio::test]
async fn a_key_of_the_interim_format_is_read_and_rewritten() {
    // An absolute arrival time with the time of writing (a format no release wrote, read all
    // the same): the burst spent a minute ago on a clock an hour ahead, so one call is due.
    let mut conn = connect(server()).await;
    let name = key("interim");
    let (_, now) = gcra_state(&mut conn, &name).await;
    let _: () = redis::pipe()
        .atomic()
        .hset_multiple(
            &name,
            &[
                ("tat", format!("{:.0}", now + 3_600e6 + 180e6)),
                ("at", format!("{:.0}", now + 3_600e6)),
            ],
        )
        .ignore()
        .pexpire(&name, 7_200_000)
        .ignore()
        .query_async(&mut conn)
        .await
        .expect("hset");
    let limiter = slow_limiter(&conn, &name);
    match limiter.try_acquire().await {
        Err(TryAcquireError::RateLimited { retry_after }) => {
            assert!(
                retry_after <= Duration::from_secs(60) && retry_after > Duration::from_secs(50),
                "{retry_after:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The stepped-back clock counts as no time passed; after a grant, the key is rewritten.
    let _: () = redis::cmd("HSET")
        .arg(&name)
        .arg("at")
        .arg(format!("{:.0}", now))
        .arg("tat")
        .arg(format!("{:.0}", now + 120e6))
        .query_async(&mut conn)
        .await
        .expect("hset");
    assert_eq!(capacity_left(&limiter).await, 1);
    let fields: Vec<String> = redis::cmd("HKEYS")
        .arg(&name)
        .query_async(&mut conn)
        .await
        .expect("hkeys");
    assert!(
        fields.contains(&"ahead".to_owned()) && !fields.contains(&"tat".to_owned()),
        "{fields:?}"
    );
}

// A third review found that the state, an absolute time in µs (~1.7e15) in a Lua double whose
// step there is 0.25 µs, did not move for a request costing under 0.125 µs (every call free at
// ten million a second) and rounded others by up to ±25%. The backlog is now kept relative to
// the time of the last grant.

/// Spends a full burst of a limiter of `rate` units a second, then `calls` requests of `n`
/// units one after the other (each is due at once: the time between two requests refills more
/// than `n` units), and returns how far they moved the next call's arrival time, in µs, and
/// how far they should have (`n` units each, at `1/rate` s a unit).
async fn spent_after_a_burst(name: &str, rate: u32, burst: u32, n: u32, calls: u32) -> (f64, f64) {
    let mut conn = connect(server()).await;
    let limiter = RedisRateLimiter::builder(conn.clone(), name)
        .rate(rate, Duration::from_secs(1))
        .burst(burst)
        .build()
        .expect("config");
    limiter.try_acquire_n(burst).await.expect("the whole burst");
    let (before, _) = gcra_state(&mut conn, name).await;
    let mut granted = 0;
    for _ in 0..calls {
        if limiter.try_acquire_n(n).await.is_ok() {
            granted += 1;
        }
    }
    let (after, now) = gcra_state(&mut conn, name).await;
    let after = after.expect("a backlog");
    // Had the backlog drained, the arrival time would have moved with the clock in between.
    assert!(
        after > now,
        "the backlog drained: arrival time {after} at {now}"
    );
    let moved = after - before.expect("a backlog");
    (
        moved,
        f64::from(granted) * f64::from(n) * 1e6 / f64::from(rate),
    )
}

#[tokio::test]
async fn small_requests_on_a_high_rate_limiter_are_charged() {
    // 10 million a second (0.1 µs each), a burst of 100 million (10 s, so the backlog never
    // drains during the test): 500 single calls, each let through (the round trip refills
    // more than one), each moving the backlog by 0.1 µs.
    let (moved, owed) =
        spent_after_a_burst(&key("precision-one"), 10_000_000, 100_000_000, 1, 500).await;
    assert!(owed > 40.0, "{owed} µs: the calls were let through");
    assert!(
        (moved - owed).abs() < 1.0,
        "the calls moved the arrival time {moved} µs, owed {owed} µs"
    );
}

#[tokio::test]
async fn acquire_n_of_12_bytes_at_100_megabytes_a_second_spends_exactly_its_share() {
    // 100 MB/s (0.01 µs a byte), a burst of 1 GB (10 s, so the backlog never drains during
    // the test): 1000 requests of 12 bytes owe 120 µs over the window, neither nothing
    // (0.12 µs rounded away) nor a rounded amount.
    let (moved, owed) =
        spent_after_a_burst(&key("precision-12"), 100_000_000, 1_000_000_000, 12, 1_000).await;
    assert!(owed > 100.0, "{owed} µs: the requests were let through");
    assert!(
        (moved - owed).abs() < 1.0,
        "1000 × acquire_n(12) moved the arrival time {moved} µs, owed {owed} µs"
    );
}
