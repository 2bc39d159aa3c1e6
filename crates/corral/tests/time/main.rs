//! Integration tests of `corral::time`, on Tokio's paused clock.

#[path = "../support/mod.rs"]
mod support;

mod deadline;
mod nested;
mod shield;
mod timeout;
