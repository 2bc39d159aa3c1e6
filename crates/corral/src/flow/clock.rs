//! The clock a [`RateLimiter`](super::RateLimiter) (and a [`Throttler`](super::Throttler)) reads: the CPU's time-stamp counter unless
//! Tokio's clock is paused (the default), always Tokio's, or always the counter.
//!
//! # Why not just one
//!
//! A limiter reads the clock on every call, and on a virtual machine `Instant::now()` (a
//! `clock_gettime` through the vDSO, which is what Tokio's clock is outside tests) costs about
//! 30 ns, more than the rest of a grant. `governor` reads the time-stamp counter through
//! [`quanta`] instead, at about 12 ns. But only Tokio's clock follows `tokio::time::pause` and
//! `advance`, which is how the tests of code that uses a limiter run exactly and instantly; a
//! limiter on the counter under a paused clock would see real time pass while its timers see
//! none, and its waiters would spin until real time caught up.
//!
//! Tokio has no API that says whether its clock is paused, but only a current-thread
//! runtime's clock can be (Tokio refuses to pause a multi-thread runtime's, and outside a
//! runtime its clock is the system's), and a paused clock is easy to recognise: it stands
//! still between two readings with no `.await` between them, while a running one moves within
//! a few readings even at 100 ns resolution. So the look asks the runtime handle for its
//! flavour first (about a fifth of the cost of a reading on a VM), and reads the clock only on a
//! current-thread runtime. [`Clock::Auto`], the
//! default, looks when the limiter is built: on a paused clock (a
//! `#[tokio::test(start_paused = true)]`) it reads Tokio's clock for good, and exact virtual
//! timings hold; otherwise it reads the counter. A limiter on the counter looks again each
//! time it refuses a call or one of its calls is about to sleep (never on a grant, the hot
//! path; a refused call is about to wait or give up, and a timer costs far more than the
//! look), and if it finds the clock paused then (a limiter in a `static`, or built before `tokio::time::pause`),
//! it moves onto Tokio's clock for good, continuing its timeline from the moment it moved, so
//! the waits from then on are exact in virtual time. A look that mistakes a coarse real clock
//! for a paused one only costs speed: the limiter reads Tokio's clock, which is always right.
//!
//! We use `quanta` rather than reading the counter ourselves: calibrating it against the
//! monotonic clock, and falling back where there is no stable counter, is its whole job.

use std::fmt;
use std::sync::OnceLock;

use tokio::time::Instant;

/// Which clock a [`RateLimiter`](super::RateLimiter) reads.
///
/// # Examples
///
/// ```
/// use corral::flow::{Clock, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // The default finds the test's paused clock and follows it.
/// let limiter = RateLimiter::per_second(10);
/// assert_eq!(limiter.clock(), Clock::Tokio);
///
/// // Asked for, the counter is read even here (real time, whatever Tokio's clock says).
/// let limiter = RateLimiter::builder().calls_per_second(10.0).clock(Clock::Fast).build();
/// assert_eq!(limiter.clock(), Clock::Fast);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clock {
    /// The default: the CPU's counter, as [`Fast`](Self::Fast), unless Tokio's clock is
    /// paused, in which case Tokio's clock, as [`Tokio`](Self::Tokio).
    ///
    /// It looks when the limiter is built, and again whenever a call is refused or about to
    /// sleep: a limiter built before the clock was paused (in a `static`, say) moves onto
    /// Tokio's clock for good the first time it refuses a call under the paused clock, and its
    /// waits from then on are exact in virtual time. Virtual time that passed before the move
    /// is not counted, so such a limiter errs on the safe side (it lets nothing through early);
    /// build it after pausing, as `#[tokio::test(start_paused = true)]` does, for exact
    /// timings from the first call. [`RateLimiter::clock`](super::RateLimiter::clock) says which
    /// of the two it reads.
    #[default]
    Auto,
    /// Tokio's clock (`tokio::time::Instant::now()`), always: it follows `tokio::time::pause`
    /// and `advance`, so tests on a paused clock are exact. About 30 ns a reading on a VM.
    Tokio,
    /// The CPU's time-stamp counter, through the [`quanta`] crate (what `governor` reads),
    /// calibrated against the monotonic clock; the monotonic clock where the CPU has no stable
    /// counter. About 2.5× cheaper to read than Tokio's clock on a VM.
    ///
    /// It does **not** follow Tokio's paused clock: under `tokio::time::pause` the limiter sees
    /// real time pass while its waiters' timers see Tokio's. The first limiter of a process on
    /// the counter calibrates it, which takes from half a millisecond (0.6 ms measured on a VM)
    /// up to 200 ms; governor's first limiter pays the same. Later limiters share the
    /// calibrated counter.
    Fast,
}

