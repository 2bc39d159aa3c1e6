//! Integration tests of `corral::task`, on Tokio's paused clock.

#[path = "../support/mod.rs"]
mod support;

mod background;
mod cancel_safety;
mod combinators;
mod coop;
mod done;
mod errors;
mod group;
mod lifecycle;
#[path = "../support/lock_probe.rs"]
mod lock_probe;
mod nesting;
mod panics;
mod pinning;
mod promises;
mod split;
mod wait;

/// Counts the bytes each thread holds, for the reaping test in `lifecycle.rs`.
#[global_allocator]
static ALLOCATOR: corral_alloc_count::Counting = corral_alloc_count::Counting;
