//! The guides' timeout patterns: `fetch_with_timeout` (one operation), and
//! `fetch_all_with_timeout` (one deadline over several), plus nested deadlines.
//!
//! Run: `cargo run --example timeouts`

use std::time::{Duration, Instant};

use corral::task::{BoxError, gather};
use corral::time::{Deadline, timeout};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn fetch_data(url: &str, ms: u64) -> Result<String, BoxError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(format!("data from {url}"))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // async with asyncio.timeout(timeout): return await fetch_data(url)
    let result = match timeout(Duration::from_millis(50), fetch_data("slow.example", 200)).await {
        Ok(data) => data?,
        Err(_elapsed) => "error: timeout".to_string(),
    };
    ensure!(
        result == "error: timeout",
        "the 50 ms timeout did not fire: {result:?}"
    );
    println!("timeout: a 200 ms fetch under 50 ms gives {result:?}");

    // One budget for a whole gather.
    let start = Instant::now();
    let urls = [("a", 30), ("b", 60), ("c", 90)];
    let all = timeout(
        Duration::from_millis(100),
        gather(urls.map(|(url, ms)| fetch_data(url, ms))),
    )
    .await;
    let Ok(all) = all else {
        return Err("three fetches of at most 90 ms did not fit one 100 ms budget".into());
    };
    println!(
        "timeout over gather: {} results within the budget in {} ms",
        all?.len(),
        start.elapsed().as_millis()
    );

    // One deadline over several sequential steps.
    let budget = Deadline::after(Duration::from_millis(150));
    let (mut done, mut cut_off) = (0, false);
    for step in 0..5 {
        match budget.run(fetch_data("step", 60)).await {
            Ok(_) => done += 1,
            Err(elapsed) => {
                println!("deadline: {done} steps done, step {step} cut off ({elapsed})");
                cut_off = true;
                break;
            }
        }
    }
    // Each step takes at least 60 ms, so a third one cannot finish within 150 ms.
    ensure!(
        cut_off && done <= 2,
        "the 150 ms deadline let {done} steps of 60 ms finish"
    );

    // Nested: when both expire together, the outer one reports.
    let outer = Deadline::after(Duration::from_millis(40));
    let inner = Deadline::after(Duration::from_millis(40));
    let result = outer.run(inner.run(fetch_data("nested", 1_000))).await;
    let reporter = match result {
        Err(e) if e.is_from(&outer) => "the outer deadline",
        Ok(Err(e)) if e.is_from(&inner) => "the inner deadline",
        _ => "nobody",
    };
    ensure!(
        reporter == "the outer deadline",
        "nested deadlines expiring together: reported by {reporter}, not the outer one"
    );
    println!("nested deadlines expiring together: reported by {reporter}");
    Ok(())
}
