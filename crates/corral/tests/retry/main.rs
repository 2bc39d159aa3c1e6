//! Integration tests of `corral::retry`, on Tokio's paused clock.

#[path = "../support/mod.rs"]
mod support;

mod props;
mod schedule;
mod stops;
