//! wait: spawns, returns (done, pending), pending tasks keep running and abort on drop.

use std::future::pending;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use corral::task::{Done, WaitFor, wait};
use futures::FutureExt;
use tokio::time::{Instant, sleep};

use crate::support::DropFlag;

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

#[tokio::test(start_paused = true)]
async fn dropping_pending_tasks_aborts_them() {
    let flag = DropFlag::new();
    let guard = flag.guard();
    let jobs: Vec<Job> = vec![
        Box::pin(async move {
            let _guard = guard;
            pending().await
        }),
        Box::pin(after(1, 1)),
    ];
    let (_, still_running) = wait(jobs, WaitFor::FirstCompleted, None).await;
    assert!(!flag.is_dropped());
    drop(still_running);
    tokio::task::yield_now().await;
    assert!(
        flag.is_dropped(),
        "nothing wait spawned outlives its handle"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_wait_future_aborts_its_tasks() {
    let flag = DropFlag::new();
    let guard = flag.guard();
    let job = async move {
        let _guard = guard;
        pending::<Result<(), String>>().await
    };
    let _ = tokio::time::timeout(
        Duration::from_millis(5),
        wait([job], WaitFor::AllCompleted, None),
    )
    .await;
    tokio::task::yield_now().await;
    assert!(flag.is_dropped());
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
