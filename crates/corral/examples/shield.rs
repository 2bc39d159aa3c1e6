//! The guides' `critical_operation`: `asyncio.shield` keeps important work running when the
//! caller is cancelled, and the result can still be collected.
//!
//! Run: `cargo run --example shield`

use std::time::{Duration, Instant};

use corral::task::BoxError;
use corral::time::{shield, timeout};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn important_work() -> Result<&'static str, BoxError> {
    tokio::time::sleep(Duration::from_millis(150)).await;
    Ok("order saved")
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let start = Instant::now();
    let mut saving = shield(important_work());
    // The caller gives up after 50 ms (in asyncio: CancelledError at the shield)...
    let gave_up = timeout(Duration::from_millis(50), &mut saving)
        .await
        .is_err();
    ensure!(gave_up, "the caller's 50 ms timeout never fired");
    println!(
        "shield: caller gave up after {} ms",
        start.elapsed().as_millis()
    );
    // ...but the work continued, and its result is still there.
    let result = saving.await?;
    ensure!(result == "order saved", "the shielded work gave {result:?}");
    println!(
        "shield: work finished anyway: {result:?} at {} ms",
        start.elapsed().as_millis()
    );
    Ok(())
}
