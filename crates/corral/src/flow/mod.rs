//! Flow control: how often and how many. (Module docs: see below.)

mod debounce;
mod error;
mod gcra;
mod limiter;
mod map;
mod rate_limiter;
mod throttle;

pub use debounce::Debouncer;
pub use error::ConfigError;
pub use limiter::Limiter;
pub use map::{map_concurrent, map_concurrent_settled, map_concurrent_spawned};
pub use rate_limiter::{Acquire, AcquireError, AcquireN, Builder, RateLimiter, TryAcquireError};
pub use throttle::{Throttled, Throttler};
