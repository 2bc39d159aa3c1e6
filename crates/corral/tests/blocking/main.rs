//! corral::blocking: results, panics, the drop-to-cancel token, jobs that never start, and the
//! sync bridge's typed errors.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

#[path = "../support/reports.rs"]
mod reports;

use crate::reports::Reports;
use corral::blocking::{
    BlockOnError, block_on, run_blocking, run_blocking_with, run_cpu, run_cpu_with, to_async,
};
use futures::FutureExt;
use tokio::sync::oneshot;

#[tokio::test]
async fn run_blocking_returns_the_closure_value() {
    let value = run_blocking(|| std::thread::current().name().map(str::to_owned))
        .await
        .unwrap();
    // It ran on a blocking-pool thread, not on the test's thread.
    assert_ne!(value, std::thread::current().name().map(str::to_owned));
}

#[tokio::test]
async fn run_cpu_returns_the_closure_value_on_a_rayon_thread() {
    let index = run_cpu(rayon::current_thread_index).await;
    assert!(index.is_some(), "ran on a rayon worker");
}

#[tokio::test]
async fn to_async_turns_a_sync_fn_into_an_async_one() {
    let add = to_async(|(a, b): (u32, u32)| a + b);
    let again = add.clone();
    assert_eq!(add((2, 3)).await.unwrap(), 5);
    assert_eq!(again((4, 5)).await.unwrap(), 9);
}

#[tokio::test]
async fn a_panic_in_run_blocking_resumes_in_the_awaiting_task() {
    let outcome = AssertUnwindSafe(run_blocking(|| -> u32 { panic!("disk on fire") }))
        .catch_unwind()
        .await;
    let payload = outcome.expect_err("the panic resumes here");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"disk on fire"));
}

#[tokio::test]
async fn a_panic_in_run_cpu_resumes_in_the_awaiting_task_and_the_pool_survives() {
    let outcome = AssertUnwindSafe(run_cpu(|| -> u32 { panic!("bad math") }))
        .catch_unwind()
        .await;
    let payload = outcome.expect_err("the panic resumes here");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bad math"));
    // The rayon pool still works (rayon::spawn alone would have aborted the process).
    assert_eq!(run_cpu(|| 1 + 1).await, 2);
}

#[test]
fn run_blocking_outside_a_runtime_is_a_typed_error() {
    let error = futures::executor::block_on(run_blocking(|| 1)).unwrap_err();
    assert!(error.is_no_runtime());
    assert!(!error.is_shutdown());
    assert_eq!(
        error.to_string(),
        "blocking job started outside a tokio runtime"
    );
}

#[test]
fn run_cpu_needs_no_tokio_runtime() {
    assert_eq!(futures::executor::block_on(run_cpu(|| 3 * 3)), 9);
}

#[test]
fn block_on_runs_a_future_from_sync_code() {
    let value = block_on(async {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        run_blocking(|| 7).await
    })
    .unwrap()
    .unwrap();
    assert_eq!(value, 7);
}

#[tokio::test]
async fn block_on_inside_a_runtime_is_an_error_not_a_panic() {
    let refused = block_on(async { 1 });
    assert!(matches!(refused, Err(BlockOnError::InsideRuntime)));
    // Also from a blocking-pool thread, which is inside the runtime too.
    let refused = run_blocking(|| block_on(async { 1 }).map_err(|e| e.to_string()))
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err("block_on called inside a tokio runtime: await the future instead".to_owned())
    );
}

/// Dropping the future of a running job cancels its token; the job sees it and stops early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_running_blocking_job_cancels_its_token() {
    let (started_tx, started_rx) = oneshot::channel();
    let (noticed_tx, noticed_rx) = oneshot::channel();
    let job = run_blocking_with(move |token| {
        started_tx.send(()).unwrap();
        let mut spins = 0_u64;
        while !token.is_cancelled() {
            std::thread::yield_now();
            spins += 1;
        }
        noticed_tx.send(spins).unwrap();
    });
    started_rx.await.unwrap();
    drop(job);
    noticed_rx
        .await
        .expect("the running job noticed the drop and returned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_running_cpu_job_cancels_its_token() {
    let (started_tx, started_rx) = oneshot::channel();
    let (noticed_tx, noticed_rx) = oneshot::channel();
    let job = run_cpu_with(move |token| {
        started_tx.send(()).unwrap();
        while !token.is_cancelled() {
            std::hint::spin_loop();
        }
        noticed_tx.send(()).unwrap();
    });
    started_rx.await.unwrap();
    drop(job);
    noticed_rx
        .await
        .expect("the running job noticed the drop and returned");
}

/// On a runtime with one blocking thread, kept busy: runs `queue` (which queues jobs behind
/// the busy one and drops their futures), then frees the thread and returns once the pool has
/// passed every job `queue` queued.
fn behind_a_busy_blocking_thread(queue: impl FnOnce()) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (busy_tx, busy_rx) = oneshot::channel();
        // Occupy the only blocking thread.
        let first = run_blocking(move || {
            busy_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        busy_rx.await.unwrap();
        queue();
        release_tx.send(()).unwrap();
        first.await.unwrap();
        // The pool runs its queue in order: once a later job ran, the dropped one was passed.
        run_blocking(|| ()).await.unwrap();
    });
}