/// A started clock: nanoseconds since the limiter was built.
pub(super) enum Source {
    Tokio(Instant),
    Fast(Counter),
    /// [`Clock::Auto`] on the counter, until it finds Tokio's clock paused. The move is rare
    /// (tests only), so its record is boxed: it keeps a limiter small, and so cheap to build
    /// (the whole limiter fits in one allocation of 104 bytes).
    Auto(Counter, OnceLock<Box<Moved>>),
}

/// The CPU's counter's reading when the limiter was built. The counter itself is the
/// process's one calibrated clock, in a `static`, so a limiter does not carry a copy.
pub(super) struct Counter {
    base: u64,
}

/// Where an [`Source::Auto`] moved onto Tokio's clock: the Tokio instant and the limiter's
/// nanoseconds at that moment.
pub(super) struct Moved {
    at: Instant,
    ns: u64,
}

/// The process's calibrated counter: `quanta::Clock::new` costs about 0.6 ms the first time
/// (calibration) and still about 18 µs after on a VM (it asks `cpuid` whether the counter is
/// usable, which traps to the hypervisor), which a program that builds a limiter per client
/// would pay on each.
#[inline]
fn counter() -> &'static quanta::Clock {
    static COUNTER: OnceLock<quanta::Clock> = OnceLock::new();
    COUNTER.get_or_init(quanta::Clock::new)
}

impl Counter {
    fn start() -> Self {
        Self {
            base: counter().raw(),
        }
    }

    #[inline]
    fn now_ns(&self) -> u64 {
        let counter = counter();
        counter.delta_as_nanos(self.base, counter.raw())
    }
}

impl Source {
    pub(super) fn start(clock: Clock) -> Self {
        match clock {
            Clock::Tokio => Self::Tokio(Instant::now()),
            Clock::Fast => Self::Fast(Counter::start()),
            Clock::Auto => match paused_tokio_clock() {
                Some(now) => Self::Tokio(now),
                None => Self::Auto(Counter::start(), OnceLock::new()),
            },
        }
    }

    /// Nanoseconds since the start (saturating at `u64::MAX`, 584 years).
    #[inline]
    pub(super) fn now_ns(&self) -> u64 {
        match self {
            Self::Tokio(base) => nanos_since(*base),
            Self::Fast(counter) => counter.now_ns(),
            Self::Auto(counter, moved) => match moved.get() {
                None => counter.now_ns(),
                Some(moved) => moved.ns.saturating_add(nanos_since(moved.at)),
            },
        }
    }

    /// Called on a refusal, before the caller sleeps or gives up: an [`Source::Auto`] still on
    /// the counter that finds Tokio's clock paused moves onto it and returns `true` (the caller
    /// reads the time again). It returns `true` at most once.
    pub(super) fn follow_paused_clock(&self) -> bool {
        let Self::Auto(counter, moved) = self else {
            return false;
        };
        if moved.get().is_some() {
            return false;
        }
        let Some(at) = paused_tokio_clock() else {
            return false;
        };
        // A rival that moved first wins: its timeline continues ours just as well.
        let _ = moved.set(Box::new(Moved {
            at,
            ns: counter.now_ns(),
        }));
        true
    }

    /// The clock read now: [`Clock::Auto`] resolves to one of the other two.
    pub(super) fn kind(&self) -> Clock {
        match self {
            Self::Tokio(_) => Clock::Tokio,
            Self::Fast(_) => Clock::Fast,
            Self::Auto(_, moved) if moved.get().is_some() => Clock::Tokio,
            Self::Auto(..) => Clock::Fast,
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind(), f)
    }
}

