//! The guides' `first_response`: `asyncio.wait(tasks, return_when=FIRST_COMPLETED)`, then
//! cancel the rest; and `asyncio.wait(tasks, timeout=10.0)`, then cancel what is still pending.
//! corral has `wait` for the general case, `race` for "first to finish" and `first_ok` for
//! "first to succeed".
//!
//! Run: `cargo run --example first_response`

use std::time::{Duration, Instant};

use corral::task::{BoxError, WaitFor, first_ok, race, wait};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// Simulates a mirror that answers after `ms`, or fails if `up` is false.
async fn fetch(mirror: &'static str, ms: u64, up: bool) -> Result<&'static str, BoxError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    if up {
        Ok(mirror)
    } else {
        Err(format!("{mirror} is down").into())
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let start = Instant::now();
    let requests = [
        fetch("eu", 120, true),
        fetch("us", 40, true),
        fetch("ap", 200, true),
    ];
    let (done, pending) = wait(requests, WaitFor::FirstCompleted, None).await;
    let first = done
        .into_iter()
        .next()
        .ok_or("no request finished")?
        .result?;
    ensure!(
        first == "us" && pending.len() == 2,
        "wait(FirstCompleted): {first} first, {} pending",
        pending.len()
    );
    println!(
        "wait(FirstCompleted): {first} answered first after {} ms; {} still running",
        start.elapsed().as_millis(),
        pending.len()
    );
    drop(pending); // for task in pending: task.cancel()

    // done, pending = await asyncio.wait(tasks, timeout=0.15)
    // for task in pending: task.cancel()
    let start = Instant::now();
    let requests = [
        fetch("eu", 120, true),
        fetch("us", 40, true),
        fetch("ap", 2_000, true),
    ];
    let (done, pending) = wait(
        requests,
        WaitFor::AllCompleted,
        Some(Duration::from_millis(150)),
    )
    .await;
    let mut answered = Vec::new();
    for finished in done {
        answered.push(finished.result?);
    }
    let late: Vec<usize> = pending.iter().map(|task| task.index()).collect();
    answered.sort_unstable();
    ensure!(
        answered == ["eu", "us"] && late == [2],
        "wait(timeout=150 ms): {answered:?} answered, {late:?} pending"
    );
    for task in pending {
        task.abort(); // task.cancel()
    }
    println!(
        "wait(timeout=150 ms): returned after {} ms; {answered:?} answered, request(s) {late:?} \
         still pending were aborted",
        start.elapsed().as_millis()
    );

    let start = Instant::now();
    let winner = race([fetch("eu", 120, true), fetch("us", 40, false)])
        .await
        .map(|r| r.map_err(|e| e.to_string()));
    ensure!(
        winner == Some(Err("us is down".to_string())),
        "race: {winner:?} won"
    );
    println!(
        "race: the first to finish wins even if it failed: {winner:?} after {} ms",
        start.elapsed().as_millis()
    );

    let start = Instant::now();
    let body = first_ok([
        fetch("eu", 120, true),
        fetch("us", 40, false),
        fetch("ap", 200, true),
    ])
    .await
    .map_err(|e| e.to_string())?;
    ensure!(body == "eu", "first_ok: took {body}");
    println!(
        "first_ok: skips the failed mirror and takes {body} after {} ms",
        start.elapsed().as_millis()
    );
    Ok(())
}
