//! When a run stops: predicate, panics, cancellations, deadlines; reuse and cancel safety.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral::pool::{SubmitError, WorkerPool};
use corral::retry::{GiveUp, Retry};
use corral::task::{BoxError, ErrorGroup, TaskGroup};
use corral::time::Deadline;
use tokio::time::Instant;

use crate::support::{Captured, DropFlag, paused_runtime};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, PartialEq)]
enum Fault {
    Transient,
    Fatal,
}

#[tokio::test(start_paused = true)]
async fn predicate_stops_at_an_error_not_worth_retrying() {
    let retry = Retry::fixed(ms(10))
        .max_attempts(10)
        .when(|e: &Fault| *e == Fault::Transient);
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            let fault = if calls < 3 {
                Fault::Transient
            } else {
                Fault::Fatal
            };
            async move { Err::<(), _>(fault) }
        })
        .await
        .unwrap_err();
    assert_eq!(calls, 3);
    assert_eq!(err.attempts(), 3);
    assert_eq!(err.reason(), GiveUp::NotRetryable);
    assert_eq!(err.into_inner(), Fault::Fatal);
}

#[tokio::test(start_paused = true)]
async fn zero_attempts_still_runs_once() {
    let retry = Retry::fixed(ms(10)).max_attempts(0);
    let err = retry.run(|| async { Err::<(), _>(1) }).await.unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (1, GiveUp::Attempts));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_attempt_is_not_retried() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let run = tokio::spawn(async move {
        Retry::fixed(ms(10))
            .max_attempts(5)
            .run(|| {
                counter.fetch_add(1, Ordering::SeqCst);
                async { panic!("attempt exploded") as Result<(), &str> }
            })
            .await
            .map_err(|e: corral::retry::RetryError<&str>| e.attempts())
    });
    let err = run.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_task_is_not_retried_whatever_the_predicate() {
    let retry = Retry::fixed(ms(10)).max_attempts(5);
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            async {
                let handle = tokio::spawn(std::future::pending::<()>());
                handle.abort();
                handle.await
            }
        })
        .await
        .unwrap_err();
    assert_eq!(calls, 1);
    assert!(err.last().is_cancelled());
    assert_eq!(err.reason(), GiveUp::NotRetryable);
}

#[tokio::test(start_paused = true)]
async fn a_panicked_task_is_not_retried() {
    let retry = Retry::fixed(ms(10))
        .max_attempts(5)
        .when(|_: &tokio::task::JoinError| true);
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            tokio::spawn(async { panic!("inside") })
        })
        .await
        .unwrap_err();
    assert_eq!(calls, 1);
    assert!(err.last().is_panic());
}

#[tokio::test(start_paused = true)]
async fn a_boxed_cancellation_is_not_retried() {
    let retry = Retry::fixed(ms(10)).max_attempts(5);
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            async {
                let group: TaskGroup<BoxError> = TaskGroup::new();
                let spawner = group.spawner();
                group
                    .join()
                    .await
                    .map_err(|e| -> BoxError { Box::new(e) })?;
                let late = spawner.spawn(async { Ok(()) }); // never starts
                late.await.map_err(BoxError::from)
            }
        })
        .await
        .unwrap_err();
    assert_eq!(calls, 1);
    assert_eq!(err.reason(), GiveUp::NotRetryable);
    // an ordinary boxed error is retried
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            async { Err::<(), BoxError>("plain".into()) }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, err.reason()), (5, GiveUp::Attempts));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_group_is_not_retried_bare_or_boxed_whatever_the_predicate() {
    /// A group cancelled from outside with work running: its `ErrorGroup` says cancelled.
    async fn cancelled_group() -> Result<(), ErrorGroup<BoxError>> {
        let group: TaskGroup<BoxError> = TaskGroup::new();
        group.spawn(std::future::pending::<Result<(), BoxError>>());
        group.token().cancel();
        group.join().await
    }
    let retry = Retry::fixed(ms(10))
        .max_attempts(5)
        .when(|_: &ErrorGroup<BoxError>| true);
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            cancelled_group()
        })
        .await
        .unwrap_err();
    assert_eq!((calls, err.reason()), (1, GiveUp::NotRetryable));
    assert!(err.last().is_cancelled());

    let boxed = Retry::fixed(ms(10)).max_attempts(5);
    let mut calls = 0;
    let err = boxed
        .run(|| {
            calls += 1;
            async { cancelled_group().await.map_err(BoxError::from) }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, err.reason()), (1, GiveUp::NotRetryable));

    // A group that failed with a real error is retried.
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            async {
                let group: TaskGroup<BoxError> = TaskGroup::new();
                group.spawn(async { Err::<(), BoxError>("refused".into()) });
                group.join().await
            }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, err.reason()), (5, GiveUp::Attempts));
}