/// Queues a job behind one that occupies the only blocking thread, drops the queued job's
/// future, and reports whether the queued job ran.
fn queued_job_ran_after_drop(with_token: bool) -> bool {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    behind_a_busy_blocking_thread(move || {
        if with_token {
            drop(run_blocking_with(move |_token| {
                flag.store(true, Ordering::SeqCst)
            }));
        } else {
            drop(run_blocking(move || flag.store(true, Ordering::SeqCst)));
        }
    });
    ran.load(Ordering::SeqCst)
}

/// A job whose future was dropped before a pool thread took it never runs.
#[test]
fn a_blocking_job_dropped_before_it_started_never_runs() {
    assert!(
        !queued_job_ran_after_drop(false),
        "the dropped job must not run"
    );
    assert!(
        !queued_job_ran_after_drop(true),
        "the dropped job must not run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_job_dropped_before_it_started_never_runs() {
    let threads = rayon::current_num_threads();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
    let busy = Arc::new(AtomicUsize::new(0));
    let (all_busy_tx, all_busy_rx) = oneshot::channel();
    let all_busy_tx = Arc::new(std::sync::Mutex::new(Some(all_busy_tx)));
    let blockers: Vec<_> = (0..threads)
        .map(|_| {
            let (busy, release_rx, all_busy_tx) =
                (busy.clone(), release_rx.clone(), all_busy_tx.clone());
            run_cpu(move || {
                if busy.fetch_add(1, Ordering::SeqCst) + 1 == threads
                    && let Some(tx) = all_busy_tx.lock().unwrap().take()
                {
                    tx.send(()).unwrap();
                }
                // Each blocker waits for its own release message.
                let _ = release_rx.lock().unwrap().recv();
            })
        })
        .collect();
    all_busy_rx.await.unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let queued = run_cpu(move || flag.store(true, Ordering::SeqCst));
    drop(queued);
    for _ in 0..threads {
        release_tx.send(()).unwrap();
    }
    for blocker in blockers {
        blocker.await;
    }
    run_cpu(|| ()).await;
    assert!(!ran.load(Ordering::SeqCst), "the dropped job must not run");
}

/// Starts a job with `start`, drops its future once the job runs, then lets the job panic;
/// returns the report that follows.
async fn report_of_a_panic_after_the_future_was_dropped<J>(
    start: impl FnOnce(Box<dyn FnOnce() + Send>) -> J,
) -> String {
    let reports = Reports::collect();
    let (started, running) = oneshot::channel();
    let (go, wait) = mpsc::channel::<()>();
    let job = start(Box::new(move || {
        let _ = started.send(());
        let _ = wait.recv();
        panic!("too late to tell anyone");
    }));
    running.await.unwrap();
    drop(job);
    go.send(()).unwrap();
    reports
        .wait_for(std::time::Duration::from_secs(30), |line| {
            line.contains("too late to tell anyone")
        })
        .expect("the panic is reported")
}

#[tokio::test]
async fn a_cpu_job_that_panics_after_its_future_was_dropped_is_reported() {
    let line = report_of_a_panic_after_the_future_was_dropped(run_cpu).await;
    assert!(line.starts_with("run_cpu"), "{line}");
    assert!(line.contains("too late to tell anyone"), "{line}");
}

#[tokio::test]
async fn a_blocking_job_that_panics_after_its_future_was_dropped_is_reported() {
    let line = report_of_a_panic_after_the_future_was_dropped(run_blocking).await;
    assert!(line.starts_with("run_blocking"), "{line}");
    assert!(line.contains("too late to tell anyone"), "{line}");
}

/// A waker that tells a channel when it is woken.
struct Signal(mpsc::Sender<()>);

impl std::task::Wake for Signal {
    fn wake(self: Arc<Self>) {
        let _ = self.0.send(());
    }
}

/// Starts a job with `start` that panics once let go, polls its future once (pending: the job
/// is held), lets the job panic, waits until the future is woken (the panic is there to take)
/// and drops it without polling it again; returns what was reported by then.
fn reports_of_a_panic_left_untaken<J: Future>(
    start: impl FnOnce(Box<dyn FnOnce() + Send>) -> J,
) -> Vec<String> {
    let reports = Reports::collect();
    let (go, wait) = mpsc::channel::<()>();
    let mut job = Box::pin(start(Box::new(move || {
        let _ = wait.recv();
        panic!("nobody took this panic");
    })));
    let (woken, wake_seen) = mpsc::channel();
    let waker = std::task::Waker::from(Arc::new(Signal(woken)));
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(job.as_mut().poll(&mut cx).is_pending(), "the job is held");
    go.send(()).unwrap();
    wake_seen
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the job ended and woke its future");
    drop(job); // after the panic arrived, before a poll took it
    let _ = reports.wait_for(std::time::Duration::from_secs(5), |line| {
        line.contains("nobody took this panic")
    });
    reports.lines()
}

/// An audit found the window `run_blocking` covers open in `run_cpu`: a panic that reached the
/// future, which was dropped before its next poll, was dropped with the channel unreported.
#[test]
fn a_cpu_panic_whose_future_is_dropped_before_taking_it_is_reported() {
    let lines = reports_of_a_panic_left_untaken(run_cpu);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("run_cpu") && lines[0].contains("nobody took this panic"),
        "{lines:?}"
    );
}

