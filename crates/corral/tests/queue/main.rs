//! Integration tests of `corral::queue`: `Queue`, `PriorityQueue` and `LifoQueue`.
//!
//! Behaviours shared by the three kinds are written once (`for_each_kind!`) and run for each.
//! Poll-level tests drive futures by hand with `tokio_test::task::spawn`, so "woken, then
//! dropped before it ran" is a precise point, not a race.

#[path = "../support/lock_probe.rs"]
mod lock_probe;
#[path = "../support/reports.rs"]
mod reports;
#[path = "../support/seeds.rs"]
mod seeds;
mod support;

mod basics;
mod cancel;
mod fairness;
mod join;
mod order;
mod props;
mod reserve;
mod shutdown;
mod status;
mod stream;
mod stress;
