//! The guides' `WorkerPool`: N workers over a queue, each submission awaiting its own result.
//! A failing or panicking job fails only its own submission.
//!
//! Run: `cargo run --example worker_pool`

use std::sync::Arc;
use std::time::{Duration, Instant};

use corral::pool::{SubmitError, WorkerPool};
use corral::task::{BoxError, gather_settled};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// The guides' `process_item`: 50 ms of simulated I/O; "bad" items fail, "bug" panics.
async fn process_item(item: String) -> Result<String, BoxError> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    match item.as_str() {
        "bad" => Err(format!("cannot process {item:?}").into()),
        "bug" => panic!("a bug in process_item"),
        _ => Ok(item.to_uppercase()),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // Keep the panic of the "bug" item to one line.
    std::panic::set_hook(Box::new(|info| eprintln!("(panic in a job: {info})")));
    let pool = WorkerPool::builder(4).capacity(8).build(process_item);

    let items = [
        "alpha", "beta", "bad", "gamma", "bug", "delta", "epsilon", "zeta",
    ];
    let start = Instant::now();
    let results = gather_settled(items.map(|item| pool.submit(item.to_string()))).await;
    println!(
        "{} items on 4 workers in {} ms (50 ms each):",
        items.len(),
        start.elapsed().as_millis()
    );
    for (item, result) in items.iter().zip(&results) {
        let as_expected = match result {
            Ok(out) => {
                println!("  {item:8} -> {out}");
                *out == item.to_uppercase()
            }
            Err(SubmitError::Failed(e)) => {
                println!("  {item:8} -> failed: {e}");
                *item == "bad"
            }
            Err(e) => {
                println!("  {item:8} -> {e}");
                *item == "bug" && matches!(e, SubmitError::Panicked(_))
            }
        };
        ensure!(
            as_expected,
            "{item:?} did not end as its own job says it should"
        );
    }

    // The workers carried on after the failure and the panic.
    let after = pool.submit("omega".into()).await?;
    ensure!(after == "OMEGA", "the pool gave {after:?} for \"omega\"");
    println!("after them: {after}");

    // shutdown_immediate hands back what never ran.
    let slow = Arc::new(
        WorkerPool::builder(1)
            .capacity(4)
            .build(|ms: u64| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, BoxError>(ms)
            }),
    );
    let submissions: Vec<_> = [100, 200, 300]
        .into_iter()
        .map(|ms| {
            let slow = slow.clone();
            tokio::spawn(async move { slow.submit(ms).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await; // the first job is running
    let never_ran = slow.shutdown_immediate();
    ensure!(
        never_ran.len() == 2,
        "one job was running and two queued, yet {never_ran:?} were handed back"
    );
    println!("shutdown_immediate: jobs {never_ran:?} never ran and were handed back");
    let mut closed = 0;
    for submission in submissions {
        if let Err(SubmitError::Closed) = submission.await? {
            closed += 1;
        }
    }
    ensure!(closed == 3, "{closed} of 3 submissions ended with `Closed`");
    println!("  {closed} submissions (the running one included) ended with `Closed`");
    pool.shutdown().await;
    Ok(())
}
