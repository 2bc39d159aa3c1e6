//! The lock-free core of [`RateLimiter`](super::RateLimiter) and [`Throttler`](super::Throttler):
//! the generic cell rate algorithm (GCRA) on one atomic.
//!
//! The whole state is the *theoretical arrival time* (TAT): the instant, in nanoseconds from the
//! limiter's base instant, at which the limiter would be back to empty if nothing else arrived.
//! A request of `n` cells at `now` is allowed when `max(tat, now) + n·T - τ <= now`, where `T` is
//! the emission interval (one cell every `T`) and `τ = burst·T` the tolerance; granting moves
//! the TAT to `max(tat, now) + n·T` with one compare-and-swap. Both constants are computed once
//! when the limiter is built, so a grant is a load, a few additions and a CAS.
//!
//! In any closed window of length `L` this grants at most `burst + L / T` cells: every grant
//! moves the TAT forward by `T` per cell, the TAT never falls behind the start of the window once
//! a grant happened in it, and a grant at `t` needs `tat' - t <= τ`.
//!
//! # The 584-year horizon
//!
//! The arithmetic is exact: it is done in 128 bits (`n·T` and `τ` reach 96 bits), so no sum
//! saturates into a grant. Only the stored TAT has 64 bits, the clock's 584 years. A grant whose
//! TAT would pass that horizon stores the horizon itself, [`NEVER`], and a TAT at the horizon
//! refuses every request for good. That is never more permissive than the exact algorithm (the
//! stored TAT is below the true one only when it is the horizon, which refuses everything),
//! and it is exact as long as no grant could follow a TAT past the horizon within the clock's
//! range: for burst 1 always (the next grant would need `now >= tat > u64::MAX`), and for a
//! burst `b` until `u64::MAX - (b - 1)·T`, which the limiter's configuration keeps at least 292
//! years after it was built (see [`Gcra::new`]).

use std::time::Duration;

use crate::loom::{AtomicU64, Ordering};

use super::error::ConfigError;

/// A wait that never ends: the request would be allowed only past the clock's horizon.
pub(crate) const NEVER: u64 = u64::MAX;

/// One GCRA state: the atomic TAT and the precomputed constants.
#[derive(Debug)]
pub(crate) struct Gcra {
    /// Theoretical arrival time, in nanoseconds from the owner's base instant; [`NEVER`] once a
    /// grant reached past the horizon.
    tat: AtomicU64,
    /// `T`: nanoseconds per cell (at least 1).
    emission: u64,
    /// `τ = burst·T`, exact: it fits 64 bits whenever [`Gcra::new`] accepts the configuration
    /// (see there), and a smaller state makes a limiter cheaper to build.
    tolerance: u64,
}

impl Gcra {
    /// A GCRA of one cell every `emission` nanoseconds (at least 1), up to `burst` (at least 1)
    /// at once.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if the span of a full burst at the rate, `(burst - 1)·T`, is above 292
    /// years (`u64::MAX / 2` ns): the limit then holds exactly for at least 292 years after the
    /// limiter is built (see the module's horizon).
    pub(crate) fn new(emission: u64, burst: u32) -> Result<Self, ConfigError> {
        let span = u128::from(emission) * u128::from(burst.saturating_sub(1));
        if span > u128::from(u64::MAX / 2) {
            return Err(ConfigError::new(
                "(burst - 1) × interval must be at most 292 years",
            ));
        }
        // `τ = span + T`: for burst 1 that is `T`, a `u64`; for a larger burst `T <= span`, so
        // `τ <= 2·span <= u64::MAX - 1`. Checked all the same, with the same error.
        let tolerance = u64::try_from(span + u128::from(emission))
            .map_err(|_| ConfigError::new("(burst - 1) × interval must be at most 292 years"))?;
        Ok(Self {
            tat: AtomicU64::new(0),
            emission,
            tolerance,
        })
    }

    /// Nanoseconds per cell.
    pub(crate) fn emission(&self) -> u64 {
        self.emission
    }

