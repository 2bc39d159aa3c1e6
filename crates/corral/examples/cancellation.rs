//! The guides' cancellation handling: a task that cleans up when cancelled. Rust has no async
//! drop, so corral gives each group a token that children watch, and a grace period in which
//! they may finish their async cleanup before they are aborted.
//!
//! Run: `cargo run --example cancellation`

use std::time::Duration;

use corral::task::{BoxError, TaskGroup};
use tokio_util::sync::CancellationToken;

async fn cancellable_operation(token: CancellationToken) -> Result<&'static str, BoxError> {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(10)) => Ok("completed"),
        () = token.cancelled() => {
            println!("cancellation: operation cancelled, cleaning up...");
            tokio::time::sleep(Duration::from_millis(20)).await; // async cleanup
            Ok("cleaned up")
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let group: TaskGroup = TaskGroup::new();
    let operation = group.spawn(cancellable_operation(group.token()));
    let stubborn = group.spawn(async {
        tokio::time::sleep(Duration::from_secs(10)).await; // never looks at the token
        Ok("completed")
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    group.shutdown(Duration::from_millis(100)).await?;
    println!("cancellation: cooperative task -> {:?}", operation.await?);
    println!(
        "cancellation: stubborn task -> {}",
        stubborn
            .await
            .map_or_else(|e| e.to_string(), |v| v.to_string())
    );
    Ok(())
}
