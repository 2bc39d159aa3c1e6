//! Nested deadlines: the earliest bounds the work; when several expire together, the outermost
//! reports and the code between the scopes does not run.

use std::future::pending;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use corral::time::{Deadline, timeout};
use tokio::time::{Instant, sleep};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn when_both_expire_together_the_outer_reports_and_the_code_between_does_not_run() {
    let between = AtomicBool::new(false);
    let outer = Deadline::after(50 * MS);
    let inner = Deadline::after(50 * MS);
    let result = outer
        .run(async {
            let r = inner.run(pending::<()>()).await;
            between.store(true, Ordering::SeqCst); // "the inner operation timed out" handling
            r
        })
        .await;
    let elapsed = result.unwrap_err();
    assert!(elapsed.is_from(&outer));
    assert!(!between.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn plain_timeouts_nest_the_same_way() {
    let between = AtomicBool::new(false);
    let start = Instant::now();
    let result = timeout(30 * MS, async {
        let r = timeout(30 * MS, sleep(Duration::from_secs(1))).await;
        between.store(true, Ordering::SeqCst);
        r
    })
    .await;
    assert!(result.is_err(), "the outer scope reported");
    assert_eq!(start.elapsed(), 30 * MS);
    assert!(!between.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn an_earlier_inner_deadline_reports_and_the_code_between_runs() {
    let outer = Deadline::after(100 * MS);
    let inner = Deadline::after(10 * MS);
    let result = outer
        .run(async {
            let r = inner.run(pending::<()>()).await;
            assert!(r.unwrap_err().is_from(&inner));
            "handled the inner timeout"
        })
        .await;
    assert_eq!(result, Ok("handled the inner timeout"));
}

#[tokio::test(start_paused = true)]
async fn an_earlier_outer_deadline_cuts_the_inner_scope_short() {
    let outer = Deadline::after(10 * MS);
    let inner = Deadline::after(100 * MS);
    let start = Instant::now();
    let err = outer.run(inner.run(pending::<()>())).await.unwrap_err();
    assert!(err.is_from(&outer));
    assert_eq!(start.elapsed(), 10 * MS);
}

#[tokio::test(start_paused = true)]
async fn the_outermost_of_three_expired_scopes_reports() {
    let (a, b, c) = (
        Deadline::after(20 * MS),
        Deadline::after(20 * MS),
        Deadline::after(20 * MS),
    );
    let reached = AtomicBool::new(false);
    let err = a
        .run(async {
            let r = b.run(c.run(pending::<()>())).await;
            reached.store(true, Ordering::SeqCst);
            r
        })
        .await
        .unwrap_err();
    assert!(err.is_from(&a));
    assert!(!reached.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn an_expired_scope_outside_an_unexpired_one_still_reports() {
    // a (expired) > b (not expired) > c (expired): a reports, b is cut short.
    let a = Deadline::after(20 * MS);
    let b = Deadline::after(Duration::from_secs(60));
    let c = Deadline::after(20 * MS);
    let err = a.run(b.run(c.run(pending::<()>()))).await.unwrap_err();
    assert!(err.is_from(&a));
}

#[tokio::test(start_paused = true)]
async fn deadlines_in_spawned_tasks_are_not_nested_in_the_spawner() {
    // A spawned task is not inside the scope that spawned it: when both deadlines pass
    // together, each side reports its own, on time.
    let outer = Deadline::after(10 * MS);
    let own = Deadline::after(10 * MS);
    let start = Instant::now();
    let mut spawned = None;
    let result = outer
        .run(async {
            let own = own.clone();
            spawned = Some(tokio::spawn(async move {
                let result = own.run(pending::<()>()).await;
                (result.map_err(|e| e.is_from(&own)), Instant::now())
            }));
            pending::<()>().await
        })
        .await;
    assert!(
        result.unwrap_err().is_from(&outer),
        "the spawner's own deadline"
    );
    let (inner, fired_at) = spawned.expect("spawned").await.expect("no panic");
    assert_eq!(inner, Err(true), "the spawned task saw its own deadline");
    assert_eq!(fired_at - start, 10 * MS, "and it fired on time");
}

#[tokio::test(start_paused = true)]
async fn a_scope_without_a_deadline_passes_a_deferral_on() {
    // a (expired) > b (no deadline) > c (expired): a reports, through b.
    let a = Deadline::after(20 * MS);
    let b = Deadline::never();
    let c = Deadline::after(20 * MS);
    let err = a.run(b.run(c.run(pending::<()>()))).await.unwrap_err();
    assert!(err.is_from(&a));
    let err = timeout(
        20 * MS,
        timeout(Duration::MAX, timeout(20 * MS, pending::<()>())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.deadline(), Instant::now());
}
