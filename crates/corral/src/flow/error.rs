//! The configuration error shared by the `try_` constructors of the flow module.

use std::fmt;

/// A flow primitive was given a configuration it cannot run with: a zero rate, burst, limit or
/// interval, a rate that is not a positive finite number, or one above one call per
/// nanosecond (the rate limiter's unit).
///
/// Returned by the `try_` constructors ([`RateLimiter::try_per_second`],
/// [`Builder::try_build`], [`Limiter::try_new`], [`Throttler::try_new`]); their panicking
/// siblings panic with this error's message instead. A bad configuration is refused when it is
/// made, never discovered later as a wait that does not end.
///
/// [`RateLimiter::try_per_second`]: crate::flow::RateLimiter::try_per_second
/// [`Builder::try_build`]: crate::flow::Builder::try_build
/// [`Limiter::try_new`]: crate::flow::Limiter::try_new
/// [`Throttler::try_new`]: crate::flow::Throttler::try_new
///
/// # Examples
///
/// ```
/// use corral::flow::RateLimiter;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let Err(error) = RateLimiter::try_per_second(0) else {
///     return Err("a zero rate should be refused".into());
/// };
/// assert_eq!(error.to_string(), "invalid configuration: the rate must be above zero");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    what: &'static str,
}

impl ConfigError {
    pub(crate) const fn new(what: &'static str) -> Self {
        Self { what }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.what)
    }
}

impl std::error::Error for ConfigError {}
