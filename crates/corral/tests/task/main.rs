//! Integration tests of `corral::task`, on Tokio's paused clock.

#[path = "../support/mod.rs"]
mod support;

mod alloc;
mod background;
mod combinators;
mod coop;
mod errors;
mod group;
mod lifecycle;
mod panics;
mod wait;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
