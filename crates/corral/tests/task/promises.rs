//! The promises of issue 7, one test (or more) each; every one of them failed on the group
//! core before the rebuild (see the note on each).

use std::future::pending;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use corral::task::{BackgroundTasks, BoxError, Failure, Spawner, TaskGroup};
use futures::FutureExt;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::support::{DropFlag, PollCount, paused_runtime};

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

fn messages(errors: &corral::task::ErrorGroup<BoxError>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

/// Runs `scenario` on its own thread and fails (instead of hanging) if it does not finish
/// within `limit`: for promises whose breach is a deadlock.
fn must_finish(limit: Duration, scenario: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        scenario();
        let _ = done.send(());
    });
    assert!(
        finished.recv_timeout(limit).is_ok(),
        "the scenario deadlocked (or panicked)"
    );
}

// ---- 5. Spawning never runs user code under the group's lock ----------------------------

/// A value whose destructor spawns into the group, `depth` times over.
struct SpawnOnDrop {
    spawner: Spawner,
    depth: usize,
    spawned: Arc<AtomicUsize>,
}

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        if self.depth == 0 {
            return;
        }
        self.spawned.fetch_add(1, Ordering::SeqCst);
        let next = SpawnOnDrop {
            spawner: self.spawner.clone(),
            depth: self.depth - 1,
            spawned: self.spawned.clone(),
        };
        // On a runtime shutting down, Tokio drops this future on the spot, inside `spawn`.
        self.spawner.spawn(async move {
            let _next = next;
            Ok(())
        });
    }
}

/// Old code: `spawn` held the group's lock around `tokio::spawn`, which dropped the future at
/// once on the runtime shutting down; its destructor spawned again and deadlocked.
#[test]
fn a_destructor_spawning_into_its_group_during_runtime_shutdown_does_not_deadlock() {
    must_finish(Duration::from_secs(20), || {
        let runtime = paused_runtime();
        let spawned = Arc::new(AtomicUsize::new(0));
        let count = spawned.clone();
        let group = runtime.block_on(async move {
            let group: TaskGroup = TaskGroup::new();
            let on_drop = SpawnOnDrop {
                spawner: group.spawner(),
                depth: 3,
                spawned: count,
            };
            group.spawn(async move {
                let _on_drop = on_drop;
                pending::<Result<(), BoxError>>().await
            });
            group
        });
        drop(runtime); // drops the task, whose destructor spawns, and so on
        assert_eq!(spawned.load(Ordering::SeqCst), 3);
        drop(group);
    });
}

// ---- 6. No new work starts once the token is cancelled ----------------------------------

/// Old code: the group kept admitting tasks until someone awaited `join`.
#[tokio::test(start_paused = true)]
async fn spawn_after_the_token_is_cancelled_never_polls_the_future() {
    let group: TaskGroup = TaskGroup::new();
    let polls = PollCount::new();
    group.token().cancel();
    let late = group.spawn(polls.track(async { Ok(()) }));
    assert!(late.is_finished(), "refused at once");
    assert!(late.await.unwrap_err().is_cancelled());
    assert_eq!(polls.get(), 0);
    let errors = group.join().await.unwrap_err();
    assert!(errors.is_cancelled(), "work was asked for and did not run");
}

/// Old code: same, through a parent token.
#[tokio::test(start_paused = true)]
async fn spawn_after_the_parent_token_is_cancelled_never_polls_the_future() {
    let app = CancellationToken::new();
    let group: TaskGroup = TaskGroup::builder().parent_token(&app).build();
    let polls = PollCount::new();
    app.cancel();
    let late = group.spawn(polls.track(async { Ok(()) }));
    assert!(late.await.unwrap_err().is_cancelled());
    assert_eq!(polls.get(), 0);
}

/// `spawn` does not ask the token (that takes the token's mutex): the token closes the group
/// from inside `cancel()`. A group made under a grandparent token already cancelled refuses
/// from its first spawn.
#[tokio::test(start_paused = true)]
async fn a_group_made_under_an_already_cancelled_grandparent_refuses_at_once() {
    let app = CancellationToken::new();
    let request = app.child_token();
    app.cancel();
    let group: TaskGroup = TaskGroup::builder().parent_token(&request).build();
    let polls = PollCount::new();
    let late = group.spawn(polls.track(async { Ok(()) }));
    assert!(late.is_finished(), "refused at once");
    assert_eq!(polls.get(), 0);
    assert!(group.join().await.unwrap_err().is_cancelled());
}

