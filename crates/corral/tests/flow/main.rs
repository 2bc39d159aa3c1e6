//! Integration tests for `corral::flow`: `RateLimiter`, `Limiter` and `map_concurrent`,
//! `Debouncer`, `Throttler`.
//!
//! Everything time-dependent runs on the paused clock, so timings are exact virtual times.
//! Property tests run from a fixed seed (`CORRAL_SEED` replays another one; the seed is printed
//! when a test starts).

mod debounce;
#[path = "../support/drop_panic.rs"]
mod drop_panic;
mod limiter;
#[path = "../support/lock_probe.rs"]
mod lock_probe;
mod map;
mod rate_limiter;
#[path = "../support/reports.rs"]
mod reports;
#[path = "../support/seeds.rs"]
mod seeds;
mod support;
mod throttle;
