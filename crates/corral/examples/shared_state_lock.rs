//! The guides' "Sharing State with Lock": a read-modify-write across an `await` loses updates;
//! a lock held across it does not.
//!
//! Python (advanced guide):
//! ```python
//! counter = 0
//! async def increment():          # WRONG - race condition even in async!
//!     global counter
//!     temp = counter
//!     await asyncio.sleep(0)      # Context switch point!
//!     counter = temp + 1
//!
//! lock = asyncio.Lock()
//! async def safe_increment():     # CORRECT - use Lock
//!     global counter
//!     async with lock:
//!         counter += 1
//! ```
//!
//! Rust will not let a plain global be shared mutably across tasks at all, so the racy version
//! has to be written on purpose (an atomic read, an await, an atomic write) to show the lost
//! updates; the correct version holds a `corral::sync::Mutex` (Tokio's) across the await. The
//! `std` mutex cannot be held across an `await` (clippy's `await_holding_lock` denies it here).
//!
//! Run it with `cargo run --example shared_state_lock`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral::sync::Mutex;
use corral::task::gather;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TASKS: u32 = 100;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn increment(counter: &AtomicU32) -> Result<(), BoxError> {
    let temp = counter.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::ZERO).await; // the context switch point
    counter.store(temp + 1, Ordering::SeqCst);
    Ok(())
}

async fn safe_increment(counter: &Mutex<u32>) -> Result<(), BoxError> {
    let mut guard = counter.lock().await;
    let temp = *guard;
    tokio::time::sleep(Duration::ZERO).await; // the same switch point, but under the lock
    *guard = temp + 1;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let racy = AtomicU32::new(0);
    gather((0..TASKS).map(|_| increment(&racy))).await?;
    let racy = racy.load(Ordering::SeqCst);
    // `gather` polls every increment in turn: all of them read before any of them writes.
    ensure!(racy < TASKS, "the racy counter lost no update ({racy})");
    println!(
        "without a lock: {TASKS} increments left the counter at {racy} ({} updates lost)",
        TASKS - racy
    );

    let safe = Arc::new(Mutex::new(0));
    gather((0..TASKS).map(|_| safe_increment(&safe))).await?;
    let safe = *safe.lock().await;
    ensure!(safe == TASKS, "the locked counter is {safe}, not {TASKS}");
    println!("with corral::sync::Mutex: {TASKS} increments left the counter at {safe}");
    Ok(())
}