/// Cancelled on another thread: once `cancel()` has returned there, a spawn here is refused
/// (the waker that closes the group ran inside `cancel()`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_that_returned_on_another_thread_refuses_the_next_spawn() {
    for _ in 0..100 {
        let app = CancellationToken::new();
        let group: TaskGroup = TaskGroup::builder().parent_token(&app).build();
        let polls = PollCount::new();
        let early = group.spawn(async { Ok(1) });
        let canceller = std::thread::spawn(move || app.cancel());
        canceller.join().expect("cancel does not panic");
        let late = group.spawn(polls.track(async { Ok(2) }));
        assert!(late.await.unwrap_err().is_cancelled());
        assert_eq!(polls.get(), 0);
        let _ = early.await;
        assert!(group.join().await.unwrap_err().is_cancelled());
    }
}

// ---- 4. Duration::MAX is "as long as it takes" --------------------------------------------

/// Old code: `Instant + Duration::MAX` overflowed and panicked in `shutdown`.
#[tokio::test(start_paused = true)]
async fn shutdown_with_an_unlimited_grace_waits_as_long_as_it_takes() {
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    let slow = group.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_secs(3600)).await; // a long cleanup
        Ok("cleaned up")
    });
    let start = Instant::now();
    group.shutdown(Duration::MAX).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
    assert_eq!(slow.await.unwrap(), "cleaned up");
}

/// Old code: the same overflow, in `cancel_grace` once a task failed.
#[tokio::test(start_paused = true)]
async fn an_unlimited_cancel_grace_lets_siblings_finish() {
    let group: TaskGroup = TaskGroup::builder().cancel_grace(Duration::MAX).build();
    let token = group.token();
    let polite = group.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_secs(60)).await;
        Ok("done")
    });
    group.spawn(async { Err::<&str, _>(err("boom")) });
    let errors = group.join().await.unwrap_err();
    assert_eq!(messages(&errors), ["boom"]);
    assert_eq!(polite.await.unwrap(), "done");
}

// ---- 8. A panicking hook is contained ----------------------------------------------------

/// Old code: the hook's panic, raised while reporting the errors collected meanwhile,
/// replaced the child's panic that `join` resumes.
#[tokio::test(start_paused = true)]
async fn a_panicking_hook_does_not_replace_the_childs_panic() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(1))
        .on_failure(|_| panic!("hook exploded"))
        .build();
    let token = group.token();
    group.spawn(async move {
        token.cancelled().await;
        Err::<(), _>(err("failed during cleanup"))
    });
    group.spawn(async {
        if true {
            panic!("child exploded");
        }
        Ok(())
    });
    let payload = AssertUnwindSafe(group.join())
        .catch_unwind()
        .await
        .unwrap_err();
    assert_eq!(message(payload.as_ref()), "child exploded");
}

/// Old code: the hook panicked inside the group's `Drop` while a panic was unwinding, and the
/// process aborted (this whole test binary died).
#[tokio::test(start_paused = true)]
async fn a_panicking_hook_while_the_group_drops_during_unwinding_is_contained() {
    let group: TaskGroup = TaskGroup::builder()
        .on_failure(|_| panic!("hook exploded"))
        .build();
    let failed = group.spawn(async { Err::<(), _>(err("nobody joined me")) });
    assert!(failed.await.unwrap_err().is_failed());
    let unwound = std::panic::catch_unwind(AssertUnwindSafe(move || {
        let _group = group; // dropped while the panic below unwinds
        panic!("unwinding");
    }));
    assert_eq!(message(unwound.unwrap_err().as_ref()), "unwinding");
}

/// Old code: a background task's failing hook panicked the task itself.
#[tokio::test(start_paused = true)]
async fn a_panicking_background_hook_is_contained() {
    let tasks: BackgroundTasks = BackgroundTasks::with_hook(|_| panic!("hook exploded"));
    let failed = tasks.spawn(async { Err::<(), _>(err("refresh failed")) });
    let error = failed.await.unwrap_err();
    assert!(
        error.is_failed(),
        "the task failed; the hook's panic is not its own: {error}"
    );
}

// ---- 3. shutdown's grace holds whatever a child does ---------------------------------------

/// Old code: the first cleanup failure aborted every sibling at once (the builder's grace
/// was zero), and the polite sibling's cleanup was lost.
#[tokio::test(start_paused = true)]
async fn shutdown_grace_holds_when_a_childs_cleanup_fails() {
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    group.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_millis(10)).await;
        Err::<&str, _>(err("cleanup failed"))
    });
    let token = group.token();
    let polite = group.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_millis(50)).await;
        Ok("flushed")
    });
    let start = Instant::now();
    let errors = group
        .shutdown(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(messages(&errors), ["cleanup failed"]);
    assert_eq!(polite.await.unwrap(), "flushed");
    assert_eq!(start.elapsed(), Duration::from_millis(50));
}

