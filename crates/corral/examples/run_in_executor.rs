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

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

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
    // On this current-thread runtime, calls run on its one thread would take 4 x 50 ms.
    let took = start.elapsed();
    ensure!(
        took < Duration::from_millis(4 * 50),
        "four 50 ms blocking calls took {took:?}, one after another"
    );
    println!(
        "run_in_executor: four 50 ms blocking calls ({a}, {b}, {c}, {d}) took {} ms together, \
         and the runtime stayed free meanwhile",
        took.as_millis()
    );

    // run_in_executor(ProcessPoolExecutor(), cpu_intensive_function, data)
    let start = Instant::now();
    let (x, y) = tokio::join!(
        run_cpu(|| cpu_intensive_function(500_000)),
        run_cpu(|| cpu_intensive_function(500_000))
    );
    ensure!(x == y, "the same CPU job gave {x} and {y}");
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
    let said = String::from_utf8_lossy(&output.stdout);
    ensure!(
        said.trim() == "hello from a child process",
        "the child process said {said:?}"
    );
    println!("run_in_executor: {}", said.trim());

    // @to_async def checksum(...)
    let checksum = to_async(|data: Vec<u8>| data.iter().map(|b| u32::from(*b)).sum::<u32>());
    let sum = checksum(b"hello".to_vec()).await?;
    ensure!(sum == 532, "checksum(b\"hello\") = {sum}");
    println!("run_in_executor: to_async(checksum)(b\"hello\") = {sum}");

    // A long job given up after 30 ms notices through its token and stops early.
    // The job says how far it got on a channel: its own result goes nowhere once given up.
    let (stopped, stopped_at) = tokio::sync::oneshot::channel();
    let job = run_blocking_with(|token| {
        let mut steps = 0;
        while !token.is_cancelled() && steps < 1000 {
            std::thread::sleep(Duration::from_millis(1));
            steps += 1;
        }
        let _ = stopped.send(steps);
        steps
    });
    let gave_up = corral::time::timeout(Duration::from_millis(30), job)
        .await
        .is_err();
    let steps = stopped_at.await?;
    ensure!(
        gave_up && steps < 1000,
        "gave up: {gave_up}; the job ran {steps} of its 1000 steps"
    );
    println!(
        "run_in_executor: gave up on a 1 s blocking job after 30 ms: {gave_up} (it saw its token \
         and stopped after {steps} steps)"
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
    ensure!(
        fired >= Duration::from_millis(60),
        "the 10 ms timer fired at {fired:?}, while the thread was blocked"
    );
    println!(
        "run_in_executor: with std::thread::sleep(60 ms) in async code, a 10 ms timer beside it fired at {} ms: \
         the blocked thread could run nothing else",
        fired.as_millis()
    );
    Ok(())
}