    /// Takes `cells` at `now` if the limit allows it; otherwise returns how many nanoseconds
    /// from `now` the request would be allowed (if nobody else takes cells meanwhile), [`NEVER`]
    /// if not within the clock's horizon.
    #[inline]
    pub(crate) fn try_take(&self, cells: u32, now: u64) -> Result<(), u64> {
        let increment = u128::from(self.emission) * u128::from(cells);
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            if tat == NEVER {
                return Err(NEVER);
            }
            // At most 2^64 + 2^96: no overflow.
            let new_tat = u128::from(tat.max(now)) + increment;
            let allowed_at = new_tat.saturating_sub(u128::from(self.tolerance));
            if allowed_at > u128::from(now) {
                return Err(wait_until(allowed_at, now));
            }
            // Past the horizon: the horizon, which refuses everything from now on.
            let stored = u64::try_from(new_tat).unwrap_or(NEVER);
            match self
                .tat
                .compare_exchange_weak(tat, stored, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => tat = actual,
            }
        }
    }

    /// Takes `cells` at the time `now()` reads, if the limit allows it. A refusal is checked
    /// once more with a fresh reading: another thread may have read the clock after us and
    /// granted first, moving the TAT past our now stale reading (on two workers, without this
    /// second look, callers of a limit that never binds queued behind each other).
    #[inline]
    pub(crate) fn try_take_now(&self, cells: u32, mut now: impl FnMut() -> u64) -> bool {
        self.try_take(cells, now()).is_ok() || self.try_take(cells, now()).is_ok()
    }

    /// How many nanoseconds from `now` a request of `cells` would wait behind `ahead` cells
    /// that are already queued (0 when it would be allowed now; [`NEVER`] if not within the
    /// clock's horizon). Reads only.
    pub(crate) fn wait_behind(&self, ahead: u64, cells: u32, now: u64) -> u64 {
        let tat = self.tat.load(Ordering::Acquire);
        if tat == NEVER {
            return NEVER;
        }
        // The cells ahead are granted first, one request at a time; the last of them leaves
        // the TAT at least this far on. Saturating: anything near `u128::MAX` is past the
        // horizon anyway.
        let increment =
            u128::from(self.emission).saturating_mul(u128::from(ahead) + u128::from(cells));
        let allowed_at = u128::from(tat.max(now))
            .saturating_add(increment)
            .saturating_sub(u128::from(self.tolerance));
        if allowed_at <= u128::from(now) {
            0
        } else {
            wait_until(allowed_at, now)
        }
    }
}

/// A wait in nanoseconds as callers are told it: [`NEVER`] is [`Duration::MAX`].
pub(crate) fn wait_duration(nanos: u64) -> Duration {
    if nanos == NEVER {
        Duration::MAX
    } else {
        Duration::from_nanos(nanos)
    }
}

/// The nanoseconds from `now` to `allowed_at` (which is after `now`), or [`NEVER`] when
/// `allowed_at` is past the clock's horizon.
#[inline]
fn wait_until(allowed_at: u128, now: u64) -> u64 {
    match u64::try_from(allowed_at) {
        Ok(NEVER) | Err(_) => NEVER,
        Ok(at) => at - now,
    }
}

#[cfg(all(test, not(corral_loom)))]
mod tests {
    use super::Gcra;

    /// A reading taken before another thread's grant (which read the clock later) is refused
    /// against the TAT that grant left; the fresh reading is granted.
    #[test]
    fn a_refusal_on_a_stale_reading_is_checked_with_a_fresh_one() {
        // One cell per 1,000 ns, burst 2.
        let gcra = Gcra::new(1_000, 2).unwrap();
        let mut readings = 0;
        let granted = gcra.try_take_now(1, || {
            readings += 1;
            if readings == 1 {
                // Meanwhile another thread read 10,000 ns and took a cell: the TAT is 11,000.
                assert_eq!(gcra.try_take(1, 10_000), Ok(()));
                // Our own reading was taken before that: 0 ns.
                0
            } else {
                10_000
            }
        });
        assert!(granted, "the second cell of the burst is free at 10,000 ns");
        assert_eq!(readings, 2);
        assert!(gcra.try_take(1, 10_000).is_err(), "the burst of 2 is spent");
    }

    /// A call the limit refuses on a fresh reading too stays refused, after two readings.
    #[test]
    fn a_real_refusal_stays_refused() {
        let gcra = Gcra::new(1_000, 1).unwrap();
        assert_eq!(gcra.try_take(1, 0), Ok(()));
        let mut readings = 0;
        assert!(!gcra.try_take_now(1, || {
            readings += 1;
            500
        }));
        assert_eq!(readings, 2);
    }

    const YEAR: u64 = 365 * 86_400 * 1_000_000_000;

