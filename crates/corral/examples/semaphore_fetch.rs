//! The guides' `async with semaphore:` fan-out: fetch many URLs with at most N at once, results
//! in input order; then the settled form (every result, errors included) and the spawning form.
//!
//! Run: `cargo run --example semaphore_fetch`

use std::time::{Duration, Instant};

use corral::flow::{map_concurrent, map_concurrent_settled, map_concurrent_spawned};
use corral::task::BoxError;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// Simulates a download; URLs ending in 7 fail.
async fn fetch(url: String) -> Result<usize, BoxError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    if url.ends_with('7') {
        return Err(format!("{url}: 503").into());
    }
    Ok(url.len())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let urls = |n: usize| (0..n).map(|i| format!("https://example.com/page/{i}"));

    // sem = asyncio.Semaphore(10); await gather(*(bounded_fetch(u) for u in urls))
    let start = Instant::now();
    let sizes = map_concurrent(urls(7), 10, fetch).await?;
    let took = start.elapsed();
    ensure!(
        sizes.len() == 7 && took < Duration::from_millis(7 * 20),
        "map_concurrent: {} pages in {took:?}",
        sizes.len()
    );
    println!(
        "map_concurrent: {} pages, 10 at a time, in {} ms: {sizes:?}",
        sizes.len(),
        took.as_millis()
    );

    // return_exceptions=True: every result, in input order.
    let settled = map_concurrent_settled(urls(10), 4, fetch).await;
    let failed: Vec<_> = settled.iter().filter_map(|r| r.as_ref().err()).collect();
    ensure!(
        settled.len() == 10 && failed.len() == 1 && settled[7].is_err(),
        "map_concurrent_settled: {} results, failed: {failed:?}",
        settled.len()
    );
    println!(
        "map_concurrent_settled: {} results, failed: {failed:?}",
        settled.len()
    );

    // The first error cancels the rest.
    let Err(first_error) = map_concurrent(urls(100), 10, fetch).await else {
        return Err("map_concurrent over 100 pages, 10 of them failing, succeeded".into());
    };
    ensure!(
        first_error.to_string().ends_with("/page/7: 503"),
        "map_concurrent over 100 pages stopped at {first_error}, not page 7"
    );
    println!("map_concurrent over 100 pages stops at: {first_error}");

    // Parallel work on a multi-thread runtime: at most 8 tasks alive, items pulled lazily.
    let start = Instant::now();
    let sums = map_concurrent_spawned(0..10_000u64, 8, |n| async move {
        Ok::<_, BoxError>((0..=n % 100).sum::<u64>())
    })
    .await?;
    let in_order = sums.len() == 10_000
        && (0..10_000u64).all(|n| sums[n as usize] == (0..=n % 100).sum::<u64>());
    ensure!(
        in_order,
        "map_concurrent_spawned: results out of input order"
    );
    println!(
        "map_concurrent_spawned: {} items through 8 tasks in {} ms",
        sums.len(),
        start.elapsed().as_millis()
    );
    Ok(())
}
