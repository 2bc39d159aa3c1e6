//! `Debouncer`: exact trailing-edge timings, flush, drop, and failures that are never lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::flow::Debouncer;
use corral::task::{BoxError, Failure};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tokio_test::assert_pending;
use tokio_test::task::spawn;

use crate::support::{all_dropped, ms};

const MS: Duration = Duration::from_millis(1);

type Log = Arc<Mutex<Vec<(&'static str, u64)>>>;

/// A call that logs its name and the virtual time it ran at.
fn logged(
    log: &Log,
    name: &'static str,
    start: Instant,
) -> impl Future<Output = Result<(), BoxError>> + Send + 'static {
    let log = Arc::clone(log);
    async move {
        log.lock().unwrap().push((name, ms(start)));
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn only_the_last_call_of_a_burst_runs_after_the_delay() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(300 * MS);
    for name in ["a", "b", "c"] {
        debouncer.call(logged(&log, name, start));
        sleep(100 * MS).await;
    }
    sleep(Duration::from_secs(1)).await;
    // The last call came at 200 ms; it ran 300 ms later.
    assert_eq!(*log.lock().unwrap(), [("c", 500)]);
}

#[tokio::test(start_paused = true)]
async fn separate_bursts_each_run_once() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(100 * MS);
    debouncer.call(logged(&log, "first", start));
    sleep(150 * MS).await;
    debouncer.call(logged(&log, "second", start));
    debouncer.call(logged(&log, "third", start));
    sleep(Duration::from_secs(1)).await;
    assert_eq!(*log.lock().unwrap(), [("first", 100), ("third", 250)]);
    assert!(!debouncer.is_pending());
}

#[tokio::test(start_paused = true)]
async fn a_replaced_call_is_dropped_unrun() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let debouncer = Debouncer::new(100 * MS);
    debouncer.call(async move {
        let _alive = tx;
        Err("never runs".into())
    });
    debouncer.call(async { Ok(()) });
    assert!(
        matches!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)),
        "the replaced call was dropped at once"
    );
}

#[tokio::test(start_paused = true)]
async fn calls_never_overlap() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(10 * MS);
    let slow_log = Arc::clone(&log);
    debouncer.call(async move {
        slow_log.lock().unwrap().push(("slow starts", ms(start)));
        sleep(100 * MS).await;
        slow_log.lock().unwrap().push(("slow ends", ms(start)));
        Ok(())
    });
    sleep(20 * MS).await;
    debouncer.call(logged(&log, "next", start));
    sleep(Duration::from_secs(1)).await;
    assert_eq!(
        *log.lock().unwrap(),
        [("slow starts", 10), ("slow ends", 110), ("next", 110)]
    );
}

/// A call that logs when it starts and ends, 100 ms apart.
fn slow(log: &Log, start: Instant) -> impl Future<Output = Result<(), BoxError>> + Send + 'static {
    let log = Arc::clone(log);
    async move {
        log.lock().unwrap().push(("slow starts", ms(start)));
        sleep(100 * MS).await;
        log.lock().unwrap().push(("slow ends", ms(start)));
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn flush_waits_for_the_call_the_timer_is_running() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(10 * MS);
    debouncer.call(slow(&log, start));
    sleep(20 * MS).await; // the timer started it at 10 ms
    debouncer.call(logged(&log, "flushed", start));
    assert!(debouncer.flush().await.expect("a call was pending").is_ok());
    assert_eq!(
        *log.lock().unwrap(),
        [("slow starts", 10), ("slow ends", 110), ("flushed", 110)]
    );
}

