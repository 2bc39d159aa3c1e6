//! The guides' `sync_wrapper(coro)` (a new event loop, `run_until_complete`, close) and
//! `asyncio.run(main())`: calling async code from sync code.
//!
//! Run: `cargo run --example sync_bridge`
//!
//! One difference from the Python: calling it from inside a running runtime is refused with
//! an error (`BlockOnError::InsideRuntime`) instead of raising "event loop is already running"
//! at a deeper level, or panicking deep inside Tokio.

use std::time::Duration;

use corral::blocking::{BlockOnError, block_on};

async fn fetch_data(url: &str) -> String {
    tokio::time::sleep(Duration::from_millis(10)).await; // simulated I/O
    format!("{{\"url\": \"{url}\", \"status\": \"ok\"}}")
}

/// A sync function deep in an existing sync codebase that needs one async call.
fn legacy_report() -> Result<String, BlockOnError> {
    block_on(fetch_data("https://api.example.com"))
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let report = legacy_report()?;
    if !report.contains("\"status\": \"ok\"") {
        return Err(format!("block_on gave {report:?}").into());
    }
    println!("sync_bridge: from plain sync code, block_on ran the async call: {report}");

    // The same function called from inside async code is refused with a clear error.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let refused = runtime.block_on(async { legacy_report() });
    match refused {
        Err(error @ BlockOnError::InsideRuntime) => {
            println!("sync_bridge: inside a runtime it says: {error}")
        }
        other => return Err(format!("block_on inside a runtime gave {other:?}").into()),
    }
    Ok(())
}
