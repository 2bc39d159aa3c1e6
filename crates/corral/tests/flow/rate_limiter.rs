//! `RateLimiter`: exact virtual timings, FIFO order, cancel safety, the long-run rate and the
//! burst bound.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use std::time::Duration;

use corral::flow::{AcquireError, Clock, RateLimiter, TryAcquireError};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use tokio::time::{Instant, advance};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

use crate::lock_probe::assert_wakers_let_go_unlocked;
use crate::support::{check_windows, config, ms, paused_runtime};

const MS: Duration = Duration::from_millis(1);

fn limited(n: u32, period: Duration, burst: u32) -> RateLimiter {
    RateLimiter::builder().rate(n, period).burst(burst).build()
}

#[tokio::test(start_paused = true)]
async fn per_second_spaces_calls_evenly() {
    let limiter = RateLimiter::per_second(10);
    let start = Instant::now();
    let mut times = Vec::new();
    for _ in 0..5 {
        limiter.acquire().await;
        times.push(ms(start));
    }
    assert_eq!(times, [0, 100, 200, 300, 400]);
}

#[tokio::test(start_paused = true)]
async fn per_minute_spaces_calls_evenly() {
    let limiter = RateLimiter::per_minute(30);
    let start = Instant::now();
    limiter.acquire().await;
    limiter.acquire().await;
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn burst_goes_at_once_then_the_rate_holds() {
    let limiter = limited(10, Duration::from_secs(1), 3);
    let start = Instant::now();
    let mut times = Vec::new();
    for _ in 0..6 {
        limiter.acquire().await;
        times.push(ms(start));
    }
    assert_eq!(times, [0, 0, 0, 100, 200, 300]);
}

#[tokio::test(start_paused = true)]
async fn an_idle_limiter_refills_up_to_the_burst_only() {
    let limiter = limited(10, Duration::from_secs(1), 3);
    limiter.acquire_n(3).await.expect("within the burst");
    advance(Duration::from_secs(10)).await;
    let start = Instant::now();
    let mut times = Vec::new();
    for _ in 0..4 {
        limiter.acquire().await;
        times.push(ms(start));
    }
    assert_eq!(times, [0, 0, 0, 100]);
}

#[tokio::test(start_paused = true)]
async fn try_acquire_says_exactly_how_long_to_wait() {
    let limiter = RateLimiter::per_second(4);
    assert_eq!(limiter.try_acquire(), Ok(()));
    let wait = |ms| {
        Err(TryAcquireError::RateLimited {
            retry_after: Duration::from_millis(ms),
        })
    };
    assert_eq!(limiter.try_acquire(), wait(250));
    advance(100 * MS).await;
    assert_eq!(limiter.try_acquire(), wait(150));
    advance(150 * MS).await;
    assert_eq!(limiter.try_acquire(), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn try_acquire_n_checks_the_burst_and_the_rate() {
    let limiter = limited(10, Duration::from_secs(1), 4);
    assert_eq!(limiter.try_acquire_n(0), Ok(()));
    assert_eq!(
        limiter.try_acquire_n(5),
        Err(TryAcquireError::ExceedsBurst(
            limiter.acquire_n(5).await.unwrap_err()
        ))
    );
    assert_eq!(limiter.try_acquire_n(3), Ok(()));
    assert_eq!(
        limiter.try_acquire_n(2).map_err(|e| e.retry_after()),
        Err(Some(100 * MS))
    );
    assert_eq!(limiter.try_acquire_n(1), Ok(()));
    // Spent, with a waiter queued: zero still succeeds, as documented.
    let mut waiter = spawn(limiter.acquire());
    assert_pending!(waiter.poll());
    assert_eq!(limiter.try_acquire_n(0), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn acquire_n_above_the_burst_fails_at_the_first_poll() {
    let limiter = limited(1, Duration::from_secs(3600), 2);
    let mut too_many = spawn(limiter.acquire_n(3));
    let error: AcquireError = assert_ready!(too_many.poll()).unwrap_err();
    assert_eq!((error.requested(), error.burst()), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn acquire_n_waits_until_all_its_calls_fit() {
    let limiter = limited(10, Duration::from_secs(1), 4);
    let start = Instant::now();
    limiter.acquire_n(4).await.expect("within the burst");
    limiter.acquire_n(2).await.expect("within the burst");
    assert_eq!(ms(start), 200);
    limiter.acquire_n(0).await.expect("zero is always fine");
    assert_eq!(ms(start), 200);
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order() {
    let limiter = RateLimiter::per_second(10);
    limiter.try_acquire().expect("fresh limiter");
    let start = Instant::now();
    // Arrival order: c, a, b.
    let mut a = spawn(limiter.acquire());
    let mut b = spawn(limiter.acquire());
    let mut c = spawn(limiter.acquire());
    assert_pending!(c.poll());
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    let mut order = Vec::new();
    let mut pending = vec![("a", a), ("b", b), ("c", c)];
    while !pending.is_empty() {
        advance(100 * MS).await;
        // Poll everybody, in an order that favours the later arrivals.
        for i in (0..pending.len()).rev() {
            if pending[i].1.poll().is_ready() {
                let (name, _) = pending.remove(i);
                order.push((name, ms(start)));
            }
        }
    }
    assert_eq!(order, [("c", 100), ("a", 200), ("b", 300)]);
}

#[tokio::test(start_paused = true)]
async fn a_new_call_never_takes_the_capacity_a_woken_waiter_is_due() {
    let limiter = RateLimiter::per_second(10);
    limiter.try_acquire().expect("fresh limiter");
    let mut queued = spawn(limiter.acquire());
    assert_pending!(queued.poll());
    advance(100 * MS).await;
    assert!(queued.is_woken(), "the head's timer fired");
    // In the gap before the woken waiter runs, newcomers find somebody waiting and queue.
    let mut newcomer = spawn(limiter.acquire());
    assert_pending!(newcomer.poll());
    assert!(limiter.try_acquire().is_err());
    assert_ready!(queued.poll());
    assert!(newcomer.is_woken(), "the granted waiter hands the head on");
    assert_pending!(newcomer.poll());
    advance(100 * MS).await;
    assert_ready!(newcomer.poll());
}

#[tokio::test(start_paused = true)]
async fn try_acquire_does_not_jump_ahead_of_waiters() {
    let limiter = limited(10, Duration::from_secs(1), 2);
    limiter.acquire_n(2).await.expect("within the burst");
    let mut waiter = spawn(limiter.acquire_n(2));
    assert_pending!(waiter.poll());
    advance(100 * MS).await;
    // One cell is free now, but the waiter ahead asked for two first.
    assert_eq!(
        limiter.try_acquire(),
        Err(TryAcquireError::RateLimited {
            retry_after: 200 * MS
        })
    );
    advance(100 * MS).await;
    assert_ready!(waiter.poll()).expect("within the burst");
}

// ---- cancel safety: dropping a waiter loses nothing

#[tokio::test(start_paused = true)]
async fn dropping_the_head_waiter_passes_its_turn_to_the_next() {
    let limiter = RateLimiter::per_second(10);
    limiter.try_acquire().expect("fresh limiter");
    let start = Instant::now();
    let mut head = spawn(limiter.acquire());
    let mut next = spawn(limiter.acquire());
    assert_pending!(head.poll());
    assert_pending!(next.poll());
    advance(50 * MS).await;
    drop(head);
    assert!(next.is_woken(), "the new head must start its own timer");
    assert_pending!(next.poll());
    advance(50 * MS).await;
    assert_ready!(next.poll());
    assert_eq!(ms(start), 100, "the next waiter got the dropped one's slot");
    // Only one call went through since the first: the dropped waiter took nothing.
    assert_eq!(
        limiter.try_acquire().map_err(|e| e.retry_after()),
        Err(Some(100 * MS))
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_a_waiter_in_the_middle_loses_nothing() {
    let limiter = RateLimiter::per_second(10);
    limiter.try_acquire().expect("fresh limiter");
    let start = Instant::now();
    let mut a = spawn(limiter.acquire());
    let mut b = spawn(limiter.acquire());
    let mut c = spawn(limiter.acquire());
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    assert_pending!(c.poll());
    drop(b);
    advance(100 * MS).await;
    assert_ready!(a.poll());
    assert_pending!(c.poll());
    advance(100 * MS).await;
    assert_ready!(c.poll());
    assert_eq!(ms(start), 200, "c moved up into b's place");
}

#[tokio::test(start_paused = true)]
async fn dropping_an_acquire_n_waiter_frees_its_place_for_smaller_requests() {
    let limiter = limited(10, Duration::from_secs(1), 3);
    limiter.acquire_n(3).await.expect("within the burst");
    let mut big = spawn(limiter.acquire_n(3));
    let mut small = spawn(limiter.acquire());
    assert_pending!(big.poll());
    assert_pending!(small.poll());
    advance(100 * MS).await;
    assert_pending!(small.poll(), "queued behind the big request");
    drop(big);
    assert_ready!(small.poll());
}

#[tokio::test(start_paused = true)]
async fn a_waiter_cancelled_by_select_leaves_no_trace() {
    let limiter = RateLimiter::per_second(10);
    limiter.try_acquire().expect("fresh limiter");
    tokio::select! {
        () = limiter.acquire() => panic!("not due yet"),
        () = tokio::time::sleep(30 * MS) => {}
    }
    // Nobody is counted as waiting any more: the fast path and try_acquire work again.
    assert_eq!(
        limiter.try_acquire().map_err(|e| e.retry_after()),
        Err(Some(70 * MS))
    );
    advance(70 * MS).await;
    let mut fast = spawn(limiter.acquire());
    assert_ready!(fast.poll());
}

// ---- configuration

#[test]
fn invalid_configurations_are_refused_when_built() {
    assert!(RateLimiter::try_per_second(0).is_err());
    let builder = RateLimiter::builder;
    assert!(builder().try_build().is_err());
    assert!(
        builder()
            .rate(0, Duration::from_secs(1))
            .try_build()
            .is_err()
    );
    assert!(builder().rate(1, Duration::ZERO).try_build().is_err());
    assert!(
        builder()
            .rate(2, Duration::from_nanos(1))
            .try_build()
            .is_err()
    );
    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-30] {
        assert!(
            builder().calls_per_second(rate).try_build().is_err(),
            "{rate}"
        );
    }
    assert!(
        builder()
            .calls_per_second(1.0)
            .burst(0)
            .try_build()
            .is_err()
    );
    assert!(builder().calls_per_second(1e9).try_build().is_ok());
}

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// A burst that would take longer than half the limiter's 584-year clock to refill is refused:
/// before, its tolerance saturated and every call was let through.
#[test]
fn a_burst_that_does_not_fit_the_clock_is_refused_when_built() {
    let builder = RateLimiter::builder;
    let century = 100 * YEAR;
    assert!(builder().rate(1, century).burst(10).try_build().is_err());
    let hour = Duration::from_secs(3600);
    assert!(builder().rate(1, hour).burst(u32::MAX).try_build().is_err());
    let refused = std::panic::catch_unwind(|| builder().rate(1, century).burst(10).build());
    assert!(refused.is_err(), "build panics on what try_build refuses");
    // Up to 292 years of refill, and any interval with burst 1, are fine.
    assert!(builder().rate(1, century).burst(3).try_build().is_ok());
    assert!(builder().rate(1, 500 * YEAR).try_build().is_ok());
    let one_per_second = builder().rate(1, Duration::from_secs(1));
    assert!(
        one_per_second
            .clone()
            .burst(1_000_000_000)
            .try_build()
            .is_ok()
    );
}

/// The largest bursts keep their bound: a million calls an hour, all at once, is one full
/// burst at one instant, and then one call per 3.6 ms.
#[tokio::test(start_paused = true)]
async fn a_huge_burst_is_granted_once_then_the_rate() {
    let limiter = limited(1_000_000, Duration::from_secs(3600), 1_000_000);
    assert_eq!(limiter.try_acquire_n(1_000_000), Ok(()));
    assert_eq!(
        limiter.try_acquire(),
        Err(TryAcquireError::RateLimited {
            retry_after: Duration::from_micros(3_600)
        })
    );
}

/// One call per century, burst 3, three calls 500 years in: the next could only be let through
/// 600 years after the limiter was built, past its 584-year clock, so it is refused for good
/// (before, the saturated state let every call through from then on), and a waiter waits
/// forever, on no timer.
#[tokio::test(start_paused = true)]
async fn a_call_past_the_horizon_is_refused_for_good() {
    let limiter = limited(1, 100 * YEAR, 3);
    assert_eq!(limiter.try_acquire_n(3), Ok(()));
    assert_eq!(
        limiter.try_acquire(),
        Err(TryAcquireError::RateLimited {
            retry_after: 100 * YEAR
        }),
        "exact below the horizon"
    );
    advance(500 * YEAR).await;
    assert_eq!(limiter.try_acquire_n(3), Ok(()));
    for _ in 0..3 {
        assert_eq!(
            limiter.try_acquire(),
            Err(TryAcquireError::RateLimited {
                retry_after: Duration::MAX
            })
        );
    }
    let mut waiter = spawn(limiter.acquire());
    assert_pending!(waiter.poll());
    advance(80 * YEAR).await;
    assert!(!waiter.is_woken());
    assert_pending!(waiter.poll());
}

#[test]
#[should_panic(expected = "the rate must be above zero")]
fn per_second_zero_panics() {
    let _ = RateLimiter::per_second(0);
}

/// A rate of one call per nanosecond is the finest the limiter counts: `per_second` takes up
/// to 1e9, and refuses more as its documentation says (it said only zero was refused).
#[test]
fn per_second_takes_rates_up_to_one_per_nanosecond() {
    let finest = RateLimiter::try_per_second(1_000_000_000);
    assert!(finest.is_ok_and(|limiter| limiter.interval() == Duration::from_nanos(1)));
    for n in [1_000_000_001, u32::MAX] {
        let Err(error) = RateLimiter::try_per_second(n) else {
            panic!("{n} calls per second is finer than a nanosecond");
        };
        assert!(error.to_string().contains("1 ns"), "{error}");
    }
    let refused = std::panic::catch_unwind(|| RateLimiter::per_second(u32::MAX));
    assert!(
        refused.is_err(),
        "per_second panics on what try_per_second refuses"
    );
}

/// An interval that is not a whole number of nanoseconds is rounded up, so the limit is never
/// looser than asked: 3 calls per 4 ns is one per 2 ns (before: rounded to 1 ns, 4 calls per
/// 4 ns), and 3 per second one per 333,333,334 ns.
#[tokio::test(start_paused = true)]
async fn an_interval_is_rounded_up_to_whole_nanoseconds() {
    let limiter = limited(3, Duration::from_nanos(4), 1);
    assert_eq!(limiter.interval(), Duration::from_nanos(2));
    assert_eq!(limiter.try_acquire(), Ok(()));
    advance(Duration::from_nanos(1)).await;
    assert!(limiter.try_acquire().is_err(), "a second call 1 ns later");
    assert_eq!(
        RateLimiter::per_second(3).interval(),
        Duration::from_nanos(333_333_334)
    );
    let fractional = RateLimiter::builder().calls_per_second(3.0).build();
    assert_eq!(fractional.interval(), Duration::from_nanos(333_333_334));
    let one_and_a_half = RateLimiter::builder()
        .calls_per_second(666_666_667.0)
        .build();
    assert_eq!(one_and_a_half.interval(), Duration::from_nanos(2));
}

/// Every non-zero `u32` per minute is a rate the limiter can count (at most one per 14 ns).
#[test]
fn per_minute_takes_every_non_zero_rate() {
    let limiter = RateLimiter::per_minute(u32::MAX);
    assert_eq!(limiter.interval(), Duration::from_nanos(14));
    let per_period = RateLimiter::builder()
        .rate(u32::MAX, Duration::from_secs(60))
        .try_build();
    assert!(per_period.is_ok());
    assert!(
        RateLimiter::builder()
            .rate(u32::MAX, Duration::from_secs(1))
            .try_build()
            .is_err(),
        "rate(n, period) refuses an interval under 1 ns, as documented"
    );
}

// ---- the long-run rate and the burst bound

/// Runs `tasks` tasks that each take `per_task` single calls, and returns the virtual time
/// the whole run took.
async fn run_tasks(limiter: &RateLimiter, tasks: usize, per_task: usize) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    limiter.acquire().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("no panic");
    }
    start.elapsed()
}

fn assert_rate_within_1_percent(calls: usize, elapsed: Duration, rate: f64) {
    let measured = calls as f64 / elapsed.as_secs_f64();
    let error = (measured - rate).abs() / rate;
    assert!(
        error < 0.01,
        "{calls} calls in {elapsed:?}: {measured:.1}/s against {rate}/s ({:.2}% off)",
        error * 100.0
    );
}

#[tokio::test(start_paused = true)]
async fn the_rate_holds_within_1_percent_over_a_long_run() {
    // A rate whose interval is not a whole number of timer ticks (333.3 ms).
    let limiter = RateLimiter::builder().calls_per_second(3.0).build();
    let elapsed = run_tasks(&limiter, 1, 3_000).await;
    assert_rate_within_1_percent(3_000 - 1, elapsed, 3.0);

    // Ten tasks contending for 10,000 calls a second (a 100 µs interval, below the timer's
    // 1 ms resolution), with a burst of 2 ms worth of calls.
    let limiter = limited(10_000, Duration::from_secs(1), 20);
    let elapsed = run_tasks(&limiter, 10, 5_000).await;
    assert_rate_within_1_percent(50_000 - 20, elapsed, 10_000.0);
}

#[tokio::test(start_paused = true)]
async fn contending_tasks_never_exceed_the_burst() {
    let limiter = limited(200, Duration::from_secs(1), 4);
    let grants = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let handles: Vec<_> = (0..8u32)
        .map(|task| {
            let (limiter, grants) = (limiter.clone(), Arc::clone(&grants));
            tokio::spawn(async move {
                for i in 0..50u32 {
                    let cells = 1 + (task + i) % 3;
                    limiter.acquire_n(cells).await.expect("within the burst");
                    grants.lock().unwrap().push((start.elapsed(), cells));
                    tokio::time::sleep(Duration::from_millis(u64::from(task * i % 7))).await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("no panic");
    }
    let grants = grants.lock().unwrap();
    check_windows(&grants, limiter.interval(), limiter.burst());
}

#[test]
fn no_window_exceeds_the_burst() {
    let mut runner = TestRunner::new(config("no_window_exceeds_the_burst", 200));
    let strategy = (
        1..200u32,
        1..6u32,
        prop::collection::vec((0..40u64, 0..7u32), 1..120),
    );
    runner
        .run(&strategy, |(per_second, burst, steps)| {
            // Built on the paused clock, so it reads that clock from its first grant.
            let (limiter, grants) = paused_runtime().block_on(async {
                let limiter = limited(per_second, Duration::from_secs(1), burst);
                let start = Instant::now();
                let mut grants = Vec::new();
                for (pause_ms, cells) in steps {
                    advance(Duration::from_millis(pause_ms)).await;
                    if limiter.try_acquire_n(cells).is_ok() && cells > 0 {
                        grants.push((start.elapsed(), cells));
                    }
                }
                (limiter, grants)
            });
            assert_eq!(limiter.clock(), Clock::Tokio);
            check_windows(&grants, limiter.interval(), burst);
            Ok(())
        })
        .unwrap();
}

#[test]
fn no_window_exceeds_the_burst_with_waiting_tasks() {
    let mut runner = TestRunner::new(config("no_window_exceeds_the_burst_with_waiting_tasks", 60));
    let strategy = (
        1..500u32,
        1..5u32,
        prop::collection::vec(prop::collection::vec((0..20u64, 1..5u32), 1..30), 1..6),
    );
    runner
        .run(&strategy, |(per_second, burst, tasks)| {
            let (limiter, grants) = paused_runtime().block_on(async {
                let limiter = limited(per_second, Duration::from_secs(1), burst);
                let start = Instant::now();
                let grants = Arc::new(Mutex::new(Vec::new()));
                let handles: Vec<_> = tasks
                    .into_iter()
                    .map(|steps| {
                        let (limiter, grants) = (limiter.clone(), Arc::clone(&grants));
                        tokio::spawn(async move {
                            for (pause_ms, cells) in steps {
                                tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                                let cells = cells.min(limiter.burst());
                                limiter.acquire_n(cells).await.expect("within the burst");
                                grants.lock().unwrap().push((start.elapsed(), cells));
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.expect("no panic");
                }
                let mut grants = grants.lock().unwrap().clone();
                grants.sort();
                (limiter, grants)
            });
            assert_eq!(limiter.clock(), Clock::Tokio);
            check_windows(&grants, limiter.interval(), burst);
            Ok(())
        })
        .unwrap();
}

fn fast(n: u32, period: Duration, burst: u32) -> RateLimiter {
    RateLimiter::builder()
        .rate(n, period)
        .burst(burst)
        .clock(Clock::Fast)
        .build()
}

#[test]
fn the_fast_clock_refuses_beyond_the_burst_and_says_how_long() {
    let limiter = fast(1, Duration::from_secs(3600), 2);
    assert_eq!(limiter.clock(), Clock::Fast);
    assert!(limiter.try_acquire().is_ok());
    assert!(limiter.try_acquire().is_ok());
    let Err(TryAcquireError::RateLimited { retry_after }) = limiter.try_acquire() else {
        panic!("a third call within the hour exceeds the burst of 2");
    };
    // Only microseconds of real time passed since the first grant.
    assert!(retry_after > Duration::from_secs(3599), "{retry_after:?}");
    assert!(retry_after <= Duration::from_secs(3600), "{retry_after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fast_clock_lets_waiters_through_at_the_rate_on_a_real_clock() {
    // One call every 2 ms: the fourth of four calls made at once goes 6 ms after the first.
    // The CPU's counter cannot be paused like Tokio's clock, so this reads the real clock; the
    // bound is one-sided (at least 6 ms, never at most), which a loaded machine only makes
    // easier to meet: it checks that the rate is kept, not how fast anything runs.
    let limiter = fast(1, 2 * MS, 1);
    let start = std::time::Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire().await })
        })
        .collect();
    for handle in handles {
        handle.await.expect("no panic");
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_micros(5_900), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_clock_is_the_counter_on_a_running_clock() {
    let limiter = RateLimiter::per_second(1_000_000);
    assert_eq!(limiter.clock(), Clock::Fast);
    // A limit that never binds lets many calls through; the clock stays the counter.
    for _ in 0..1_000 {
        limiter.acquire().await;
    }
    assert_eq!(limiter.clock(), Clock::Fast);
}

#[tokio::test(start_paused = true)]
async fn the_default_clock_follows_a_clock_paused_before_it_was_built() {
    let limiter = limited(1, Duration::from_secs(3600), 1);
    assert_eq!(limiter.clock(), Clock::Tokio);
    limiter.acquire().await;
    assert_eq!(
        limiter.try_acquire(),
        Err(TryAcquireError::RateLimited {
            retry_after: Duration::from_secs(3600)
        }),
        "exact on the paused clock"
    );
}

/// A limiter built before Tokio's clock was paused (in a `static`, or before `pause()`) reads
/// the CPU's counter; the first call that has to wait under the paused clock moves it onto
/// Tokio's clock, so that wait and every later one take their time in virtual time. On the
/// counter, the waiter would sleep a virtual interval, wake to find almost no real time gone,
/// and sleep again: virtual time would run far past the interval.
#[test]
fn the_default_clock_moves_onto_a_clock_paused_after_it_was_built() {
    let limiter = RateLimiter::per_second(10);
    assert_eq!(limiter.clock(), Clock::Fast, "built on a running clock");
    paused_runtime().block_on(async {
        let start = Instant::now();
        limiter.acquire().await;
        assert_eq!(limiter.clock(), Clock::Fast, "no wait yet");
        limiter.acquire().await;
        assert_eq!(
            limiter.clock(),
            Clock::Tokio,
            "the wait found the clock paused"
        );
        let first_wait = start.elapsed();
        // The interval less the real time the counter saw pass before the move (microseconds),
        // rounded up to the timer's millisecond.
        assert!(
            first_wait >= 99 * MS && first_wait <= 101 * MS,
            "{first_wait:?}"
        );
        let moved = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(moved.elapsed(), 200 * MS, "exact from the move on");
    });
}

/// The same move on a refusal of `try_acquire`, so code that polls with `try_acquire` and
/// `advance` is exact too: on the counter, `advance` would never refill the limit.
#[test]
fn the_default_clock_moves_onto_a_paused_clock_when_try_acquire_refuses() {
    let limiter = RateLimiter::per_second(10);
    paused_runtime().block_on(async {
        assert!(limiter.try_acquire().is_ok());
        let Err(TryAcquireError::RateLimited { retry_after }) = limiter.try_acquire() else {
            panic!("the second call within 100 ms is refused");
        };
        assert_eq!(
            limiter.clock(),
            Clock::Tokio,
            "the refusal found the clock paused"
        );
        assert!(
            retry_after > 99 * MS && retry_after <= 100 * MS,
            "{retry_after:?}"
        );
        advance(retry_after).await;
        assert!(limiter.try_acquire().is_ok(), "advance refilled the limit");
        assert_eq!(
            limiter.try_acquire(),
            Err(TryAcquireError::RateLimited {
                retry_after: 100 * MS
            }),
            "exact from the move on"
        );
    });
}

/// A queued waiter's old waker, replaced by a new one or left behind when the waiter leaves,
/// is dropped after the queue's lock is released: dropping a waker may free a task, whose
/// destructor may use the limiter. The probe joins the queue (somebody waits, so no fast path)
/// and leaves it, taking the lock twice.
#[tokio::test(start_paused = true)]
async fn a_waiters_old_waker_is_dropped_after_the_queue_is_unlocked() {
    let limiter = limited(1, Duration::from_secs(3600), 1);
    assert!(limiter.try_acquire().is_ok());
    let mut head = Box::pin(limiter.acquire());
    assert!(
        head.as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    let probe_limiter = limiter.clone();
    assert_wakers_let_go_unlocked(limiter.acquire(), move || {
        let mut joining = Box::pin(probe_limiter.acquire());
        let _ = joining
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
    });
    drop(head);
}

/// `acquire_n(3)` counts three waiting calls; dropped mid-wait it must take all three off the
/// count, or `try_acquire` refuses for ever ("a call is waiting") on an idle, full limiter.
#[tokio::test(start_paused = true)]
async fn a_dropped_acquire_n_waiter_leaves_no_waiting_calls_behind() {
    let limiter = limited(10, Duration::from_secs(1), 3);
    limiter.acquire_n(3).await.expect("within the burst");
    let mut big = spawn(limiter.acquire_n(3));
    assert_pending!(big.poll());
    drop(big);
    advance(Duration::from_secs(1)).await; // refilled, and nobody waits
    assert!(
        limiter.try_acquire().is_ok(),
        "nobody waits: try_acquire must pass"
    );
}

/// The same when the waiter is let through: all `n` of its calls leave the waiting count.
#[tokio::test(start_paused = true)]
async fn a_granted_acquire_n_waiter_leaves_no_waiting_calls_behind() {
    let limiter = limited(10, Duration::from_secs(1), 3);
    limiter.acquire_n(3).await.expect("within the burst");
    limiter.acquire_n(2).await.expect("waits, then is granted");
    advance(Duration::from_secs(1)).await; // refilled, and nobody waits
    assert!(
        limiter.try_acquire().is_ok(),
        "nobody waits: try_acquire must pass"
    );
}

/// A waiter's waker that panics when woken.
fn panicking_waker() -> Waker {
    struct Panicking;
    impl std::task::Wake for Panicking {
        fn wake(self: Arc<Self>) {
            panic!("a user waker panicked in wake");
        }
    }
    Waker::from(Arc::new(Panicking))
}

/// Dropping the head waiter wakes the next one from the head's destructor: a panic of that
/// waker is reported, not let out of `Drop` (unwinding out of a destructor that runs during
/// another unwind aborts the process).
#[tokio::test(start_paused = true)]
async fn a_panicking_waker_of_the_next_waiter_does_not_escape_the_heads_drop() {
    let reports = crate::reports::Reports::collect();
    let limiter = limited(1, Duration::from_secs(1), 1);
    limiter.acquire().await;
    let mut head = spawn(limiter.acquire());
    assert_pending!(head.poll());
    let mut next = Box::pin(limiter.acquire());
    let waker = panicking_waker();
    assert!(
        next.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(head)));
    assert!(dropped.is_ok(), "the waker's panic escaped the head's drop");
    reports.assert_any("the next waiter's waker");
}

/// A granted waiter wakes the next one to start its timer: a panic of that waker is reported,
/// and the granted call still returns (it has taken its calls).
#[tokio::test(start_paused = true)]
async fn a_panicking_waker_of_the_next_waiter_does_not_fail_a_granted_acquire() {
    let reports = crate::reports::Reports::collect();
    let limiter = limited(1, Duration::from_secs(1), 1);
    limiter.acquire().await;
    let mut head = spawn(limiter.acquire());
    assert_pending!(head.poll());
    let mut next = Box::pin(limiter.acquire());
    let waker = panicking_waker();
    assert!(
        next.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    advance(Duration::from_secs(1)).await;
    let granted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| head.poll()));
    assert!(
        matches!(granted, Ok(std::task::Poll::Ready(()))),
        "the granted acquire failed with the next waiter's waker panic"
    );
    reports.assert_any("the next waiter's waker");
}

/// `1e9 / rate` in `f64` can round down onto a whole number of nanoseconds: just below 1e9/3
/// calls a second, the exact interval is a hair above 3 ns, so it must round up to 4 ns, not
/// stay at 3 (which would let more calls through than asked).
#[test]
fn calls_per_second_rounds_up_even_when_the_quotient_rounded_down() {
    let limiter = RateLimiter::builder()
        .calls_per_second(333_333_333.333_333_3)
        .build();
    assert_eq!(limiter.interval(), Duration::from_nanos(4));
    let limiter = RateLimiter::builder().calls_per_second(0.5).build();
    assert_eq!(limiter.interval(), Duration::from_secs(2));
    let limiter = RateLimiter::builder().calls_per_second(1e9).build();
    assert_eq!(limiter.interval(), Duration::from_nanos(1));
}
