//! `Throttler`: leading edge, exact timings, refused calls never run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use corral::flow::Throttler;
use tokio::time::{Instant, advance};
use tokio_test::assert_pending;
use tokio_test::task::spawn;

use crate::support::ms;

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn one_call_per_interval_on_the_leading_edge() {
    let throttler = Throttler::new(100 * MS);
    let start = Instant::now();
    let mut passed = Vec::new();
    for step in [0, 30, 30, 40, 30, 70, 99, 1] {
        advance(step * MS).await;
        if throttler.try_acquire().is_ok() {
            passed.push(ms(start));
        }
    }
    // Calls at 0, 30, 60, 100, 130, 200, 299, 300.
    assert_eq!(passed, [0, 100, 200, 300]);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_says_when_the_next_call_passes() {
    let throttler = Throttler::new(100 * MS);
    throttler.try_acquire().expect("first call");
    advance(40 * MS).await;
    assert_eq!(throttler.try_acquire().unwrap_err().retry_after(), 60 * MS);
    advance(60 * MS).await;
    assert!(throttler.try_acquire().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_refused_call_is_dropped_unrun() {
    let throttler = Throttler::new(100 * MS);
    assert_eq!(throttler.run(async { 1 }).await, Ok(1));
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let refused = throttler
        .run(async move { flag.store(true, Ordering::SeqCst) })
        .await;
    assert_eq!(refused.unwrap_err().retry_after(), 100 * MS);
    assert!(!ran.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn a_call_dropped_after_it_passed_still_counts() {
    let throttler = Throttler::new(100 * MS);
    let mut call = spawn(throttler.run(std::future::pending::<()>()));
    assert_pending!(call.poll());
    drop(call);
    assert!(
        throttler.try_acquire().is_err(),
        "the interval's call was used"
    );
}

#[tokio::test(start_paused = true)]
async fn clones_share_the_interval() {
    let throttler = Throttler::new(100 * MS);
    let clone = throttler.clone();
    throttler.try_acquire().expect("first");
    assert!(clone.try_acquire().is_err());
}

#[test]
fn invalid_intervals_are_refused() {
    assert!(Throttler::try_new(Duration::ZERO).is_err());
    assert!(Throttler::try_new(Duration::MAX).is_err());
    assert!(std::panic::catch_unwind(|| Throttler::new(Duration::ZERO)).is_err());
    assert!(Throttler::try_new(Duration::from_nanos(1)).is_ok());
}

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// The longest interval, 584 years, lets one call through and then none: before, the state
/// saturated and every call after the first was let through too.
#[tokio::test(start_paused = true)]
async fn the_longest_interval_lets_one_call_through() {
    let throttler = Throttler::new(Duration::from_nanos(u64::MAX));
    assert!(throttler.try_acquire().is_ok());
    for _ in 0..3 {
        assert_eq!(
            throttler.try_acquire().unwrap_err().retry_after(),
            Duration::MAX
        );
    }
    advance(500 * YEAR).await;
    assert!(throttler.try_acquire().is_err());
}

/// Intervals over half the clock keep exact refusals (before, the saturated state made
/// this one say 84 years instead of 300).
#[tokio::test(start_paused = true)]
async fn a_400_year_interval_says_exactly_when() {
    let throttler = Throttler::new(400 * YEAR);
    assert!(throttler.try_acquire().is_ok());
    advance(100 * YEAR).await;
    assert_eq!(
        throttler.try_acquire().unwrap_err().retry_after(),
        300 * YEAR
    );
    advance(300 * YEAR).await;
    assert!(throttler.try_acquire().is_ok(), "400 years on");
    assert_eq!(
        throttler.try_acquire().unwrap_err().retry_after(),
        Duration::MAX,
        "the next would be 800 years on, past the clock"
    );
}

/// A throttler built before Tokio's clock was paused reads the CPU's counter; its first
/// refusal under the paused clock moves it onto that clock, so `advance` lets the next call
/// through (on the counter, no amount of virtual time would).
#[test]
fn a_throttler_built_before_the_pause_follows_the_paused_clock_from_its_first_refusal() {
    let throttler = Throttler::new(100 * MS);
    crate::support::paused_runtime().block_on(async {
        throttler.try_acquire().expect("first call");
        let retry_after = throttler.try_acquire().unwrap_err().retry_after();
        assert!(
            retry_after > 99 * MS && retry_after <= 100 * MS,
            "{retry_after:?}"
        );
        advance(retry_after).await;
        assert!(
            throttler.try_acquire().is_ok(),
            "advance let the next call through"
        );
        assert_eq!(throttler.try_acquire().unwrap_err().retry_after(), 100 * MS);
    });
}
