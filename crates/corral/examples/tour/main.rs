//! A walk through every corral pattern, on embedded defaults, in a few seconds.
//!
//! Run it with `cargo run --release --example tour`. Each step prints one line saying what
//! happened. No network, no files: the "I/O" is simulated with timers, so the times printed
//! are real elapsed times.

use std::error::Error;

mod task;
mod time;

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    println!("corral tour\n\n-- task: structured concurrency");
    task::run().await?;
    println!("\n-- time: timeouts, deadlines, shield");
    time::run().await?;
    Ok(())
}
