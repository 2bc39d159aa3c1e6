//! Debug mode: slow polls and abandoned tasks are reported with the task's name and spawn
//! site; nothing is reported when it is off.
//!
//! Debug mode and the report hook are process-wide, so every test takes `SERIAL` first.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::flow::{Debouncer, map_concurrent_spawned};
use corral::pool::WorkerPool;
use corral::report::{self, Report, ReportKind};
use corral::scope::{ExitStack, Session, with_resource, with_session};
use corral::task::{BackgroundTasks, BoxError, TaskError, TaskGroup, WaitFor, wait};
use tokio::sync::oneshot;

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

/// `disable` says tasks spawned under debug mode stay watched until they end: that includes
/// being reported when their owner abandons them after debug mode was turned off.
#[test]
fn a_task_spawned_in_debug_mode_is_reported_when_abandoned_after_disable() {
    let seen = reports_of(Some(Duration::MAX), || {
        runtime().block_on(async {
            let group: TaskGroup = TaskGroup::new();
            group.spawn(std::future::pending::<Result<(), BoxError>>());
            corral::debug::disable();
            // Spawned with debug mode off: not watched, so not reported.
            group.spawn(std::future::pending::<Result<(), BoxError>>());
            drop(group);
        });
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, ReportKind::Abandoned, "{seen:?}");
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

// Every other task corral spawns runs code of the caller's, and is watched the same way (an
// audit found these ran unwatched). Each scenario below blocks its thread for 30 ms in one
// poll of such a task and returns the line the task was spawned from, as the report names it
// (`None` where the spawn happens inside corral, in a destructor).

/// The blocking step, then a signal that it ran.
async fn blocking_then_tell(done: oneshot::Sender<()>) -> Result<(), BoxError> {
    blocking_step().await?;
    let _ = done.send(());
    Ok(())
}

fn shield_scenario() -> Option<u32> {
    let line = line!() + 2;
    runtime().block_on(async {
        corral::time::shield(blocking_step())
            .await
            .expect("succeeds");
    });
    Some(line)
}

/// A WorkerPool handler that blocks its worker's thread.
async fn blocking_handler(n: u32) -> Result<u32, BoxError> {
    blocking_step().await?;
    Ok(n)
}

fn worker_pool_scenario() -> Option<u32> {
    let line = line!() + 2;
    runtime().block_on(async {
        let pool = WorkerPool::new(1, blocking_handler);
        assert_eq!(pool.submit(7).await.expect("succeeds"), 7);
        pool.shutdown().await;
    });
    Some(line)
}

fn map_concurrent_spawned_scenario() -> Option<u32> {
    let line = line!() + 2;
    runtime().block_on(async {
        map_concurrent_spawned([true, false], 2, blocking_or_quick)
            .await
            .expect("both succeed");
    });
    Some(line)
}

fn debouncer_scenario() -> Option<u32> {
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let line = line!() + 4;
    paused.block_on(async {
        let debouncer: Debouncer = Debouncer::new(Duration::from_millis(5));
        let (done, ran) = oneshot::channel();
        debouncer.call(blocking_then_tell(done));
        ran.await.expect("the call ran");
    });
    Some(line)
}

fn exit_stack_scenario() -> Option<u32> {
    runtime().block_on(async {
        let mut stack: ExitStack = ExitStack::new();
        let (done, ran) = oneshot::channel();
        stack.push(blocking_then_tell(done));
        drop(stack); // its cleanups run on a task of their own
        ran.await.expect("the cleanup ran");
    });
    None
}

/// `with_resource`'s `on_err`, blocking its thread.
async fn blocking_rollback(done: oneshot::Sender<()>) -> Result<(), BoxError> {
    blocking_then_tell(done).await
}

fn with_resource_scenario() -> Option<u32> {
    runtime().block_on(async {
        let (done, ran) = oneshot::channel();
        let run = with_resource(
            async { Ok::<_, BoxError>(done) },
            async |_: &mut oneshot::Sender<()>| {
                std::future::pending::<Result<(), BoxError>>().await
            },
            |_| async { Ok(()) },
            blocking_rollback,
        );
        let mut run = Box::pin(run);
        assert!(futures::poll!(&mut run).is_pending(), "in the body");
        drop(run); // `on_err` runs on a task of its own
        ran.await.expect("on_err ran");
    });
    None
}

/// A session whose rollback blocks its thread.
struct BlockingRollback(Option<oneshot::Sender<()>>);

impl Session for BlockingRollback {
    type Error = BoxError;

    async fn commit(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), BoxError> {
        blocking_then_tell(self.0.take().ok_or("rolled back twice")?).await
    }

    async fn close(self) -> Result<(), BoxError> {
        Ok(())
    }
}

fn with_session_scenario() -> Option<u32> {
    runtime().block_on(async {
        let (done, ran) = oneshot::channel();
        let run = with_session(
            async { Ok(BlockingRollback(Some(done))) },
            async |_: &mut BlockingRollback| std::future::pending::<Result<(), BoxError>>().await,
        );
        let mut run = Box::pin(run);
        assert!(futures::poll!(&mut run).is_pending(), "in the body");
        drop(run); // the rollback and close run on a task of their own
        ran.await.expect("the rollback ran");
    });
    None
}

/// An `on_done` callback that blocks its thread.
fn blocking_callback(done: oneshot::Sender<()>) -> impl FnOnce(Result<(), TaskError>) + Send {
    move |_| {
        std::thread::sleep(Duration::from_millis(30));
        let _ = done.send(());
    }
}

fn on_done_scenario() -> Option<u32> {
    let line = line!() + 7;
    runtime().block_on(async {
        let group: TaskGroup = TaskGroup::new();
        let (open, gate) = oneshot::channel::<()>();
        let (done, ran) = oneshot::channel();
        group
            .spawn(async move { gate.await.map_err(BoxError::from) })
            .on_done(blocking_callback(done));
        open.send(()).expect("the task waits");
        ran.await.expect("the callback ran");
        group.join().await.expect("succeeds");
    });
    Some(line)
}

/// Runs `scenario` in debug mode and checks its one report: a slow poll naming `name` and,
/// where the scenario gives one, its spawn site.
fn assert_one_slow_poll(scenario: fn() -> Option<u32>, name: &str) {
    let mut line = None;
    let seen = reports_of(Some(Duration::from_millis(10)), || line = scenario());
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (kind, detail) = &seen[0];
    assert_eq!(*kind, ReportKind::SlowPoll);
    assert!(detail.contains(name), "{detail}");
    if let Some(line) = line {
        assert!(
            detail.contains(&format!("tests/debug/main.rs:{line}")),
            "{detail}"
        );
    }
}

#[test]
fn a_shielded_future_is_watched() {
    assert_one_slow_poll(shield_scenario, "blocking_step");
}

#[test]
fn a_worker_pool_handler_is_watched() {
    assert_one_slow_poll(worker_pool_scenario, "blocking_handler");
}

#[test]
fn map_concurrent_spawned_tasks_are_watched() {
    assert_one_slow_poll(map_concurrent_spawned_scenario, "blocking_or_quick");
}

#[test]
fn a_debouncer_call_is_watched() {
    assert_one_slow_poll(debouncer_scenario, "Debouncer");
}

#[test]
fn the_cleanups_of_a_dropped_exit_stack_are_watched() {
    assert_one_slow_poll(exit_stack_scenario, "ExitStack");
}

#[test]
fn the_on_err_of_a_dropped_with_resource_is_watched() {
    assert_one_slow_poll(with_resource_scenario, "blocking_rollback");
}

#[test]
fn the_rollback_of_a_dropped_with_session_is_watched() {
    assert_one_slow_poll(with_session_scenario, "BlockingRollback");
}

#[test]
fn an_on_done_callback_is_watched() {
    assert_one_slow_poll(on_done_scenario, "blocking_callback");
}

#[test]
fn none_of_them_reports_when_debug_mode_is_off() {
    let scenarios: [fn() -> Option<u32>; 8] = [
        shield_scenario,
        worker_pool_scenario,
        map_concurrent_spawned_scenario,
        debouncer_scenario,
        exit_stack_scenario,
        with_resource_scenario,
        with_session_scenario,
        on_done_scenario,
    ];
    for scenario in scenarios {
        let seen = reports_of(None, || {
            scenario();
        });
        assert!(seen.is_empty(), "{seen:?}");
    }
}