#[inline]
fn nanos_since(base: Instant) -> u64 {
    let elapsed = Instant::now().saturating_duration_since(base);
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether Tokio's clock, as this thread sees it, is paused.
#[cfg(all(test, not(corral_loom)))]
fn tokio_clock_is_paused() -> bool {
    paused_tokio_clock().is_some()
}

/// Tokio's clock's reading if it is paused, as this thread sees it; `None` if it runs.
///
/// Only a current-thread runtime's clock can be paused (Tokio refuses `pause` and
/// `start_paused` on a multi-thread runtime, and outside a runtime Tokio's clock is the
/// system's), so anywhere else the answer is `None` without a reading: a look at the runtime
/// handle costs about a fifth of a reading on a VM. On a current-thread runtime the clock is
/// read until it moves: a paused clock stands still between readings with no `.await`
/// between them; a running one moves within a few readings (64 readings are about 2 µs, twenty
/// ticks of the coarsest common clock, Windows' 100 ns), usually at the second.
fn paused_tokio_clock() -> Option<Instant> {
    let can_pause = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread);
    if !can_pause {
        return None;
    }
    let first = Instant::now();
    (0..64).all(|_| Instant::now() == first).then_some(first)
}

#[cfg(all(test, not(corral_loom)))]
mod tests {
    use super::{Clock, Source, tokio_clock_is_paused};

    /// A current-thread runtime whose clock starts paused or running.
    fn runtime(paused: bool) -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(paused)
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_running_clock_is_not_taken_for_a_paused_one() {
        assert!(!tokio_clock_is_paused(), "outside a runtime");
        let runtime = runtime(false);
        runtime.block_on(async {
            assert!(!tokio_clock_is_paused(), "on a running runtime clock");
            tokio::time::pause();
            assert!(tokio_clock_is_paused(), "after tokio::time::pause");
            tokio::time::resume();
            assert!(!tokio_clock_is_paused(), "after tokio::time::resume");
        });
    }

    /// A multi-thread runtime's clock cannot be paused (Tokio refuses), so the look answers
    /// without reading it; the answer must still be right there, and on a current-thread
    /// runtime entered from a thread that is not running it.
    #[test]
    fn only_a_current_thread_runtime_is_looked_at() {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .expect("runtime");
        multi.block_on(async {
            assert!(!tokio_clock_is_paused(), "in a multi-thread runtime's task");
            let auto = Source::start(Clock::Auto);
            assert_eq!(auto.kind(), Clock::Fast);
            assert!(!auto.follow_paused_clock());
        });
        let paused = runtime(true);
        let _entered = paused.enter();
        assert!(
            tokio_clock_is_paused(),
            "a paused runtime entered, not running"
        );
        assert_eq!(Source::start(Clock::Auto).kind(), Clock::Tokio);
    }

    #[test]
    fn auto_moves_onto_a_paused_clock_once_and_keeps_its_timeline() {
        let source = Source::start(Clock::Auto);
        assert_eq!(source.kind(), Clock::Fast);
        assert!(!source.follow_paused_clock(), "nothing is paused here");
        let runtime = runtime(true);
        runtime.block_on(async {
            let before = source.now_ns();
            assert!(source.follow_paused_clock());
            assert_eq!(source.kind(), Clock::Tokio);
            assert!(!source.follow_paused_clock(), "it moves once");
            let at_move = source.now_ns();
            assert!(at_move >= before, "the timeline does not go back");
            assert_eq!(
                source.now_ns(),
                at_move,
                "it stands still with the paused clock"
            );
            tokio::time::advance(std::time::Duration::from_millis(7)).await;
            assert_eq!(source.now_ns(), at_move + 7_000_000);
        });
    }

    #[test]
    fn explicit_clocks_never_move() {
        let runtime = runtime(true);
        runtime.block_on(async {
            let fast = Source::start(Clock::Fast);
            assert!(!fast.follow_paused_clock());
            assert_eq!(fast.kind(), Clock::Fast);
            let auto = Source::start(Clock::Auto);
            assert_eq!(auto.kind(), Clock::Tokio, "built on a paused clock");
        });
    }
}
