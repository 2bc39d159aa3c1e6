//! Time limits: timeouts, shared deadlines, and shielding work from cancellation.
//!
//! # Coming from asyncio
//!
//! | asyncio | corral |
//! |---|---|
//! | `async with asyncio.timeout(s): await op` / `wait_for(op, s)` | [`timeout`] |
//! | `asyncio.timeout_at(when)` | [`timeout_at`] |
//! | one `async with timeout(...) as cm:` around several awaits; `cm.reschedule(when)` | [`Deadline`], [`Deadline::run`], [`Deadline::reschedule`] |
//! | `TimeoutError` | [`Elapsed`] (says which deadline fired) |
//! | `asyncio.shield(op)` | [`shield`] |
//!
//! # Semantics
//!
//! - **Nested deadlines report the outermost expired one.** When an inner and an outer
//!   deadline pass together, the outer one reports and the code between the two scopes does
//!   not run, as in asyncio and trio. A plain nesting of `tokio::time::timeout` reports the
//!   inner one; corral's scopes see the deadlines that enclose them while they poll, through
//!   a thread-local value kept for the duration of each poll (no allocation, no lock).
//!   Deadlines do not cross [`tokio::spawn`]: a spawned task is not inside its spawner's scope.
//! - **Zero and past deadlines fire at the first await.** A future that completes without
//!   waiting still completes; one that waits gets [`Elapsed`] at once, without waiting for a
//!   timer tick.
//! - **A relative timeout counts from its first poll**, not from when the future was built.
//!   A [`Deadline::after`] counts from its creation, since several operations share it.
//! - **Cancellation is never reported as a timeout.** Dropping the future is cancellation; it
//!   reports nothing.
//! - **Shielded work is never lost.** [`shield`] runs the work as its own task; its result can
//!   be awaited later, and a failure nobody receives is logged.
//!
//! # Cost
//!
//! [`timeout`] and [`Deadline::run`] cost within 10% of `tokio::time::timeout` (see the
//! `timeout_overhead` benchmark): the timer is Tokio's, held inline and armed at the first
//! poll. A `Deadline` is shared state (an `Arc`), made once and used by many operations; a
//! run listens for the deadline moving through a lock-free waker slot, and only concurrent
//! runs of the same deadline fall back to a `Notify`.

mod deadline;
mod elapsed;
mod scope;
mod shield;
mod timeout;

pub use deadline::{Deadline, Run};
pub use elapsed::Elapsed;
pub use shield::{Shielded, shield};
pub use timeout::{Timeout, timeout, timeout_at};

pub use tokio::time::Instant;