#[tokio::test(start_paused = true)]
async fn a_worker_job_that_panicked_or_found_the_pool_shut_is_not_retried() {
    let pool = WorkerPool::new(1, |n: u32| async move {
        match n {
            0 => panic!("zero is not allowed"),
            n => Err::<u32, BoxError>(format!("{n} failed").into()),
        }
    });
    let retry = Retry::fixed(ms(10))
        .max_attempts(5)
        .when(|_: &SubmitError<BoxError>| true);
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            pool.submit(0)
        })
        .await
        .unwrap_err();
    assert_eq!((calls, err.reason()), (1, GiveUp::NotRetryable));
    assert!(matches!(err.last(), SubmitError::Panicked(_)));

    // A job that failed with its handler's error is retried.
    let mut calls = 0;
    let err = retry
        .run(|| {
            calls += 1;
            pool.submit(1)
        })
        .await
        .unwrap_err();
    assert_eq!((calls, err.reason()), (5, GiveUp::Attempts));

    // Boxed, and a pool that was shut down.
    pool.shutdown().await;
    let mut calls = 0;
    let err = Retry::fixed(ms(10))
        .max_attempts(5)
        .run(|| {
            calls += 1;
            async { pool.submit(1).await.map_err(BoxError::from) }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, err.reason()), (1, GiveUp::NotRetryable));
}

#[tokio::test(start_paused = true)]
async fn a_deadline_ends_the_run_during_a_wait() {
    let retry = Retry::exponential(ms(100)).max_attempts(u32::MAX);
    let deadline = Deadline::after(ms(250));
    let start = Instant::now();
    let mut calls = 0;
    let result = deadline
        .run(retry.run(|| {
            calls += 1;
            async { Err::<(), _>("down") }
        }))
        .await;
    let elapsed = result.unwrap_err();
    assert!(elapsed.is_from(&deadline));
    assert_eq!(start.elapsed(), ms(250)); // in the 200 ms wait that began at 100 ms
    assert_eq!(calls, 2);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_ends_the_run_during_an_attempt() {
    let retry = Retry::fixed(ms(10)).max_attempts(u32::MAX);
    let deadline = Deadline::after(ms(250));
    let flag = DropFlag::new();
    let start = Instant::now();
    let result = deadline
        .run(retry.run(|| {
            let guard = flag.guard();
            async move {
                tokio::time::sleep(ms(1_000)).await;
                drop(guard);
                Err::<(), _>("slow")
            }
        }))
        .await;
    assert!(result.unwrap_err().is_from(&deadline));
    assert_eq!(start.elapsed(), ms(250));
    assert!(flag.is_dropped(), "the attempt in flight was dropped");
}

#[tokio::test(start_paused = true)]
async fn one_policy_serves_concurrent_runs_each_with_its_own_count() {
    let retry = Arc::new(Retry::exponential(ms(100)).max_attempts(3));
    let a = {
        let retry = retry.clone();
        tokio::spawn(async move {
            let mut calls = 0;
            retry
                .run(|| {
                    calls += 1;
                    let ok = calls == 2;
                    async move { if ok { Ok(calls) } else { Err("a") } }
                })
                .await
        })
    };
    let b = {
        let retry = retry.clone();
        tokio::spawn(async move { retry.run(|| async { Err::<u32, _>("b") }).await })
    };
    assert_eq!(a.await.unwrap().unwrap(), 2);
    assert_eq!(b.await.unwrap().unwrap_err().attempts(), 3);
    // and again, after both runs
    let cloned = (*retry).clone();
    assert_eq!(
        cloned
            .run(|| async { Err::<(), _>(0) })
            .await
            .unwrap_err()
            .attempts(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_mid_wait_starts_no_further_attempt() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let retry = Retry::fixed(ms(100)).max_attempts(5);
    let mut run = tokio_test::task::spawn(retry.run(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), _>("down") }
    }));
    tokio_test::assert_pending!(run.poll()); // first attempt failed, now waiting
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    drop(run);
    tokio::time::advance(ms(1_000)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_mid_attempt_drops_the_attempt() {
    let flag = DropFlag::new();
    let retry = Retry::fixed(ms(100));
    let mut run = tokio_test::task::spawn(retry.run(|| {
        let guard = flag.guard();
        async move {
            std::future::pending::<()>().await;
            drop(guard);
            Err::<(), &str>("never")
        }
    }));
    tokio_test::assert_pending!(run.poll());
    assert!(!flag.is_dropped());
    drop(run);
    assert!(flag.is_dropped());
}

#[test]
fn a_panicking_hook_is_reported_and_the_run_goes_on() {
    let captured = Captured::default();
    let err = captured.run(|| {
        paused_runtime().block_on(async {
            Retry::fixed(ms(10))
                .max_attempts(3)
                .on_retry(|_, _: &&str, _| panic!("hook exploded"))
                .run(|| async { Err::<(), _>("down") })
                .await
                .unwrap_err()
        })
    });
    assert_eq!(err.attempts(), 3);
    let events = captured.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].contains("Retry hook") && events[0].contains("hook exploded"));
}

