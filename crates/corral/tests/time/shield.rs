//! shield: the work goes on when the awaiting side is dropped; errors are never lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::time::{shield, timeout};
use tokio::time::sleep;

use crate::support::{Captured, paused_runtime};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn the_work_continues_when_the_awaiting_side_is_cancelled() {
    let saved = Arc::new(AtomicUsize::new(0));
    let s = saved.clone();
    let shielded = shield(async move {
        sleep(100 * MS).await;
        s.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>("saved")
    });
    assert!(
        timeout(10 * MS, shielded).await.is_err(),
        "the caller gave up"
    );
    sleep(200 * MS).await;
    assert_eq!(saved.load(Ordering::SeqCst), 1, "the work still finished");
}

#[tokio::test(start_paused = true)]
async fn the_result_can_be_awaited_later() {
    let mut shielded = shield(async {
        sleep(100 * MS).await;
        Ok::<_, String>(42)
    });
    assert!(timeout(10 * MS, &mut shielded).await.is_err());
    assert_eq!(shielded.await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn a_panic_resumes_in_the_awaiter() {
    let shielded = shield(async {
        if true {
            panic!("shielded work exploded");
        }
        Ok::<(), String>(())
    });
    let outcome = tokio::spawn(shielded).await.unwrap_err();
    assert!(outcome.is_panic());
}

#[test]
fn an_error_nobody_received_is_reported_whether_it_came_before_or_after_the_drop() {
    let captured = Captured::default();
    captured.run(|| {
        paused_runtime().block_on(async {
            // Fails after the handle is dropped: the work reports it.
            drop(shield(async {
                sleep(10 * MS).await;
                Err::<(), _>("late failure")
            }));
            // Fails before the handle is dropped: the handle reports it.
            let early = shield(async { Err::<(), _>("early failure") });
            sleep(MS).await;
            drop(early);
            sleep(20 * MS).await;
            // Succeeds unobserved: nothing to report.
            drop(shield(async { Ok::<_, String>(1) }));
            sleep(MS).await;
        });
    });
    let events = captured.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].contains("early failure"), "{events:?}");
    assert!(events[1].contains("late failure"), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn work_whose_future_panics_as_it_is_dropped_resumes_that_panic() {
    use futures::FutureExt;

    let shielded = shield(crate::support::ReadyThenPanicsOnDrop(
        "the work's destructor",
    ));
    let payload = std::panic::AssertUnwindSafe(shielded)
        .catch_unwind()
        .await
        .expect_err("the work panicked");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    assert_eq!(
        message, "the work's destructor",
        "not 'the runtime shut down'"
    );
}

/// A value that panics as it is dropped (unless already unwinding).
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the unreceived value's destructor");
        }
    }
}

/// Old code: a success nobody received was dropped in the detached task outside any catch, so
/// its destructor's panic went nowhere (Tokio swallowed it). Both sides now report it: the work
/// (the caller left first) and the handle (the value came before the handle was dropped).
#[test]
fn an_unreceived_value_whose_destructor_panics_is_reported() {
    let captured = Captured::default();
    captured.run(|| {
        paused_runtime().block_on(async {
            // Succeeds after the handle is dropped: the work drops the value.
            drop(shield(async {
                sleep(10 * MS).await;
                Ok::<_, String>(PanicsOnDrop)
            }));
            sleep(20 * MS).await;
            // Succeeds before the handle is dropped: the handle drops the value.
            let early = shield(async { Ok::<_, String>(PanicsOnDrop) });
            sleep(MS).await;
            drop(early);
        });
    });
    let events = captured.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.contains("the unreceived value's destructor")),
        "{events:?}"
    );
}
