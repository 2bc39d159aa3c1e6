//! Panics: siblings are cancelled and joined, then the original panic resumes; what else
//! happened meanwhile goes to the report hook.

use std::future::pending;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::task::{BoxError, Failure, TaskGroup};
use futures::FutureExt;
use tokio::time::sleep;

use crate::support::{Captured, DropFlag, ReadyThenPanicsOnDrop, paused_runtime};

fn err(msg: &str) -> BoxError {
    msg.to_string().into()
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

type Reports = Arc<Mutex<Vec<String>>>;

fn recording_group(grace: Duration) -> (TaskGroup, Reports) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let group = TaskGroup::builder()
        .cancel_grace(grace)
        .on_failure(move |failure: Failure<BoxError>| {
            sink.lock().unwrap().push(failure.to_string())
        })
        .build();
    (group, reports)
}

#[tokio::test(start_paused = true)]
async fn a_child_panic_cancels_and_joins_siblings_then_resumes() {
    let (group, reports) = recording_group(Duration::ZERO);
    let sibling = DropFlag::new();
    let guard = sibling.guard();
    group.spawn(async move {
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    let panicked = group.spawn(async {
        sleep(Duration::from_millis(1)).await;
        if true {
            panic!("child exploded");
        }
        Ok(())
    });
    let outcome = AssertUnwindSafe(group.join()).catch_unwind().await;
    let payload = outcome.expect_err("join resumes the panic");
    assert_eq!(message(payload.as_ref()), "child exploded");
    assert!(
        sibling.is_dropped(),
        "the sibling was gone before the panic resumed"
    );
    assert!(panicked.await.unwrap_err().is_panic());
    assert!(reports.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn errors_collected_while_panicking_go_to_the_hook() {
    let (group, reports) = recording_group(Duration::from_secs(1));
    let token = group.token();
    group.spawn(async move {
        token.cancelled().await;
        Err::<(), _>(err("failed during cleanup"))
    });
    group.spawn(async {
        if true {
            panic!("first panic");
        }
        Ok(())
    });
    let payload = AssertUnwindSafe(group.join())
        .catch_unwind()
        .await
        .unwrap_err();
    assert_eq!(message(payload.as_ref()), "first panic");
    assert_eq!(
        *reports.lock().unwrap(),
        ["task failed: failed during cleanup"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_panic_goes_to_the_hook() {
    let (group, reports) = recording_group(Duration::from_secs(1));
    let token = group.token();
    group.spawn(async {
        if true {
            panic!("first");
        }
        Ok(())
    });
    group.spawn(async move {
        token.cancelled().await;
        if true {
            panic!("second");
        }
        Ok(())
    });
    let payload = AssertUnwindSafe(group.join())
        .catch_unwind()
        .await
        .unwrap_err();
    assert_eq!(message(payload.as_ref()), "first");
    assert_eq!(*reports.lock().unwrap(), ["task panicked: second"]);
}

#[tokio::test(start_paused = true)]
async fn a_body_panic_cancels_and_joins_children_then_resumes() {
    let (group, _reports) = recording_group(Duration::ZERO);
    let child = DropFlag::new();
    let guard = child.guard();
    let outcome = AssertUnwindSafe(group.run(async {
        group.spawn(async move {
            let _guard = guard;
            pending::<Result<(), BoxError>>().await
        });
        sleep(Duration::from_millis(1)).await;
        if true {
            panic!("body exploded");
        }
        Ok::<_, BoxError>(())
    }))
    .catch_unwind()
    .await;
    assert_eq!(message(outcome.unwrap_err().as_ref()), "body exploded");
    assert!(child.is_dropped());
    assert!(group.is_empty());
}

#[test]
fn the_default_hook_logs_a_tracing_error_event() {
    let captured = Captured::default();
    captured.run(|| {
        paused_runtime().block_on(async {
            let group: TaskGroup = TaskGroup::new();
            let task = group.spawn(async { Err::<(), _>(err("unjoined failure")) });
            assert!(task.await.unwrap_err().is_failed());
            drop(group); // never joined: the error must not vanish
        });
    });
    let events = captured.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].starts_with("ERROR"), "{events:?}");
    assert!(events[0].contains("unjoined failure"), "{events:?}");
}

/// Panics as it is dropped.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("destructor exploded");
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_whose_destructor_panics_after_completing_fails_the_group() {
    let (group, reports) = recording_group(Duration::ZERO);
    let task = group.spawn(ReadyThenPanicsOnDrop("destructor exploded"));
    let payload = AssertUnwindSafe(group.join())
        .catch_unwind()
        .await
        .expect_err("join resumes a panic, not Ok");
    assert!(
        message(payload.as_ref()).contains("panicked as it was dropped"),
        "{}",
        message(payload.as_ref())
    );
    let awaited = task.await.expect_err("the task itself panicked");
    assert!(awaited.is_panic());
    assert!(reports.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_task_whose_destructor_panics_when_aborted_fails_the_group() {
    let (group, reports) = recording_group(Duration::ZERO);
    group.spawn(async {
        let _held = PanicsOnDrop;
        pending::<Result<(), BoxError>>().await
    });
    group.spawn(async {
        sleep(Duration::from_millis(1)).await;
        Err::<(), _>(err("first failure"))
    });
    // A panic wins over errors, as a task's panic during cleanup does: `join` resumes it and
    // the error goes to the hook.
    let payload = AssertUnwindSafe(group.join())
        .catch_unwind()
        .await
        .expect_err("join resumes the destructor's panic");
    assert!(
        message(payload.as_ref()).contains("panicked as it was dropped"),
        "{}",
        message(payload.as_ref())
    );
    assert_eq!(*reports.lock().unwrap(), ["task failed: first failure"]);
}

/// A value that panics as it is dropped (unless already unwinding).
struct PanicsOnDropWith(&'static str);

impl Drop for PanicsOnDropWith {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// Old code: a task's value nobody claimed (its `Task` dropped, before or after the task
/// finished) was dropped by Tokio inside its own `catch_unwind`: the destructor's panic went
/// nowhere. It is reported now; the group's result is untouched.
#[test]
fn an_unclaimed_value_whose_destructor_panics_is_reported() {
    let captured = Captured::default();
    captured.run(|| {
        paused_runtime().block_on(async {
            let group: TaskGroup = TaskGroup::new();
            // Dropped before the task finished: the value is dropped on completion.
            drop(group.spawn(async { Ok(PanicsOnDropWith("unclaimed before completion")) }));
            // Dropped after: the value is dropped with the handle.
            let after = group.spawn(async { Ok(PanicsOnDropWith("unclaimed after completion")) });
            group.join().await.unwrap();
            assert!(after.is_finished());
            drop(after);
        });
    });
    let events = captured.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events[0].contains("unclaimed before completion"),
        "{events:?}"
    );
    assert!(
        events[1].contains("unclaimed after completion"),
        "{events:?}"
    );
}