#[test]
fn a_blocking_panic_whose_future_is_dropped_before_taking_it_is_reported() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let _inside = runtime.enter();
    let lines = reports_of_a_panic_left_untaken(run_blocking);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("run_blocking") && lines[0].contains("nobody took this panic"),
        "{lines:?}"
    );
}

/// Panics with its message when dropped.
struct Bomb(&'static str);

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

#[tokio::test]
async fn a_blocking_result_nobody_receives_whose_drop_panics_is_reported() {
    let reports = Reports::collect();
    let (started, running) = oneshot::channel();
    let (go, wait) = mpsc::channel::<()>();
    let job = run_blocking(move || {
        let _ = started.send(());
        let _ = wait.recv();
        Bomb("the unreceived result's destructor panicked")
    });
    running.await.unwrap();
    drop(job); // nobody wants the result any more
    go.send(()).unwrap();
    let line = reports
        .wait_for(std::time::Duration::from_secs(10), |line| {
            line.contains("the unreceived result's destructor panicked")
        })
        .expect("the panic is reported (Tokio swallowed it)");
    assert!(
        line.starts_with("run_blocking: dropping the result of a job nobody awaits panicked"),
        "{line}"
    );
}

#[test]
fn a_blocking_job_dropped_before_it_ran_whose_drop_panics_is_reported() {
    let reports = Reports::collect();
    behind_a_busy_blocking_thread(|| {
        let bomb = Bomb("the unrun job's destructor panicked");
        drop(run_blocking(move || drop(bomb))); // queued, then dropped: it never runs
    });
    let lines = reports.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("run_blocking: dropping a job that never ran panicked")
            && lines[0].contains("the unrun job's destructor panicked"),
        "{lines:?}"
    );
}

/// Set in the child process of
/// [`a_cpu_job_or_result_nobody_awaits_whose_drop_panics_is_reported_not_an_abort`].
const CPU_CHILD: &str = "CORRAL_BLOCKING_CPU_CHILD";

/// A panic on a rayon thread aborts the process, so the scenario runs in a child process (this
/// test binary, running only this test): the old behaviour fails the test instead of killing
/// every test of the binary.
#[test]
fn a_cpu_job_or_result_nobody_awaits_whose_drop_panics_is_reported_not_an_abort() {
    let name = "a_cpu_job_or_result_nobody_awaits_whose_drop_panics_is_reported_not_an_abort";
    if std::env::var_os(CPU_CHILD).is_some() {
        cpu_drops_in_the_child();
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CPU_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child failed ({:?}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// On a rayon pool of one thread: a job whose result nobody receives, and a job queued behind
/// it and dropped before it ran, both panic as they are dropped; both panics are reported.
fn cpu_drops_in_the_child() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .unwrap();
    let reports = Reports::collect();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let unreceived = run_cpu(move || {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        Bomb("the unreceived result's destructor panicked")
    });
    started_rx.recv().unwrap();
    let bomb = Bomb("the unrun job's destructor panicked");
    let unrun = run_cpu(move || drop(bomb)); // queued behind the first on the only thread
    drop(unrun);
    drop(unreceived);
    go_tx.send(()).unwrap();
    // The one thread takes jobs in order: once this one ran, both before it were dropped.
    futures::executor::block_on(run_cpu(|| ()));
    let lines = reports.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("run_cpu: dropping the result of a job nobody awaits panicked")
            && lines[0].contains("the unreceived result's destructor panicked"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("run_cpu: dropping a job that never ran panicked")
            && lines[1].contains("the unrun job's destructor panicked"),
        "{lines:?}"
    );
}

/// A job started on a runtime that has shut down never runs: its error says so
/// (`is_shutdown`), not that there was no runtime (an audit showed no test told them apart).
#[test]
fn a_job_the_runtime_dropped_unrun_is_a_shutdown_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let handle = runtime.handle().clone();
    drop(runtime);
    let _inside = handle.enter();
    let ran = Arc::new(AtomicBool::new(false));
    let job = corral::blocking::run_blocking({
        let ran = Arc::clone(&ran);
        move || ran.store(true, Ordering::SeqCst)
    });
    let Err(error) = futures::executor::block_on(job) else {
        panic!("the job ran on a runtime that had shut down");
    };
    assert!(error.is_shutdown(), "{error:?}");
    assert!(!error.is_no_runtime(), "{error:?}");
    assert!(!ran.load(Ordering::SeqCst));
}
