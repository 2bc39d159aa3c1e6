//! TaskGroup basics: results, first error cancels, body, spawner, cooperative cancellation.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::task::{BoxError, TaskGroup};
use tokio::time::{Instant, sleep};

use crate::support::DropFlag;

fn err(msg: &str) -> BoxError {
    msg.to_string().into()
}

#[tokio::test(start_paused = true)]
async fn each_task_returns_its_own_type_and_join_waits_for_all() {
    let group: TaskGroup = TaskGroup::new();
    let start = Instant::now();
    let n = group.spawn(async {
        sleep(Duration::from_millis(30)).await;
        Ok(7_u32)
    });
    let s = group.spawn(async {
        sleep(Duration::from_millis(10)).await;
        Ok("seven")
    });
    group.join().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(30));
    assert_eq!(n.await.unwrap(), 7);
    assert_eq!(s.await.unwrap(), "seven");
}

#[tokio::test(start_paused = true)]
async fn first_error_cancels_siblings_and_is_returned() {
    let group: TaskGroup = TaskGroup::new();
    let sibling = DropFlag::new();
    let guard = sibling.guard();
    let finished = Arc::new(AtomicUsize::new(0));
    let done = finished.clone();
    let slow = group.spawn(async move {
        let _guard = guard;
        sleep(Duration::from_secs(60)).await;
        done.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    group.spawn(async {
        sleep(Duration::from_millis(5)).await;
        Err::<(), _>(err("boom"))
    });
    let start = Instant::now();
    let errors = group.join().await.unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(5),
        "join returns at the failure"
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors()[0].to_string(), "boom");
    assert!(!errors.is_cancelled());
    assert!(sibling.is_dropped(), "the sibling was cancelled");
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    assert!(slow.await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn every_error_that_happened_is_kept_in_order() {
    // With a grace period, siblings see the token and may fail on their way out: all kept.
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(1))
        .build();
    let token = group.token();
    group.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_millis(10)).await;
        Err::<(), _>(err("cleanup failed"))
    });
    group.spawn(async {
        sleep(Duration::from_millis(5)).await;
        Err::<(), _>(err("first"))
    });
    let errors = group.join().await.unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["first", "cleanup failed"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_child_cancels_the_bodys_wait() {
    let group: TaskGroup = TaskGroup::new();
    let body_dropped = DropFlag::new();
    let guard = body_dropped.guard();
    let reached_end = AtomicUsize::new(0);
    let result = group
        .run(async {
            let _guard = guard;
            group.spawn(async {
                sleep(Duration::from_millis(1)).await;
                Err::<(), _>(err("child failed"))
            });
            sleep(Duration::from_secs(3600)).await;
            reached_end.fetch_add(1, Ordering::SeqCst);
            Ok("body finished")
        })
        .await;
    let errors = result.unwrap_err();
    assert_eq!(errors.errors()[0].to_string(), "child failed");
    assert!(body_dropped.is_dropped());
    assert_eq!(reached_end.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failing_body_cancels_the_children_and_joins_its_error() {
    let group: TaskGroup = TaskGroup::new();
    let child = DropFlag::new();
    let guard = child.guard();
    let result: Result<(), _> = group
        .run(async {
            group.spawn(async move {
                let _guard = guard;
                pending::<Result<(), BoxError>>().await
            });
            sleep(Duration::from_millis(1)).await;
            Err(err("body failed"))
        })
        .await;
    let errors = result.unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors()[0].to_string(), "body failed");
    assert!(child.is_dropped());
}

#[tokio::test(start_paused = true)]
async fn run_returns_the_bodys_value_after_the_children() {
    let group: TaskGroup = TaskGroup::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let value = group
        .run(async {
            for _ in 0..3 {
                let finished = finished.clone();
                group.spawn(async move {
                    sleep(Duration::from_millis(10)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
            }
            Ok(42)
        })
        .await
        .unwrap();
    assert_eq!(value, 42);
    assert_eq!(
        finished.load(Ordering::SeqCst),
        3,
        "run waited for the children"
    );
}

#[tokio::test(start_paused = true)]
async fn children_spawn_siblings_and_join_waits_for_them() {
    let group: TaskGroup = TaskGroup::new();
    let spawner = group.spawner();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    group.spawn(async move {
        for i in 0..3_u64 {
            let c = c.clone();
            spawner.spawn(async move {
                sleep(Duration::from_millis(10 * (i + 1))).await;
                c.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        Ok(())
    });
    group.join().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_spawner_does_not_keep_its_group_alive() {
    let group: TaskGroup = TaskGroup::new();
    let child = DropFlag::new();
    let guard = child.guard();
    let spawner = group.spawner();
    let task = group.spawn(async move {
        let _keep = spawner; // the child holds a handle to its own group
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    drop(group);
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(
        child.is_dropped(),
        "dropping the group aborted the child holding a spawner"
    );
}

#[tokio::test(start_paused = true)]
async fn aborting_one_task_is_not_a_failure() {
    let group: TaskGroup = TaskGroup::new();
    let other = group.spawn(async {
        sleep(Duration::from_millis(10)).await;
        Ok(1)
    });
    let aborted = group.spawn(pending::<Result<(), BoxError>>());
    aborted.abort();
    group.join().await.unwrap();
    assert_eq!(other.await.unwrap(), 1);
    assert!(aborted.await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_children_the_grace_period_then_aborts() {
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    let polite = group.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_millis(30)).await; // async cleanup, within the grace
        Ok("cleaned up")
    });
    let stubborn_dropped = DropFlag::new();
    let guard = stubborn_dropped.guard();
    let stubborn = group.spawn(async move {
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    let start = Instant::now();
    group.shutdown(Duration::from_millis(100)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(polite.await.unwrap(), "cleaned up");
    assert!(stubborn.await.unwrap_err().is_cancelled());
    assert!(stubborn_dropped.is_dropped());
}

#[tokio::test(start_paused = true)]
async fn shutdown_returns_as_soon_as_every_child_is_done() {
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    group.spawn(async move {
        token.cancelled().await;
        Ok(())
    });
    let start = Instant::now();
    group.shutdown(Duration::from_secs(10)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn failure_with_grace_lets_siblings_clean_up_before_abort() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_millis(50))
        .build();
    let token = group.token();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let c = cleaned.clone();
    group.spawn(async move {
        token.cancelled().await;
        sleep(Duration::from_millis(20)).await;
        c.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let stubborn = DropFlag::new();
    let guard = stubborn.guard();
    group.spawn(async move {
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    group.spawn(async { Err::<(), _>(err("fail")) });
    let start = Instant::now();
    let errors = group.join().await.unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        cleaned.load(Ordering::SeqCst),
        1,
        "the polite sibling cleaned up"
    );
    assert!(stubborn.is_dropped());
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(50),
        "aborted at the end of the grace"
    );
}

#[tokio::test(start_paused = true)]
async fn len_counts_live_tasks_only() {
    let group: TaskGroup = TaskGroup::new();
    assert!(group.is_empty());
    let a = group.spawn(async {
        sleep(Duration::from_millis(10)).await;
        Ok(())
    });
    let b = group.spawn(async {
        sleep(Duration::from_millis(20)).await;
        Ok(())
    });
    assert_eq!(group.len(), 2);
    a.await.unwrap();
    assert_eq!(group.len(), 1);
    b.await.unwrap();
    assert_eq!(group.len(), 0);
    group.join().await.unwrap();
}

// ---- the grace ends even when nobody joins the group --------------------------------------

/// Spawns a child that ignores the token; its flag is set once Tokio dropped it.
fn stubborn_child(group: &TaskGroup) -> DropFlag {
    let flag = DropFlag::new();
    let guard = flag.guard();
    group.spawn(async move {
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    flag
}

/// Sleeps (on the paused clock) until `at` after `start`.
async fn at(start: Instant, at: Duration) {
    tokio::time::sleep_until(start + at).await;
}

/// Old code: with a grace and nobody joining, a failure never aborted the siblings.
#[tokio::test(start_paused = true)]
async fn a_failure_aborts_at_the_end_of_the_grace_without_a_joiner() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(1))
        .build();
    let start = Instant::now();
    let stubborn = stubborn_child(&group);
    group.spawn(async { Err::<(), _>(err("fail")) });
    at(start, Duration::from_millis(999)).await;
    assert!(!stubborn.is_dropped(), "within the grace");
    at(start, Duration::from_millis(1001)).await;
    assert!(stubborn.is_dropped(), "aborted when the grace ended");
    assert_eq!(group.join().await.unwrap_err().len(), 1);
}

/// Old code: `run` dropped mid-wait during the grace left the siblings running forever.
#[tokio::test(start_paused = true)]
async fn the_grace_ends_after_run_was_dropped_mid_wait() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(1))
        .build();
    let start = Instant::now();
    let stubborn = stubborn_child(&group);
    group.spawn(async { Err::<(), _>(err("fail")) });
    let timed_out =
        tokio::time::timeout(Duration::from_millis(100), group.run(async { Ok(()) })).await;
    assert!(timed_out.is_err(), "the grace outlasts the timeout");
    assert!(!stubborn.is_dropped());
    at(start, Duration::from_millis(1001)).await;
    assert!(stubborn.is_dropped(), "aborted when the grace ended");
    assert_eq!(group.join().await.unwrap_err().len(), 1);
}

/// Old code: a parent token cancelled with nobody joining never aborted (zero grace: at once).
#[tokio::test(start_paused = true)]
async fn a_cancelled_parent_token_aborts_at_once_without_a_joiner() {
    let parent = tokio_util::sync::CancellationToken::new();
    let group: TaskGroup = TaskGroup::builder().parent_token(&parent).build();
    let start = Instant::now();
    let stubborn = stubborn_child(&group);
    parent.cancel();
    at(start, Duration::from_millis(1)).await;
    assert!(stubborn.is_dropped(), "zero grace: aborted at once");
    assert!(group.join().await.unwrap_err().is_cancelled());
}

/// Old code: the group's own token cancelled with a grace and nobody joining never aborted.
#[tokio::test(start_paused = true)]
async fn a_cancelled_token_aborts_at_the_end_of_the_grace_without_a_joiner() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(1))
        .build();
    let start = Instant::now();
    let stubborn = stubborn_child(&group);
    group.token().cancel();
    at(start, Duration::from_millis(999)).await;
    assert!(!stubborn.is_dropped(), "within the grace");
    at(start, Duration::from_millis(1001)).await;
    assert!(stubborn.is_dropped(), "aborted when the grace ended");
    assert!(group.join().await.unwrap_err().is_cancelled());
}

/// An unlimited grace never aborts, joined or not; and the scheduled abort does not keep a
/// dropped group alive (its tasks are aborted by the drop, at once).
#[tokio::test(start_paused = true)]
async fn an_unlimited_grace_never_aborts_and_a_dropped_group_is_not_kept() {
    let group: TaskGroup = TaskGroup::builder().cancel_grace(Duration::MAX).build();
    let stubborn = stubborn_child(&group);
    group.spawn(async { Err::<(), _>(err("fail")) });
    sleep(Duration::from_secs(86_400 * 365)).await;
    assert!(!stubborn.is_dropped(), "never aborted");
    drop(group);

    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(3600))
        .build();
    let start = Instant::now();
    let stubborn = stubborn_child(&group);
    let watch = group.spawn(async { Err::<(), _>(err("fail")) });
    let _ = watch.await;
    let spawner = group.spawner(); // holds the core weakly: sees whether it is gone
    drop(group);
    at(start, Duration::from_millis(1)).await;
    assert!(stubborn.is_dropped(), "the drop aborted it, not the timer");
    assert!(
        spawner.token().is_none(),
        "the abort waiting for the grace to end keeps the dropped group's core alive"
    );
}

/// A token cancelled on a thread with no runtime cannot schedule the abort there: the next
/// spawn, refused, starts the cancellation and schedules it (old code: it never came).
#[tokio::test(start_paused = true)]
async fn a_token_cancelled_off_the_runtime_aborts_from_the_next_refused_spawn() {
    let group: TaskGroup = TaskGroup::new();
    let start = Instant::now();
    let stubborn = stubborn_child(&group);
    let token = group.token();
    std::thread::spawn(move || token.cancel()).join().unwrap();
    let refused = group.spawn(async { Ok(()) });
    assert!(refused.await.unwrap_err().is_cancelled());
    at(start, Duration::from_millis(1)).await;
    assert!(stubborn.is_dropped(), "zero grace: aborted at once");
    assert!(group.join().await.unwrap_err().is_cancelled());
}

/// A review found no abort at all when the token was cancelled on a thread with no runtime and
/// nothing spawned after: the group now schedules it on the runtime it was made on.
#[tokio::test(start_paused = true)]
async fn a_token_cancelled_off_the_runtime_aborts_an_unjoined_group_by_itself() {
    let group: TaskGroup = TaskGroup::new();
    let start = Instant::now();
    let stubborn = stubborn_child(&group);
    let token = group.token();
    std::thread::spawn(move || token.cancel()).join().unwrap();
    at(start, Duration::from_secs(3600)).await;
    assert!(stubborn.is_dropped(), "zero grace: the task was aborted");
    assert!(group.join().await.unwrap_err().is_cancelled());
}

/// A review found the refused spawn no longer counted as work asked for once the token's own
/// small task had moved the group first (with no task alive): `join` said `Ok`.
#[tokio::test(start_paused = true)]
async fn a_spawn_refused_after_the_token_moved_the_group_is_work_asked_for() {
    let group: TaskGroup = TaskGroup::new();
    let start = Instant::now();
    group.token().cancel();
    // The paused clock moves only once every task is idle: the token's task has run.
    at(start, Duration::from_millis(1)).await;
    let refused = group.spawn(async { Ok(()) });
    assert!(refused.await.unwrap_err().is_cancelled());
    assert!(
        group.join().await.unwrap_err().is_cancelled(),
        "work was asked for after the cancellation"
    );
}

fn one_worker() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A review found, on a multi-thread runtime, the abort after a failure in an unjoined group
/// (zero grace) running before a sibling woken in the same tick: the abort task went into the
/// worker's LIFO slot, ahead of it, and the sibling's error was lost.
#[test]
fn two_errors_of_one_tick_are_kept_in_an_unjoined_group_on_a_worker() {
    let kept = one_worker().block_on(async {
        tokio::spawn(async {
            let group: TaskGroup = TaskGroup::new();
            let go = Arc::new(tokio::sync::Notify::new());
            let (waiting_tx, mut waiting) = tokio::sync::mpsc::unbounded_channel();
            for name in ["a", "b"] {
                let (go, waiting_tx) = (Arc::clone(&go), waiting_tx.clone());
                group.spawn(async move {
                    let notified = go.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    waiting_tx.send(true).map_err(|_| err("the test is gone"))?;
                    notified.await;
                    Err::<(), _>(err(name))
                    // `waiting_tx` is dropped with the task, failed or aborted
                });
            }
            drop(waiting_tx);
            for _ in 0..2 {
                waiting.recv().await;
            }
            go.notify_waiters(); // both fail in the same tick, nobody joins yet
            // Both tasks are gone (their senders with them) before the group is joined.
            assert_eq!(waiting.recv().await, None);
            group.join().await.unwrap_err().len()
        })
        .await
        .unwrap()
    });
    assert_eq!(
        kept, 2,
        "the second error of the tick was lost to the abort"
    );
}

/// A review found `join` saying `Ok` on a multi-thread runtime though a task was running when
/// the token was cancelled: whether work was running was read when the token's small task ran,
/// after the task had finished.
#[test]
fn join_says_cancelled_when_a_task_ran_at_the_cancel_on_a_worker() {
    let cancelled = one_worker().block_on(async {
        tokio::spawn(async {
            let group: TaskGroup = TaskGroup::new();
            let token = group.token();
            let (started_tx, started) = tokio::sync::oneshot::channel();
            let task = group.spawn(async move {
                // Alive from here until it sees the cancellation, whenever that comes.
                started_tx.send(()).map_err(|_| err("the test is gone"))?;
                token.cancelled().await;
                Ok::<_, BoxError>(())
            });
            started.await.unwrap();
            group.token().cancel();
            task.await.unwrap(); // it saw the cancellation and returned
            group.join().await.is_err_and(|error| error.is_cancelled())
        })
        .await
        .unwrap()
    });
    assert!(
        cancelled,
        "join said Ok though a task was running at the cancel"
    );
}

/// `shutdown(grace)` on a group already cancelling after a failure, with an unlimited failure
/// grace, gives its own grace: the stubborn sibling is aborted when it ends (an audit showed a
/// shutdown that kept the failure's grace passed every test).
#[tokio::test(start_paused = true)]
async fn shutdown_of_a_group_cancelling_after_a_failure_aborts_at_its_own_grace() {
    let group: TaskGroup = TaskGroup::builder().cancel_grace(Duration::MAX).build();
    let failing = group.spawn(async { Err::<(), BoxError>("boom".into()) });
    let stubborn = group.spawn(pending::<Result<(), BoxError>>());
    // The failure is recorded once its task is done: the group is cancelling, unlimited.
    assert!(failing.await.is_err());
    let start = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(3600),
        group.shutdown(Duration::from_millis(100)),
    )
    .await
    .expect("shutdown(100 ms) does not wait for the failure's unlimited grace");
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(
        result.map_err(|errors| errors.len()),
        Err(1),
        "the failure is kept"
    );
    assert!(stubborn.await.is_err_and(|error| error.is_cancelled()));
}

/// Shutting down is not a failure, even after the token was cancelled from outside (which
/// alone would make `join` say "cancelled"): `shutdown` returns `Ok(())`.
#[tokio::test(start_paused = true)]
async fn shutdown_after_a_cancellation_from_outside_is_not_a_failure() {
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    let polite = group.spawn({
        let token = token.clone();
        async move {
            token.cancelled().await;
            Ok(())
        }
    });
    token.cancel();
    // A spawn refused now moves the group to cancelling, from outside, at once.
    let refused = group.spawn(async { Ok(()) });
    assert!(refused.await.is_err_and(|error| error.is_cancelled()));
    let result = group.shutdown(Duration::from_millis(100)).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(polite.await.is_ok());
}

/// A token cancelled when nothing runs any more cancels no work: `join` says `Ok(())` (an audit
/// showed "cancelled whenever the token was cancelled" passed every test).
#[tokio::test(start_paused = true)]
async fn a_token_cancelled_after_every_task_finished_lets_join_say_ok() {
    let group: TaskGroup = TaskGroup::new();
    let done = group.spawn(async { Ok(1) });
    assert_eq!(done.await.ok(), Some(1));
    group.token().cancel();
    // On the paused clock, a sleep lets everything that is ready run first: here, the small
    // task that moves the group to cancelling (with no work running).
    sleep(Duration::from_millis(1)).await;
    let result = group.join().await;
    assert!(result.is_ok(), "{result:?}");
}