// ---- 2. Errors that happen together are all kept -------------------------------------------

/// Old code: the first error aborted the second child before it was polled in the same tick,
/// and only one error was kept.
#[tokio::test(start_paused = true)]
async fn errors_of_the_same_tick_are_all_kept() {
    let group: TaskGroup = TaskGroup::new();
    for name in ["first", "second", "third"] {
        group.spawn(async move {
            sleep(Duration::from_millis(5)).await;
            Err::<(), _>(err(name))
        });
    }
    let slow = DropFlag::new();
    let guard = slow.guard();
    group.spawn(async move {
        let _guard = guard;
        sleep(Duration::from_secs(60)).await;
        Ok(())
    });
    let start = Instant::now();
    let errors = group.join().await.unwrap_err();
    assert_eq!(messages(&errors), ["first", "second", "third"]);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(5),
        "failed at the first error"
    );
    assert!(slow.is_dropped(), "the slow sibling was aborted");
}

/// An error ready in the tick the token is cancelled from outside wins over the cancellation.
#[tokio::test(start_paused = true)]
async fn an_error_ready_when_the_token_is_cancelled_wins() {
    let group: TaskGroup = TaskGroup::new();
    group.spawn(async {
        sleep(Duration::from_millis(5)).await;
        Err::<(), _>(err("ready"))
    });
    sleep(Duration::from_millis(5)).await; // the child's timer fired too
    group.token().cancel();
    let errors = group.join().await.unwrap_err();
    assert_eq!(messages(&errors), ["ready"]);
    assert!(!errors.is_cancelled());
}

/// Two children failing at the same moment on two workers: both errors are kept. The
/// blocking barrier makes both be mid-poll when the first error is reported.
#[test]
fn errors_at_the_same_moment_on_two_workers_are_all_kept() {
    let runtime = crate::support::two_workers();
    runtime.block_on(async {
        for _ in 0..20 {
            let group: TaskGroup = TaskGroup::new();
            let barrier = Arc::new(std::sync::Barrier::new(2));
            for name in ["a", "b"] {
                let barrier = barrier.clone();
                group.spawn(async move {
                    barrier.wait();
                    Err::<(), _>(err(name))
                });
            }
            let errors = group.join().await.unwrap_err();
            let mut got = messages(&errors);
            got.sort();
            assert_eq!(got, ["a", "b"]);
        }
    });
}

// ---- 9. A runtime shutting down is not success ---------------------------------------------

/// Old code: every task was dropped by the runtime's shutdown, and `join` said `Ok(())`.
#[test]
fn join_after_the_tasks_runtime_shut_down_says_they_were_cancelled() {
    let first = paused_runtime();
    let ran = DropFlag::new();
    let guard = ran.guard();
    let group = first.block_on(async move {
        let group: TaskGroup = TaskGroup::new();
        group.spawn(async move {
            let _guard = guard;
            pending::<Result<(), BoxError>>().await
        });
        group
    });
    drop(first);
    assert!(ran.is_dropped(), "the shutdown dropped the task");
    let errors = paused_runtime().block_on(group.join()).unwrap_err();
    assert!(errors.is_cancelled() && errors.is_empty());
    assert!(errors.is_runtime_shut_down(), "{errors}");
    assert_eq!(
        errors.to_string(),
        "task group cancelled: its tasks' runtime shut down"
    );
}

/// A task aborted on its own through its handle is still not a failure.
#[tokio::test(start_paused = true)]
async fn aborting_one_task_is_still_not_a_failure() {
    let group: TaskGroup = TaskGroup::new();
    let task = group.spawn(pending::<Result<(), BoxError>>());
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    group.join().await.unwrap();
}

// ---- 7. Nothing outlives its group, at any depth -------------------------------------------

/// Sends on its channel when dropped.
struct SignalOnDrop(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        if let Some(signal) = self.0.take() {
            let _ = signal.send(());
        }
    }
}

