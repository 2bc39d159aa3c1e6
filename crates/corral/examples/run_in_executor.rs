//! The guides' "Running Sync Code in Async", "Mixing Sync and Async" and "Avoid Blocking
//! Calls": `run_in_executor` with the default thread pool for blocking I/O, a
//! `ProcessPoolExecutor` for CPU work, and the `to_async` decorator.
//!
//! Run: `cargo run --example run_in_executor`
//!
//! One difference from the Python: CPU work runs on threads (`run_cpu`), not processes,
//! because Rust threads run in parallel (no GIL); a process is shown only for isolation.

use std::time::{Duration, Instant};

use corral::blocking::{run_blocking, run_blocking_with, run_cpu, to_async};
use corral::task::BoxError;

/// A blocking call, like `requests.get` or `time.sleep` in Python.
fn blocking_io_function(name: &str, millis: u64) -> String {
    std::thread::sleep(Duration::from_millis(millis));
    format!("{name} done")
}

/// CPU-bound work.
fn cpu_intensive_function(n: u64) -> u64 {
    (1..=n).map(|k| k.wrapping_mul(k) % 7919).sum()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    // loop.run_in_executor(None, blocking_io_function, ...) x4, concurrently
    let start = Instant::now();
    let (a, b, c, d) = tokio::try_join!(
        run_blocking(|| blocking_io_function("a", 50)),
        run_blocking(|| blocking_io_function("b", 50)),
        run_blocking(|| blocking_io_function("c", 50)),
        run_blocking(|| blocking_io_function("d", 50)),
    )?;
    println!(
        "run_in_executor: four 50 ms blocking calls ({a}, {b}, {c}, {d}) took {} ms together, \
         and the runtime stayed free meanwhile",
        start.elapsed().as_millis()
    );

    // run_in_executor(ProcessPoolExecutor(), cpu_intensive_function, data)
    let start = Instant::now();
    let (x, y) = tokio::join!(
        run_cpu(|| cpu_intensive_function(500_000)),
        run_cpu(|| cpu_intensive_function(500_000))
    );
    println!(
        "run_in_executor: two CPU jobs on the core-sized pool gave {x} and {y} in {} ms",
        start.elapsed().as_millis()
    );

    // A process only for isolation: a crash there cannot take this program down.
    let output = run_blocking(|| {
        std::process::Command::new("echo")
            .arg("hello from a child process")
            .output()
    })
    .await??;
    println!(
        "run_in_executor: {}",
        String::from_utf8_lossy(&output.stdout).trim()
    );

    // @to_async def checksum(...)
    let checksum = to_async(|data: Vec<u8>| data.iter().map(|b| u32::from(*b)).sum::<u32>());
    println!(
        "run_in_executor: to_async(checksum)(b\"hello\") = {}",
        checksum(b"hello".to_vec()).await?
    );

    // A long job given up after 30 ms notices through its token and stops early.
    let job = run_blocking_with(|token| {
        let mut steps = 0;
        while !token.is_cancelled() && steps < 1000 {
            std::thread::sleep(Duration::from_millis(1));
            steps += 1;
        }
        steps
    });
    let gave_up = corral::time::timeout(Duration::from_millis(30), job)
        .await
        .is_err();
    println!(
        "run_in_executor: gave up on a 1 s blocking job after 30 ms: {gave_up} (it saw its token and stopped)"
    );

    // What "blocking the event loop" looks like, measured: a std sleep inside async code holds
    // the runtime's only thread (this is a current-thread runtime), so the timer beside it
    // fires late. `tokio::time::sleep(..).await`, or `run_blocking`, would not.
    let start = Instant::now();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        start.elapsed()
    });
    std::thread::sleep(Duration::from_millis(60)); // wrong: blocks this worker thread
    let fired = late.await?;
    println!(
        "run_in_executor: with std::thread::sleep(60 ms) in async code, a 10 ms timer beside it fired at {} ms: \
         the blocked thread could run nothing else",
        fired.as_millis()
    );
    Ok(())
}
