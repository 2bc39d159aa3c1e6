//! wait: spawns, returns (done, pending), pending tasks keep running and abort on drop.

use std::future::pending;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use corral::task::{BoxError, Done, TaskGroup, WaitFor, wait};
use futures::FutureExt;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep};

async fn after(ms: u64, value: u64) -> Result<u64, String> {
    sleep(Duration::from_millis(ms)).await;
    Ok(value)
}

async fn fail_after(ms: u64) -> Result<u64, String> {
    sleep(Duration::from_millis(ms)).await;
    Err(format!("failed at {ms}"))
}

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, String>> + Send>>;

#[tokio::test(start_paused = true)]
async fn first_completed_returns_the_first_and_the_rest_keep_running() {
    let start = Instant::now();
    let (done, pending) = wait(
        [after(30, 1), after(10, 2), after(20, 3)],
        WaitFor::FirstCompleted,
        None,
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(10));
    assert_eq!(
        done,
        [Done {
            index: 1,
            result: Ok(2)
        }]
    );
    let indices: Vec<usize> = pending.iter().map(|p| p.index()).collect();
    assert_eq!(indices, [0, 2]);
    // They kept running while we were not looking.
    sleep(Duration::from_millis(25)).await;
    assert!(pending.iter().all(|p| p.is_finished()));
    let mut rest = Vec::new();
    for task in pending {
        rest.push(task.await.unwrap());
    }
    assert_eq!(rest, [1, 3]);
}