    /// A burst of 10 at one call per 100 years spans 900 years: past the clock. Before, its
    /// tolerance saturated at `u64::MAX`, and so did the TAT after a few grants, after which
    /// every call was granted.
    #[test]
    fn a_burst_past_the_clock_is_a_configuration_error() {
        assert!(Gcra::new(100 * YEAR, 10).is_err());
        assert!(Gcra::new(3_600_000_000_000, u32::MAX).is_err());
        assert!(Gcra::new(u64::MAX / 2, 2).is_ok());
        assert!(Gcra::new(u64::MAX / 2 + 1, 2).is_err());
        assert!(Gcra::new(u64::MAX, 1).is_ok(), "burst 1 spans nothing");
    }

    /// One call per 584 years: the second call is refused for the rest of the clock, and told
    /// exactly when (before, the saturated TAT minus the tolerance was 0: always granted).
    #[test]
    fn an_interval_of_the_whole_clock_refuses_the_second_call() {
        let gcra = Gcra::new(u64::MAX, 1).unwrap();
        assert_eq!(gcra.try_take(1, 0), Ok(()));
        assert_eq!(gcra.try_take(1, 0), Err(super::NEVER));
        assert_eq!(gcra.try_take(1, YEAR), Err(super::NEVER));
        assert_eq!(gcra.try_take(1, u64::MAX), Err(super::NEVER));
    }

    /// A grant whose TAT passes the horizon is stored as the horizon, which refuses for good;
    /// the exact refusals before it keep their exact waits.
    #[test]
    fn a_tat_past_the_horizon_refuses_for_good() {
        // One cell per 100 years, burst 3: 200 years of span, allowed.
        let gcra = Gcra::new(100 * YEAR, 3).unwrap();
        for _ in 0..3 {
            assert_eq!(gcra.try_take(1, 0), Ok(()));
        }
        assert_eq!(
            gcra.try_take(1, 0),
            Err(100 * YEAR),
            "the 4th cell in 100 years"
        );
        assert_eq!(gcra.try_take(3, 0), Err(300 * YEAR));
        // 500 years on, all three cells are free again; the TAT goes to 800 years.
        assert_eq!(gcra.try_take(3, 500 * YEAR), Ok(()));
        assert_eq!(gcra.try_take(1, 500 * YEAR), Err(super::NEVER));
        assert_eq!(gcra.try_take(1, u64::MAX), Err(super::NEVER));
    }

    /// Randomised against the exact algorithm on unbounded integers, over extreme intervals,
    /// bursts, requests and clock jumps: `try_take` never grants what the exact algorithm
    /// refuses (so no window holds more than `burst + L / T` cells, and no instant more than
    /// `burst`), and before the horizon `u64::MAX - (burst - 1)·T` it decides exactly as the
    /// exact algorithm does, with the same waits.
    #[test]
    fn never_more_than_the_exact_algorithm_at_any_extreme() {
        const SEEDS: [u64; 4] = [1, 2, 0x00c0_7a11_5eed, 0xdead_beef];
        let seeds = match std::env::var("CORRAL_SEED") {
            Ok(seed) => vec![seed.trim().parse().expect("CORRAL_SEED is a decimal u64")],
            Err(_) => SEEDS.to_vec(),
        };
        for seed in seeds {
            let outcome = std::panic::catch_unwind(|| check_against_exact(seed));
            if let Err(panic) = outcome {
                eprintln!("failed with seed {seed}; replay it with CORRAL_SEED={seed}");
                std::panic::resume_unwind(panic);
            }
        }
    }

    /// One of `options` (all drawn before the pick).
    fn pick<T: Copy, const N: usize>(options: [T; N], rng: &mut fastrand::Rng) -> T {
        options[rng.usize(..N)]
    }

