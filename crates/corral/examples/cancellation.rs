//! The guides' cancellation handling: a task that cleans up when cancelled. Rust has no async
//! drop, so corral gives each group a token that children watch, and a grace period in which
//! they may finish their async cleanup before they are aborted.
//!
//! In Python the task re-raises `CancelledError` after its cleanup, so whoever awaits it sees
//! "cancelled", not a normal result. A corral task cannot make its own handle report
//! cancellation (a `Task` reports `TaskError::is_cancelled` only when corral stopped it: aborted
//! after the grace, or never started), and returning `Err` would count as a failure of the
//! group. The idiom is to say it in the task's value: the cooperative task returns an outcome
//! that tells "completed" from "cancelled, cleaned up", so the awaiter can tell them apart.
//!
//! Run: `cargo run --example cancellation`

use std::time::Duration;

use corral::task::{BoxError, TaskGroup};
use tokio_util::sync::CancellationToken;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// How a cooperative task ended: what the awaiter needs to tell completion from cancellation.
#[derive(Debug, PartialEq)]
enum Outcome {
    Completed(&'static str),
    /// The group's token was cancelled; the task cleaned up and stopped early.
    Cancelled,
}

async fn cancellable_operation(token: CancellationToken) -> Result<Outcome, BoxError> {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(10)) => Ok(Outcome::Completed("done")),
        () = token.cancelled() => {
            println!("cancellation: operation cancelled, cleaning up...");
            tokio::time::sleep(Duration::from_millis(20)).await; // async cleanup
            Ok(Outcome::Cancelled) // Python: `raise` (re-raise the CancelledError)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let group: TaskGroup = TaskGroup::new();
    let operation = group.spawn(cancellable_operation(group.token()));
    let stubborn = group.spawn(async {
        tokio::time::sleep(Duration::from_secs(10)).await; // never looks at the token
        Ok(Outcome::Completed("done"))
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    group.shutdown(Duration::from_millis(100)).await?;

    // The cooperative task finished its cleanup within the grace and said it was cancelled.
    let cooperative = operation.await?;
    ensure!(
        cooperative == Outcome::Cancelled,
        "the cooperative task ended {cooperative:?}, not cancelled"
    );
    println!("cancellation: cooperative task -> {cooperative:?}");

    // The stubborn one was aborted when the grace ran out: its handle says so itself.
    let stubborn = stubborn.await;
    ensure!(
        matches!(&stubborn, Err(error) if error.is_cancelled()),
        "the stubborn task ended {stubborn:?}, not aborted"
    );
    println!(
        "cancellation: stubborn task -> {}",
        stubborn.map_or_else(|e| e.to_string(), |v| format!("{v:?}"))
    );
    Ok(())
}
