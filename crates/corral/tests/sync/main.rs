//! Integration tests for `corral::sync`: `Event`, `Condition`, `Barrier`, and the re-exports.
//!
//! Deterministic tests run on the paused clock and check ordering poll by poll with
//! `tokio_test`; `stress.rs` runs each primitive on two worker threads with random
//! cancellation.

mod barrier;
mod condition;
mod event;
#[path = "../support/lock_probe.rs"]
mod lock_probe;
mod reexports;
#[path = "../support/reports.rs"]
mod reports;
#[path = "../support/seeds.rs"]
mod seeds;
mod stress;
mod support;