/// Old code: the outer failure aborted the inner group's owner, whose `Drop` aborted the
/// grandchild without waiting; the grandchild was mid-step on the other worker, and went on
/// running after the outer `join` returned.
///
/// Here the grandchild, once it sees the cancellation, stays in its step until the test lets
/// it go, so a correct `join` cannot return before that. The test lets it go only after the
/// inner group's owner is gone (from then on, a `join` that does not wait for the grandchild
/// has nothing left to wait for) and after giving such a `join` time to show it returned.
/// Proving that something does *not* happen needs that window; it starts where the wrong
/// behaviour is immediate, and the right behaviour cannot pass it by chance.
#[test]
fn a_grandchild_mid_step_stops_before_the_outer_join_returns() {
    let runtime = crate::support::two_workers();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (cancel_seen_tx, cancel_seen_rx) = tokio::sync::oneshot::channel::<()>();
    let (owner_gone_tx, owner_gone_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    runtime.block_on(async move {
        let outer: TaskGroup = TaskGroup::new();
        outer.spawn(async move {
            // Dropped after `inner` (declared before it), once the owner's future is.
            let _owner_gone = SignalOnDrop(Some(owner_gone_tx));
            let inner: TaskGroup = TaskGroup::new();
            let inner_token = inner.token();
            inner.spawn(async move {
                let _ = started_tx.send(());
                // One long synchronous step: abort cannot preempt it.
                while !inner_token.is_cancelled() {
                    std::hint::spin_loop();
                }
                let _ = cancel_seen_tx.send(());
                // A guard against a hang only: the test releases this step.
                let released = release_rx.recv_timeout(Duration::from_secs(60));
                assert!(released.is_ok(), "released by the test");
                Ok(())
            });
            inner.join().await?;
            Ok(())
        });
        started_rx.await.unwrap();
        outer.spawn(async { Err::<(), _>(err("outer child failed")) });
        let mut join = tokio::spawn(async move { outer.join().await });
        cancel_seen_rx.await.unwrap();
        owner_gone_rx.await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(200), &mut join).await;
        assert!(
            early.is_err(),
            "the outer join returned while the grandchild was still in its step"
        );
        release_tx.send(()).unwrap();
        let errors = join.await.unwrap().unwrap_err();
        assert_eq!(messages(&errors), ["outer child failed"]);
    });
    drop(runtime);
}

/// Nested groups three deep: the outer join waits for the innermost task.
#[test]
fn nothing_outlives_its_group_three_deep() {
    let runtime = crate::support::two_workers();
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = stopped.clone();
    runtime.block_on(async move {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let outer: TaskGroup = TaskGroup::new();
        outer.spawn(async move {
            let middle: TaskGroup = TaskGroup::new();
            middle.spawn(async move {
                let inner: TaskGroup = TaskGroup::new();
                let token = inner.token();
                inner.spawn(async move {
                    let _ = started_tx.send(());
                    while !token.is_cancelled() {
                        std::hint::spin_loop();
                    }
                    flag.store(true, Ordering::SeqCst);
                    Ok(())
                });
                inner.join().await?;
                Ok(())
            });
            middle.join().await?;
            Ok(())
        });
        started_rx.await.unwrap();
        outer.spawn(async { Err::<(), _>(err("fail")) });
        assert!(outer.join().await.is_err());
        assert!(
            stopped.load(Ordering::SeqCst),
            "the innermost task stopped before the outer join returned"
        );
    });
}

/// Reports of a group are still delivered once, in order, to its hook.
#[tokio::test(start_paused = true)]
async fn a_dropped_groups_errors_reach_its_hook() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    let group: TaskGroup = TaskGroup::builder()
        .on_failure(move |failure: Failure<BoxError>| {
            sink.lock().unwrap().push(failure.to_string())
        })
        .build();
    let task = group.spawn(async { Err::<(), _>(err("lost?")) });
    assert!(task.await.unwrap_err().is_failed());
    drop(group);
    assert_eq!(*reports.lock().unwrap(), ["task failed: lost?"]);
}

#[tokio::test]
async fn debug_formats_a_group_and_background_tasks_with_no_lock_held() {
    use crate::lock_probe::debug_formats_under_lock;

    let runtime = tokio::runtime::Handle::current();
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let spawner = group.spawner();
    let handle = runtime.clone();
    let probe = move || {
        let _entered = handle.enter();
        drop(spawner.spawn(async { Ok::<_, BoxError>(()) })); // takes the group's lock
    };
    assert!(!debug_formats_under_lock(&group, probe));
    group.join().await.unwrap();

    let tasks = Arc::new(BackgroundTasks::<BoxError>::new());
    let inside = tasks.clone();
    let probe = move || {
        let _entered = runtime.enter();
        drop(inside.spawn(async { Ok::<_, BoxError>(()) }));
    };
    assert!(!debug_formats_under_lock(&*tasks, probe));
}
