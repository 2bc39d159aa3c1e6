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
//! or past deadline, which fires at the first real await. That check compares the deadline
//! with the clock when the timer is armed (the first poll, and each time a `Deadline` moves):
//! Tokio's timer wheel rounds up to the next millisecond, so on a real clock it would let a
//! zero deadline through the first await.
//!
//! A deadline may be "never" (`Duration::MAX`, an overflowing `now + duration`, a `Deadline`
//! set to never): no timer is armed, and the scope only passes deferrals on. A deadline past
//! Tokio's horizon (about 30 years) is waited for in horizon-sized steps, so no `Instant + Duration`
//! can overflow, here or inside Tokio.
//!
//! # Cost
//!
//! The common case (no enclosing scope, deadline not reached) costs three accesses to a
//! `const`-initialised thread-local `Cell` per poll, and reads the clock once, when the timer
//! is armed (Tokio's own `timeout` reads it when it is built): no allocation, no lock, no
//! atomic beyond the timer's own.

use std::cell::Cell;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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

/// The farthest ahead a timer is set: Tokio's own horizon for a `sleep` whose deadline
/// overflows (about 30 years). A later deadline is waited for in steps of this size, so that
/// no `Instant` near the end of its range ever reaches Tokio (which rounds every deadline up by
/// a millisecond, and would overflow there).
pub(crate) const HORIZON: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The instant `duration` from now, for a Tokio timer set with `sleep_until` or `timeout_at`,
/// or `None` ("never") when it lies beyond [`HORIZON`]: a wait that long is taken as no limit,
/// so that no deadline near the end of `Instant`'s range reaches Tokio. (Tokio's own `sleep`
/// and `timeout`, which take a duration, clamp it to the same horizon.) For the deadlines set
/// outside this module: a group's grace, a debounce delay, an exit stack's limit.
pub(crate) fn timer_after(duration: Duration) -> Option<Instant> {
    if duration > HORIZON {
        return None;
    }
    Instant::now().checked_add(duration)
}

pin_project! {
    /// A timer armed at the first poll, so a relative deadline counts from when the scope
    /// starts running, and creating a scope needs no runtime.
    #[project = TimerProj]
    #[derive(Debug)]
    pub(crate) enum Timer {
        /// Armed through `arm_at` (a `Run`).
        Unarmed,
        After { duration: Duration },
        At { deadline: Instant },
        /// No limit: `Duration::MAX`, a relative deadline past the end of `Instant`, or a
        /// `Deadline` that was set to never expire.
        Never,
        /// Waiting for `deadline`; `sleep` ends there, or at the horizon if that is sooner.
        Armed { deadline: Instant, #[pin] sleep: Sleep },
    }
}

impl Timer {
    /// Arms the timer at the first poll of a `timeout`/`timeout_at`. Returns whether the
    /// deadline had already passed when it was armed (so `false` on every later poll): a zero
    /// or past deadline fires at the first await without waiting for the timer wheel, which
    /// on a real clock only ticks a millisecond later.
    #[inline]
    pub(crate) fn start(self: Pin<&mut Self>) -> bool {
        match *self {
            Timer::After { duration } => {
                let now = Instant::now();
                let deadline = now.checked_add(duration);
                self.arm(deadline, now, duration <= HORIZON)
            }
            Timer::At { deadline } => self.arm(Some(deadline), Instant::now(), false),
            Timer::Unarmed | Timer::Never | Timer::Armed { .. } => false,
        }
    }

    /// Arms the timer at `deadline` (`None`: never), or moves it there. Returns whether the
    /// deadline has already passed.
    #[inline]
    pub(crate) fn arm_at(self: Pin<&mut Self>, deadline: Option<Instant>) -> bool {
        self.arm(deadline, Instant::now(), false)
    }

    /// [`arm_at`](Self::arm_at) for a deadline the caller knows is at most [`HORIZON`] from
    /// now (as a [`Deadline`](super::Deadline) knows from its own encoding): the timer is set
    /// at the deadline itself, without working out the horizon.
    #[inline]
    pub(crate) fn arm_at_within_horizon(
        self: Pin<&mut Self>,
        deadline: Option<Instant>,
        within_horizon: bool,
    ) -> bool {
        self.arm(deadline, Instant::now(), within_horizon)
    }

    /// `within_horizon`: `deadline` is known to be at most [`HORIZON`] after `now`. Inlined
    /// into its three callers: on the path of every `timeout` and `Deadline::run`, a call
    /// costs a tenth of what the arming itself does (measured by instructions).
    #[inline(always)]
    fn arm(
        mut self: Pin<&mut Self>,
        deadline: Option<Instant>,
        now: Instant,
        within_horizon: bool,
    ) -> bool {
        let Some(deadline) = deadline else {
            self.set(Timer::Never);
            return false;
        };
        let until = if within_horizon {
            deadline
        } else {
            sleep_target(deadline, now)
        };
        match self.as_mut().project() {
            TimerProj::Armed {
                deadline: armed,
                sleep,
            } => {
                *armed = deadline;
                if sleep.deadline() != until {
                    sleep.reset(until);
                }
            }
            _ => self.set(Timer::Armed {
                deadline,
                sleep: sleep_until(until),
            }),
        }
        deadline <= now
    }

    /// Polls the timer; `true` once its deadline has passed. A timer set short of its
    /// deadline (at the horizon) is set again from where it fired.
    #[inline]
    pub(crate) fn poll_fired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let TimerProj::Armed {
            deadline,
            mut sleep,
        } = self.project()
        else {
            return false;
        };
        while sleep.as_mut().poll(cx).is_ready() {
            if sleep.deadline() >= *deadline {
                return true;
            }
            let now = Instant::now();
            if now >= *deadline {
                return true;
            }
            sleep.as_mut().reset(sleep_target(*deadline, now));
        }
        false
    }

    /// The deadline, if it is known and there is one.
    #[inline]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Timer::Unarmed | Timer::After { .. } | Timer::Never => None,
            Timer::At { deadline } | Timer::Armed { deadline, .. } => Some(*deadline),
        }
    }
}

