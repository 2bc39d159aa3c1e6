//! BackgroundTasks: every failure reported, exact len, shutdown with grace, drop aborts.

use std::future::pending;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::task::{BackgroundTasks, BoxError, Failure};
use tokio::time::{Instant, sleep};

use crate::support::{Captured, DropFlag, PollCount, paused_runtime};

type Reports = Arc<Mutex<Vec<String>>>;

fn recording() -> (BackgroundTasks, Reports) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let tasks = BackgroundTasks::with_hook(move |failure: Failure<BoxError>| {
        sink.lock().unwrap().push(failure.to_string());
    });
    (tasks, reports)
}

#[tokio::test(start_paused = true)]
async fn every_error_and_panic_reaches_the_hook_and_nothing_else_fails() {
    let (tasks, reports) = recording();
    let ok = tasks.spawn(async {
        sleep(Duration::from_millis(30)).await;
        Ok("fine")
    });
    tasks.spawn(async {
        sleep(Duration::from_millis(10)).await;
        Err::<(), BoxError>("refresh failed".into())
    });
    tasks.spawn(async {
        sleep(Duration::from_millis(20)).await;
        panic!("worker crashed");
        #[allow(unreachable_code)]
        Ok(())
    });
    assert_eq!(
        ok.await.unwrap(),
        "fine",
        "a failing sibling cancels nothing"
    );
    assert_eq!(
        *reports.lock().unwrap(),
        [
            "task failed: refresh failed",
            "task panicked: worker crashed"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_whose_destructor_panics_after_completing_is_reported() {
    use crate::support::ReadyThenPanicsOnDrop;

    let (tasks, reports) = recording();
    let task = tasks.spawn(ReadyThenPanicsOnDrop("destructor exploded"));
    assert!(task.await.expect_err("the task panicked").is_panic());
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains("panicked as it was dropped"),
        "{reports:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn len_is_exact() {
    let (tasks, _) = recording();
    let handles: Vec<_> = (1..=3_u64)
        .map(|i| {
            tasks.spawn(async move {
                sleep(Duration::from_millis(10 * i)).await;
                Ok(i)
            })
        })
        .collect();
    assert_eq!(tasks.len(), 3);
    for (i, handle) in handles.into_iter().enumerate() {
        handle.await.unwrap();
        assert_eq!(tasks.len(), 2 - i, "a task stops counting as it finishes");
    }
    assert!(tasks.is_empty());
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_waits_for_the_grace_then_aborts() {
    let (tasks, reports) = recording();
    let token = tasks.token();
    let polite = tasks.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_millis(10)).await;
        Ok("flushed")
    });
    let stuck = DropFlag::new();
    let guard = stuck.guard();
    let stubborn = tasks.spawn(async move {
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    let start = Instant::now();
    tasks.shutdown(Duration::from_millis(40)).await;
    assert_eq!(start.elapsed(), Duration::from_millis(40));
    assert!(tasks.is_empty());
    assert!(stuck.is_dropped());
    assert_eq!(polite.await.unwrap(), "flushed");
    assert!(stubborn.await.unwrap_err().is_cancelled());
    assert!(
        reports.lock().unwrap().is_empty(),
        "cancellation is not a failure"
    );

    let polls = PollCount::new();
    let refused = tasks.spawn(polls.track(async { Ok(()) }));
    assert!(refused.await.unwrap_err().is_cancelled());
    assert_eq!(polls.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_manager_aborts_its_tasks() {
    let (tasks, _) = recording();
    let flag = DropFlag::new();
    let guard = flag.guard();
    let task = tasks.spawn(async move {
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    drop(tasks);
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(flag.is_dropped());
}

#[test]
fn the_default_hook_logs_failures_as_tracing_errors() {
    let captured = Captured::default();
    captured.run(|| {
        paused_runtime().block_on(async {
            let tasks: BackgroundTasks = BackgroundTasks::new();
            let task = tasks.spawn(async { Err::<(), BoxError>("lost?".into()) });
            assert!(task.await.unwrap_err().is_failed());
        });
    });
    let events = captured.events();
    assert_eq!(events.len(), 1);
    assert!(
        events[0].contains("lost?") && events[0].starts_with("ERROR"),
        "{events:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_shutdown_stops_the_wait_not_the_shutdown() {
    let background: BackgroundTasks = BackgroundTasks::new();
    // Ignores the token: only an abort stops it.
    let stubborn = background.spawn(pending::<Result<(), BoxError>>());
    {
        let mut shutdown = tokio_test::task::spawn(background.shutdown(Duration::from_secs(60)));
        tokio_test::assert_pending!(shutdown.poll());
    }
    assert!(
        background.token().is_cancelled(),
        "the token stays cancelled"
    );
    let late = background.spawn(async { Ok(()) });
    assert!(
        late.await.unwrap_err().is_cancelled(),
        "new tasks stay refused"
    );
    sleep(Duration::from_secs(3600)).await;
    assert!(
        !stubborn.is_finished(),
        "nobody waits to abort it at the grace's end"
    );
    drop(background);
    assert!(
        stubborn.await.unwrap_err().is_cancelled(),
        "aborted with the manager"
    );
}

/// A group created inside a background task nests in the manager, as in a group's task: a
/// group handed out of it (kept alive elsewhere) holds the shutdown up until its own tasks are
/// gone, as the docs say; dropping the group lets the shutdown finish.
#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_a_group_handed_out_of_a_background_task_until_it_is_dropped() {
    let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
    let (tell, told) = tokio::sync::oneshot::channel();
    background.spawn(async move {
        let server: corral::task::TaskGroup<BoxError> = corral::task::TaskGroup::new();
        server.spawn(pending::<Result<(), BoxError>>());
        let _ = tell.send(server);
        Ok(())
    });
    let server = told.await.unwrap();
    let mut shutdown = tokio_test::task::spawn(background.shutdown(Duration::ZERO));
    tokio_test::assert_pending!(shutdown.poll());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    tokio_test::assert_pending!(shutdown.poll());
    assert_eq!(server.len(), 1);
    drop(server);
    // The dropped group's task is aborted; once the runtime has dropped it, shutdown returns.
    tokio::time::sleep(Duration::from_millis(1)).await;
    tokio_test::assert_ready!(shutdown.poll());
}

/// The other side: a group made inside a background task and aborted with it has its tasks
/// waited for. On two workers, with one of its tasks mid-step on the other worker when the
/// shutdown aborts, `shutdown` returns only after that step ended (a review found the manager
/// returned while it still ran, when groups inside background tasks nested in nothing).
#[test]
fn shutdown_waits_for_a_task_of_a_group_inside_a_background_task_mid_step() {
    let runtime = crate::support::two_workers();
    runtime.block_on(async {
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = tokio::sync::oneshot::channel::<()>();
        let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
        let job_finished = finished.clone();
        background.spawn(async move {
            let inner: corral::task::TaskGroup<BoxError> = corral::task::TaskGroup::new();
            inner.spawn(async move {
                let _ = started.send(());
                // A blocking step: the abort cannot stop it until it returns.
                let _ = released.recv_timeout(Duration::from_millis(500));
                job_finished.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            });
            let _ = inner.join().await;
            Ok(())
        });
        let _ = is_started.await;
        background.shutdown(Duration::ZERO).await;
        let done_at_shutdown = finished.load(std::sync::atomic::Ordering::SeqCst);
        let _ = release.send(());
        assert!(
            done_at_shutdown,
            "a task started under the manager still ran after shutdown returned"
        );
    });
}
