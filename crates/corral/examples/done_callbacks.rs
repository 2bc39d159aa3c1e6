//! Done callbacks: react to tasks finishing without awaiting them, the guides'
//! `task.add_done_callback(on_complete)`.
//!
//! A small job runner starts jobs in the background and keeps a live tally of how each one
//! ended (value, failure, panic or cancellation), as asyncio code does with a done callback
//! that records `task.result()` or the exception.
//!
//! Run: `cargo run -p corral --example done_callbacks`

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use corral::task::{BackgroundTasks, BoxError, TaskError};
use tokio::sync::mpsc;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

#[derive(Debug, Default)]
struct Tally {
    done: Vec<u64>,
    failed: usize,
    panicked: usize,
    cancelled: usize,
}

impl Tally {
    fn record(&mut self, outcome: Result<u64, TaskError>) {
        match outcome {
            Ok(value) => self.done.push(value),
            Err(e) if e.is_failed() => self.failed += 1,
            Err(e) if e.is_panic() => self.panicked += 1,
            Err(_) => self.cancelled += 1,
        }
    }
}

async fn job(n: u64) -> Result<u64, BoxError> {
    tokio::time::sleep(Duration::from_millis(10 * n)).await;
    match n {
        3 => Err(format!("job {n}: upstream refused").into()),
        4 => panic!("job {n}: corrupt input"),
        _ => Ok(n * n),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    // Failures go to this hook; the callbacks see only how each task ended.
    let background: BackgroundTasks<BoxError> =
        BackgroundTasks::with_hook(|failure| println!("reported: {failure}"));
    let tally = Arc::new(Mutex::new(Tally::default()));
    // Each callback also says "one more finished", so `main` knows when the tally is complete.
    let (finished, mut finishing) = mpsc::unbounded_channel();

    for n in 1..=5 {
        let tally = tally.clone();
        let finished = finished.clone();
        background.spawn(job(n)).on_done(move |outcome| {
            println!("job {n} finished: {outcome:?}");
            // A callback returns nothing to propagate an error to; a poisoned tally (another
            // callback panicked mid-update) is still the best count there is.
            tally
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(outcome);
            let _ = finished.send(());
        });
    }
    // A job that never ends, cancelled by the shutdown below.
    let stuck_tally = tally.clone();
    background
        .spawn(std::future::pending::<Result<u64, BoxError>>())
        .on_done(move |outcome| {
            println!("the stuck job finished: {outcome:?}");
            stuck_tally
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(outcome);
            let _ = finished.send(());
        });

    tokio::time::sleep(Duration::from_millis(100)).await;
    background.shutdown(Duration::from_millis(10)).await;
    for _ in 0..6 {
        finishing
            .recv()
            .await
            .ok_or("a callback was dropped without running")?;
    }

    let tally = tally
        .lock()
        .map_err(|_| "a callback panicked while recording")?;
    println!("{tally:?}");
    ensure!(
        tally.done == [1, 4, 25] && (tally.failed, tally.panicked, tally.cancelled) == (1, 1, 1),
        "the callbacks saw {tally:?}, not three successes and one each of failed, panicked and \
         cancelled"
    );
    Ok(())
}
