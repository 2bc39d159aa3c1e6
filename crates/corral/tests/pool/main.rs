//! Integration tests of `corral::pool`: `WorkerPool` and `Pool`.

#[path = "../support/mod.rs"]
mod support;

mod resource;
mod worker;
