//! corral::scope: reverse-order cleanups on every path, every failure kept or reported,
//! dropped stacks and sessions handing their cleanups on, and the session protocol.
#![allow(clippy::unwrap_used)]

#[path = "../support/reports.rs"]
mod reports;
#[path = "../support/mod.rs"]
mod support;

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use crate::reports::Reports;
use corral::scope::{ExitStack, Session, with_resource, with_session};
use corral::task::BoxError;
use futures::FutureExt;
use tokio::sync::oneshot;

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// A cleanup that records its name (after `delay`) and then succeeds or fails.
fn step(
    log: &Log,
    name: &'static str,
    delay: Duration,
    fail: bool,
) -> impl Future<Output = Result<(), BoxError>> + Send + 'static {
    let log = log.clone();
    async move {
        tokio::time::sleep(delay).await;
        log.lock().unwrap().push(name.to_owned());
        if fail {
            Err(format!("{name} failed").into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test(start_paused = true)]
async fn close_runs_cleanups_in_reverse_order() {
    let log = log();
    let mut stack = ExitStack::new();
    for name in ["first", "second", "third"] {
        stack.push(step(&log, name, Duration::from_millis(10), false));
    }
    stack.callback({
        let log = log.clone();
        move || log.lock().unwrap().push("callback".into())
    });
    assert_eq!(stack.len(), 4);
    stack.close().await.unwrap();
    assert_eq!(entries(&log), ["callback", "third", "second", "first"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_cleanup_does_not_stop_the_others_and_every_error_is_returned() {
    let log = log();
    let mut stack = ExitStack::new();
    stack.push(step(&log, "a", Duration::ZERO, true));
    stack.push(step(&log, "b", Duration::ZERO, false));
    stack.push(step(&log, "c", Duration::ZERO, true));
    let errors = stack.close().await.unwrap_err();
    assert_eq!(entries(&log), ["c", "b", "a"]);
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["c failed", "a failed"]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_cleanup_resumes_after_all_ran_and_the_errors_are_reported() {
    let reports = Reports::collect();
    let log = log();
    let mut stack = ExitStack::new();
    stack.push(step(&log, "a", Duration::ZERO, true));
    stack.push(async { panic!("cleanup exploded") });
    stack.push(step(&log, "c", Duration::ZERO, false));
    assert_eq!(closing_panics(stack).await, "cleanup exploded");
    assert_eq!(
        entries(&log),
        ["c", "a"],
        "the cleanup after the panic still ran"
    );
    assert_eq!(reports.lines(), ["ExitStack: \"a failed\""]);
}

/// Closes `stack`, which must resume a cleanup's panic; returns the panic's message.
async fn closing_panics<E: std::fmt::Debug + Send + 'static>(stack: ExitStack<E>) -> String {
    let payload = AssertUnwindSafe(stack.close())
        .catch_unwind()
        .await
        .expect_err("a cleanup panicked");
    payload
        .downcast_ref::<&str>()
        .map_or_else(|| "<not a str>".to_owned(), |message| (*message).to_owned())
}

/// An error whose destructor panics.
#[derive(Debug)]
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("the error's destructor panicked");
    }
}

// The errors are reported, then dropped, before the cleanup's panic is resumed: an error
// whose destructor panics is reported too, and the panic resumed is still the cleanup's.
#[tokio::test(start_paused = true)]
async fn an_error_whose_destructor_panics_does_not_replace_the_cleanups_panic() {
    let reports = Reports::collect();
    let mut stack: ExitStack<PanicsOnDrop> = ExitStack::default();
    stack.push(async { Err(PanicsOnDrop) });
    stack.push(async { panic!("cleanup exploded") });
    assert_eq!(closing_panics(stack).await, "cleanup exploded");
    assert_eq!(
        reports.lines(),
        [
            "ExitStack: PanicsOnDrop",
            "ExitStack: dropping the reported failure panicked: \"the error's destructor panicked\"",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn pop_all_moves_the_cleanups_and_leaves_the_stack_empty() {
    let log = log();
    let mut stack = ExitStack::new();
    stack.push(step(&log, "a", Duration::ZERO, false));
    stack.push(step(&log, "b", Duration::ZERO, false));
    let moved = stack.pop_all();
    assert!(stack.is_empty());
    stack.close().await.unwrap();
    assert!(entries(&log).is_empty(), "the emptied stack ran nothing");
    moved.close().await.unwrap();
    assert_eq!(entries(&log), ["b", "a"]);
}

#[tokio::test]
async fn enter_returns_the_resource_and_releases_it_on_close() {
    let log = log();
    let mut stack = ExitStack::new();
    let released = log.clone();
    let conn = stack
        .enter(
            async { Ok::<_, BoxError>(String::from("conn-1")) },
            move |conn| async move {
                released.lock().unwrap().push(format!("released {conn}"));
                Ok(())
            },
        )
        .await
        .unwrap();
    assert_eq!(*conn, "conn-1");
    assert!(entries(&log).is_empty(), "not released before close");
    stack.close().await.unwrap();
    assert_eq!(entries(&log), ["released conn-1"]);
}

#[tokio::test]
async fn a_failed_acquire_registers_nothing() {
    let mut stack = ExitStack::new();
    let failed = stack
        .enter(
            async { Err::<u32, BoxError>("refused".into()) },
            |_| async { panic!("never released") },
        )
        .await;
    assert_eq!(failed.unwrap_err().to_string(), "refused");
    assert!(stack.is_empty());
    stack.close().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn enter_dropped_mid_acquire_registers_nothing() {
    let mut stack = ExitStack::new();
    let acquire = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, BoxError>(1)
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(1),
        stack.enter(acquire, |_| async { Ok(()) }),
    )
    .await;
    assert!(outcome.is_err());
    assert!(stack.is_empty());
    stack.close().await.unwrap();
}

async fn process(log: Log, done: oneshot::Sender<()>, fail_early: bool) -> Result<(), BoxError> {
    let mut stack = ExitStack::new();
    stack.push({
        let log = log.clone();
        async move {
            log.lock().unwrap().push("first".into());
            done.send(()).map_err(|()| "receiver gone")?;
            Ok(())
        }
    });
    stack.push(step(&log, "second", Duration::from_millis(10), false));
    if fail_early {
        Err("early return")?; // drops the stack without close
    }
    stack.close().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_early_return_still_runs_the_cleanups_in_reverse_order() {
    let log = log();
    let (done_tx, done_rx) = oneshot::channel();
    let outcome = process(log.clone(), done_tx, true).await;
    assert_eq!(outcome.unwrap_err().to_string(), "early return");
    done_rx.await.unwrap();
    assert_eq!(entries(&log), ["second", "first"]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_whole_future_mid_way_still_runs_the_cleanups_in_order() {
    let log = log();
    let (done_tx, done_rx) = oneshot::channel();
    let work = {
        let log = log.clone();
        async move {
            let mut stack = ExitStack::new();
            stack.push({
                let log = log.clone();
                async move {
                    log.lock().unwrap().push("close connection".into());
                    let _ = done_tx.send(());
                    Ok(())
                }
            });
            stack.push(step(&log, "flush file", Duration::from_millis(50), false));
            tokio::time::sleep(Duration::from_secs(60)).await; // the work that gets cancelled
            stack.close().await
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(1), work)
            .await
            .is_err()
    );
    done_rx.await.unwrap();
    assert_eq!(entries(&log), ["flush file", "close connection"]);
}

#[tokio::test(start_paused = true)]
async fn dropping_close_mid_way_hands_the_rest_on_and_reports_the_errors_seen() {
    let reports = Reports::collect();
    let log = log();
    let (done_tx, done_rx) = oneshot::channel();
    let mut stack = ExitStack::new();
    stack.push({
        let log = log.clone();
        async move {
            log.lock().unwrap().push("a".into());
            let _ = done_tx.send(());
            Ok(())
        }
    });
    stack.push(step(&log, "b (slow)", Duration::from_secs(2), false));
    stack.push(step(&log, "c", Duration::ZERO, true));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), stack.close())
            .await
            .is_err()
    );
    done_rx.await.unwrap();
    assert_eq!(
        entries(&log),
        ["c", "b (slow)", "a"],
        "the interrupted cleanup finished, none skipped"
    );
    assert_eq!(reports.lines(), ["ExitStack: \"c failed\""]);
}

#[tokio::test(start_paused = true)]
async fn cleanups_of_a_dropped_stack_are_bounded_by_the_drop_timeout() {
    let reports = Reports::collect();
    let log = log();
    let mut stack = ExitStack::new().drop_timeout(Duration::from_secs(1));
    stack.push(step(&log, "never", Duration::from_secs(3600), false));
    drop(stack);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(entries(&log).is_empty());
    reports.assert_only("timed out after 1s: 1 of 1 did not finish");
}

#[tokio::test(start_paused = true)]
async fn a_drop_timeout_reaching_the_end_of_time_lets_the_cleanups_finish() {
    let reports = Reports::collect();
    let log = log();
    let mut stack = ExitStack::new().drop_timeout(support::almost_forever());
    stack.push(step(&log, "slow", Duration::from_secs(3600), false));
    drop(stack);
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert_eq!(entries(&log), ["slow"]);
    assert!(reports.lines().is_empty(), "{:?}", reports.lines());
}

#[test]
fn a_stack_dropped_as_its_runtime_shuts_down_reports_what_did_not_run() {
    let reports = Reports::collect();
    let log = log();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (holding, held) = oneshot::channel();
    let cleanup_log = log.clone();
    runtime.spawn(async move {
        let mut stack: ExitStack = ExitStack::new();
        stack.push(step(&cleanup_log, "cleanup", Duration::ZERO, false));
        let _ = holding.send(());
        std::future::pending::<()>().await;
        drop(stack);
    });
    runtime.block_on(held).expect("the task holds its stack");
    // Shutting down drops the task, and with it the stack: Tokio drops the task the stack
    // spawns for its cleanups on the spot.
    drop(runtime);
    assert!(entries(&log).is_empty());
    reports.assert_only("the runtime shut down before 1 cleanups of a dropped stack ran");
}

#[test]
fn a_stack_dropped_outside_a_runtime_reports_what_it_could_not_run() {
    let reports = Reports::collect();
    let mut stack = ExitStack::new();
    stack.callback(|| ());
    stack.callback(|| ());
    drop(stack);
    reports.assert_only("2 cleanups could not run");
}

/// Old code: `run_detached` was an `async fn`, so a runtime shutting down dropped it unpolled
/// with the cleanups still its bare `Vec` argument, not yet in the guard that drops each under
/// a catch: Tokio swallowed the destructor's panic, and only "the runtime shut down before 1
/// cleanups ... ran" was reported.
#[test]
fn a_cleanup_destructor_panic_as_its_runtime_shuts_down_is_reported() {
    let reports = Reports::collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (holding, held) = oneshot::channel();
    runtime.spawn(async move {
        let mut stack: ExitStack = ExitStack::new();
        let bomb = Bomb("the cleanup's state, dropped at shutdown");
        stack.push(async move {
            let _bomb = bomb;
            Ok(())
        });
        let _ = holding.send(());
        std::future::pending::<()>().await;
        drop(stack);
    });
    runtime.block_on(held).expect("the task holds its stack");
    drop(runtime);
    reports.assert_any("the runtime shut down before 1 cleanups of a dropped stack ran");
    reports.assert_any("the cleanup's state, dropped at shutdown");
    assert_eq!(reports.lines().len(), 2, "{:?}", reports.lines());
}

/// Old code: outside a runtime the pending cleanups were dropped bare after the report, so a
/// destructor's panic left `ExitStack::drop` (an abort, had the stack been dropped while
/// unwinding).
#[test]
fn a_cleanup_destructor_panic_outside_a_runtime_is_reported_not_let_out() {
    let reports = Reports::collect();
    let mut stack = ExitStack::new();
    let bomb = Bomb("the cleanup's state, dropped off the runtime");
    stack.push(async move {
        let _bomb = bomb;
        Ok(())
    });
    stack.callback(|| ());
    let escaped = std::panic::catch_unwind(AssertUnwindSafe(|| drop(stack)));
    assert!(
        escaped.is_ok(),
        "the destructor's panic left ExitStack::drop"
    );
    reports.assert_any("dropped outside a tokio runtime: 2 cleanups could not run");
    reports.assert_any("the cleanup's state, dropped off the runtime");
    assert_eq!(reports.lines().len(), 2, "{:?}", reports.lines());
}

/// A session whose destructor panics, for dropping a `with_session` outside a runtime.
struct BombSession(#[allow(dead_code)] Bomb);

impl Session for BombSession {
    type Error = String;
    async fn rollback(&mut self) -> Result<(), String> {
        Ok(())
    }
    async fn close(self) -> Result<(), String> {
        Ok(())
    }
}

/// Polls `future` once on a runtime (so that it holds what it acquired and waits in its body),
/// and hands it back to be dropped after the runtime is gone.
fn started_off_the_runtime<F: Future>(future: F) -> Pin<Box<F>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut future = Box::pin(future);
    runtime.block_on(async {
        assert!(
            futures::poll!(future.as_mut()).is_pending(),
            "waits in its body"
        );
    });
    drop(runtime);
    future
}

/// Old code: a `with_session` dropped outside a runtime dropped its session bare after the
/// report, letting the session's destructor panic out of the guard's `drop`.
#[test]
fn a_session_dropped_outside_a_runtime_reports_its_destructor_panic_not_lets_it_out() {
    let reports = Reports::collect();
    let work = started_off_the_runtime(with_session(
        async { Ok(BombSession(Bomb("the session's destructor"))) },
        async |_: &mut BombSession| {
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        },
    ));
    let escaped = std::panic::catch_unwind(AssertUnwindSafe(|| drop(work)));
    assert!(
        escaped.is_ok(),
        "the destructor's panic left the guard's drop"
    );
    reports.assert_any("the session was neither rolled back nor closed");
    reports.assert_any("the session's destructor");
    assert_eq!(reports.lines().len(), 2, "{:?}", reports.lines());
}

/// Old code: the same for `with_resource`: its resource and `on_err` were dropped bare.
#[test]
fn a_with_resource_dropped_outside_a_runtime_reports_destructor_panics_not_lets_them_out() {
    let reports = Reports::collect();
    let on_err_state = Bomb("on_err's state");
    let work = started_off_the_runtime(with_resource(
        async { Ok::<_, String>(Bomb("the resource's destructor")) },
        async |_: &mut Bomb| {
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        },
        |_| async { Ok(()) },
        move |_| {
            let _state = on_err_state;
            async { Ok(()) }
        },
    ));
    let escaped = std::panic::catch_unwind(AssertUnwindSafe(|| drop(work)));
    assert!(
        escaped.is_ok(),
        "a destructor's panic left the guard's drop"
    );
    reports.assert_any("on_err could not run");
    reports.assert_any("the resource's destructor");
    reports.assert_any("on_err's state");
    assert_eq!(reports.lines().len(), 3, "{:?}", reports.lines());
}

/// A fake database session that logs every call and can be told to fail any step (or to
/// panic in it, if its name in `fail` starts with "panic:").
struct Db {
    log: Log,
    fail: &'static [&'static str],
    closed: Option<oneshot::Sender<()>>,
}

impl Db {
    fn step(&self, name: &'static str) -> Result<(), String> {
        self.log.lock().unwrap().push(name.to_owned());
        if self
            .fail
            .iter()
            .any(|f| f.strip_prefix("panic:") == Some(name))
        {
            panic!("{name} panicked");
        }
        if self.fail.contains(&name) {
            Err(format!("{name} failed"))
        } else {
            Ok(())
        }
    }
}

impl Session for Db {
    type Error = String;
    async fn commit(&mut self) -> Result<(), String> {
        self.step("commit")
    }
    fn rollback(&mut self) -> impl Future<Output = Result<(), String>> + Send {
        // "droppanic:rollback": the rollback's future panics when it is dropped, after it
        // completed (as a hand-written future, or a combinator holding its parts, may).
        let armed = self.fail.contains(&"droppanic:rollback");
        let rollback = Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.step("rollback")
        });
        PanicsWhenDropped { rollback, armed }
    }
    async fn close(mut self) -> Result<(), String> {
        if let Some(closed) = self.closed.take() {
            let _ = closed.send(());
        }
        self.step("close")
    }
}

/// A future that panics when it is dropped, if `armed`.
struct PanicsWhenDropped<F> {
    rollback: Pin<Box<F>>,
    armed: bool,
}

impl<F: Future> Future for PanicsWhenDropped<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        self.rollback.as_mut().poll(cx)
    }
}

impl<F> Drop for PanicsWhenDropped<F> {
    fn drop(&mut self) {
        if self.armed {
            panic!("the rollback future panicked as it was dropped");
        }
    }
}

fn db(
    log: &Log,
    fail: &'static [&'static str],
) -> impl Future<Output = Result<Db, String>> + use<> {
    let log = log.clone();
    async move {
        Ok(Db {
            log,
            fail,
            closed: None,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_successful_body_commits_then_closes() {
    let log = log();
    let value = with_session(db(&log, &[]), async |db: &mut Db| {
        db.step("insert").map(|()| 7)
    })
    .await
    .unwrap();
    assert_eq!(value, 7);
    assert_eq!(entries(&log), ["insert", "commit", "close"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_body_rolls_back_then_closes_and_its_error_wins() {
    let log = log();
    let failure = with_session(db(&log, &["insert"]), async |db: &mut Db| db.step("insert"))
        .await
        .unwrap_err();
    assert_eq!(entries(&log), ["insert", "rollback", "close"]);
    assert_eq!(failure.error(), "insert failed");
    assert!(failure.suppressed().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failing_commit_is_rolled_back() {
    let log = log();
    let failure = with_session(db(&log, &["commit"]), async |db: &mut Db| db.step("insert"))
        .await
        .unwrap_err();
    assert_eq!(entries(&log), ["insert", "commit", "rollback", "close"]);
    assert_eq!(failure.error(), "commit failed");
}

#[tokio::test(start_paused = true)]
async fn rollback_and_close_errors_are_attached_to_the_body_error_not_in_its_place() {
    let log = log();
    let failure = with_session(
        db(&log, &["insert", "rollback", "close"]),
        async |db: &mut Db| db.step("insert"),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.error(), "insert failed");
    assert_eq!(failure.suppressed(), ["rollback failed", "close failed"]);
    assert_eq!(
        failure.to_string(),
        "insert failed (and 2 errors while cleaning up, first: rollback failed)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_close_error_after_success_is_the_error() {
    let log = log();
    let failure = with_session(db(&log, &["close"]), async |_: &mut Db| Ok::<_, String>(1))
        .await
        .unwrap_err();
    assert_eq!(failure.error(), "close failed");
    assert_eq!(entries(&log), ["commit", "close"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_acquire_runs_no_step() {
    let failure = with_session(
        async { Err::<Db, _>("no connection".to_owned()) },
        async |_: &mut Db| Ok::<_, String>(()),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.into_error(), "no connection");
}

#[tokio::test(start_paused = true)]
async fn a_session_dropped_mid_body_is_rolled_back_and_closed_on_a_task() {
    let log = log();
    drop_mid_body_until_closed(&log, &[]).await;
    assert_eq!(entries(&log), ["insert", "rollback", "close"]);
}

/// A session whose `close` says so on `closed`.
fn watched_db(
    log: &Log,
    fail: &'static [&'static str],
) -> (
    impl Future<Output = Result<Db, String>> + use<>,
    oneshot::Receiver<()>,
) {
    let (closed_tx, closed_rx) = oneshot::channel();
    let log = log.clone();
    let acquire = async move {
        Ok(Db {
            log,
            fail,
            closed: Some(closed_tx),
        })
    };
    (acquire, closed_rx)
}

/// Runs `with_session` on a session failing `fail`, drops it in the middle of its body (after
/// "insert"), and waits until the session is closed on the task its guard spawned.
async fn drop_mid_body_until_closed(log: &Log, fail: &'static [&'static str]) {
    let (acquire, closed) = watched_db(log, fail);
    let work = with_session(acquire, async |db: &mut Db| {
        db.step("insert")?;
        tokio::time::sleep(Duration::from_secs(60)).await;
        db.step("never")
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(1), work)
            .await
            .is_err()
    );
    closed.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_dropped_session_whose_rollback_and_close_fail_reports_both() {
    let reports = Reports::collect();
    let log = log();
    drop_mid_body_until_closed(&log, &["rollback", "close"]).await;
    assert_eq!(entries(&log), ["insert", "rollback", "close"]);
    reports.assert_any("rollback failed");
    reports.assert_any("close failed");
    // Both under the session's name (a review found the close's under "ExitStack").
    let lines = reports.lines();
    assert!(
        lines.iter().all(|line| line.starts_with("with_session")),
        "{lines:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_panics_runs_once_and_the_session_is_still_closed() {
    let reports = Reports::collect();
    let log = log();
    let (acquire, closed) = watched_db(&log, &["insert", "panic:rollback"]);
    let work = with_session(acquire, async |db: &mut Db| db.step("insert"));
    let panicked = AssertUnwindSafe(work).catch_unwind().await;
    assert!(panicked.is_err(), "the rollback's panic goes through");
    closed.await.unwrap();
    assert_eq!(entries(&log), ["insert", "rollback", "close"]);
    // The panic is resumed; the body's error, which nobody receives now, is reported.
    reports.assert_only("insert failed");
}

// The rollback of a dropped session runs under a catch that also covers dropping its future:
// a rollback that panics in its poll, or whose future panics as it is dropped after it
// completed, is reported, and the session is still closed.
#[tokio::test(start_paused = true)]
async fn a_dropped_session_whose_rollback_panics_is_still_closed() {
    let reports = Reports::collect();
    let cases: [(&'static [&'static str], &str); 2] = [
        (&["panic:rollback"], "rollback panicked"),
        (
            &["droppanic:rollback"],
            "the rollback future panicked as it was dropped",
        ),
    ];
    for (fail, reported) in cases {
        let log = log();
        drop_mid_body_until_closed(&log, fail).await;
        assert_eq!(entries(&log), ["insert", "rollback", "close"], "{fail:?}");
        reports.assert_any(reported);
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_with_resource_whose_on_err_panics_reports_it_and_lets_nothing_out() {
    let reports = Reports::collect();
    let work = with_resource(
        async { Ok::<u32, BoxError>(1) },
        async |_: &mut u32| {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        },
        |_: u32| async { Ok(()) },
        |_: u32| -> std::future::Ready<Result<(), BoxError>> { panic!("on_err panicked") },
    );
    let dropped = AssertUnwindSafe(tokio::time::timeout(Duration::from_secs(1), work))
        .catch_unwind()
        .await;
    assert!(dropped.is_ok(), "no panic got out of the dropped future");
    reports.assert_only("on_err panicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_session_and_exit_stack_futures_can_be_spawned() {
    let log = log();
    let task_log = log.clone();
    tokio::spawn(async move {
        let mut stack = ExitStack::new();
        stack.callback(|| ());
        stack.close().await.unwrap();
        with_session(db(&task_log, &[]), async |db: &mut Db| db.step("insert"))
            .await
            .unwrap();
    })
    .await
    .unwrap();
    assert_eq!(entries(&log), ["insert", "commit", "close"]);
}

/// A transaction whose end consumes it (as sqlx's does).
struct Tx {
    log: Log,
    fail_end: bool,
    ended: Option<oneshot::Sender<()>>,
}

impl Tx {
    async fn end(mut self, how: &'static str) -> Result<(), String> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.log.lock().unwrap().push(how.to_owned());
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(());
        }
        if self.fail_end {
            Err(format!("{how} failed"))
        } else {
            Ok(())
        }
    }
}

fn tx(log: &Log, fail_end: bool) -> impl Future<Output = Result<Tx, String>> + use<> {
    let log = log.clone();
    async move {
        Ok(Tx {
            log,
            fail_end,
            ended: None,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn with_resource_hands_the_resource_to_on_ok_after_success() {
    let log = log();
    let value = with_resource(
        tx(&log, false),
        async |_: &mut Tx| Ok::<_, String>(5),
        |t| t.end("commit"),
        |t| t.end("rollback"),
    )
    .await
    .unwrap();
    assert_eq!(value, 5);
    assert_eq!(entries(&log), ["commit"]);
}

#[tokio::test(start_paused = true)]
async fn with_resource_hands_it_to_on_err_after_failure_and_the_body_error_wins() {
    let log = log();
    let failure = with_resource(
        tx(&log, true),
        async |_: &mut Tx| Err::<(), _>("insert failed".to_owned()),
        |t| t.end("commit"),
        |t| t.end("rollback"),
    )
    .await
    .unwrap_err();
    assert_eq!(entries(&log), ["rollback"]);
    assert_eq!(failure.error(), "insert failed");
    assert_eq!(failure.suppressed(), ["rollback failed"]);
}

#[tokio::test(start_paused = true)]
async fn with_resource_returns_the_on_ok_error() {
    let log = log();
    let failure = with_resource(
        tx(&log, true),
        async |_: &mut Tx| Ok::<_, String>(()),
        |t| t.end("commit"),
        |t| t.end("rollback"),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.error(), "commit failed");
    assert_eq!(entries(&log), ["commit"]);
}

#[tokio::test(start_paused = true)]
async fn with_resource_dropped_mid_body_runs_on_err_on_a_task() {
    let log = log();
    let (ended_tx, ended_rx) = oneshot::channel();
    let acquire = {
        let log = log.clone();
        async move {
            Ok::<_, String>(Tx {
                log,
                fail_end: false,
                ended: Some(ended_tx),
            })
        }
    };
    let work = with_resource(
        acquire,
        async |_: &mut Tx| {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, String>(())
        },
        |t| t.end("commit"),
        |t| t.end("rollback"),
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), work)
            .await
            .is_err()
    );
    ended_rx.await.unwrap();
    assert_eq!(entries(&log), ["rollback"]);
}

#[tokio::test(start_paused = true)]
async fn a_cleanup_whose_future_panics_as_it_is_dropped_still_lets_the_others_run() {
    let log = log();
    let mut stack = ExitStack::new();
    stack.push(step(&log, "first", Duration::from_millis(10), false));
    stack.push(crate::support::ReadyThenPanicsOnDrop(
        "the cleanup's destructor",
    ));
    stack.push(step(&log, "third", Duration::from_millis(10), false));
    let payload = AssertUnwindSafe(stack.close())
        .catch_unwind()
        .await
        .expect_err("close resumes the cleanup's panic once every cleanup ran");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("the cleanup's destructor")
    );
    assert_eq!(entries(&log), ["third", "first"], "no cleanup skipped");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_stacks_cleanup_that_panics_as_it_is_dropped_skips_none_of_the_others() {
    let reports = Reports::collect();
    let log = log();
    let mut stack = ExitStack::new();
    stack.push(step(&log, "first", Duration::from_millis(10), false));
    stack.push(crate::support::ReadyThenPanicsOnDrop(
        "the cleanup's destructor",
    ));
    drop(stack); // the cleanups run on a task of their own
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(entries(&log), ["first"], "the earlier-pushed cleanup ran");
    reports.assert_only("the cleanup's destructor");
}

#[tokio::test(start_paused = true)]
async fn a_session_dropped_mid_rollback_is_rolled_back_again_and_its_failure_reported() {
    let reports = Reports::collect();
    let log = log();
    let (acquire, closed) = watched_db(&log, &["insert"]);
    let work = with_session(acquire, async |db: &mut Db| db.step("insert"));
    // The rollback takes 10 ms: dropped 5 ms into it.
    assert!(
        tokio::time::timeout(Duration::from_millis(5), work)
            .await
            .is_err()
    );
    closed.await.unwrap();
    assert_eq!(entries(&log), ["insert", "rollback", "close"]);
    reports.assert_only("insert failed");
}

#[tokio::test(start_paused = true)]
async fn a_with_resource_dropped_while_on_err_runs_reports_the_bodys_error() {
    let reports = Reports::collect();
    let work = with_resource(
        async { Ok::<u32, BoxError>(1) },
        async |_: &mut u32| Err::<(), BoxError>("the body failed".into()),
        |_: u32| async { Ok(()) },
        |_: u32| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        },
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), work)
            .await
            .is_err()
    );
    reports.assert_only("the body failed");
}

// A rollback cut short is run again even when the future is dropped while the thread unwinds
// for another reason: here a sibling in the same `join!` panics while the rollback runs (only
// a rollback that panicked itself is not run again).
#[tokio::test(start_paused = true)]
async fn a_session_dropped_mid_rollback_by_a_siblings_panic_is_rolled_back_again() {
    let reports = Reports::collect();
    let log = log();
    let (acquire, closed) = watched_db(&log, &["insert"]);
    let task = tokio::spawn(async move {
        let work = with_session(acquire, async |db: &mut Db| db.step("insert"));
        // The rollback takes 10 ms: the sibling panics 5 ms into it.
        let sibling = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            panic!("a sibling's bug");
        };
        let _ = futures::join!(work, sibling);
    });
    assert!(task.await.unwrap_err().is_panic());
    closed.await.unwrap();
    assert_eq!(
        entries(&log),
        ["insert", "rollback", "close"],
        "the rollback cut short was run again before the close"
    );
    reports.assert_only("insert failed");
}

/// Panics with its message when dropped.
struct Bomb(&'static str);

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// Drops a stack with a drop timeout of 1 s holding two cleanups: one that never finishes,
/// and one registered before it, so never started; `armed` names the one whose future panics
/// as it is dropped when the time runs out. Returns the reports.
async fn reports_of_timed_out_cleanups(armed: &'static str) -> Vec<String> {
    let reports = Reports::collect();
    let mut stack = ExitStack::new().drop_timeout(Duration::from_secs(1));
    let bomb = (armed == "unstarted").then(|| Bomb("the unstarted cleanup's destructor"));
    stack.push(async move {
        drop(bomb);
        Ok(())
    });
    let bomb = (armed == "running").then(|| Bomb("the running cleanup's destructor"));
    stack.push(async move {
        let _bomb = bomb;
        std::future::pending::<()>().await;
        Ok(())
    });
    drop(stack);
    tokio::time::sleep(Duration::from_secs(2)).await;
    reports.lines()
}

// When the drop timeout runs out, the cleanups left are dropped one by one under a catch: a
// destructor that panics is reported, and so is the timeout (the panic ended the task, lost,
// and its report blamed the runtime shutting down).
#[tokio::test(start_paused = true)]
async fn a_timed_out_cleanup_that_panics_as_it_is_dropped_is_reported_with_the_timeout() {
    for (armed, message) in [
        ("running", "the running cleanup's destructor"),
        ("unstarted", "the unstarted cleanup's destructor"),
    ] {
        let lines = reports_of_timed_out_cleanups(armed).await;
        assert_eq!(
            lines,
            [
                "ExitStack: 2 cleanups of a dropped stack timed out after 1s: 2 of 2 did not finish"
                    .to_owned(),
                format!(
                    "ExitStack: dropping a cleanup that did not finish panicked: {message:?}"
                ),
            ],
            "{armed}"
        );
    }
}

/// What a hanging cleanup holds: the test watches its receiver to see when it is let go.
fn held_until_dropped() -> (oneshot::Sender<()>, oneshot::Receiver<()>) {
    oneshot::channel()
}

/// Checks, on the paused clock, that what a hanging cleanup holds is still held just before
/// the 30 s default bound and let go just after it, and that the timeout was reported.
async fn abandoned_at_30_s(alive: &mut oneshot::Receiver<()>, reports: &Reports) {
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert_eq!(
        alive.try_recv(),
        Err(oneshot::error::TryRecvError::Empty),
        "let go before the 30 s bound"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        alive.try_recv(),
        Err(oneshot::error::TryRecvError::Closed),
        "still held after the 30 s bound"
    );
    reports.assert_any("timed out");
}

/// The documented default: a dropped stack's cleanups get 30 s.
#[tokio::test(start_paused = true)]
async fn a_dropped_stack_abandons_a_hanging_cleanup_after_the_default_30_s() {
    let reports = Reports::collect();
    let (held, mut alive) = held_until_dropped();
    let mut stack = ExitStack::new();
    stack.push(async move {
        let _held = held;
        std::future::pending::<Result<(), BoxError>>().await
    });
    drop(stack);
    abandoned_at_30_s(&mut alive, &reports).await;
}

/// The documented bound: the `on_err` of a dropped `with_resource` gets 30 s.
#[tokio::test(start_paused = true)]
async fn a_dropped_with_resource_abandons_a_hanging_on_err_after_30_s() {
    let reports = Reports::collect();
    let (held, mut alive) = held_until_dropped();
    let work = with_resource(
        async { Ok::<_, String>(held) },
        async |_: &mut oneshot::Sender<()>| {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, String>(())
        },
        |_held| async { Ok::<(), String>(()) },
        |held| async move {
            let _held = held;
            std::future::pending::<Result<(), String>>().await
        },
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), work)
            .await
            .is_err(),
        "dropped mid-body"
    );
    abandoned_at_30_s(&mut alive, &reports).await;
}

/// A session whose rollback never finishes.
struct HangingRollback(#[allow(dead_code)] oneshot::Sender<()>);

impl Session for HangingRollback {
    type Error = String;
    async fn rollback(&mut self) -> Result<(), String> {
        std::future::pending().await
    }
    async fn close(self) -> Result<(), String> {
        Ok(())
    }
}

/// The documented bound: the rollback and close of a dropped `with_session` get 30 s.
#[tokio::test(start_paused = true)]
async fn a_dropped_with_session_abandons_a_hanging_rollback_after_30_s() {
    let reports = Reports::collect();
    let (held, mut alive) = held_until_dropped();
    let work = with_session(
        async { Ok::<_, String>(HangingRollback(held)) },
        async |_: &mut HangingRollback| {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, String>(())
        },
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), work)
            .await
            .is_err(),
        "dropped mid-body"
    );
    abandoned_at_30_s(&mut alive, &reports).await;
}
