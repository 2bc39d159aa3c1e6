//! Nothing outlives its group, at every depth: the tasks that `wait` spawns, and the groups and
//! `wait`s inside them, are under the group (or background manager) whose task called `wait`.
//!
//! The multi-thread tests put a task mid-step on one worker (a blocking receive, bounded so a
//! failing run ends) and shut the owner down from the runtime's own thread once the task has
//! said it started: every signal the test orders by is sent to that thread, so nothing the
//! shutdown needs sits in the blocked worker's LIFO slot. Whether the owner waited is read the
//! moment its shutdown returns.

use std::future::{Future, pending};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use corral::task::{BackgroundTasks, BoxError, Pending, TaskGroup, WaitFor, wait};
use futures::FutureExt;
use tokio::sync::oneshot;

type Job = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

/// One level between the owner's task and the task that is mid-step.
#[derive(Clone, Copy, Debug)]
enum Level {
    /// The level below runs in a task that `wait` spawned.
    Wait,
    /// The level below runs as a task of a group made here.
    Group,
}

/// `leaf` under `levels`, outermost first.
fn nest(levels: &[Level], leaf: Job) -> Job {
    let Some((&level, inner)) = levels.split_first() else {
        return leaf;
    };
    let below = nest(inner, leaf);
    match level {
        Level::Wait => Box::pin(async move {
            let _ = wait([below], WaitFor::AllCompleted, None).await;
            Ok(())
        }),
        Level::Group => Box::pin(async move {
            let group: TaskGroup<BoxError> = TaskGroup::new();
            group.spawn(below);
            let _ = group.join().await;
            Ok(())
        }),
    }
}

/// Who owns the task at the top of the levels.
#[derive(Clone, Copy, Debug)]
enum Owner {
    Group,
    Background,
}

/// Runs a task mid-step on one of two workers, `levels` below a task of `owner`, shuts the
/// owner down with no grace, and says whether the task's step had ended when the shutdown
/// returned.
fn step_ended_before_shutdown_returned(owner: Owner, levels: &[Level]) -> bool {
    let runtime = crate::support::two_workers();
    runtime.block_on(async {
        let finished = Arc::new(AtomicBool::new(false));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = oneshot::channel::<()>();
        let step_finished = Arc::clone(&finished);
        let leaf: Job = Box::pin(async move {
            let _ = started.send(());
            // A blocking step, which an abort cannot stop: it ends when the test releases it
            // (once the shutdown returned), or at the bound if the shutdown waits for it.
            let _ = released.recv_timeout(Duration::from_millis(500));
            step_finished.store(true, Ordering::SeqCst);
            Ok(())
        });
        let top = nest(levels, leaf);
        match owner {
            Owner::Group => {
                let group: TaskGroup<BoxError> = TaskGroup::new();
                group.spawn(top);
                let _ = is_started.await;
                let _ = group.shutdown(Duration::ZERO).await;
            }
            Owner::Background => {
                let background: BackgroundTasks<BoxError> = BackgroundTasks::new();
                background.spawn(top);
                let _ = is_started.await;
                background.shutdown(Duration::ZERO).await;
            }
        }
        let ended = finished.load(Ordering::SeqCst);
        let _ = release.send(());
        ended
    })
}

#[track_caller]
fn assert_waited(owner: Owner, levels: &[Level]) {
    assert!(
        step_ended_before_shutdown_returned(owner, levels),
        "{owner:?}'s shutdown returned while a task {levels:?} below it was mid-step"
    );
}

/// One level: already held on the old code (the regression guard for it).
#[test]
fn a_group_waits_for_a_task_that_wait_spawned_mid_step() {
    assert_waited(Owner::Group, &[Level::Wait]);
}

/// Old code: a `wait` inside a future that `wait` spawned spawned outside every group.
#[test]
fn a_group_waits_for_a_task_of_a_wait_inside_a_wait_mid_step() {
    assert_waited(Owner::Group, &[Level::Wait, Level::Wait]);
}

/// Old code: a group made inside a future that `wait` spawned nested in nothing.
#[test]
fn a_group_waits_for_a_task_of_a_group_inside_a_wait_mid_step() {
    assert_waited(Owner::Group, &[Level::Wait, Level::Group]);
}

/// Deeper mixes: a `wait` inside a group inside a `wait`, and a group inside a `wait` inside a
/// `wait`.
#[test]
fn a_group_waits_for_tasks_at_every_depth_below_a_wait_mid_step() {
    assert_waited(Owner::Group, &[Level::Wait, Level::Group, Level::Wait]);
    assert_waited(Owner::Group, &[Level::Wait, Level::Wait, Level::Group]);
}

