//! Debounce and throttle: save a document only after the typing stops (trailing edge), and
//! redraw a progress bar at most every 100 ms (leading edge).
//!
//! Run: `cargo run --example debounce`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral::flow::{Debouncer, Throttler};
use corral::task::BoxError;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let start = Instant::now();
    let saves = Arc::new(Mutex::new(Vec::new()));
    let debouncer = Debouncer::new(Duration::from_millis(150));
    let mut text = String::new();
    for key in "hello".chars() {
        text.push(key);
        let (saves, snapshot) = (Arc::clone(&saves), text.clone());
        debouncer.call(async move {
            let at = start.elapsed().as_millis();
            saves.lock().map_err(|_| "poisoned")?.push((snapshot, at));
            Ok(())
        });
        tokio::time::sleep(Duration::from_millis(40)).await; // a keystroke every 40 ms
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!(
        "Debouncer: 5 keystrokes, saved {:?} (once, after the typing stopped)",
        saves.lock().map_err(|_| "poisoned")?
    );

    // Saving on shutdown: flush runs the pending call now.
    debouncer.call(async { Ok(()) });
    let flushed = debouncer.flush().await.transpose()?.is_some();
    println!("Debouncer: flush ran the pending save at once: {flushed}");

    let throttler = Throttler::try_new(Duration::from_millis(100))?;
    let mut redraws = 0;
    for _ in 0..20 {
        if throttler.try_acquire().is_ok() {
            redraws += 1;
        }
        tokio::time::sleep(Duration::from_millis(25)).await; // progress every 25 ms
    }
    println!("Throttler: 20 progress updates over 500 ms, {redraws} redraws");
    Ok(())
}
