//! Deadline: one deadline over many operations, rescheduled from inside and from outside.

use std::future::pending;
use std::time::Duration;

use corral::time::Deadline;
use tokio::time::{Instant, advance, sleep};
use tokio_test::{assert_pending, assert_ready, task};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn one_deadline_bounds_several_operations() {
    let budget = Deadline::after(250 * MS);
    assert_eq!(budget.run(sleep(100 * MS)).await, Ok(()));
    assert_eq!(budget.remaining(), 150 * MS);
    assert_eq!(budget.run(sleep(100 * MS)).await, Ok(()));
    let start = Instant::now();
    let err = budget.run(sleep(100 * MS)).await.unwrap_err();
    assert_eq!(start.elapsed(), 50 * MS);
    assert!(err.is_from(&budget));
    assert!(budget.expired());
    assert_eq!(budget.remaining(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn an_expired_deadline_fires_at_the_first_await_of_every_later_run() {
    let deadline = Deadline::after(Duration::ZERO);
    assert_eq!(deadline.run(async { 1 }).await, Ok(1));
    let mut run = task::spawn(deadline.run(pending::<()>()));
    assert!(assert_ready!(run.poll()).is_err());
}

#[tokio::test(start_paused = true)]
async fn rescheduling_later_from_inside_extends_the_running_operation() {
    let watchdog = Deadline::after(100 * MS);
    let pages = watchdog
        .run(async {
            for page in 1..=5 {
                sleep(80 * MS).await;
                watchdog.reschedule(Instant::now() + 100 * MS);
                if page == 5 {
                    return page;
                }
            }
            0
        })
        .await;
    assert_eq!(pages, Ok(5));
}

#[tokio::test(start_paused = true)]
async fn rescheduling_earlier_from_another_task_wakes_a_waiting_operation() {
    let deadline = Deadline::after(Duration::from_secs(3600));
    let remote = deadline.clone();
    tokio::spawn(async move {
        sleep(10 * MS).await;
        remote.reschedule(Instant::now() + 5 * MS);
    });
    let start = Instant::now();
    let err = deadline.run(pending::<()>()).await.unwrap_err();
    assert_eq!(
        start.elapsed(),
        15 * MS,
        "fired at the new, earlier deadline"
    );
    assert_eq!(err.deadline(), start + 15 * MS);
}

#[tokio::test(start_paused = true)]
async fn rescheduling_into_the_past_fires_at_once() {
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut run = task::spawn(deadline.run(pending::<()>()));
    assert_pending!(run.poll());
    deadline.reschedule(Instant::now() - 5 * MS);
    assert!(run.is_woken(), "the waiting run was woken");
    assert!(assert_ready!(run.poll()).is_err());
}

#[tokio::test(start_paused = true)]
async fn rescheduling_later_from_outside_lets_a_run_continue() {
    let deadline = Deadline::after(10 * MS);
    let mut run = task::spawn(deadline.run(sleep(30 * MS)));
    assert_pending!(run.poll());
    deadline.reschedule(Instant::now() + 50 * MS);
    advance(20 * MS).await; // the old deadline passes
    assert_pending!(run.poll());
    advance(10 * MS).await;
    assert_eq!(assert_ready!(run.poll()), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn clones_are_the_same_deadline() {
    let a = Deadline::after(10 * MS);
    let b = a.clone();
    b.reschedule(a.instant() + 10 * MS);
    assert_eq!(a.remaining(), 20 * MS);
    let err = a.run(pending::<()>()).await.unwrap_err();
    assert!(err.is_from(&b));
    assert!(!err.is_from(&Deadline::after(MS)));
}

#[tokio::test(start_paused = true)]
async fn runs_in_separate_tasks_all_fire() {
    let deadline = Deadline::after(20 * MS);
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let d = deadline.clone();
            tokio::spawn(async move { d.run(pending::<()>()).await.is_err() })
        })
        .collect();
    sleep(5 * MS).await;
    deadline.reschedule(Instant::now() + 5 * MS);
    let start = Instant::now();
    for handle in handles {
        assert!(handle.await.unwrap());
    }
    assert_eq!(start.elapsed(), 5 * MS);
}

#[tokio::test]
async fn an_expired_deadline_fires_at_the_first_await_on_a_real_clock() {
    let deadline = Deadline::after(Duration::ZERO);
    for _ in 0..100 {
        assert_eq!(deadline.run(async { 1 }).await, Ok(1));
        let mut run = task::spawn(deadline.run(pending::<()>()));
        assert!(assert_ready!(run.poll()).unwrap_err().is_from(&deadline));
    }
}

#[tokio::test]
async fn rescheduling_into_the_past_fires_at_the_next_poll_on_a_real_clock() {
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut run = task::spawn(deadline.run(pending::<()>()));
    assert_pending!(run.poll());
    deadline.reschedule(Instant::now());
    assert!(run.is_woken(), "the waiting run was woken");
    assert!(assert_ready!(run.poll()).is_err(), "no timer tick needed");
}
