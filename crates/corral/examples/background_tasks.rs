//! The guides' `BackgroundTaskManager`: fire-and-forget tasks that are still tracked, whose
//! failures are reported, and that shut down cleanly.
//!
//! Run: `cargo run --example background_tasks`

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral::task::{BackgroundTasks, BoxError, Failure};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // Failures go to this hook (the default is a `tracing` error event).
    let reported = Arc::new(AtomicU32::new(0));
    let reports = reported.clone();
    let manager = BackgroundTasks::<BoxError>::with_hook(move |failure: Failure<BoxError>| {
        reports.fetch_add(1, Ordering::Relaxed);
        println!("background: reported: {failure}");
    });
    let beats = Arc::new(AtomicU32::new(0));

    // A heartbeat that stops cleanly when the manager shuts down.
    let token = manager.token();
    let counter = beats.clone();
    manager.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                () = token.cancelled() => return Ok(()),
                _ = tick.tick() => { counter.fetch_add(1, Ordering::Relaxed); }
            }
        }
    });
    // A job that fails: reported, and nothing else is affected.
    manager.spawn(async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        Err::<(), BoxError>("cache refresh failed".into())
    });
    // A job that ignores cancellation: aborted when the grace period ends.
    manager.spawn(async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    });

    tokio::time::sleep(Duration::from_millis(100)).await;
    let (running, reported) = (manager.len(), reported.load(Ordering::Relaxed));
    ensure!(
        running == 2 && reported == 1,
        "{running} tasks running and {reported} failures reported, not 2 and 1"
    );
    println!("background: {running} tasks running");
    manager.shutdown(Duration::from_millis(50)).await;
    ensure!(
        manager.is_empty() && beats.load(Ordering::Relaxed) > 0,
        "after shutdown {} tasks are left, {} heartbeats",
        manager.len(),
        beats.load(Ordering::Relaxed)
    );
    println!(
        "background: shut down; {} heartbeats, {} tasks left",
        beats.load(Ordering::Relaxed),
        manager.len()
    );
    Ok(())
}
