//! Done callbacks (`Task::on_done`): attached before and after completion, exactly once,
//! every outcome, a panicking callback contained.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::task::{BackgroundTasks, BoxError, TaskError, TaskGroup};
use tokio::sync::oneshot;
use tokio::time::sleep;

use crate::support::{Captured, paused_runtime};

fn err(msg: &str) -> BoxError {
    msg.to_string().into()
}

type Told<T> = oneshot::Receiver<Result<T, TaskError>>;

/// A callback that sends the outcome it got, and counts its calls.
fn recorder<T: Send + 'static>(
    calls: &Arc<AtomicUsize>,
) -> (impl FnOnce(Result<T, TaskError>) + Send + 'static, Told<T>) {
    let (tell, told) = oneshot::channel();
    let calls = calls.clone();
    let callback = move |outcome| {
        calls.fetch_add(1, Ordering::SeqCst);
        let _ = tell.send(outcome);
    };
    (callback, told)
}

#[tokio::test(start_paused = true)]
async fn attached_before_completion_it_runs_when_the_task_finishes() {
    let group: TaskGroup = TaskGroup::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let (callback, mut told) = recorder(&calls);
    group
        .spawn(async {
            sleep(Duration::from_millis(10)).await;
            Ok(7)
        })
        .on_done(callback);
    assert!(told.try_recv().is_err(), "not before the task finished");
    assert_eq!(told.await.unwrap().unwrap(), 7);
    group.join().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn attached_after_completion_it_runs_at_once_with_the_value() {
    let group: TaskGroup = TaskGroup::new();
    let task = group.spawn(async { Ok("early") });
    group.join().await.unwrap(); // the task has finished
    assert!(task.is_finished());
    let calls = Arc::new(AtomicUsize::new(0));
    let (callback, mut told) = recorder(&calls);
    task.on_done(callback);
    assert_eq!(told.try_recv().unwrap().unwrap(), "early", "ran at once");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn failure_panic_and_cancellation_outcomes_are_passed() {
    let tasks: BackgroundTasks = BackgroundTasks::with_hook(|_| {});
    let calls = Arc::new(AtomicUsize::new(0));
    let (failed_cb, failed) = recorder::<()>(&calls);
    tasks
        .spawn(async { Err::<(), _>(err("no")) })
        .on_done(failed_cb);
    let (panicked_cb, panicked) = recorder::<()>(&calls);
    tasks
        .spawn(async {
            if true {
                panic!("boom");
            }
            Ok(())
        })
        .on_done(panicked_cb);
    let (aborted_cb, aborted) = recorder::<()>(&calls);
    let stuck = tasks.spawn(pending::<Result<(), BoxError>>());
    stuck.abort();
    stuck.on_done(aborted_cb);
    let (refused_cb, refused) = recorder::<()>(&calls);
    tasks.shutdown(Duration::ZERO).await;
    tasks.spawn(async { Ok(()) }).on_done(refused_cb);
    assert!(failed.await.unwrap().unwrap_err().is_failed());
    assert!(panicked.await.unwrap().unwrap_err().is_panic());
    assert!(aborted.await.unwrap().unwrap_err().is_cancelled());
    assert!(refused.await.unwrap().unwrap_err().is_cancelled());
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn a_panicking_callback_is_contained_and_reported() {
    let captured = Captured::default();
    captured.run(|| {
        paused_runtime().block_on(async {
            let group: TaskGroup = TaskGroup::new();
            let task = group.spawn(async { Ok(1) });
            group.join().await.unwrap();
            // Runs at once, on this thread: the panic must not reach the caller.
            task.on_done(|_| panic!("callback exploded"));
            // And in the watcher task: the runtime and the group go on.
            let group: TaskGroup = TaskGroup::new();
            group
                .spawn(async {
                    sleep(Duration::from_millis(1)).await;
                    Ok(())
                })
                .on_done(|_| panic!("watched callback exploded"));
            let after = group.spawn(async {
                sleep(Duration::from_millis(2)).await;
                Ok(2)
            });
            assert_eq!(after.await.unwrap(), 2);
            group.join().await.unwrap();
        });
    });
    let events = captured.events();
    assert!(
        events.iter().any(|e| e.contains("callback exploded")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.contains("watched callback exploded")),
        "{events:?}"
    );
}

#[test]
fn a_runtime_shutting_down_runs_the_callback_once_with_a_cancellation() {
    let runtime = paused_runtime();
    let calls = Arc::new(AtomicUsize::new(0));
    let (callback, mut told) = recorder::<()>(&calls);
    let group = runtime.block_on(async move {
        let group: TaskGroup = TaskGroup::new();
        group
            .spawn(pending::<Result<(), BoxError>>())
            .on_done(callback);
        group
    });
    drop(runtime);
    assert!(told.try_recv().unwrap().unwrap_err().is_cancelled());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    drop(group);
}

/// Spends the current task's coop budget (a buffered channel reads as empty once it is).
fn spend_the_coop_budget() {
    use futures::FutureExt;
    let (send, mut receive) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..1000 {
        send.send(i).unwrap();
    }
    while receive.recv().now_or_never().is_some() {}
    assert!(!tokio::task::coop::has_budget_remaining());
}

/// Old code: with the coop budget spent, the finished handle read as pending, and the callback
/// waited for a watcher task instead of running at once.
#[tokio::test(start_paused = true)]
async fn attached_after_completion_it_runs_at_once_even_with_the_budget_spent() {
    let group: TaskGroup = TaskGroup::new();
    let task = group.spawn(async { Ok(5) });
    group.join().await.unwrap();
    assert!(task.is_finished());
    let calls = Arc::new(AtomicUsize::new(0));
    let (callback, mut told) = recorder(&calls);
    spend_the_coop_budget();
    task.on_done(callback);
    assert_eq!(told.try_recv().unwrap().unwrap(), 5, "ran at once");
}

/// Old code: a task that finished while its watcher had not run yet, then the watcher's runtime
/// shut down: the callback was told "cancelled", though the task had its value. The watcher
/// here is spawned on a runtime that never runs it, the task on another.
#[test]
fn a_watcher_dropped_after_the_task_finished_still_gives_the_value() {
    let tasks = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let watchers = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let group: TaskGroup = TaskGroup::new();
    let (release, released) = oneshot::channel::<()>();
    let task = {
        let _tasks = tasks.enter();
        group.spawn(async move {
            let _ = released.await;
            Ok(42)
        })
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let (callback, mut told) = recorder(&calls);
    {
        let _watchers = watchers.enter();
        task.on_done(callback); // still running: a watcher is spawned, never run
    }
    release.send(()).unwrap();
    tasks.block_on(group.join()).unwrap(); // the task finished
    assert!(told.try_recv().is_err(), "the watcher has not run");
    drop(watchers);
    assert_eq!(told.try_recv().unwrap().unwrap(), 42);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
