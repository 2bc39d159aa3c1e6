//! The guides' "Common Pitfalls", and how corral makes each one visible.
//!
//! Python (basic guide):
//! ```python
//! result = fetch_user(1)              # Wrong - returns coroutine, doesn't execute
//! async def bad(): time.sleep(10)     # Wrong - blocks event loop
//! asyncio.create_task(background())   # Wrong - task may not complete, its error vanishes
//! ```
//!
//! - Forgetting `.await`: Rust futures are `#[must_use]`, so the compiler warns (and this
//!   workspace's lints deny warnings); a future that is never awaited never runs, as in Python.
//! - Blocking the event loop: `corral::debug::enable(threshold)` is asyncio's debug mode with
//!   `slow_callback_duration`, but it names the task and the line that spawned it.
//! - Fire-and-forget tasks whose errors vanish: a `BackgroundTasks` (or a dropped `TaskGroup`)
//!   reports every failure nobody awaits; `report::set_hook` routes the reports (here, to this
//!   program's own output; by default they go to `tracing` or standard error).
//! - Tasks still running when their owner goes away: reported in debug mode, then aborted.
//!
//! Run it with `cargo run --example pitfalls`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::report::{Report, ReportKind};
use corral::task::{BackgroundTasks, BoxError, TaskGroup};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn fetch_user(id: u32) -> Result<String, BoxError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(format!("user {id}"))
}

/// The pitfall: `std::thread::sleep` inside async code blocks every task on this thread.
async fn bad() -> Result<(), BoxError> {
    std::thread::sleep(Duration::from_millis(50));
    Ok(())
}

/// The fix: an async sleep (or `corral::blocking::run_blocking` for real blocking calls).
async fn good() -> Result<(), BoxError> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

async fn background_job() -> Result<(), BoxError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Err("cache refresh failed".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    corral::report::set_hook(move |report: &Report<'_>| {
        if let Ok(mut reports) = sink.lock() {
            reports.push((report.kind(), format!("{:?}", report.detail())));
        }
    });
    corral::debug::enable(Duration::from_millis(20));

    // 1. Forgetting await: `let user = fetch_user(1);` would not compile here (unused future).
    let user = fetch_user(1).await?;
    ensure!(user == "user 1", "fetch_user(1) gave {user:?}");
    println!("await: fetch_user(1) ran because it was awaited: {user:?}");

    // 2. Blocking the event loop, caught by debug mode; the async version is not reported.
    let group = TaskGroup::new();
    group.spawn(bad());
    group.spawn(good());
    group.join().await?;

    // 3. Fire-and-forget with an error: reported, not lost.
    let background = BackgroundTasks::new();
    background.spawn(background_job());
    background.shutdown(Duration::from_millis(100)).await;

    // 4. An owner dropped while its task still runs: reported in debug mode, then aborted.
    let group: TaskGroup = TaskGroup::new();
    group.spawn(async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<_, BoxError>(())
    });
    drop(group);

    corral::debug::disable();
    corral::report::take_hook();
    let reports = reports.lock().map_err(|_| "poisoned")?.clone();
    for (kind, detail) in &reports {
        let what = match kind {
            ReportKind::SlowPoll => "blocking poll",
            ReportKind::Error => "unreceived error",
            ReportKind::Panic => "unreceived panic",
            ReportKind::Abandoned => "abandoned task",
            _ => "report",
        };
        println!("reported ({what}): {detail}");
    }
    let from_good = reports
        .iter()
        .filter(|(_, detail)| detail.contains("good"))
        .count();
    let count = |kind: ReportKind, about: &str| {
        reports
            .iter()
            .filter(|(k, detail)| *k == kind && detail.contains(about))
            .count()
    };
    ensure!(
        count(ReportKind::SlowPoll, "pitfalls::bad") >= 1
            && from_good == 0
            && count(ReportKind::Error, "cache refresh failed") == 1
            && count(ReportKind::Abandoned, "TaskGroup was dropped") == 1,
        "expected `bad`'s blocking poll, the unreceived error and the abandoned task reported \
         (and nothing about `good`), got {reports:?}"
    );
    println!(
        "{} reports; {from_good} of them about `good`, the task that slept asynchronously",
        reports.len()
    );
    Ok(())
}