#[tokio::test(start_paused = true)]
async fn first_completed_collects_everything_that_finished_together() {
    let (done, pending) = wait(
        [after(10, 1), after(10, 2), after(50, 3)],
        WaitFor::FirstCompleted,
        None,
    )
    .await;
    let mut values: Vec<u64> = done.into_iter().map(|d| d.result.unwrap()).collect();
    values.sort_unstable();
    assert_eq!(values, [1, 2]);
    assert_eq!(pending.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn first_error_returns_at_the_first_failure() {
    let jobs: Vec<Job> = vec![
        Box::pin(after(5, 1)),
        Box::pin(fail_after(10)),
        Box::pin(after(30, 3)),
    ];
    let (done, pending) = wait(jobs, WaitFor::FirstError, None).await;
    assert_eq!(done.len(), 2);
    assert_eq!(
        done[1],
        Done {
            index: 1,
            result: Err("failed at 10".to_string())
        }
    );
    assert_eq!(pending.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn first_error_without_errors_waits_for_all() {
    let start = Instant::now();
    let (done, pending) = wait([after(5, 1), after(15, 2)], WaitFor::FirstError, None).await;
    assert_eq!(start.elapsed(), Duration::from_millis(15));
    assert_eq!(done.len(), 2);
    assert!(pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn all_completed_with_a_timeout_returns_what_it_has() {
    let start = Instant::now();
    let (done, pending) = wait(
        [after(5, 1), after(500, 2)],
        WaitFor::AllCompleted,
        Some(Duration::from_millis(100)),
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(
        done,
        [Done {
            index: 0,
            result: Ok(1)
        }]
    );
    assert_eq!(pending.len(), 1);
    assert_eq!(pending.into_iter().next().unwrap().await, Ok(2));
}

/// A signal that a task's future was dropped: the task holds the sender, and the receiver
/// resolves when it is dropped (with the task's future, when the task ends or is aborted).
fn stop_signal() -> (oneshot::Sender<()>, oneshot::Receiver<()>) {
    oneshot::channel()
}

/// Whether the task holding the other end stops: the receiver resolves as soon as the runtime
/// drops the aborted task's future; the paused clock only moves (to the one-second bound) if
/// nothing else can run, that is if the task was not aborted.
async fn stops(stopped: oneshot::Receiver<()>) -> bool {
    tokio::time::timeout(Duration::from_secs(1), stopped)
        .await
        .is_ok()
}

async fn hold_forever<T>(signal: oneshot::Sender<()>) -> T {
    let _signal = signal;
    pending().await
}

#[tokio::test(start_paused = true)]
async fn dropping_pending_tasks_aborts_them() {
    let (signal, stopped) = stop_signal();
    let jobs: Vec<Job> = vec![Box::pin(hold_forever(signal)), Box::pin(after(1, 1))];
    let (_, still_running) = wait(jobs, WaitFor::FirstCompleted, None).await;
    drop(still_running);
    assert!(
        stops(stopped).await,
        "nothing wait spawned outlives its entry"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_wait_future_aborts_its_tasks() {
    let (signal, stopped) = stop_signal();
    let job = hold_forever::<Result<(), String>>(signal);
    let timed_out = tokio::time::timeout(
        Duration::from_millis(5),
        wait([job], WaitFor::AllCompleted, None),
    )
    .await;
    assert!(
        timed_out.is_err(),
        "`wait` must still be waiting when it is dropped"
    );
    assert!(stops(stopped).await);
}

// Issue 7, item 10: `wait` over tasks already spawned. It used to spawn a wrapper task that
// awaited the handle, so dropping the entry aborted the wrapper and the real task ran on.

#[tokio::test(start_paused = true)]
async fn dropping_the_entry_of_a_group_task_aborts_that_task() {
    let group: TaskGroup = TaskGroup::new();
    let (signal, stopped) = stop_signal();
    let slow = group.spawn(hold_forever::<Result<u64, BoxError>>(signal));
    let quick = group.spawn(async {
        sleep(Duration::from_millis(1)).await;
        Ok(7)
    });
    let (done, still_running) = wait([slow, quick], WaitFor::FirstCompleted, None).await;
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].index, done[0].result), (1, Ok(7)));
    assert_eq!(still_running.len(), 1);
    drop(still_running);
    assert!(stops(stopped).await, "the group's task outlived its entry");
    group
        .join()
        .await
        .expect("an aborted task is not a failure");
}

#[tokio::test(start_paused = true)]
async fn aborting_the_entry_of_a_join_handle_aborts_that_task() {
    let (signal, stopped) = stop_signal();
    let slow = tokio::spawn(hold_forever::<u64>(signal));
    let quick = tokio::spawn(async {
        sleep(Duration::from_millis(1)).await;
        7
    });
    let (done, still_running) = wait([slow, quick], WaitFor::FirstCompleted, None).await;
    assert_eq!(done[0].index, 1);
    assert_eq!(done[0].result.as_ref().ok(), Some(&7));
    for entry in still_running {
        entry.abort();
    }
    assert!(stops(stopped).await, "the spawned task outlived its entry");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_wait_future_aborts_the_tasks_it_was_given() {
    let group: TaskGroup = TaskGroup::new();
    let (signal, stopped) = stop_signal();
    let task = group.spawn(hold_forever::<Result<u64, BoxError>>(signal));
    let waited = tokio::time::timeout(
        Duration::from_millis(5),
        wait([task], WaitFor::AllCompleted, None),
    )
    .await;
    assert!(waited.is_err(), "the task never finishes");
    assert!(stops(stopped).await, "the task outlived the wait future");
    group
        .join()
        .await
        .expect("an aborted task is not a failure");
}

#[tokio::test(start_paused = true)]
async fn handles_are_taken_over_not_spawned_again() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let group: TaskGroup = TaskGroup::new();
    let tasks: Vec<_> = (1..=3)
        .map(|ms| {
            group.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                Ok(ms)
            })
        })
        .collect();
    let alive = metrics.num_alive_tasks();
    let waiting = tokio_test::task::spawn(wait(tasks, WaitFor::AllCompleted, None));
    let mut waiting = waiting;
    tokio_test::assert_pending!(waiting.poll());
    assert_eq!(metrics.num_alive_tasks(), alive, "wait spawned no task");
    drop(waiting);
    group.join().await.expect("aborted tasks are not failures");
}

#[tokio::test(start_paused = true)]
async fn pending_entries_can_be_waited_on_again_and_still_abort_their_task() {
    let group: TaskGroup = TaskGroup::new();
    let (signal, stopped) = stop_signal();
    let tasks = [
        group.spawn(hold_forever::<Result<u64, BoxError>>(signal)),
        group.spawn(async {
            sleep(Duration::from_millis(1)).await;
            Ok(1)
        }),
        group.spawn(async {
            sleep(Duration::from_millis(2)).await;
            Ok(2)
        }),
    ];
    let mut results = Vec::new();
    let (mut done, mut still_running) = wait(tasks, WaitFor::FirstCompleted, None).await;
    while still_running.len() > 1 {
        results.extend(done.into_iter().map(|done| done.result));
        (done, still_running) = wait(still_running, WaitFor::FirstCompleted, None).await;
    }
    results.extend(done.into_iter().map(|done| done.result));
    assert_eq!(results, [Ok(1), Ok(2)]);
    drop(still_running);
    assert!(stops(stopped).await, "the task outlived its entry");
    group
        .join()
        .await
        .expect("an aborted task is not a failure");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_resumes_in_wait() {
    let jobs: Vec<Job> = vec![
        Box::pin(async {
            sleep(Duration::from_millis(1)).await;
            panic!("job exploded")
        }),
        Box::pin(after(50, 2)),
    ];
    let outcome = AssertUnwindSafe(wait(jobs, WaitFor::AllCompleted, None))
        .catch_unwind()
        .await;
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"job exploded"));
}

#[tokio::test(start_paused = true)]
async fn an_empty_wait_returns_at_once() {
    let none: Vec<std::future::Ready<Result<u8, String>>> = Vec::new();
    let (done, pending) = wait(none, WaitFor::AllCompleted, None).await;
    assert!(done.is_empty() && pending.is_empty());
}

/// Old code: the drain after the first completion stopped when the coop budget (128 polls) was
/// spent, leaving finished tasks in `pending`.
#[tokio::test(start_paused = true)]
async fn first_completed_collects_every_finished_task_beyond_the_budget() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const N: usize = 300;
    let started = Arc::new(AtomicUsize::new(0));
    let (all_ran, ran) = oneshot::channel();
    let all_ran = Arc::new(std::sync::Mutex::new(Some(all_ran)));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let (started, all_ran) = (started.clone(), all_ran.clone());
            tokio::spawn(async move {
                if started.fetch_add(1, Ordering::SeqCst) + 1 == N {
                    let last = all_ran.lock().unwrap().take();
                    let _ = last.map(|signal| signal.send(()));
                }
                Ok::<_, tokio::task::JoinError>(i)
            })
        })
        .collect();
    ran.await.unwrap();
    assert!(handles.iter().all(tokio::task::JoinHandle::is_finished));
    let (done, pending) = wait(handles, WaitFor::FirstCompleted, None).await;
    assert_eq!(
        (done.len(), pending.len()),
        (N, 0),
        "every finished task is in done"
    );
}

