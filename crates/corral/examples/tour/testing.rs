//! Tour of the guides' pitfalls and testing patterns: `corral::debug` (a poll that blocks its
//! thread), `corral::report` (a failure nobody awaited), the paused clock, and a mock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral::report::{Report, ReportKind};
use corral::task::{BackgroundTasks, TaskGroup};
use mockall::automock;

use super::BoxError;

pub(crate) async fn run() -> Result<(), BoxError> {
    pitfalls().await?;
    paused_clock().await?;
    mock().await?;
    Ok(())
}

/// The pitfall: `time.sleep` in async code blocks every task on its thread.
async fn blocks_its_thread() -> Result<(), BoxError> {
    std::thread::sleep(Duration::from_millis(60));
    Ok(())
}

async fn fire_and_forget() -> Result<(), BoxError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Err("nightly sync failed".into())
}

/// Debug mode reports the blocking poll; the report catches the failure nobody awaited. Both
/// would go to standard error; a hook collects them here so the tour can say what came.
async fn pitfalls() -> Result<(), BoxError> {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    corral::report::set_hook(move |report: &Report<'_>| {
        if let Ok(mut reports) = sink.lock() {
            // What the default destination would print on standard error.
            reports.push((report.kind(), report.source(), format!("corral: {report}")));
        }
    });

    corral::debug::enable(Duration::from_millis(30));
    let group = TaskGroup::new();
    group.spawn(blocks_its_thread());
    group.join().await?;
    corral::debug::disable();

    let background = BackgroundTasks::new(); // its failures go to the report
    background.spawn(fire_and_forget());
    background.shutdown(Duration::from_secs(5)).await; // the grace lets it finish (and fail)
    corral::report::take_hook();

    let reports = reports.lock().map_err(|_| "poisoned")?.clone();
    let slow: Vec<_> = reports
        .iter()
        .filter(|(kind, _, line)| {
            *kind == ReportKind::SlowPoll && line.contains("blocks_its_thread")
        })
        .collect();
    let unreceived: Vec<_> = reports
        .iter()
        .filter(|(kind, source, line)| {
            *kind == ReportKind::Error
                && *source == "BackgroundTasks"
                && line.contains("nightly sync failed")
        })
        .collect();
    ensure!(
        !slow.is_empty() && unreceived.len() == 1,
        "{} slow-poll reports of the blocking task and {} of the unreceived failure: {reports:?}",
        slow.len(),
        unreceived.len()
    );
    println!(
        "debug::enable(30 ms): a task that slept 60 ms on its thread was reported {} time(s): {}",
        slow.len(),
        slow.first().map_or("(none)", |(_, _, line)| line.as_str())
    );
    println!(
        "report: a fire-and-forget failure nobody awaited was reported {} time(s); by default \
         on standard error: {}",
        unreceived.len(),
        unreceived
            .first()
            .map_or("(none)", |(_, _, line)| line.as_str())
    );
    Ok(())
}

/// `#[tokio::test(start_paused = true)]`: the clock jumps to the next timer when every task
/// is idle, so a 30 s timeout takes no real time. That attribute builds this runtime; it runs
/// on a thread of its own here because the tour's runtime is already running.
async fn paused_clock() -> Result<(), BoxError> {
    let test = || -> Result<(bool, Duration), BoxError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()?;
        Ok(runtime.block_on(async {
            let start = tokio::time::Instant::now();
            let slow =
                corral::time::timeout(Duration::from_secs(30), std::future::pending::<()>()).await;
            (slow.is_err(), start.elapsed())
        }))
    };
    let real = Instant::now();
    let (sent, received) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = sent.send(test().map_err(|e| e.to_string()));
    });
    let (timed_out, elapsed) = received.await??;
    let real = real.elapsed();
    ensure!(
        timed_out && elapsed >= Duration::from_secs(30) && real < Duration::from_secs(5),
        "paused clock: the 30 s timeout fired: {timed_out}, after {elapsed:?} of test time and \
         {real:?} of real time"
    );
    println!(
        "paused clock: a 30 s timeout fired after {elapsed:?} of test time, in {} ms of real time",
        real.as_millis()
    );
    Ok(())
}

/// What the code under test calls, as a trait, so a test can hand it a mock.
#[automock]
trait UserApi {
    async fn fetch(&self, id: u32) -> Result<String, String>;
}

/// `AsyncMock(return_value=...)` + `assert_awaited_once()`: `mockall`'s `#[automock]` and
/// `times(1)` (the `testing_mocks` example has more).
async fn mock() -> Result<(), BoxError> {
    let mut api = MockUserApi::new();
    api.expect_fetch()
        .times(1)
        .returning(|id| Ok(format!("user {id}")));
    let user = api.fetch(1).await?;
    api.checkpoint(); // panics unless `fetch` was awaited exactly once
    ensure!(user == "user 1", "mock: fetch(1) returned {user:?}");
    println!("mock: fetch(1) returned {user:?} and was awaited exactly once");
    Ok(())
}