/// Where to set Tokio's timer for `deadline`: there, or at the horizon if that is sooner.
fn sleep_target(deadline: Instant, now: Instant) -> Instant {
    match now.checked_add(HORIZON) {
        Some(horizon) if horizon < deadline => horizon,
        _ => deadline,
    }
}

/// Polls `body` as the body of a scope timed by `timer`, and decides whether the scope fired
/// (`Ready(Err(deadline))`). `expired` says the deadline was found passed when the timer was
/// armed in this poll; `deferred` is the scope's own memory of having deferred.
#[inline]
pub(crate) fn poll_scope<T>(
    timer: Pin<&mut Timer>,
    expired: bool,
    deferred: &mut bool,
    cx: &mut Context<'_>,
    body: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<Result<T, Instant>> {
    let deadline = timer.deadline();
    poll_scope_at(timer, deadline, expired, deferred, cx, body)
}

/// [`poll_scope`] for a caller that keeps the timer's deadline (`timer.deadline()`) at hand.
#[inline]
pub(crate) fn poll_scope_at<T>(
    mut timer: Pin<&mut Timer>,
    deadline: Option<Instant>,
    expired: bool,
    deferred: &mut bool,
    cx: &mut Context<'_>,
    body: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<Result<T, Instant>> {
    debug_assert_eq!(deadline, timer.deadline());
    let outer = AMBIENT.get();
    let earliest = match (outer.earliest, deadline) {
        (Some(e), Some(d)) => Some(e.min(d)),
        (e, d) => e.or(d),
    };
    AMBIENT.set(Ambient {
        earliest,
        deferred: false,
    });
    let restore = Restore(outer);
    let poll = body(cx);
    let inner_deferred = AMBIENT.get().deferred;
    drop(restore);

    if let Poll::Ready(value) = poll {
        return Poll::Ready(Ok(value));
    }
    // A scope without a deadline never fires; it passes an inner scope's deferral on.
    let Some(deadline) = deadline else {
        if inner_deferred {
            mark_deferred();
        }
        return Poll::Pending;
    };
    let timer_fired = expired || timer.as_mut().poll_fired(cx);
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
    Poll::Ready(Err(deadline))
}