/// Old code: `wait` took its inputs over only at its first poll, so a `wait` future dropped
/// before it (a `select!` whose other branch was ready) left the `Task` and `JoinHandle`
/// given to it running, though dropping it "aborts every task it was given".
#[tokio::test(start_paused = true)]
async fn a_wait_dropped_before_its_first_poll_aborts_the_tasks_it_was_given() {
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let task = group.spawn(pending::<Result<(), BoxError>>());
    let join = tokio::spawn(pending::<Result<(), BoxError>>());
    let join_abort = join.abort_handle();
    let waiting = wait([task], WaitFor::AllCompleted, None);
    let waiting_join = wait([join], WaitFor::AllCompleted, None);
    drop((waiting, waiting_join));
    // The aborted tasks are gone by the time the group's join returns (it would wait forever
    // for a task still running).
    tokio::time::timeout(Duration::from_secs(3600), group.join())
        .await
        .expect("the group's task was aborted")
        .unwrap();
    sleep(Duration::from_millis(1)).await;
    assert!(
        join_abort.is_finished(),
        "the JoinHandle's task was aborted"
    );
}

/// Old code: `FirstError` ended the wait at a task cancelled by someone else, which asyncio's
/// `FIRST_EXCEPTION` does not count as a failure.
#[tokio::test(start_paused = true)]
async fn first_error_does_not_count_a_cancelled_task_as_a_failure() {
    let slow = tokio::spawn(async {
        sleep(Duration::from_secs(10)).await;
        Ok::<u8, BoxError>(1)
    });
    let victim = tokio::spawn(pending::<Result<u8, BoxError>>());
    let victim_abort = victim.abort_handle();
    tokio::spawn(async move {
        sleep(Duration::from_secs(1)).await;
        victim_abort.abort();
    });
    let start = Instant::now();
    let (done, left) = wait([slow, victim], WaitFor::FirstError, None).await;
    assert!(left.is_empty(), "the wait went on past the cancellation");
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    let cancelled: Vec<_> = done
        .iter()
        .map(|done| {
            done.result
                .as_ref()
                .err()
                .map(tokio::task::JoinError::is_cancelled)
        })
        .collect();
    assert_eq!(cancelled, [Some(true), None]);

    // The same with a group's tasks; a real failure still ends the wait.
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let aborted = group.spawn(pending::<Result<u8, BoxError>>());
    aborted.abort();
    let slow = group.spawn(async {
        sleep(Duration::from_secs(10)).await;
        Ok::<u8, BoxError>(1)
    });
    let start = Instant::now();
    let (done, left) = wait([aborted, slow], WaitFor::FirstError, None).await;
    assert!(left.is_empty() && done.len() == 2);
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    let failing = group.spawn(async { Err::<u8, BoxError>("failed".into()) });
    let never = group.spawn(pending::<Result<u8, BoxError>>());
    let (done, left) = wait([failing, never], WaitFor::FirstError, None).await;
    assert_eq!((done.len(), left.len()), (1, 1));
    drop(left);
    assert_eq!(group.join().await.unwrap_err().len(), 1);
}

/// Old code: `wait` spawned its plain futures outside any group, so when a group's task using
/// `wait` was aborted (by a sibling's failure) while a future it spawned was mid-step on
/// another worker, the group's `join` returned while that step still ran.
#[test]
fn join_waits_for_a_task_that_wait_spawned_for_one_of_the_groups_tasks() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let runtime = crate::support::two_workers();
    runtime.block_on(async {
        let finished = Arc::new(AtomicBool::new(false));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let group: TaskGroup<BoxError> = TaskGroup::new();
        let (started, is_started) = oneshot::channel::<()>();
        let job_finished = finished.clone();
        group.spawn(async move {
            let job = async move {
                let _ = started.send(());
                // A blocking step, which ends when `join` returns (the old code) or after a
                // bound (`join` waits for it).
                let _ = released.recv_timeout(Duration::from_millis(500));
                job_finished.store(true, Ordering::SeqCst);
                Ok::<(), BoxError>(())
            };
            let _ = wait([job], WaitFor::AllCompleted, None).await;
            Ok(())
        });
        group.spawn(async move {
            let _ = is_started.await;
            Err::<(), BoxError>("sibling failed".into())
        });
        let _ = group.join().await;
        let done_at_join = finished.load(Ordering::SeqCst);
        let _ = release.send(());
        assert!(
            done_at_join,
            "a task started under the group still ran after join returned"
        );
    });
}