#[tokio::test(start_paused = true)]
async fn two_flushes_run_their_calls_one_after_the_other() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(Duration::from_secs(10));
    debouncer.call(slow(&log, start));
    let first = debouncer.flush();
    let second = async {
        // Runs once `first` has taken the slow call and is in the middle of it.
        debouncer.call(logged(&log, "second", start));
        debouncer.flush().await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first.is_some_and(|result| result.is_ok()));
    assert!(second.is_some_and(|result| result.is_ok()));
    assert_eq!(
        *log.lock().unwrap(),
        [("slow starts", 0), ("slow ends", 100), ("second", 100)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_flush_dropped_while_a_call_runs_leaves_the_pending_call_pending() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(10 * MS);
    debouncer.call(slow(&log, start));
    sleep(20 * MS).await; // the timer started it at 10 ms
    debouncer.call(logged(&log, "next", start));
    {
        let mut flush = spawn(debouncer.flush());
        assert_pending!(flush.poll()); // waits for the slow call
    }
    assert!(debouncer.is_pending(), "the dropped flush took nothing");
    sleep(Duration::from_secs(1)).await;
    assert_eq!(
        *log.lock().unwrap(),
        [("slow starts", 10), ("slow ends", 110), ("next", 110)]
    );
}

#[tokio::test(start_paused = true)]
async fn flush_runs_the_pending_call_now_and_returns_its_result() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(Duration::from_secs(10));
    debouncer.call(logged(&log, "saved", start));
    sleep(MS).await;
    assert!(debouncer.flush().await.expect("a call was pending").is_ok());
    assert_eq!(*log.lock().unwrap(), [("saved", 1)]);
    sleep(Duration::from_secs(20)).await;
    assert_eq!(
        log.lock().unwrap().len(),
        1,
        "a flushed call does not run again"
    );

    debouncer.call(async { Err("disk full".into()) });
    let result = debouncer.flush().await.expect("a call was pending");
    assert_eq!(
        result.unwrap_err().to_string(),
        "disk full",
        "flush returns the error"
    );
    assert!(debouncer.flush().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn dropping_flush_mid_run_drops_the_call() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let debouncer = Debouncer::new(Duration::from_secs(10));
    debouncer.call(async move {
        let _alive = tx;
        std::future::pending::<Result<(), BoxError>>().await
    });
    let mut flush = spawn(debouncer.flush());
    assert_pending!(flush.poll());
    drop(flush);
    all_dropped(&mut rx, "the call was dropped").await;
    assert!(!debouncer.is_pending(), "and is not pending any more");
}

#[tokio::test(start_paused = true)]
async fn a_zero_delay_runs_the_call_on_the_next_tick() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(Duration::ZERO);
    debouncer.call(logged(&log, "now", start));
    sleep(MS).await;
    assert_eq!(*log.lock().unwrap(), [("now", 0)]);
}

