//! Flow control: how often and how many. (Module docs: see below.)

mod error;
mod gcra;
mod rate_limiter;

pub use error::ConfigError;
pub use rate_limiter::{Acquire, AcquireError, AcquireN, Builder, RateLimiter, TryAcquireError};
