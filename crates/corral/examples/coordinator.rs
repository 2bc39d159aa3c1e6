//! Coordinating tasks with events: the guides' `Coordinator` and `AsyncWorker`.
//!
//! A `Coordinator` holds two events, "ready" and "shutdown". An `AsyncWorker` initialises,
//! signals that it is ready, and then runs until it is told to stop. The main task waits for
//! the worker to be ready, hands it some work, then stops it.
//!
//! Run it with `cargo run --example coordinator`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral::sync::Event;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// The guides' `Coordinator`: a "ready" and a "shutdown" signal.
#[derive(Debug, Default)]
struct Coordinator {
    ready: Event,
    shutdown: Event,
}

impl Coordinator {
    async fn wait_ready(&self) {
        self.ready.wait().await;
    }

    fn signal_ready(&self) {
        self.ready.set();
    }

    async fn wait_shutdown(&self) {
        self.shutdown.wait().await;
    }

    fn signal_shutdown(&self) {
        self.shutdown.set();
    }
}

/// The guides' `AsyncWorker`: `start` initialises, says it is ready, and runs until `stop`.
#[derive(Debug, Default)]
struct AsyncWorker {
    coordinator: Coordinator,
    ticks: AtomicU32,
}

impl AsyncWorker {
    async fn start(&self) {
        println!("worker: initialising");
        tokio::time::sleep(Duration::from_millis(50)).await; // open connections, load config...
        println!("worker: ready");
        self.coordinator.signal_ready();

        // Do periodic work until asked to stop. `wait_shutdown` is cancel safe, so it can sit
        // in a `select!` loop.
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                () = self.coordinator.wait_shutdown() => break,
                _ = tick.tick() => {
                    self.ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        println!("worker: shutting down cleanly");
    }

    async fn wait_ready(&self) {
        self.coordinator.wait_ready().await;
    }

    fn stop(&self) {
        self.coordinator.signal_shutdown();
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let worker = Arc::new(AsyncWorker::default());
    let running = tokio::spawn({
        let worker = Arc::clone(&worker);
        async move { worker.start().await }
    });

    // Several tasks may wait for readiness; one `set` releases them all.
    let mut watchers = Vec::new();
    for id in 1..=3 {
        let worker = Arc::clone(&worker);
        watchers.push(tokio::spawn(async move {
            worker.wait_ready().await;
            ensure!(
                worker.coordinator.ready.is_set(),
                "watcher {id} was released before the worker was ready"
            );
            println!("watcher {id}: saw the worker become ready");
            Ok::<_, BoxError>(())
        }));
    }
    for watcher in watchers {
        watcher.await??;
    }

    worker.wait_ready().await; // already set: returns at once
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("main: stopping the worker");
    worker.stop();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .map_err(|_| "the worker did not stop within 5 s of the shutdown signal")??;
    let ticks = worker.ticks.load(Ordering::Relaxed);
    ensure!(ticks > 0, "the worker never ticked while it ran");
    println!("main: worker ticked {ticks} times before it stopped");
    Ok(())
}
