//! The schedule: how long to wait after the n-th failure, and jitter.

use std::fmt;
use std::time::Duration;

/// The shape of a backoff schedule, before the cap and the jitter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Shape {
    /// `base * factor^(n-1)`.
    Exponential { factor: f64 },
    /// `base`, always.
    Fixed,
    /// `base * fib(n)`, with `fib(1) = fib(2) = 1`.
    Fibonacci,
}

impl Shape {
    /// The wait after the `failures`-th failed attempt (`failures >= 1`), saturating at
    /// `Duration::MAX`.
    pub(crate) fn delay(self, base: Duration, failures: u32) -> Duration {
        let n = failures.max(1);
        match self {
            Shape::Fixed => base,
            Shape::Exponential { factor } => {
                let exponent = n - 1;
                if exponent == 0 || factor == 1.0 {
                    return base;
                }
                if factor.fract() == 0.0 && factor <= u64::MAX as f64 {
                    // An integer factor: exact, in integer nanoseconds.
                    let power = (factor as u128).checked_pow(exponent).unwrap_or(u128::MAX);
                    return from_nanos_saturating(base.as_nanos().saturating_mul(power));
                }
                scale(base, factor.powf(f64::from(exponent))).max(base)
            }
            Shape::Fibonacci => {
                // fib(186) is past u128::MAX nanoseconds: saturate long before that.
                let (mut previous, mut current) = (0_u128, 1_u128);
                for _ in 1..n.min(200) {
                    let next = previous.saturating_add(current);
                    previous = current;
                    current = next;
                }
                from_nanos_saturating(base.as_nanos().saturating_mul(current))
            }
        }
    }
}

/// `base * multiplier` for a finite `multiplier >= 0`, saturating at `Duration::MAX`, exact
/// while the product is an integer number of nanoseconds below 2^53.
fn scale(base: Duration, multiplier: f64) -> Duration {
    let nanos = base.as_nanos() as f64 * multiplier;
    if nanos.is_nan() || nanos <= 0.0 {
        return Duration::ZERO;
    }
    // 2^64 nanoseconds is about 584 years; above that go through seconds.
    if nanos < 18_446_744_073_709_551_615.0 {
        return Duration::from_nanos(nanos.round() as u64);
    }
    Duration::try_from_secs_f64(nanos / 1e9).unwrap_or(Duration::MAX)
}

fn from_nanos_saturating(nanos: u128) -> Duration {
    match u64::try_from(nanos) {
        Ok(nanos) => Duration::from_nanos(nanos),
        Err(_) => {
            let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
            // The remainder is below 10^9, so it fits.
            let subsec = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
            if secs == u64::MAX {
                Duration::MAX
            } else {
                Duration::new(secs, subsec)
            }
        }
    }
}

/// How much randomness to put into each wait, so that many clients that failed together do not
/// retry together (the "thundering herd").
///
/// For a wait `d` (after the cap of [`max_delay`](super::Retry::max_delay)) and a random `r`
/// in `[0, 1]`:
///
/// | kind | wait | range |
/// |---|---|---|
/// | [`None`](Jitter::None) | `d` | exactly `d` |
/// | [`Full`](Jitter::Full) | `d * r` | `[0, d]` |
/// | [`Equal`](Jitter::Equal) | `d/2 + d/2 * r` | `[d/2, d]` |
///
/// These are the "full" and "equal" jitter of the AWS architecture blog's analysis; full
/// jitter spreads retries best, equal jitter keeps a floor under each wait.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::retry::Jitter;
///
/// let d = Duration::from_millis(400);
/// assert_eq!(Jitter::None.apply(d, 0.25), d);
/// assert_eq!(Jitter::Full.apply(d, 0.25), Duration::from_millis(100));
/// assert_eq!(Jitter::Equal.apply(d, 0.25), Duration::from_millis(250));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Jitter {
    /// No randomness: the waits are exactly the schedule.
    #[default]
    None,
    /// A wait anywhere in `[0, d]`.
    Full,
    /// A wait in `[d/2, d]`.
    Equal,
}

impl Jitter {
    /// The wait for a scheduled `delay` and a random `r` (clamped to `[0, 1]`; `NaN` counts as
    /// 0). Never more than `delay`, never overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::retry::Jitter;
    ///
    /// let d = Duration::from_secs(1);
    /// assert_eq!(Jitter::Full.apply(d, 1.0), d);
    /// assert_eq!(Jitter::Equal.apply(d, 0.0), Duration::from_millis(500));
    /// assert!(Jitter::Full.apply(Duration::MAX, 0.5) < Duration::MAX); // no overflow
    /// ```
    pub fn apply(self, delay: Duration, r: f64) -> Duration {
        let r = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        match self {
            Jitter::None => delay,
            Jitter::Full => fraction(delay, r),
            Jitter::Equal => {
                let half = delay / 2;
                let rest = delay - half;
                half.saturating_add(fraction(rest, r))
            }
        }
    }
}

/// `delay * r` for `r` in `[0, 1]`, never above `delay`.
fn fraction(delay: Duration, r: f64) -> Duration {
    if r >= 1.0 {
        return delay;
    }
    if delay == Duration::MAX {
        // Halving first keeps the product inside u64 seconds.
        return (scale(delay / 2, r) * 2).min(delay);
    }
    scale(delay, r).min(delay)
}

/// The random source of the jitter: a function returning a number in `[0, 1)`.
#[derive(Clone)]
pub(crate) enum Source {
    /// `fastrand`'s thread-local generator.
    Default,
    /// A source the caller gave.
    Custom(std::sync::Arc<dyn Fn() -> f64 + Send + Sync>),
}

impl Source {
    pub(crate) fn next(&self) -> f64 {
        match self {
            Source::Default => fastrand::f64(),
            Source::Custom(source) => source(),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("fastrand"),
            Source::Custom(_) => f.write_str("custom"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_is_exact() {
        let shape = Shape::Exponential { factor: 2.0 };
        let base = Duration::from_millis(100);
        let got: Vec<_> = (1..=4).map(|n| shape.delay(base, n)).collect();
        assert_eq!(got, [100, 200, 400, 800].map(Duration::from_millis));
    }

    #[test]
    fn fibonacci_sequence() {
        let base = Duration::from_millis(10);
        let got: Vec<_> = (1..=6).map(|n| Shape::Fibonacci.delay(base, n)).collect();
        assert_eq!(got, [10, 10, 20, 30, 50, 80].map(Duration::from_millis));
        assert_eq!(Shape::Fibonacci.delay(base, u32::MAX), Duration::MAX);
    }

    #[test]
    fn saturates() {
        let shape = Shape::Exponential { factor: 10.0 };
        assert_eq!(shape.delay(Duration::MAX, u32::MAX), Duration::MAX);
        assert_eq!(shape.delay(Duration::from_secs(1), 1_000), Duration::MAX);
        assert_eq!(from_nanos_saturating(u128::MAX), Duration::MAX);
    }
}