/// The reported gap: a `wait` inside a background task. Its spawned task holds the manager's
/// shutdown up until it is gone.
#[test]
fn background_shutdown_waits_for_a_task_that_wait_spawned_mid_step() {
    assert_waited(Owner::Background, &[Level::Wait]);
}

/// Old code: below a `wait` inside a background task, a group or a further `wait` nested in
/// nothing, and the shutdown returned while their tasks ran.
#[test]
fn background_shutdown_waits_for_tasks_below_a_wait_mid_step() {
    assert_waited(Owner::Background, &[Level::Wait, Level::Group]);
    assert_waited(Owner::Background, &[Level::Wait, Level::Wait]);
}

/// A group made inside a future that `wait` spawned, handed out of it and kept alive, holds the
/// enclosing group's `join` up until its own tasks are gone, as a group handed out of the
/// group's own task does. Old code: `join` returned at once, with the inner task still running.
#[tokio::test(start_paused = true)]
async fn join_waits_for_a_group_handed_out_of_a_future_that_wait_spawned() {
    let outer: TaskGroup<BoxError> = TaskGroup::new();
    let (tell, told) = oneshot::channel();
    outer.spawn(async move {
        let make = async move {
            let inner: TaskGroup<BoxError> = TaskGroup::new();
            inner.spawn(pending::<Result<(), BoxError>>());
            let _ = tell.send(inner);
            Ok::<(), BoxError>(())
        };
        let _ = wait([make], WaitFor::AllCompleted, None).await;
        Ok(())
    });
    let inner = told.await.expect("the inner group");
    let join = tokio::spawn(outer.join());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        !join.is_finished(),
        "join returned with the inner task running"
    );
    assert_eq!(inner.len(), 1);
    drop(inner);
    // The dropped group's task is aborted; once the runtime has dropped it, `join` returns.
    let joined = tokio::time::timeout(Duration::from_secs(1), join).await;
    assert!(matches!(joined, Ok(Ok(Ok(())))), "{joined:?}");
}

/// The same with the pending entries of a `wait` inside a future that `wait` spawned: handed
/// out, they hold the group's `join` up until dropped. Old code: `join` returned at once.
#[tokio::test(start_paused = true)]
async fn join_waits_for_pending_entries_of_a_wait_inside_a_future_that_wait_spawned() {
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let (tell, told) = oneshot::channel::<Vec<Pending<(), BoxError>>>();
    group.spawn(async move {
        let hand_out = async move {
            let (_, left) = wait(
                [pending::<Result<(), BoxError>>()],
                WaitFor::AllCompleted,
                Some(Duration::from_secs(1)),
            )
            .await;
            let _ = tell.send(left);
            Ok::<(), BoxError>(())
        };
        let _ = wait([hand_out], WaitFor::AllCompleted, None).await;
        Ok(())
    });
    let left = told.await.expect("the pending entries");
    assert_eq!(left.len(), 1);
    let join = tokio::spawn(group.join());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        !join.is_finished(),
        "join returned with a pending entry's task running"
    );
    drop(left);
    let joined = tokio::time::timeout(Duration::from_secs(1), join).await;
    assert!(matches!(joined, Ok(Ok(Ok(())))), "{joined:?}");
}

/// A panic inside a future that `wait` spawned leaves no scope behind on its thread: a group
/// made afterwards at the top of the same thread nests in nothing, so its task does not hold
/// up the shutdown of the group whose task called `wait`.
#[tokio::test(start_paused = true)]
async fn a_panic_in_a_future_that_wait_spawned_leaves_no_scope_behind() {
    let outer: TaskGroup<BoxError> = TaskGroup::new();
    let (tell, told) = oneshot::channel::<()>();
    outer.spawn(async move {
        let boom = async {
            if true {
                panic!("boom");
            }
            Ok::<(), BoxError>(())
        };
        let waited = AssertUnwindSafe(wait([boom], WaitFor::AllCompleted, None));
        assert!(
            waited.catch_unwind().await.is_err(),
            "the panic resumes in wait"
        );
        let _ = tell.send(());
        pending::<()>().await;
        Ok(())
    });
    told.await.expect("the panic ran");
    // Made on the thread where the panicking task ran (a current-thread runtime).
    let loose: TaskGroup<BoxError> = TaskGroup::new();
    loose.spawn(pending::<Result<(), BoxError>>());
    let shutdown = tokio::time::timeout(Duration::from_secs(3600), outer.shutdown(Duration::ZERO));
    assert!(
        matches!(shutdown.await, Ok(Ok(()))),
        "a group made after the panic nested in the group whose task had called wait"
    );
    assert_eq!(loose.len(), 1);
}