/// A wait that never ends (`Duration::MAX`) means no retry will come: the run gives up at
/// once with the last error and `GiveUp::Elapsed`, and the hook is not told of a wait that
/// will not happen. Before, it slept the 30 years Tokio's `sleep` caps a wait at, then retried.
#[tokio::test(start_paused = true)]
async fn a_wait_that_never_ends_gives_up_at_once() {
    let hooked = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&hooked);
    let retry = Retry::fixed(Duration::MAX)
        .max_attempts(2)
        .on_retry(move |_, _: &&str, _| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
    let mut calls = 0;
    let mut run = tokio_test::task::spawn(retry.run(|| {
        calls += 1;
        async { Err::<(), _>("busy") }
    }));
    let err = tokio_test::assert_ready!(run.poll()).unwrap_err();
    drop(run);
    assert_eq!(
        (err.attempts(), err.reason(), *err.last(), calls),
        (1, GiveUp::Elapsed, "busy", 1)
    );
    assert_eq!(hooked.load(Ordering::SeqCst), 0, "no wait, no hook");
}

/// An exponential schedule that saturates at `Duration::MAX` gives up there, after the last
/// wait that ends.
#[tokio::test(start_paused = true)]
async fn a_schedule_saturated_at_duration_max_gives_up_there() {
    let waits = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&waits);
    let retry = Retry::exponential(Duration::from_secs(1))
        .factor(1e12)
        .max_attempts(u32::MAX)
        .on_retry(move |_, _: &&str, delay| seen.lock().unwrap().push(delay));
    let start = Instant::now();
    let err = retry
        .run(|| async { Err::<(), _>("busy") })
        .await
        .unwrap_err();
    // 1 s, then 10^12 s (31,700 years, kept exactly), then past the end of the clock.
    assert_eq!((err.attempts(), err.reason()), (3, GiveUp::Elapsed));
    let waits = waits.lock().unwrap().clone();
    assert_eq!(
        waits,
        [
            Duration::from_secs(1),
            Duration::from_secs(1_000_000_000_000)
        ]
    );
    assert_eq!(start.elapsed(), waits.iter().sum::<Duration>());
}

/// A wait longer than Tokio's 30-year cap is kept exactly, and the hook is told that wait.
#[tokio::test(start_paused = true)]
async fn a_wait_of_a_century_is_kept_exactly() {
    let century = Duration::from_secs(100 * 365 * 86_400);
    let start = Instant::now();
    let mut calls = 0;
    let err = Retry::fixed(century)
        .max_attempts(2)
        .run(|| {
            calls += 1;
            async { Err::<(), _>("busy") }
        })
        .await
        .unwrap_err();
    assert_eq!((err.attempts(), calls), (2, 2));
    assert_eq!(start.elapsed(), century);
}
