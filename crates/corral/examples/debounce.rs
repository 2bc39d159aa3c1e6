//! Debounce and throttle: save a document only after the typing stops (trailing edge), and
//! redraw a progress bar at most every 100 ms (leading edge).
//!
//! Run: `cargo run --example debounce`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral::flow::{Debouncer, Throttler};
use corral::task::BoxError;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let start = Instant::now();
    let saves = Arc::new(Mutex::new(Vec::new()));
    let debouncer = Debouncer::new(Duration::from_millis(150));
    let (mut text, mut last_key) = (String::new(), 0);
    for key in "hello".chars() {
        text.push(key);
        last_key = start.elapsed().as_millis();
        let (saves, snapshot) = (Arc::clone(&saves), text.clone());
        debouncer.call(async move {
            let at = start.elapsed().as_millis();
            saves.lock().map_err(|_| "poisoned")?.push((snapshot, at));
            Ok(())
        });
        tokio::time::sleep(Duration::from_millis(40)).await; // a keystroke every 40 ms
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let saves = saves.lock().map_err(|_| "poisoned")?.clone();
    let once_after_typing = matches!(
        saves.as_slice(),
        [(text, at)] if text == "hello" && *at >= last_key + 150
    );
    ensure!(
        once_after_typing,
        "expected one save of \"hello\" 150 ms after the last keystroke, got {saves:?}"
    );
    println!("Debouncer: 5 keystrokes, saved {saves:?} (once, after the typing stopped)");

    // Saving on shutdown: flush runs the pending call now.
    debouncer.call(async { Ok(()) });
    let flushed = debouncer.flush().await.transpose()?.is_some();
    ensure!(flushed, "flush found no pending save to run");
    println!("Debouncer: flush ran the pending save at once: {flushed}");

    let throttler = Throttler::try_new(Duration::from_millis(100))?;
    let mut redraws = Vec::new();
    for _ in 0..20 {
        if throttler.try_acquire().is_ok() {
            redraws.push(tokio::time::Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(25)).await; // progress every 25 ms
    }
    // The throttler's own clock reading is a hair earlier than ours: allow 1 ms.
    let closest = redraws.windows(2).map(|w| w[1] - w[0]).min();
    ensure!(
        redraws.len() >= 2 && closest >= Some(Duration::from_millis(99)),
        "{} redraws, the closest {closest:?} apart: not one per 100 ms",
        redraws.len()
    );
    println!(
        "Throttler: 20 progress updates over 500 ms, {} redraws, at least 100 ms apart",
        redraws.len()
    );
    Ok(())
}
