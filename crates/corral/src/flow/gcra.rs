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

use crate::loom::{AtomicU64, Ordering};

/// One GCRA state: the atomic TAT and the precomputed constants.
#[derive(Debug)]
pub(crate) struct Gcra {
    /// Theoretical arrival time, in nanoseconds from the owner's base instant.
    tat: AtomicU64,
    /// `T`: nanoseconds per cell (at least 1).
    emission: u64,
    /// `τ = burst·T` (saturating).
    tolerance: u64,
}

impl Gcra {
    pub(crate) fn new(emission: u64, burst: u32) -> Self {
        Self {
            tat: AtomicU64::new(0),
            emission,
            tolerance: emission.saturating_mul(u64::from(burst)),
        }
    }

    /// Nanoseconds per cell.
    pub(crate) fn emission(&self) -> u64 {
        self.emission
    }

    /// Takes `cells` at `now` if the limit allows it; otherwise returns how many nanoseconds
    /// from `now` the request would be allowed (if nobody else takes cells meanwhile).
    #[inline]
    pub(crate) fn try_take(&self, cells: u32, now: u64) -> Result<(), u64> {
        let increment = self.emission.saturating_mul(u64::from(cells));
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let new_tat = tat.max(now).saturating_add(increment);
            let allowed_at = new_tat.saturating_sub(self.tolerance);
            if allowed_at > now {
                return Err(allowed_at - now);
            }
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::AcqRel, Ordering::Acquire)
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
    /// that are already queued (0 when it would be allowed now). Reads only.
    pub(crate) fn wait_behind(&self, ahead: u64, cells: u32, now: u64) -> u64 {
        let tat = self.tat.load(Ordering::Acquire);
        let increment = self
            .emission
            .saturating_mul(ahead.saturating_add(u64::from(cells)));
        let allowed_at = tat
            .max(now)
            .saturating_add(increment)
            .saturating_sub(self.tolerance);
        allowed_at.saturating_sub(now)
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
        let gcra = Gcra::new(1_000, 2);
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
        let gcra = Gcra::new(1_000, 1);
        assert_eq!(gcra.try_take(1, 0), Ok(()));
        let mut readings = 0;
        assert!(!gcra.try_take_now(1, || {
            readings += 1;
            500
        }));
        assert_eq!(readings, 2);
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
            let gcra = Arc::new(Gcra::new(10, 2));
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
            let gcra = Arc::new(Gcra::new(10, 3));
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
