//! timeout and timeout_at.

use std::future::{Future, pending};
use std::task::Poll;
use std::time::Duration;

use corral::time::{timeout, timeout_at};
use tokio::time::{Instant, advance, sleep};
use tokio_test::{assert_pending, assert_ready, task};

use crate::support::{DropFlag, last_instant};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn a_fast_future_completes() {
    let value = timeout(100 * MS, async {
        sleep(10 * MS).await;
        7
    })
    .await;
    assert_eq!(value, Ok(7));
}

#[tokio::test(start_paused = true)]
async fn a_slow_future_is_cancelled_and_reports_its_deadline() {
    let flag = DropFlag::new();
    let guard = flag.guard();
    let start = Instant::now();
    let result = timeout(100 * MS, async move {
        let _guard = guard;
        sleep(Duration::from_secs(10)).await;
    })
    .await;
    let elapsed = result.unwrap_err();
    assert_eq!(start.elapsed(), 100 * MS);
    assert_eq!(elapsed.deadline(), start + 100 * MS);
    assert!(flag.is_dropped(), "the slow future was dropped");
}

#[tokio::test(start_paused = true)]
async fn zero_fires_at_the_first_await_but_a_ready_future_completes() {
    assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
    let mut waits = task::spawn(timeout(Duration::ZERO, pending::<()>()));
    assert!(
        assert_ready!(waits.poll()).is_err(),
        "fires at the first poll, no timer tick needed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_past_deadline_fires_at_the_first_await() {
    let past = Instant::now();
    advance(5 * MS).await;
    assert_eq!(timeout_at(past, async { 2 }).await, Ok(2));
    let mut waits = task::spawn(timeout_at(past, sleep(MS)));
    let elapsed = assert_ready!(waits.poll()).unwrap_err();
    assert_eq!(elapsed.deadline(), past);
}

#[tokio::test(start_paused = true)]
async fn a_relative_timeout_counts_from_its_first_poll() {
    let limited = timeout(100 * MS, async { sleep(60 * MS).await });
    advance(80 * MS).await; // built, but not yet running
    assert!(limited.deadline().is_none());
    let start = Instant::now();
    assert_eq!(
        limited.await,
        Ok(()),
        "60 ms of work fits in a 100 ms limit"
    );
    assert_eq!(start.elapsed(), 60 * MS);
}

#[tokio::test(start_paused = true)]
async fn timeout_at_uses_its_instant_as_given() {
    let deadline = Instant::now() + 100 * MS;
    let limited = timeout_at(deadline, async { sleep(60 * MS).await });
    advance(80 * MS).await;
    assert!(
        limited.await.is_err(),
        "only 20 ms were left when it started"
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_from_outside_is_not_a_timeout() {
    // The control: in a `biased` select that polls the timeout first, a limit that passes
    // first wins with `Elapsed`, at the limit.
    let start = Instant::now();
    let fired = tokio::select! {
        biased;
        r = timeout(10 * MS, pending::<()>()) => Some(r),
        () = sleep(100 * MS) => None,
    };
    assert!(
        matches!(fired, Some(Err(_))),
        "the timeout fires: {fired:?}"
    );
    assert_eq!(start.elapsed(), 10 * MS);

    // The other branch winning drops the timeout mid-wait: no `Elapsed`, although the timeout
    // is polled first every time (a timeout that fired early would win here).
    let start = Instant::now();
    let outcome = tokio::select! {
        biased;
        r = timeout(100 * MS, pending::<()>()) => Some(r),
        () = sleep(10 * MS) => None,
    };
    assert_eq!(outcome, None, "the other branch wins");
    assert_eq!(start.elapsed(), 10 * MS);

    // Under an enclosing `Deadline`, the dropped timeout's limit passing later is no
    // `Elapsed` either: the body runs on past it and returns its value...
    let deadline = corral::time::Deadline::after(200 * MS);
    let start = Instant::now();
    let ran = deadline
        .run(async {
            let inner = tokio::select! {
                biased;
                r = timeout(20 * MS, pending::<()>()) => Some(r),
                () = sleep(10 * MS) => None,
            };
            sleep(50 * MS).await; // well past the dropped timeout's 20 ms
            inner
        })
        .await;
    assert_eq!(
        ran,
        Ok(None),
        "no Elapsed, from the timeout or the deadline"
    );
    assert_eq!(start.elapsed(), 60 * MS);
    // ...and the deadline itself still fires, at its own limit, as its own.
    let err = deadline.run(pending::<()>()).await.unwrap_err();
    assert!(err.is_from(&deadline));
    assert_eq!(start.elapsed(), 200 * MS);
}

// `timeout_at`'s own drop test (it shares `Timeout` with `timeout`): dropped mid-wait, it drops
// the future it wraps at once, fires nothing later, and leaves no limit on what the task runs
// next.
#[tokio::test(start_paused = true)]
async fn a_timeout_at_dropped_mid_wait_drops_its_future_and_leaves_no_limit_behind() {
    let flag = DropFlag::new();
    let guard = flag.guard();
    let mut limited = task::spawn(timeout_at(Instant::now() + 10 * MS, async move {
        let _guard = guard;
        pending::<()>().await;
    }));
    assert_pending!(limited.poll());
    assert!(!flag.is_dropped());
    drop(limited);
    assert!(
        flag.is_dropped(),
        "dropping the timeout dropped the future at once"
    );
    let start = Instant::now();
    assert_eq!(timeout(100 * MS, sleep(50 * MS)).await, Ok(()));
    assert_eq!(
        start.elapsed(),
        50 * MS,
        "the dropped 10 ms limit did not cut this wait"
    );
}

#[tokio::test(start_paused = true)]
async fn the_wrapped_future_is_reachable() {
    let mut limited = timeout(MS, async { 3 });
    let _: &_ = limited.get_ref();
    let _: &mut _ = limited.get_mut();
    assert_eq!(limited.into_inner().await, 3);
}

#[tokio::test(start_paused = true)]
async fn elapsed_converts_into_io_timed_out() {
    let elapsed = timeout(MS, pending::<()>()).await.unwrap_err();
    let io: std::io::Error = elapsed.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

// On a real clock Tokio's timer wheel only ticks a millisecond later, so a zero or past
// deadline must be compared with the clock, not left to the timer.

#[tokio::test]
async fn zero_fires_at_the_first_await_on_a_real_clock_every_time() {
    for _ in 0..100 {
        assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
        let mut waits = task::spawn(timeout(Duration::ZERO, pending::<()>()));
        assert!(
            assert_ready!(waits.poll()).is_err(),
            "a zero timeout fires at the first await on a real clock"
        );
        // The reproduction: a future that awaits once, then is ready.
        assert!(timeout(Duration::ZERO, pending_once()).await.is_err());
    }
}

#[tokio::test]
async fn a_past_deadline_fires_at_the_first_await_on_a_real_clock() {
    let past = Instant::now();
    for _ in 0..100 {
        assert_eq!(timeout_at(past, async { 2 }).await, Ok(2));
        let mut waits = task::spawn(timeout_at(past, pending::<()>()));
        let elapsed = assert_ready!(waits.poll()).unwrap_err();
        assert_eq!(elapsed.deadline(), past);
    }
}

#[tokio::test(start_paused = true)]
async fn duration_max_means_no_limit() {
    // No timer at all: forty years pass on the paused clock and the future still runs.
    let mut unlimited = task::spawn(timeout(Duration::MAX, pending::<()>()));
    assert_pending!(unlimited.poll());
    advance(Duration::from_secs(86_400 * 365 * 40)).await;
    assert_pending!(unlimited.poll());
    let limited = timeout(Duration::MAX, async {});
    assert_eq!(limited.await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn an_instant_at_the_end_of_time_does_not_overflow() {
    let end = last_instant();
    let mut waits = task::spawn(timeout_at(end, pending::<()>()));
    assert_pending!(waits.poll());
    advance(Duration::from_secs(3600)).await;
    assert_pending!(waits.poll());
    assert_eq!(timeout_at(end, sleep(MS)).await, Ok(()));
}

/// Pending at its first poll (waking itself at once), ready at the second: the shape of
/// `yield_now`, as the future under test, not to order tasks.
fn pending_once() -> impl Future<Output = ()> {
    let mut first = true;
    std::future::poll_fn(move |cx| {
        if std::mem::take(&mut first) {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
}
