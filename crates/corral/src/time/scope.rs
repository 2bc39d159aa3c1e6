//! The deadline scope shared by [`Timeout`](super::Timeout) and [`Run`](super::Run).
//!
//! # Why an ambient stack
//!
//! Nest two deadlines and let both pass: asyncio, trio and corral report the *outer* one,
//! and the code between the inner and the outer scope never runs (it was written for "the
//! inner operation timed out", which is not what happened). A plain nesting of
//! `tokio::time::timeout` reports the inner one, because the inner timeout cannot know that an
//! enclosing one has also expired. To know, a scope must see the deadlines that enclose it
//! while it polls.
//!
//! Polling is nested: an outer scope's `poll` calls the inner scope's `poll`. So "the
//! deadlines enclosing me" is exactly the set of scopes on the current thread's poll stack,
//! and all a scope needs of it is its minimum. Each scope, while it polls its body, keeps in a
//! thread-local cell the earliest deadline of itself and every scope around it, and restores
//! the previous value afterwards (also on unwinding). Spawned tasks are polled from the
//! runtime, not from inside the scope, so they never see it: a deadline applies to the task
//! that awaits it, as in asyncio.
//!
//! # The decision
//!
//! After its body returns `Pending`, a scope checks its own timer. If its deadline has passed:
//! - and an enclosing deadline has passed too, it *defers*: it returns `Pending` and leaves a
//!   mark in the cell. Every enclosing scope gets control back in this same poll, checks its
//!   own deadline against the clock, and the outermost one that has expired fires. The
//!   deferring scope also wakes its task, and if it is ever polled again while expired (the
//!   enclosing scope did not fire after all, say a nested executor was polling it), it fires
//!   itself rather than wait forever;
//! - otherwise it fires: its future returns `Err(Elapsed)`.
//!
//! A body that is ready is never cut short: a scope checks its deadline only after its body
//! returned `Pending`, so a future that completes without waiting completes even under a zero
//! or past deadline, which fires at the first real await.
//!
//! # Cost
//!
//! The common case (no enclosing scope, deadline not reached) costs three accesses to a
//! `const`-initialised thread-local `Cell` per poll, and reads the clock only where Tokio's
//! own `timeout` does: no allocation, no lock, no atomic beyond the timer's own.

use std::cell::Cell;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

#[derive(Clone, Copy, Debug)]
struct Ambient {
    /// The earliest deadline among the scopes being polled on this thread.
    earliest: Option<Instant>,
    /// An inner scope expired but deferred to an enclosing one.
    deferred: bool,
}

const OUTSIDE: Ambient = Ambient {
    earliest: None,
    deferred: false,
};

thread_local! {
    static AMBIENT: Cell<Ambient> = const { Cell::new(OUTSIDE) };
}

/// Puts the enclosing scope's view back when the body's poll returns or unwinds.
struct Restore(Ambient);

impl Drop for Restore {
    fn drop(&mut self) {
        AMBIENT.set(self.0);
    }
}

/// Marks, for the enclosing scope, that an inner scope deferred to it.
fn mark_deferred() {
    AMBIENT.set(Ambient {
        deferred: true,
        ..AMBIENT.get()
    });
}

pin_project! {
    /// A timer armed at the first poll, so a relative deadline counts from when the scope
    /// starts running, and creating a scope needs no runtime.
    #[project = TimerProj]
    #[derive(Debug)]
    pub(crate) enum Timer {
        Unarmed,
        After { duration: std::time::Duration },
        At { deadline: Instant },
        Armed { #[pin] sleep: Sleep },
    }
}

impl Timer {
    /// Arms the timer if it is not yet armed, and returns it.
    pub(crate) fn armed(mut self: Pin<&mut Self>) -> Pin<&mut Sleep> {
        let deadline = match *self {
            Timer::After { duration } => Some(far_deadline(Instant::now(), duration)),
            Timer::At { deadline } => Some(deadline),
            // An unarmed timer is armed through `armed_at`.
            Timer::Unarmed => Some(far_deadline(Instant::now(), std::time::Duration::MAX)),
            Timer::Armed { .. } => None,
        };
        if let Some(deadline) = deadline {
            self.set(Timer::Armed {
                sleep: sleep_until(deadline),
            });
        }
        match self.project() {
            TimerProj::Armed { sleep } => sleep,
            _ => unreachable!("the timer was armed above"),
        }
    }

    /// Arms the timer at `deadline` (or moves it there), and returns it.
    pub(crate) fn armed_at(mut self: Pin<&mut Self>, deadline: Instant) -> Pin<&mut Sleep> {
        if let TimerProj::Armed { sleep } = self.as_mut().project() {
            if sleep.deadline() != deadline {
                sleep.reset(deadline);
            }
            return self.armed();
        }
        self.set(Timer::Armed {
            sleep: sleep_until(deadline),
        });
        self.armed()
    }

    /// The deadline, if it is already known.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Timer::Unarmed | Timer::After { .. } => None,
            Timer::At { deadline } => Some(*deadline),
            Timer::Armed { sleep } => Some(sleep.deadline()),
        }
    }
}

/// `now + duration`, or a deadline so far away it never fires if that overflows.
pub(crate) fn far_deadline(now: Instant, duration: std::time::Duration) -> Instant {
    now.checked_add(duration)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(86_400 * 365 * 30))
}

/// Polls `body` as the body of a scope that ends at `sleep.deadline()`, and decides whether
/// the scope fired (`Ready(Err(()))`). `deferred` is the scope's own memory of having deferred.
pub(crate) fn poll_scope<T>(
    sleep: Pin<&mut Sleep>,
    deferred: &mut bool,
    cx: &mut Context<'_>,
    body: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<Result<T, ()>> {
    let deadline = sleep.deadline();
    let outer = AMBIENT.get();
    AMBIENT.set(Ambient {
        earliest: Some(outer.earliest.map_or(deadline, |e| e.min(deadline))),
        deferred: false,
    });
    let restore = Restore(outer);
    let poll = body(cx);
    let inner_deferred = AMBIENT.get().deferred;
    drop(restore);

    if let Poll::Ready(value) = poll {
        return Poll::Ready(Ok(value));
    }
    let timer_fired = sleep.poll(cx).is_ready();
    if !timer_fired && !inner_deferred {
        return Poll::Pending;
    }
    let now = Instant::now();
    if !timer_fired && now < deadline {
        // An inner scope deferred to a scope further out than this one.
        mark_deferred();
        return Poll::Pending;
    }
    if !*deferred && outer.earliest.is_some_and(|earliest| earliest <= now) {
        *deferred = true;
        mark_deferred();
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    Poll::Ready(Err(()))
}
