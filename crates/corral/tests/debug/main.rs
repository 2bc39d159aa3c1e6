//! Debug mode: slow polls and abandoned tasks are reported with the task's name and spawn
//! site; nothing is reported when it is off.
//!
//! Debug mode and the report hook are process-wide, so every test takes `SERIAL` first.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::report::{self, Report, ReportKind};
use corral::task::{BackgroundTasks, BoxError, TaskGroup, WaitFor, wait};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` with debug mode at `threshold` (or off) and returns what was reported.
fn reports_of(threshold: Option<Duration>, f: impl FnOnce()) -> Vec<(ReportKind, String)> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    report::set_hook(move |report: &Report<'_>| {
        sink.lock()
            .unwrap()
            .push((report.kind(), format!("{:?}", report.detail())));
    });
    match threshold {
        Some(threshold) => corral::debug::enable(threshold),
        None => corral::debug::disable(),
    }
    f();
    corral::debug::disable();
    report::take_hook();
    seen.lock().unwrap().clone()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Blocks its thread for 30 ms in one poll: the pitfall debug mode exists to catch.
async fn blocking_step() -> Result<(), BoxError> {
    std::thread::sleep(Duration::from_millis(30));
    Ok(())
}

async fn quick_step() -> Result<(), BoxError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(())
}

/// One of the two steps above, as one future type.
async fn blocking_or_quick(blocking: bool) -> Result<(), BoxError> {
    if blocking {
        blocking_step().await
    } else {
        quick_step().await
    }
}

#[test]
fn a_poll_that_blocks_is_reported_with_the_tasks_name_and_spawn_site() {
    let spawn_line = line!() + 4;
    let seen = reports_of(Some(Duration::from_millis(10)), || {
        runtime().block_on(async {
            let group = TaskGroup::new();
            group.spawn(blocking_step());
            group.spawn(quick_step());
            group.join().await.expect("both succeed");
        });
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (kind, detail) = &seen[0];
    assert_eq!(*kind, ReportKind::SlowPoll);
    assert!(detail.contains("blocking_step"), "{detail}");
    assert!(
        detail.contains(&format!("tests/debug/main.rs:{spawn_line}")),
        "{detail}"
    );
}

#[test]
fn nothing_is_reported_when_debug_mode_is_off() {
    let seen = reports_of(None, || {
        runtime().block_on(async {
            let group = TaskGroup::new();
            group.spawn(blocking_step());
            group.join().await.expect("succeeds");
        });
    });
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn a_group_dropped_with_running_tasks_reports_each_one() {
    let spawn_line = line!() + 5;
    let seen = reports_of(Some(Duration::MAX), || {
        runtime().block_on(async {
            let group: TaskGroup = TaskGroup::new();
            let finished = group.spawn(quick_step());
            group.spawn(std::future::pending::<Result<(), BoxError>>());
            finished.await.expect("the quick task finishes");
            drop(group); // one task still running: abandoned
        });
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (kind, detail) = &seen[0];
    assert_eq!(*kind, ReportKind::Abandoned);
    assert!(detail.contains("Pending"), "{detail}");
    assert!(
        detail.contains(&format!("tests/debug/main.rs:{spawn_line}")),
        "{detail}"
    );
    assert!(detail.contains("TaskGroup"), "{detail}");
}

#[test]
fn background_tasks_are_watched_too_and_a_joined_group_reports_nothing() {
    let seen = reports_of(Some(Duration::from_millis(10)), || {
        runtime().block_on(async {
            let background: BackgroundTasks = BackgroundTasks::new();
            let task = background.spawn(blocking_step());
            task.await.expect("succeeds");
            background.shutdown(Duration::ZERO).await;

            let group = TaskGroup::new();
            group.spawn(quick_step());
            group.join().await.expect("succeeds"); // joined: nothing abandoned
        });
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, ReportKind::SlowPoll);
    assert!(seen[0].1.contains("blocking_step"), "{:?}", seen[0]);
}

#[test]
fn the_futures_wait_spawns_are_watched_too() {
    let wait_line = line!() + 4;
    let seen = reports_of(Some(Duration::from_millis(10)), || {
        runtime().block_on(async {
            let steps = [true, false].map(blocking_or_quick);
            let (done, pending) = wait(steps, WaitFor::AllCompleted, None).await;
            assert_eq!((done.len(), pending.len()), (2, 0));
        });
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (kind, detail) = &seen[0];
    assert_eq!(*kind, ReportKind::SlowPoll);
    assert!(detail.contains("blocking_or_quick"), "{detail}");
    assert!(
        detail.contains(&format!("tests/debug/main.rs:{wait_line}")),
        "{detail}"
    );
}
