//! The guides' rate-limited API client: many tasks share one `RateLimiter` (the guides'
//! `RateLimiter(calls_per_second)` class), and a `Limiter` caps how many requests are in flight.
//!
//! Run: `cargo run --example rate_limited_fanout`

use std::time::{Duration, Instant};

use corral::flow::{Limiter, RateLimiter};
use corral::task::{BoxError, TaskGroup};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// Simulates an HTTP call that takes 30 ms.
async fn call_api(endpoint: u32) -> Result<String, BoxError> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    Ok(format!("/items/{endpoint}: ok"))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // rate_limiter = RateLimiter(calls_per_second=20); at most 5 in flight.
    let rate = RateLimiter::builder().calls_per_second(20.0).try_build()?;
    let in_flight = Limiter::try_new(5)?;
    let start = Instant::now();
    let group = TaskGroup::new();
    let calls: Vec<_> = (0..20)
        .map(|endpoint| {
            let (rate, in_flight) = (rate.clone(), in_flight.clone());
            group.spawn(async move {
                rate.acquire().await; // await rate_limiter.acquire()
                in_flight.run(call_api(endpoint)).await
            })
        })
        .collect();
    group.join().await?;
    for call in calls {
        println!("{}", call.await?);
    }
    let took = start.elapsed();
    // The first goes at once, the other 19 one interval apart: no sooner than 19 x 50 ms.
    ensure!(
        took >= 19 * Duration::from_millis(50),
        "20 calls at 20 calls/s took only {took:?}"
    );
    println!(
        "20 calls at 20 calls/s took {} ms (the first goes at once, then one every 50 ms)",
        took.as_millis()
    );
    Ok(())
}
