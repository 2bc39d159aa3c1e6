//! Time limits: timeouts, shared deadlines, and shielding work from cancellation.
//!
//! # Coming from asyncio
//!
//! | asyncio | corral |
//! |---|---|
//! | `async with asyncio.timeout(s): await op` / `wait_for(op, s)` | [`timeout`] |
//! | `asyncio.timeout_at(when)` | [`timeout_at`] |
//! | one `async with timeout(...) as cm:` around several awaits; `cm.reschedule(when)` | [`Deadline`], [`Deadline::run`], [`Deadline::reschedule`] |
//! | `asyncio.timeout(None)`; `cm.reschedule(None)` | [`Deadline::never`]; `deadline.reschedule(None)` (`Duration::MAX` also means no limit) |
//! | `cm.when()` | [`Deadline::instant`] (`None`: no deadline) |
//! | `TimeoutError` | [`Elapsed`] (says which deadline fired) |
//! | `asyncio.shield(op)` | [`shield`] |
//! | `await asyncio.sleep(s)` | [`sleep`]`(Duration::from_secs_f64(s)).await` (Tokio's, re-exported) |
//! | `loop.time()` | [`Instant::now()`](Instant::now) (Tokio's, re-exported) |
//!
//! # Semantics
//!
//! - **Nested deadlines report the outermost expired one.** When an inner and an outer
//!   deadline pass together, the outer one reports and the code between the two scopes does
//!   not run, as in asyncio and trio. A plain nesting of `tokio::time::timeout` reports the
//!   inner one; corral's scopes see the deadlines that enclose them while they poll, through
//!   a thread-local value kept for the duration of each poll (no allocation, no lock).
//!   Deadlines do not cross [`tokio::spawn`]: a spawned task is not inside its spawner's scope.
//! - **Zero and past deadlines fire at the first await**, on a real clock as on the paused
//!   one. A future that completes without waiting still completes; one that waits gets
//!   [`Elapsed`] at once, without waiting for a timer tick.
//! - **`Duration::MAX` means no limit**, and so does any `now + duration` past the end of
//!   [`Instant`]: no timer is armed. No deadline, however far, overflows an `Instant`.
//! - **A relative timeout counts from its first poll**, not from when the future was built.
//!   A [`Deadline::after`] counts from its creation, since several operations share it.
//! - **Cancellation is never reported as a timeout.** Dropping the future is cancellation; it
//!   reports nothing.
//! - **Shielded work is never lost silently.** [`shield`] runs the work as its own task; its
//!   result can be awaited later, and a failure nobody receives is reported. Shielding guards
//!   against the caller's cancellation, not the runtime's end: work a runtime shutdown cuts
//!   off panics the awaiter or, with nobody awaiting, is reported (see [`shield`]).
//!
//! # Clock
//!
//! [`Instant`] is Tokio's (`tokio::time::Instant`), re-exported here because
//! [`timeout_at`] and [`Deadline::at`] take one: it follows Tokio's clock, which a test can
//! pause and advance (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`), and
//! every deadline here is measured on it. [`sleep`] and [`sleep_until`] are Tokio's too.
//!
//! ```
//! use std::time::Duration;
//! use corral::time::{Instant, sleep, timeout_at};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! tokio::time::pause(); // the paused clock moves only when every task waits
//! let start = Instant::now();
//! let at = start + Duration::from_secs(5);
//! assert!(timeout_at(at, sleep(Duration::from_secs(10))).await.is_err());
//! assert_eq!(start.elapsed().as_secs(), 5); // five seconds passed, in no time
//! # Ok(())
//! # }
//! ```
//!
//! # Cost
//!
//! [`timeout`] costs within 10% of `tokio::time::timeout` (1.03× by instructions, 1.01× by
//! wall clock, paired; see the `timeout_overhead` benchmark), and [`Deadline::run`], which a
//! deadline moved while it waits must reach, within 10% too (1.09× by instructions, 1.07×
//! current-thread and 1.06× on two workers by wall clock, paired; `BENCHMARKS.md`). The timer
//! is Tokio's, held inline and armed at the first poll. A `Deadline` is shared state (an
//! `Arc`), made once and used by many operations. The one run at a time that a deadline
//! usually has listens for moves in a lock-free slot (one waker clone); a second run waiting
//! at the same time goes on the deadline's list (a short lock, and a `WaitList` slot, no
//! allocation once warm). A run takes itself off when it finishes or is dropped, so a
//! deadline never keeps the waker of a task that is gone. Moving the deadline earlier wakes
//! every listening run; checking whether it moved is one atomic load.

mod deadline;
mod elapsed;
mod scope;
mod shield;
mod timeout;

pub use deadline::{Deadline, Run};
pub use elapsed::Elapsed;
pub(crate) use scope::{Timer, timer_after};
pub use shield::{Shielded, shield};
pub use timeout::{Timeout, timeout, timeout_at};

pub use tokio::time::{Instant, Sleep, sleep, sleep_until};