    fn check_against_exact(seed: u64) {
        let mut rng = fastrand::Rng::with_seed(seed);
        for _ in 0..300 {
            let emission = pick(
                [
                    1,
                    2,
                    1_000,
                    3_600_000_000_000,
                    100 * YEAR,
                    u64::MAX / 4,
                    u64::MAX / 2,
                    u64::MAX / 2 + 1,
                    u64::MAX - 1,
                    u64::MAX,
                    rng.u64(1..),
                    rng.u64(1..1_000_000),
                ],
                &mut rng,
            );
            let burst = pick([1, 2, 3, 10, 1_000, u32::MAX, rng.u32(1..)], &mut rng);
            let span = u128::from(emission) * u128::from(burst - 1);
            let Ok(gcra) = Gcra::new(emission, burst) else {
                assert!(span > u128::from(u64::MAX / 2), "{emission} ns × {burst}");
                continue;
            };
            let exact_until = u64::MAX - u64::try_from(span).expect("checked by new");
            let tolerance = u128::from(emission) * u128::from(burst);
            let mut exact_tat = 0u128;
            let mut now = pick([0, rng.u64(..), u64::MAX - emission, u64::MAX], &mut rng);
            let mut grants: Vec<(u64, u32)> = Vec::new();
            for _ in 0..100 {
                let step = pick(
                    [
                        0,
                        0,
                        0,
                        1,
                        emission - 1,
                        emission,
                        rng.u64(..emission),
                        rng.u64(..),
                    ],
                    &mut rng,
                );
                now = now.saturating_add(step);
                let cells = pick([1, burst, rng.u32(1..=burst)], &mut rng);
                let new_tat =
                    exact_tat.max(u128::from(now)) + u128::from(emission) * u128::from(cells);
                let allowed_at = new_tat.saturating_sub(tolerance);
                let exact = allowed_at <= u128::from(now);
                let got = gcra.try_take(cells, now);
                let case = format!(
                    "{cells} cells at {now} ns, one per {emission} ns, burst {burst}: {got:?}"
                );
                match got {
                    Ok(()) => {
                        assert!(exact, "granted what the exact algorithm refuses: {case}");
                        exact_tat = new_tat;
                        grants.push((now, cells));
                    }
                    Err(super::NEVER) => {
                        assert!(!exact || now >= exact_until, "refused for good: {case}");
                        assert!(exact || allowed_at >= u128::from(exact_until), "{case}");
                    }
                    Err(wait) => {
                        assert_eq!(u128::from(wait), allowed_at - u128::from(now), "{case}");
                    }
                }
            }
            // No window holds more than the burst plus what the rate refills over it.
            for (i, &(start, _)) in grants.iter().enumerate() {
                let mut cells = 0u128;
                for &(at, n) in &grants[i..] {
                    cells += u128::from(n);
                    let refilled = u128::from(at - start) / u128::from(emission);
                    assert!(cells <= u128::from(burst) + refilled, "{grants:?}");
                }
            }
        }
    }
}

#[cfg(all(test, corral_loom))]
mod loom_tests {
    use super::Gcra;
    use crate::loom::{Arc, AtomicUsize, Ordering};

    /// Invariant: concurrent compare-and-swaps never grant beyond the burst. Three threads each
    /// ask for one cell at the same instant of a limiter with burst 2: exactly two are granted,
    /// and the one refused is told to wait exactly one emission interval.
    #[test]
    fn loom_gcra_no_grant_beyond_burst() {
        loom::model(|| {
            let gcra = Arc::new(Gcra::new(10, 2).unwrap());
            let granted = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let (gcra, granted) = (Arc::clone(&gcra), Arc::clone(&granted));
                    loom::thread::spawn(move || {
                        if gcra.try_take(1, 0).is_ok() {
                            granted.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            let mine = gcra.try_take(1, 0);
            for thread in threads {
                thread.join().unwrap();
            }
            let total = granted.load(Ordering::SeqCst) + usize::from(mine.is_ok());
            assert_eq!(total, 2, "burst 2 grants exactly two cells at one instant");
            assert_eq!(gcra.try_take(1, 0), Err(10));
        });
    }

    /// Invariant: a multi-cell grant racing a single-cell grant never lets both through when
    /// together they exceed the burst, and never refuses both when either fits.
    #[test]
    fn loom_gcra_multi_cell_race() {
        loom::model(|| {
            let gcra = Arc::new(Gcra::new(10, 3).unwrap());
            let other = {
                let gcra = Arc::clone(&gcra);
                loom::thread::spawn(move || gcra.try_take(2, 0).is_ok())
            };
            let mine = gcra.try_take(2, 0).is_ok();
            let theirs = other.join().unwrap();
            assert!(
                mine ^ theirs,
                "2 + 2 cells exceed burst 3: exactly one is granted"
            );
            assert!(gcra.try_take(1, 0).is_ok(), "the third cell is still free");
            assert!(gcra.try_take(1, 0).is_err());
        });
    }
}
