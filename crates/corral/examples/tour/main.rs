//! A walk through every corral pattern, on embedded defaults, in a few seconds.
//!
//! Run it with `cargo run --release --example tour`. Each step prints one line saying what
//! happened. No network, no files: the "I/O" is simulated with timers, so the times printed
//! are real elapsed times. Each step also checks what it prints: a claim that does not hold
//! fails the tour with a message saying which (CI runs the tour and checks its exit status).

use std::error::Error;
use std::future::Future;
use std::time::Duration;

/// Fails the step (and the tour, with a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

mod flow;
mod queue;
mod resources;
mod retry_pool;
mod sync;
mod task;
mod testing;
mod time;

type BoxError = Box<dyn Error + Send + Sync>;

/// Runs one section under a watchdog: a section that stalls fails the tour with its name
/// instead of hanging it.
async fn section(
    name: &str,
    run: impl Future<Output = Result<(), BoxError>>,
) -> Result<(), BoxError> {
    println!("\n-- {name}");
    corral::time::timeout(Duration::from_secs(30), run)
        .await
        .map_err(|_| format!("tour section `{name}` did not finish within 30 s"))?
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    println!("corral tour");
    section("task: structured concurrency", task::run()).await?;
    section("time: timeouts, deadlines, shield", time::run()).await?;
    section("sync: event, condition, barrier, lock", sync::run()).await?;
    section("queue: producer/consumer with backpressure", queue::run()).await?;
    section(
        "flow: rate limits, concurrency limits, debounce, throttle",
        flow::run(),
    )
    .await?;
    section(
        "retry and pools: backoff, worker pools, connection pools",
        retry_pool::run(),
    )
    .await?;
    section(
        "resources: exit stacks, sessions, streams, blocking code",
        resources::run(),
    )
    .await?;
    section(
        "debug and testing: slow polls, unreceived failures, the paused clock, mocks",
        testing::run(),
    )
    .await?;
    Ok(())
}