#[tokio::test(start_paused = true)]
async fn an_endless_delay_runs_only_when_flushed() {
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(Duration::MAX);
    debouncer.call(logged(&log, "flushed", start));
    sleep(Duration::from_secs(3600)).await;
    assert!(log.lock().unwrap().is_empty());
    assert!(debouncer.flush().await.is_some());
    assert_eq!(*log.lock().unwrap(), [("flushed", 3_600_000)]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_debouncer_cancels_the_pending_call() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let ran = Arc::new(Mutex::new(false));
    let debouncer = Debouncer::new(100 * MS);
    let flag = Arc::clone(&ran);
    debouncer.call(async move {
        let _alive = tx;
        *flag.lock().unwrap() = true;
        Ok(())
    });
    sleep(50 * MS).await;
    drop(debouncer);
    all_dropped(&mut rx, "the pending call was dropped").await;
    sleep(Duration::from_secs(1)).await;
    assert!(!*ran.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_debouncer_aborts_a_running_call() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let debouncer = Debouncer::new(10 * MS);
    debouncer.call(async move {
        let _alive = tx;
        let _ = started_tx.send(());
        std::future::pending::<Result<(), BoxError>>().await
    });
    started.await.expect("the call started");
    drop(debouncer);
    all_dropped(&mut rx, "the running call was aborted").await;
}

#[tokio::test(start_paused = true)]
async fn errors_and_panics_go_to_the_hook() {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failures);
    let debouncer = Debouncer::with_hook(10 * MS, move |failure: Failure<String>| {
        sink.lock().unwrap().push(failure.to_string());
    });
    debouncer.call(async { Err("disk full".to_string()) });
    sleep(20 * MS).await;
    debouncer.call(async { panic!("bug in save") });
    sleep(20 * MS).await;
    debouncer.call(async { Ok(()) });
    sleep(20 * MS).await;
    assert_eq!(
        *failures.lock().unwrap(),
        ["task failed: disk full", "task panicked: bug in save"]
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_hook_failures_are_reported() {
    let reports = crate::reports::Reports::collect();
    let debouncer = Debouncer::new(10 * MS);
    debouncer.call(async { Err("disk full".into()) });
    sleep(20 * MS).await;
    assert_eq!(reports.lines(), ["Debouncer: \"disk full\""]);
}

#[test]
fn debug_formats_with_no_lock_held() {
    let debouncer: Arc<Debouncer<BoxError>> = Arc::new(Debouncer::new(Duration::from_millis(10)));
    let probed = debouncer.clone();
    // The probe takes the debouncer's lock.
    let probe = move || {
        let _ = probed.is_pending();
    };
    assert!(!crate::lock_probe::debug_formats_under_lock(
        &*debouncer,
        probe
    ));
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

#[test]
fn a_debouncer_whose_timer_died_with_its_runtime_starts_a_new_one() {
    let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let debouncer: Debouncer<BoxError> = Debouncer::new(10 * MS);
    let first = paused_runtime();
    first.block_on(async {
        debouncer.call(async { Ok(()) }); // starts the timer task on this runtime
    });
    drop(first); // before the delay: the timer task is dropped with its runtime
    let counted = Arc::clone(&ran);
    paused_runtime().block_on(async {
        debouncer.call(async move {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        });
        sleep(20 * MS).await;
    });
    assert_eq!(
        ran.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the last call ran"
    );
    assert!(!debouncer.is_pending());
}

#[tokio::test(start_paused = true)]
async fn a_call_whose_future_panics_as_it_is_dropped_is_reported_and_the_next_runs() {
    let reports = crate::reports::Reports::collect();
    let log = Log::default();
    let start = Instant::now();
    let debouncer = Debouncer::new(10 * MS);
    debouncer.call(crate::drop_panic::ReadyThenPanicsOnDrop(
        "the call's destructor panicked",
    ));
    sleep(20 * MS).await;
    debouncer.call(logged(&log, "next", start));
    sleep(20 * MS).await;
    assert_eq!(*log.lock().unwrap(), [("next", 30)]);
    reports.assert_only("the call's destructor panicked");
}

/// Dropping the debouncer aborts its task but does not wait: the running call, and what it
/// owns, is dropped by the runtime at the task's next turn, not before `drop` returns (the
/// docs said "nothing outlives the debouncer"). `flush` is the way to wait: when it returns,
/// the call the timer was running has ended and been dropped, with what it owned.
#[tokio::test(start_paused = true)]
async fn flush_waits_until_the_running_call_is_dropped_and_drop_does_not() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let debouncer = Debouncer::new(10 * MS);
    let alive = tx.clone();
    debouncer.call(async move {
        let _alive = alive;
        sleep(100 * MS).await;
        Ok(())
    });
    sleep(20 * MS).await; // the timer started it at 10 ms
    assert!(debouncer.flush().await.is_none(), "nothing was pending");
    drop(tx);
    assert!(
        matches!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected)),
        "flush returned while the running call was alive"
    );

    let (tx, mut rx) = mpsc::channel::<()>(1);
    let (started_tx, started) = tokio::sync::oneshot::channel();
    debouncer.call(async move {
        let _alive = tx;
        let _ = started_tx.send(());
        std::future::pending::<Result<(), BoxError>>().await
    });
    started.await.expect("the call started");
    drop(debouncer);
    assert!(
        matches!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty)),
        "the aborted call is dropped at the task's next turn, not in drop"
    );
    all_dropped(&mut rx, "the running call was aborted").await;
}

/// `flush` waits for the running call to end and for its failure to reach the hook: once it
/// returns, the failure was delivered, and dropping the debouncer then cannot send it to the
/// report instead. On two workers, where the timer's task and the caller run on different
/// threads (a review found the hook ran after `flush` returned, or not at all).
#[test]
fn flush_returns_after_the_running_calls_failure_reached_the_hook() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    let (running_tx, running_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    runtime.block_on(async {
        let debouncer = Debouncer::with_hook(Duration::from_millis(1), move |failure| {
            // A hook that takes its time (a slow log), on the debouncer's task.
            std::thread::sleep(Duration::from_millis(50));
            sink.lock().unwrap().push(format!("{failure:?}"));
        });
        debouncer.call(async move {
            let _ = running_tx.send(());
            let _ = finish_rx.await;
            Err::<(), &str>("disk full")
        });
        running_rx.await.expect("the call runs");
        let _ = finish_tx.send(());
        assert!(debouncer.flush().await.is_none(), "nothing was pending");
        let after_flush = seen.lock().unwrap().len();
        drop(debouncer);
        assert_eq!(
            after_flush, 1,
            "flush returned before the hook had the failure"
        );
    });
}
