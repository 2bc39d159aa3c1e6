//! Helpers shared by the integration test binaries (`mod support;` from each `main.rs`).
#![allow(dead_code, unreachable_pub)]

pub mod drop_panic;
pub mod seeds;

#[allow(unused_imports)]
pub use drop_panic::ReadyThenPanicsOnDrop;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Set when the value it guards is dropped: proves a future was cancelled (or finished).
#[derive(Clone, Debug, Default)]
pub struct DropFlag(Arc<AtomicBool>);

impl DropFlag {
    pub fn new() -> Self {
        Self::default()
    }

    /// A guard to move into a future; dropping it sets the flag.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    pub fn is_dropped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
pub struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Counts polls of a future, to prove a future was never polled.
#[derive(Clone, Debug, Default)]
pub struct PollCount(Arc<AtomicUsize>);

impl PollCount {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Wraps `fut` so every poll is counted.
    pub fn track<F: std::future::Future>(
        &self,
        fut: F,
    ) -> impl std::future::Future<Output = F::Output> + use<F> {
        let count = self.0.clone();
        let mut fut = Box::pin(fut);
        std::future::poll_fn(move |cx| {
            count.fetch_add(1, Ordering::SeqCst);
            fut.as_mut().poll(cx)
        })
    }
}

/// A `tracing` subscriber that records the fields of every event, for checking what was
/// reported through the default hooks.
#[derive(Clone, Debug, Default)]
pub struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    /// Runs `f` with this subscriber as the thread's default.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        tracing::subscriber::with_default(self.clone(), f)
    }

    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(format!("{} ", event.metadata().level()));
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A current-thread runtime with a paused clock, for tests that must run inside
/// `Captured::run` (which needs a synchronous scope).
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// The last instant `Instant` can represent after now, to the nanosecond.
pub fn last_instant() -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    let mut reach = std::time::Duration::ZERO;
    let mut step = std::time::Duration::MAX;
    while step > std::time::Duration::ZERO {
        if let Some(further) = reach.checked_add(step)
            && now.checked_add(further).is_some()
        {
            reach = further;
        } else {
            step /= 2;
        }
    }
    now + reach
}

/// A wait from now that ends half a millisecond before [`last_instant`]: Tokio rounds a timer
/// up to its next millisecond when it sets it, and would overflow there unless corral keeps
/// such an instant away from it.
pub fn almost_forever() -> std::time::Duration {
    last_instant().duration_since(tokio::time::Instant::now())
        - std::time::Duration::from_micros(500)
}

/// A multi-thread runtime with two workers (timers on): for tests that need a task mid-step
/// on one worker while another runs.
pub fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a two-worker runtime")
}
