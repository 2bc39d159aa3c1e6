//! Dropping aborts, reaping, and the spawn policy of a group that is failing or finished.

use std::future::pending;
use std::time::Duration;

use corral::task::{BoxError, TaskGroup};
use tokio::time::sleep;

use crate::support::{DropFlag, PollCount};
use corral_alloc_count::thread_live_bytes as live_bytes;

fn err(msg: &str) -> BoxError {
    msg.to_string().into()
}

#[tokio::test(start_paused = true)]
async fn dropping_the_group_aborts_every_child() {
    let group: TaskGroup = TaskGroup::new();
    let flags: Vec<DropFlag> = (0..5).map(|_| DropFlag::new()).collect();
    let tasks: Vec<_> = flags
        .iter()
        .map(|flag| {
            let guard = flag.guard();
            group.spawn(async move {
                let _guard = guard;
                pending::<Result<(), BoxError>>().await
            })
        })
        .collect();
    assert!(flags.iter().all(|f| !f.is_dropped()));
    drop(group);
    for task in tasks {
        // A handle completes only once Tokio dropped the aborted future.
        assert!(task.await.unwrap_err().is_cancelled());
    }
    assert!(flags.iter().all(DropFlag::is_dropped));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_join_future_aborts_every_child() {
    let group: TaskGroup = TaskGroup::new();
    let flag = DropFlag::new();
    let guard = flag.guard();
    let task = group.spawn(async move {
        let _guard = guard;
        pending::<Result<(), BoxError>>().await
    });
    let timed_out = tokio::time::timeout(Duration::from_millis(10), group.join()).await;
    assert!(timed_out.is_err());
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(flag.is_dropped(), "the join future owned the group");
}

#[tokio::test(start_paused = true)]
async fn finished_children_are_reaped_at_once() {
    let group: TaskGroup = TaskGroup::new();
    let mut tasks: Vec<_> = (0..100_u64)
        .map(|i| {
            group.spawn(async move {
                sleep(Duration::from_millis(i)).await;
                Ok(())
            })
        })
        .collect();
    assert_eq!(group.len(), 100);
    // Task 50 finishing means tasks 0 to 50 have all finished (on the paused clock).
    tasks.swap_remove(50).await.unwrap();
    assert_eq!(
        group.len(),
        49,
        "the 51 finished tasks left the group on their own"
    );
    group.join().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_million_sequential_tasks_hold_memory_for_the_live_ones_only() {
    const TASKS: usize = 1_000_000;
    let group: TaskGroup = TaskGroup::new();
    // Warm up: the first tasks size the group's and the runtime's internal buffers.
    for _ in 0..1_000 {
        group.spawn(async { Ok(()) }).await.unwrap();
    }
    let baseline = live_bytes();
    let mut worst = 0;
    for i in 0..TASKS {
        // Each task's handle is dropped at once: only the group could keep it.
        let task = group.spawn(async move { Ok(i) });
        if i % 10_000 == 0 {
            worst = worst.max(live_bytes() - baseline);
        }
        assert_eq!(task.await.unwrap(), i);
    }
    let growth = live_bytes() - baseline;
    assert_eq!(group.len(), 0);
    // One live task (its future, its Tokio cell) is well under a kilobyte; a group that kept
    // finished tasks would hold about a hundred megabytes here.
    assert!(
        worst < 16 * 1024,
        "memory grew by {worst} bytes while running"
    );
    assert!(
        growth < 16 * 1024,
        "memory grew by {growth} bytes after {TASKS} tasks"
    );
    group.join().await.unwrap();
}

#[tokio::test]
async fn tasks_that_stay_do_not_make_the_group_keep_the_finished_ones() {
    // The group sweeps its record of finished tasks only once they are about half of it:
    // with many tasks alive throughout, the finished ones still go.
    const STAYING: usize = 1_000;
    const TASKS: usize = 200_000;
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    let staying: Vec<_> = (0..STAYING)
        .map(|_| {
            let token = token.clone();
            group.spawn(async move {
                token.cancelled().await;
                Ok(())
            })
        })
        .collect();
    for _ in 0..10_000 {
        group.spawn(async { Ok(()) }).await.unwrap();
    }
    let baseline = live_bytes();
    let mut worst = 0;
    for i in 0..TASKS {
        let task = group.spawn(async move { Ok(i) });
        if i % 10_000 == 0 {
            worst = worst.max(live_bytes() - baseline);
        }
        assert_eq!(task.await.unwrap(), i);
    }
    assert_eq!(group.len(), STAYING);
    // A finished task's abort handle keeps its Tokio cell allocated: keeping them would hold
    // some fifty megabytes here. (The runtime's own buffers move the heap by a few hundred
    // kilobytes either way over such a run.)
    assert!(
        worst < 1024 * 1024,
        "memory grew by {worst} bytes while {STAYING} tasks stayed"
    );
    token.cancel();
    for task in staying {
        task.await.unwrap();
    }
    assert_eq!(group.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn spawning_into_a_failing_group_never_polls_the_future() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(1))
        .build();
    let token = group.token();
    let spawner = group.spawner();
    let polls = PollCount::new();
    let p = polls.clone();
    let late = group.spawn(async move {
        token.cancelled().await; // the group is failing now
        let never = spawner.spawn(p.track(async { Ok(()) }));
        Ok(never.await.unwrap_err().is_cancelled())
    });
    group.spawn(async { Err::<bool, _>(err("fail")) });
    assert!(group.join().await.is_err());
    assert!(late.await.unwrap(), "the late spawn came back cancelled");
    assert_eq!(polls.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn spawning_into_a_finished_or_dropped_group_never_polls_the_future() {
    let group: TaskGroup = TaskGroup::new();
    let spawner = group.spawner();
    let polls = PollCount::new();
    group.join().await.unwrap();
    let after_join = spawner.spawn(polls.track(async { Ok(()) }));
    assert!(
        after_join.is_finished(),
        "refused at once, not cancelled later"
    );
    assert!(after_join.await.unwrap_err().is_cancelled());

    let group: TaskGroup = TaskGroup::new();
    let spawner = group.spawner();
    drop(group);
    let after_drop = spawner.spawn(polls.track(async { Ok(()) }));
    assert!(
        after_drop.is_finished(),
        "refused at once, not cancelled later"
    );
    assert!(after_drop.await.unwrap_err().is_cancelled());
    assert_eq!(polls.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn spawning_after_run_returned_is_refused() {
    let group: TaskGroup = TaskGroup::new();
    group.run(async { Ok(()) }).await.unwrap();
    let polls = PollCount::new();
    let late = group.spawn(polls.track(async { Ok(()) }));
    assert!(late.await.unwrap_err().is_cancelled());
    assert_eq!(polls.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failure_after_a_dropped_run_still_aborts_the_siblings() {
    let group: TaskGroup = TaskGroup::new();
    // Ignores the group's token: only an abort stops it.
    let stubborn = group.spawn(pending::<Result<(), BoxError>>());
    let mut run = tokio_test::task::spawn(group.run(pending::<Result<(), BoxError>>()));
    tokio_test::assert_pending!(run.poll());
    drop(run); // nobody joins the group any more
    group.spawn(async { Err::<(), BoxError>("failed".into()) });
    let stopped = tokio::time::timeout(Duration::from_secs(1), stubborn).await;
    let error = stopped
        .expect("the failure aborted the sibling")
        .unwrap_err();
    assert!(error.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_failure_while_run_joined_is_aborted_once_the_run_is_dropped() {
    let group: TaskGroup = TaskGroup::new();
    let stubborn = group.spawn(pending::<Result<(), BoxError>>());
    let mut run = tokio_test::task::spawn(group.run(pending::<Result<(), BoxError>>()));
    tokio_test::assert_pending!(run.poll());
    // Fails while `run` joins the group (so it leaves the abort to `run`), and `run` is never
    // polled again.
    let failing = group.spawn(async { Err::<(), BoxError>("failed".into()) });
    assert!(failing.await.unwrap_err().is_failed());
    drop(run);
    let stopped = tokio::time::timeout(Duration::from_secs(1), stubborn).await;
    let error = stopped
        .expect("the dropped run handed the abort on")
        .unwrap_err();
    assert!(error.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_grace_reaching_the_end_of_time_does_not_overflow() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(crate::support::almost_forever())
        .build();
    let stubborn = group.spawn(pending::<Result<(), BoxError>>());
    group.spawn(async { Err::<(), BoxError>("failed".into()) });
    // The grace outlasts the test: the join waits, and sets no timer Tokio would overflow.
    let joined = tokio::time::timeout(Duration::from_secs(3600), group.join()).await;
    assert!(joined.is_err(), "the grace has not ended");
    assert!(
        stubborn.await.unwrap_err().is_cancelled(),
        "aborted when the group was dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_shutdown_aborts_every_task_at_once() {
    let group: TaskGroup = TaskGroup::new();
    // Ignores the token: only an abort stops it.
    let stubborn = group.spawn(pending::<Result<(), BoxError>>());
    let started = tokio::time::Instant::now();
    {
        let mut shutdown = tokio_test::task::spawn(group.shutdown(Duration::from_secs(60)));
        tokio_test::assert_pending!(shutdown.poll()); // in the grace
    }
    assert!(stubborn.await.unwrap_err().is_cancelled());
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "aborted at once, not at the grace's end"
    );
}

/// Old code: the task of a spawn made outside a runtime (which panics, as documented) was
/// dropped during the unwind and recorded as "dropped by its runtime shutting down", so a
/// later, successful join returned "runtime shut down".
#[test]
fn a_spawn_outside_a_runtime_panics_and_leaves_the_group_sound() {
    let runtime = crate::support::paused_runtime();
    let group: TaskGroup = TaskGroup::new();
    let outside = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        group.spawn(async { Ok(()) });
    }));
    assert!(outside.is_err(), "documented: panics outside a runtime");
    assert_eq!(group.len(), 0, "the refused task is not counted");
    let joined = runtime.block_on(async {
        let task = group.spawn(async { Ok(7) });
        let joined = group.join().await;
        (joined.map_err(|e| e.to_string()), task.await.ok())
    });
    assert_eq!(joined, (Ok(()), Some(7)));
}

/// Old code: a group made outside any runtime kept no runtime to schedule its abort on, so
/// when its token was cancelled from a plain thread and nobody joined, its tasks ran on past
/// the grace ("the abort comes when the grace ends whether or not anyone is joining").
#[test]
fn a_group_made_off_runtime_and_cancelled_off_runtime_aborts_at_the_grace_end() {
    let group: TaskGroup<BoxError> = TaskGroup::builder()
        .cancel_grace(Duration::from_millis(50))
        .build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let stubborn = {
        let _on_runtime = runtime.enter();
        group.spawn(pending::<Result<(), BoxError>>())
    };
    let token = group.token();
    std::thread::spawn(move || token.cancel()).join().unwrap();
    runtime.block_on(async {
        let start = tokio::time::Instant::now();
        sleep(Duration::from_millis(49)).await;
        assert!(!stubborn.is_finished(), "in the grace");
        sleep(Duration::from_millis(2)).await;
        assert!(stubborn.is_finished(), "aborted when the grace ended");
        assert!(start.elapsed() < Duration::from_millis(60));
    });
    drop(group);
}

/// Old code: `shutdown(1 h)` after a failure whose zero-grace abort was due but had not run
/// yet moved that abort an hour later: the failed group's stubborn sibling ran on for the
/// whole shutdown grace.
#[tokio::test(start_paused = true)]
async fn shutdown_does_not_put_off_the_abort_a_failure_made_due() {
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let stubborn = group.spawn(pending::<Result<(), BoxError>>());
    group.spawn(async { Err::<(), BoxError>(err("failed")) });
    group.token().cancelled().await; // the failure happened; its abort is due
    let start = tokio::time::Instant::now();
    let result = group.shutdown(Duration::from_secs(3600)).await;
    assert_eq!(result.unwrap_err().len(), 1);
    assert!(stubborn.is_finished());
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "the sibling of a failed group ran on"
    );
}
