//! The guides' `retry(func, max_attempts=3, base_delay=1.0, max_delay=60.0)`: exponential
//! backoff with jitter, a predicate for errors not worth retrying, a hook for logging, and a
//! limit on the total time.
//!
//! Run: `cargo run --example retry_jitter`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use corral::retry::{GiveUp, Jitter, Retry};

#[derive(Debug)]
enum FetchError {
    Unavailable,
    NotFound,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Unavailable => f.write_str("503 service unavailable"),
            FetchError::NotFound => f.write_str("404 not found"),
        }
    }
}

impl std::error::Error for FetchError {}

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// A service that answers 503 to its first `failures` calls.
async fn flaky(calls: &AtomicU32, failures: u32) -> Result<&'static str, FetchError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if calls.fetch_add(1, Ordering::SeqCst) < failures {
        Err(FetchError::Unavailable)
    } else {
        Ok("payload")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // One policy, shared by every call below.
    let policy = Retry::exponential(Duration::from_millis(20))
        .max_attempts(5)
        .max_delay(Duration::from_millis(200))
        .jitter(Jitter::Equal)
        .when(|e: &FetchError| matches!(e, FetchError::Unavailable))
        .on_retry(|attempt, error: &FetchError, delay: Duration| {
            println!("  attempt {attempt} failed ({error}); retrying in {delay:?}");
        });

    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let body = policy.run(|| flaky(&calls, 2)).await?;
    let calls = calls.load(Ordering::SeqCst);
    ensure!(
        body == "payload" && calls == 3,
        "got {body:?} after {calls} calls"
    );
    println!(
        "got {body:?} after {calls} calls in {} ms",
        start.elapsed().as_millis()
    );

    // A 404 is not worth retrying: one call, then the error.
    let Err(err) = policy
        .run(|| async { Err::<(), _>(FetchError::NotFound) })
        .await
    else {
        return Err("a call that always answers 404 succeeded".into());
    };
    ensure!(
        err.reason() == GiveUp::NotRetryable && err.attempts() == 1,
        "a 404 was tried {} times ({:?})",
        err.attempts(),
        err.reason()
    );
    println!("{err} (no retry: {:?})", err.reason());

    // A service that stays down: the policy gives up after 5 attempts.
    let down = AtomicU32::new(0);
    let Err(err) = policy.run(|| flaky(&down, u32::MAX)).await else {
        return Err("a service that stays down answered".into());
    };
    ensure!(
        err.reason() == GiveUp::Attempts && err.attempts() == 5,
        "gave up after {} attempts ({:?}), not 5",
        err.attempts(),
        err.reason()
    );
    println!("{err} ({:?})", err.reason());

    // The same, bounded by 100 ms in all: it stops before a wait that would cross the limit.
    let budget = Retry::exponential(Duration::from_millis(20))
        .max_attempts(u32::MAX)
        .max_elapsed(Duration::from_millis(100));
    let start = Instant::now();
    let Err(err) = budget.run(|| flaky(&down, u32::MAX)).await else {
        return Err("a service that stays down answered".into());
    };
    let stopped_at = start.elapsed();
    // The budget is checked before each wait (a thread held up mid-wait can still carry the
    // last attempt past it, so the time itself is printed, not checked).
    ensure!(
        err.reason() == GiveUp::Elapsed,
        "stopped at {stopped_at:?} of a 100 ms budget ({:?})",
        err.reason()
    );
    println!(
        "{err} ({:?}, stopped at {} ms of a 100 ms budget)",
        err.reason(),
        stopped_at.as_millis()
    );
    Ok(())
}
