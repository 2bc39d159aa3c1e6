//! The cancel-safety claims of the task handles and combinators, each checked by dropping the
//! future mid-wait: `Task` and `Pending` (awaited through `&mut`, nothing is lost and a later
//! await gets the value), `race` and `first_ok` (dropped, they drop every future they hold, and
//! `first_ok` the errors collected so far).

use std::future::pending;
use std::time::Duration;

use corral::task::{BoxError, TaskGroup, WaitFor, first_ok, race, wait};
use tokio::sync::oneshot;
use tokio::time::timeout;
use tokio_test::{assert_pending, task};

use crate::support::{DropFlag, DropGuard, PollCount};

const MS: Duration = Duration::from_millis(1);

/// A task body that returns `value` once `go` fires, holding `guard` until then.
async fn when_told<E>(go: oneshot::Receiver<()>, guard: DropGuard, value: u64) -> Result<u64, E> {
    let _guard = guard;
    // Told: `value`; the sender dropped unused: 0, which fails the test's check.
    Ok(if go.await.is_ok() { value } else { 0 })
}

#[tokio::test(start_paused = true)]
async fn a_task_awaited_through_a_borrow_that_is_dropped_loses_nothing() {
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let (go, told) = oneshot::channel();
    let body = DropFlag::new();
    let mut task = group.spawn(when_told(told, body.guard(), 42));

    let cut = timeout(10 * MS, &mut task).await;
    assert!(cut.is_err(), "the timeout fires while the task still runs");
    assert!(
        !body.is_dropped(),
        "dropping the await did not cancel the task"
    );

    go.send(()).unwrap();
    assert_eq!(task.await.unwrap(), 42, "a later await gets the value");
    assert!(body.is_dropped());
    group.join().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_pending_of_wait_awaited_through_a_borrow_that_is_dropped_loses_nothing() {
    let (go, told) = oneshot::channel();
    let body = DropFlag::new();
    type Job = std::pin::Pin<Box<dyn Future<Output = Result<u64, String>> + Send>>;
    let jobs: Vec<Job> = vec![
        Box::pin(async { Ok(1) }),
        Box::pin(when_told(told, body.guard(), 42)),
    ];
    let (done, mut still_running) = wait(jobs, WaitFor::FirstCompleted, None).await;
    assert_eq!(done.len(), 1);
    assert_eq!(still_running.len(), 1);
    let mut pending_job = still_running.pop().unwrap();

    let cut = timeout(10 * MS, &mut pending_job).await;
    assert!(cut.is_err(), "the timeout fires while the task still runs");
    assert!(
        !body.is_dropped(),
        "dropping the await did not abort the task"
    );

    go.send(()).unwrap();
    assert_eq!(pending_job.await, Ok(42), "a later await gets the value");
    assert!(body.is_dropped());
}

#[tokio::test(start_paused = true)]
async fn a_race_dropped_mid_wait_drops_every_future_it_holds() {
    let flags = [DropFlag::new(), DropFlag::new(), DropFlag::new()];
    let polls = PollCount::new();
    let racers = flags.iter().map(|flag| {
        let guard = flag.guard();
        polls.track(async move {
            let _guard = guard;
            pending::<u64>().await
        })
    });
    let mut racing = task::spawn(race(racers));
    assert_pending!(racing.poll());
    assert_eq!(polls.get(), 3, "every racer is running");
    assert!(flags.iter().all(|flag| !flag.is_dropped()));
    drop(racing);
    assert!(
        flags.iter().all(DropFlag::is_dropped),
        "every racer was dropped with the race"
    );
}

#[tokio::test(start_paused = true)]
async fn a_first_ok_dropped_mid_wait_drops_its_futures_and_the_errors_so_far() {
    let error = DropFlag::new();
    let waiting = DropFlag::new();
    let failed = {
        let guard = error.guard();
        Box::pin(async move { Err::<u64, DropGuard>(guard) })
            as std::pin::Pin<Box<dyn Future<Output = Result<u64, DropGuard>>>>
    };
    let still_trying = {
        let guard = waiting.guard();
        Box::pin(async move {
            let _guard = guard;
            pending::<Result<u64, DropGuard>>().await
        }) as std::pin::Pin<Box<dyn Future<Output = Result<u64, DropGuard>>>>
    };
    let mut trying = task::spawn(first_ok([failed, still_trying]));
    assert_pending!(trying.poll());
    assert!(
        !error.is_dropped(),
        "the first error is kept for the result"
    );
    assert!(!waiting.is_dropped());
    drop(trying);
    assert!(waiting.is_dropped(), "the future still running was dropped");
    assert!(error.is_dropped(), "the error collected so far was dropped");
}
