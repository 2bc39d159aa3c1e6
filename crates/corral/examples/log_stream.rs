//! The guides' "Streaming API" example, `stream_log_entries`: fetch the entries after the last
//! one seen, yield them, wait, repeat.
//!
//! Run: `cargo run --example log_stream`
//!
//! It differs from the Python in one way: the guide sleeps one interval *after* each fetch, so
//! its period drifts by the fetch time; `poll` keeps a fixed cadence (and after a slow fetch it
//! fetches at once, then resumes the cadence). The interval is 20 ms here, not 1 s, to finish fast.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use corral::stream::{StreamExt, poll};
use corral::task::BoxError;

#[derive(Debug, Clone)]
struct LogEntry {
    id: u64,
    message: String,
}

/// Entries the "server" has; a background task appends to it.
static SERVER: Mutex<Vec<LogEntry>> = Mutex::new(Vec::new());

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// A pretend `fetch_logs(after=last_id)`.
async fn fetch_logs(after: Option<u64>) -> Result<Vec<LogEntry>, BoxError> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    let server = SERVER.lock().map_err(|_| "log server poisoned")?;
    Ok(server
        .iter()
        .filter(|e| Some(e.id) > after)
        .cloned()
        .collect())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let start = Instant::now();
    // The application writes a log line every 15 ms.
    let writer = tokio::spawn(async {
        for id in 1..=6 {
            SERVER
                .lock()
                .map_err(|_| "log server poisoned")?
                .push(LogEntry {
                    id,
                    message: format!("request {id} handled"),
                });
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        Ok::<_, BoxError>(())
    });

    // async for log in stream_log_entries(): print(log)   (stop after 6 entries)
    let logs = poll(Duration::from_millis(20), |last: Option<&LogEntry>| {
        fetch_logs(last.map(|e| e.id))
    });
    let mut logs = std::pin::pin!(logs.take(6));
    let mut seen = Vec::new();
    while let Some(entry) = logs.next().await {
        let entry = entry?;
        seen.push(entry.id);
        println!(
            "log_stream: at {:>3} ms got #{} {}",
            start.elapsed().as_millis(),
            entry.id,
            entry.message
        );
    }
    writer.await??;
    ensure!(
        seen == [1, 2, 3, 4, 5, 6],
        "the stream gave entries {seen:?}, not 1 to 6 once each in order"
    );
    println!("log_stream: each entry was seen exactly once, in order");
    Ok(())
}
