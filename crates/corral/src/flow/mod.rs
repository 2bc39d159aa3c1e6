//! Flow control: how often calls go out ([`RateLimiter`], [`Throttler`], [`Debouncer`]) and how
//! many run at once ([`Limiter`], [`map_concurrent`]).
//!
//! | asyncio (the guides' patterns)                          | corral                                   |
//! |---------------------------------------------------------|------------------------------------------|
//! | the `RateLimiter` class (`calls_per_second`, `acquire`) | [`RateLimiter`]                          |
//! | `async with semaphore:` around a call                   | [`Limiter::run`]                         |
//! | `gather(*(bounded(x) for x in items))` with a semaphore | [`map_concurrent`], [`map_concurrent_spawned`] |
//! | the same with `return_exceptions=True`                  | [`map_concurrent_settled`]               |
//! | debounce (cancel the pending `call_later`, schedule again) | [`Debouncer`]                          |
//! | throttle (skip calls until the interval has passed)     | [`Throttler`]                            |
//!
//! # Choosing a primitive
//!
//! - **Every call must go out, at most so many per second** (an API quota): a [`RateLimiter`].
//!   Calls wait their turn, first come, first served.
//! - **Only so many at once** (connections, memory): a [`Limiter`] around each call, or
//!   [`map_concurrent`] to run a list of items and collect the results in order. Use
//!   [`map_concurrent_spawned`] when the work should run in parallel on several threads.
//! - **Only the last of a burst matters** (save after typing stops): a [`Debouncer`].
//! - **At most one per interval, the others can be skipped** (redraw a progress bar): a
//!   [`Throttler`].
//!
//! # Cancel safety at a glance
//!
//! | Future                                   | If dropped mid-wait                                  |
//! |------------------------------------------|------------------------------------------------------|
//! | [`RateLimiter::acquire`] / [`acquire_n`](RateLimiter::acquire_n) | loses its place in the queue; nothing was taken, the next waiter moves up |
//! | [`Limiter::run`]                         | loses its place, or drops the running future and frees its slot |
//! | [`map_concurrent`] / [`map_concurrent_settled`] | drops every running future; no more items are pulled |
//! | [`map_concurrent_spawned`]               | aborts every task it spawned                         |
//! | [`Debouncer::flush`]                     | drops the pending call it took                       |
//! | [`Throttler::run`]                       | as cancel safe as the call                           |
//!
//! Invalid configurations (a zero rate, burst, limit or interval, a NaN or negative rate, a
//! rate above one call per nanosecond) are
//! refused when the primitive is made: a [`ConfigError`] from the `try_` constructors, or a
//! documented panic from the others. None of them can turn into a wait that never ends.
//!
//! # Design
//!
//! **[`RateLimiter`]** is the generic cell rate algorithm (GCRA) on one `AtomicU64`: the
//! *theoretical arrival time* in nanoseconds from the limiter's base instant, with the
//! interval and the tolerance computed once. An uncontended `acquire` reads the clock, checks
//! that nobody is queued (one atomic load), and takes its cells with a compare-and-swap: no
//! lock, no allocation. Only a caller that must wait takes the lock and joins a FIFO queue.
//! The head of the queue sleeps until its cells are due, takes them itself with the same
//! compare-and-swap, and wakes the next waiter. That gives the guarantees:
//!
//! - *Arrival order*: a caller checks "is anybody queued?" before the fast path, and
//!   [`try_acquire`](RateLimiter::try_acquire) refuses while anybody is, so no newcomer takes
//!   the capacity a waiter is due.
//! - *Never past the burst*: capacity is taken only by the compare-and-swap of the task that
//!   uses it, when it runs, never handed to a woken task in advance; so nothing can take it
//!   twice in the gap between a wake-up and the woken task running.
//! - *Nothing lost on cancel*: a queued waiter has taken nothing, so dropping it only removes
//!   it from the queue (and wakes the next waiter if it was the head).
//! - *The rate*: the GCRA lets at most `burst + L / T` calls through in any window of length
//!   `L`, and as long as calls keep coming it lets exactly that many through: the long-run
//!   rate is the configured one (within 1%, tested on the paused clock).
//!
//! By default ([`Clock::Auto`]) it reads the CPU's counter through `quanta`, as governor does,
//! 2.5× cheaper on a VM than Tokio's clock, unless Tokio's clock is paused: then it reads
//! Tokio's ([`tokio::time::Instant`]), so tests drive it with the paused clock exactly (a
//! limiter built before the pause moves onto the paused clock the first time it has to wait).
//! A call that loses a race on
//! the atomic to a thread that read the clock later retries once with a fresh reading before it
//! queues (without that retry, 100 tasks on two workers queued behind each other's stale clock
//! readings and a never-binding limit cost 7× governor).
//! The design is `governor`'s (a measured prototype with a mutex and recomputed arithmetic per
//! call cost 2.7× governor); corral does not wrap `governor` itself because governor lacks two
//! things this API needs: waiters served in arrival order (its `until_ready` is a loop of
//! jittered sleeps, so waiters race each other and a late arrival can overtake), and Tokio's
//! paused clock (it reads its own `quanta` clock, which the paused clock does not move).
//!
//! **[`Limiter`]** is Tokio's [`Semaphore`](tokio::sync::Semaphore), used as a guard around a
//! future. **[`map_concurrent`]** keeps at most `limit` futures in a `FuturesUnordered`, pulls
//! the next item when one finishes, and files each result at its item's index. It is what
//! `stream::iter(items).map(f).buffer_unordered(limit)` is usually written for, without that
//! combination's trap: the futures inside a `buffer_unordered` are polled only while the stream
//! is, so a consumer doing slow work between two `next()` calls leaves finished requests
//! unread until their peers time out
//! ([futures-rs#2387](https://github.com/rust-lang/futures-rs/issues/2387), the "Barbara battles
//! buffered streams" story of the async working group). `map_concurrent` has no consumer in
//! between: it returns all results at once, and polls every in-flight future whenever any can
//! make progress; [`map_concurrent_spawned`] runs each item in its own task. Both also return
//! results in input order, stop at the first error, and refuse a zero limit instead of hanging
//! ([futures-rs#2939](https://github.com/rust-lang/futures-rs/issues/2939)).
//!
//! **[`Debouncer`]** keeps the pending call in a small mutex and one timer task, spawned on the
//! first call of a burst and gone when nothing is pending; **[`Throttler`]** is the
//! `RateLimiter`'s GCRA with burst 1 and no queue.

mod clock;
mod debounce;
mod error;
mod gcra;
mod limiter;
mod map;
mod rate_limiter;
mod throttle;

pub use clock::Clock;
pub use debounce::Debouncer;
pub use error::ConfigError;
pub use limiter::Limiter;
pub use map::{map_concurrent, map_concurrent_settled, map_concurrent_spawned};
pub use rate_limiter::{Acquire, AcquireError, AcquireN, Builder, RateLimiter, TryAcquireError};
pub use throttle::{Throttled, Throttler};
