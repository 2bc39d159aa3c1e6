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

/// A runtime that is not paused: the shielded work below waits on a channel, never on time.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Shielded work that has started (the returned receiver completes once it has) and then
/// waits for `release`, holding `state`.
fn started_work<S: Send + 'static>(
    state: S,
    release: tokio::sync::oneshot::Receiver<()>,
) -> (
    corral::time::Shielded<u32, String>,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (started, has_started) = tokio::sync::oneshot::channel();
    let shielded = shield(async move {
        let _state = state;
        let _ = started.send(());
        let _ = release.await;
        Ok(1042)
    });
    (shielded, has_started)
}

/// Old code: the runtime shutting down dropped the task mid-work, nobody held the handle, and
/// nothing was said: the work was lost without a word.
#[test]
fn work_cut_off_by_the_runtime_after_its_handle_was_dropped_is_reported() {
    let captured = Captured::default();
    let (_release, on_release) = tokio::sync::oneshot::channel();
    captured.run(|| {
        let runtime = runtime();
        runtime.block_on(async {
            let (saving, has_started) = started_work((), on_release);
            has_started.await.unwrap();
            drop(saving); // the caller gave up
        });
        drop(runtime); // shutdown: the shielded task is dropped mid-work
    });
    let events = captured.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].contains("the runtime shut down before the shielded work finished"),
        "{events:?}"
    );
}

/// Old code: the work's state, dropped by Tokio at shutdown, panicked into Tokio's catch.
#[test]
fn a_destructor_panic_of_work_cut_off_by_the_runtime_is_reported() {
    let captured = Captured::default();
    let (_release, on_release) = tokio::sync::oneshot::channel();
    captured.run(|| {
        let runtime = runtime();
        runtime.block_on(async {
            let (saving, has_started) = started_work(PanicsOnDrop, on_release);
            has_started.await.unwrap();
            drop(saving);
        });
        drop(runtime);
    });
    let events = captured.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events[0].contains("the unreceived value's destructor"),
        "{events:?}"
    );
    assert!(
        events[1].contains("the runtime shut down before the shielded work finished"),
        "{events:?}"
    );
}

/// A handle still held when the runtime cut its work off is told (awaiting it panics), and
/// one dropped afterwards without being awaited reports the cut: whoever is last to know says.
#[test]
fn work_cut_off_while_its_handle_is_held_is_told_to_the_handle() {
    use futures::FutureExt;

    let captured = Captured::default();
    let (_release_awaited, on_release_awaited) = tokio::sync::oneshot::channel();
    let (_release_dropped, on_release_dropped) = tokio::sync::oneshot::channel();
    let (awaited, dropped) = captured.run(|| {
        let runtime = runtime();
        let handles = runtime.block_on(async {
            let (awaited, started_awaited) = started_work((), on_release_awaited);
            let (dropped, started_dropped) = started_work((), on_release_dropped);
            started_awaited.await.unwrap();
            started_dropped.await.unwrap();
            (awaited, dropped)
        });
        drop(runtime);
        handles
    });
    assert!(captured.events().is_empty(), "{:?}", captured.events());
    let outcome =
        captured.run(|| runtime().block_on(std::panic::AssertUnwindSafe(awaited).catch_unwind()));
    let payload = outcome.expect_err("no result to give");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    assert!(
        message.contains("the runtime shut down before the work finished"),
        "{message}"
    );
    assert!(captured.events().is_empty(), "{:?}", captured.events());
    captured.run(|| drop(dropped));
    let events = captured.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].contains("the runtime shut down before the shielded work finished"),
        "{events:?}"
    );
}
