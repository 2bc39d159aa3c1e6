//! The state of a group of tasks: one phase and what it collected, changed only through the
//! transitions below, each a single step under the core's lock.
//!
//! ```text
//!            fail / shutdown / token cancelled
//!   Open ───────────────────────────────────────▶ Cancelling { abort_at, aborted }
//!    │                                                 │
//!    │ join/run found no task left, or the owner dropped│
//!    └──────────────────────────▶ Finished ◀───────────┘
//! ```
//!
//! Only `Open` admits tasks. `Cancelling` aborts the tasks still running once `abort_at` passes
//! (`None`: never, the grace is unlimited), once. `Finished` refuses tasks and hands every late
//! failure back to the caller, for the report hook: nobody is left to receive it.
//!
//! No method here runs user code or wakes anything: they return what the caller must do
//! (abort handles, a failure to report), and the caller does it after releasing the lock.

use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::error::{Failure, PanicPayload};

/// Handles beyond twice those left by the last sweep, plus this, trigger a sweep of the
/// finished ones.
const SWEEP_SLACK: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Accepting tasks.
    Open,
    /// No longer accepting tasks; the token is cancelled. The tasks still running are aborted
    /// at `abort_at` (`None`: never).
    Cancelling {
        abort_at: Option<Instant>,
        aborted: bool,
    },
    /// `join`/`run`/`shutdown` returned, or the owner was dropped.
    Finished,
}

/// Why the token was cancelled, as far as the result of `join` cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A task (or the body) failed.
    Failure,
    /// `shutdown` was called: not a failure.
    Shutdown,
    /// The token was cancelled from outside.
    Outside,
}

/// What [`State::fail`] asks the caller to do.
pub(crate) enum Failed<E> {
    /// Recorded. `first` is set when this failure started the cancellation: cancel the token.
    Recorded { first: bool },
    /// Nobody will join: hand the failure to the report hook.
    Unreceived(Failure<E>),
}

/// What [`State::due`] asks the waiter to do.
pub(crate) struct Due {
    /// Abort these, after releasing the lock.
    pub(crate) abort: Vec<AbortHandle>,
    /// Wake up at this instant to abort (the grace ends then).
    pub(crate) wake_at: Option<Instant>,
}

/// What a group collected, handed out once when it finishes.
pub(crate) struct Collected<E> {
    pub(crate) errors: Vec<E>,
    pub(crate) panics: Vec<PanicPayload>,
    /// Cancelled from outside while work was running (and not by `shutdown`).
    pub(crate) cancelled: bool,
    /// Some task was dropped unfinished by its runtime shutting down.
    pub(crate) runtime_gone: bool,
}

#[derive(Debug)]
pub(crate) struct State<E> {
    phase: Phase,
    cause: Option<Cause>,
    /// Abort handles of the tasks, and of some finished ones not yet swept.
    handles: Vec<AbortHandle>,
    /// How many handles trigger the next sweep.
    sweep_at: usize,
    errors: Vec<E>,
    panics: Vec<PanicPayload>,
    /// The token was found cancelled from outside while work was outstanding.
    cancelled_running: bool,
    runtime_gone: bool,
    /// A `join`, `run` or `shutdown` is waiting: it aborts when the grace ends, so a failure
    /// need not schedule the abort itself.
    joining: bool,
}

/// The instant `grace` after now; `None` (never) beyond Tokio's timer horizon (about 30
/// years), where the instant could overflow inside Tokio.
pub(crate) fn deadline_after(grace: Duration) -> Option<Instant> {
    crate::time::timer_after(grace)
}

impl<E> State<E> {
    pub(crate) fn new() -> Self {
        Self {
            phase: Phase::Open,
            cause: None,
            handles: Vec::new(),
            // The first sweep is due at the first spawn (a look at `live`, no walk): the core
            // records its runtime then.
            sweep_at: 0,
            errors: Vec::new(),
            panics: Vec::new(),
            cancelled_running: false,
            runtime_gone: false,
            joining: false,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn errors(&self) -> usize {
        self.errors.len()
    }

    /// Admits a new task if the group is open and its token is not cancelled. A token found
    /// cancelled moves the group to `Cancelling`, aborting at `abort_at`.
    pub(crate) fn admit(
        &mut self,
        token_cancelled: bool,
        abort_at: impl FnOnce() -> Option<Instant>,
    ) -> bool {
        if self.phase != Phase::Open {
            if token_cancelled
                && self.cause == Some(Cause::Outside)
                && matches!(self.phase, Phase::Cancelling { .. })
            {
                // Asked for after the token was cancelled from outside, and refused: the
                // group was cancelled with work to do, whichever saw the token first.
                self.cancelled_running = true;
            }
            return false;
        }
        if token_cancelled {
            // Work was asked for and will not run: the group was cancelled with work to do.
            self.cancelled_running = true;
            self.begin_cancelling(Cause::Outside, abort_at());
            return false;
        }
        true
    }

    /// Records the abort handle of a task spawned after [`State::admit`]; returns it back if
    /// the tasks were aborted meanwhile, for the caller to abort. `live` counts the group's
    /// live tasks; it is asked only when a sweep is due.
    #[inline]
    pub(crate) fn register(
        &mut self,
        handle: AbortHandle,
        live: impl FnOnce() -> usize,
    ) -> Option<AbortHandle> {
        if self.aborting() {
            return Some(handle);
        }
        if self.handles.len() >= self.sweep_at {
            self.sweep(live());
        }
        self.handles.push(handle);
        None
    }

    /// Drops the handles of finished tasks, if at least about half of them are (fewer than
    /// half of the handles are of the `live` tasks); otherwise looks again once the handles
    /// reach twice `live` (plus [`SWEEP_SLACK`]), without walking them. After a walk, the
    /// next comes once as many handles again as are left (plus the slack) were recorded:
    /// amortised O(1) per task either way, and the handles stay within about twice the live
    /// tasks.
    #[cold]
    fn sweep(&mut self, live: usize) {
        let len = self.handles.len();
        if len < 2 * live + SWEEP_SLACK {
            // Most handles are of live tasks: a walk would free little.
            self.sweep_at = 2 * live + SWEEP_SLACK;
            return;
        }
        self.handles.retain(|handle| !handle.is_finished());
        if self.handles.capacity() > 4 * self.handles.len() + 4 * SWEEP_SLACK {
            self.handles.shrink_to(2 * self.handles.len() + SWEEP_SLACK);
        }
        self.sweep_at = 2 * self.handles.len() + SWEEP_SLACK;
    }

    /// Moves an open group to `Cancelling`; returns whether it did.
    fn begin_cancelling(&mut self, cause: Cause, abort_at: Option<Instant>) -> bool {
        if self.phase != Phase::Open {
            return false;
        }
        self.phase = Phase::Cancelling {
            abort_at,
            aborted: false,
        };
        self.cause = Some(cause);
        true
    }

    /// Records a failure of a task or of the body. The first one starts the cancellation,
    /// aborting at `abort_at`; a cancellation already under way (a `shutdown`'s grace) keeps
    /// its own deadline.
    pub(crate) fn fail(&mut self, failure: Failure<E>, abort_at: Option<Instant>) -> Failed<E> {
        if self.phase == Phase::Finished {
            return Failed::Unreceived(failure);
        }
        match failure {
            Failure::Error(error) => self.errors.push(error),
            Failure::Panic(payload) => self.panics.push(payload),
        }
        let first = self.begin_cancelling(Cause::Failure, abort_at);
        Failed::Recorded { first }
    }

    /// `shutdown(grace)`: stop admitting and abort at `abort_at`. The caller's grace holds
    /// whatever started the cancellation before, unless the tasks were already aborted or a
    /// failure started it and its abort comes sooner.
    pub(crate) fn shutdown(&mut self, abort_at: Option<Instant>) {
        match &mut self.phase {
            Phase::Open => {
                self.begin_cancelling(Cause::Shutdown, abort_at);
            }
            Phase::Cancelling {
                abort_at: at,
                aborted: false,
            } => {
                // A failure's abort (due at once with the default zero grace) is never put
                // off by a longer shutdown grace: that would let a sibling of a failed group
                // run on for as long as the abort had not yet run. `None` is "never".
                *at = match (self.cause, *at, abort_at) {
                    (Some(Cause::Failure), Some(due), Some(asked)) => Some(due.min(asked)),
                    (Some(Cause::Failure), Some(due), None) => Some(due),
                    _ => abort_at,
                };
            }
            Phase::Cancelling { .. } | Phase::Finished => {}
        }
        if self.cause == Some(Cause::Outside) {
            self.cause = Some(Cause::Shutdown);
        }
    }

    /// The token was found cancelled by the waiter (`work_running`: tasks or the body were
    /// still running then).
    pub(crate) fn cancelled_from_outside(&mut self, work_running: bool, abort_at: Option<Instant>) {
        if self.begin_cancelling(Cause::Outside, abort_at) || self.cause == Some(Cause::Outside) {
            self.cancelled_running |= work_running;
        }
    }

    /// A waiter is joining: failures from now on need not schedule their abort.
    pub(crate) fn set_joining(&mut self) {
        self.joining = true;
    }

    pub(crate) fn is_joining(&self) -> bool {
        self.joining
    }

    /// The waiter went away before the group finished: failures schedule their abort again.
    pub(crate) fn clear_joining(&mut self) {
        self.joining = false;
    }

    /// A task was dropped unfinished while its runtime shut down.
    pub(crate) fn runtime_gone(&mut self) {
        self.runtime_gone = true;
    }

    /// Whether tasks dropped unfinished are expected (the group aborted them, or is gone).
    pub(crate) fn aborting(&self) -> bool {
        matches!(
            self.phase,
            Phase::Cancelling { aborted: true, .. } | Phase::Finished
        )
    }

    /// When the tasks are to be aborted, if the group is cancelling, has not aborted them yet,
    /// and its grace ends (`None` otherwise: nothing to schedule).
    pub(crate) fn abort_pending(&self) -> Option<Instant> {
        match self.phase {
            Phase::Cancelling {
                abort_at,
                aborted: false,
            } => abort_at,
            _ => None,
        }
    }

    /// Whether the tasks are to be aborted at `now` and have not been yet.
    pub(crate) fn abort_due(&self, now: Instant) -> bool {
        matches!(
            self.phase,
            Phase::Cancelling { abort_at: Some(at), aborted: false } if at <= now
        )
    }

    /// The abort due at `now`, if any, and when to look again.
    pub(crate) fn due(&mut self, now: Instant) -> Due {
        match &mut self.phase {
            Phase::Cancelling {
                abort_at,
                aborted: aborted @ false,
            } => match *abort_at {
                Some(at) if at <= now => {
                    *aborted = true;
                    Due {
                        abort: std::mem::take(&mut self.handles),
                        wake_at: None,
                    }
                }
                wake_at => Due {
                    abort: Vec::new(),
                    wake_at,
                },
            },
            _ => Due {
                abort: Vec::new(),
                wake_at: None,
            },
        }
    }

    /// Every task is gone and a waiter returns: hand out what was collected, and the handles
    /// of the finished tasks, for the caller to drop after releasing the lock.
    pub(crate) fn finish(&mut self) -> (Collected<E>, Vec<AbortHandle>) {
        self.phase = Phase::Finished;
        let collected = Collected {
            errors: std::mem::take(&mut self.errors),
            panics: std::mem::take(&mut self.panics),
            cancelled: self.cancelled_running && self.cause == Some(Cause::Outside),
            runtime_gone: self.runtime_gone,
        };
        (collected, std::mem::take(&mut self.handles))
    }

    /// The owner is dropped: abort every task, and hand out what nobody received.
    pub(crate) fn close(&mut self) -> (Vec<AbortHandle>, Vec<E>, Vec<PanicPayload>) {
        self.phase = Phase::Finished;
        (
            std::mem::take(&mut self.handles),
            std::mem::take(&mut self.errors),
            std::mem::take(&mut self.panics),
        )
    }
}

#[cfg(all(test, corral_loom))]
mod loom_tests {
    //! The state's transitions under the lock, racing a task's admission, a failure and the
    //! waiter (the count here is a plain atomic; the core's real live word has its own model
    //! in `live.rs`).

    use super::{Cause, Failed, Failure, Phase, State};
    use crate::loom::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};

    /// Invariant: no task admitted by `spawn` runs after the waiter finished the group (no
    /// task outlives its group), the live count never goes below zero, and the waiter always
    /// finishes (no lost wake-up: it re-checks under the lock).
    #[test]
    fn loom_admission_never_outlives_finish() {
        loom::model(|| {
            let state = Arc::new(Mutex::new(State::<u8>::new()));
            let live = Arc::new(AtomicUsize::new(0));
            let outlived = Arc::new(AtomicBool::new(false));

            let spawner = {
                let (state, live, outlived) = (state.clone(), live.clone(), outlived.clone());
                loom::thread::spawn(move || {
                    let admitted = {
                        let mut state = state.lock().unwrap();
                        let admitted = state.admit(false, || None);
                        if admitted {
                            live.fetch_add(1, Ordering::SeqCst);
                        }
                        admitted
                    };
                    if admitted {
                        // The task runs (outside the lock) and then completes.
                        if state.lock().unwrap().phase() == Phase::Finished {
                            outlived.store(true, Ordering::SeqCst);
                        }
                        let before = live.fetch_sub(1, Ordering::SeqCst);
                        assert!(before > 0, "the count went below zero");
                    }
                })
            };
            let failer = {
                let state = state.clone();
                loom::thread::spawn(move || {
                    let failed = state.lock().unwrap().fail(Failure::Error(7), None);
                    // Before the waiter finishes, a failure is recorded; after, it is handed
                    // back for the hook: never lost.
                    match failed {
                        Failed::Recorded { .. } | Failed::Unreceived(Failure::Error(7)) => {}
                        Failed::Unreceived(_) => panic!("a different failure came back"),
                    }
                })
            };

            // The waiter.
            let collected = loop {
                let mut state = state.lock().unwrap();
                if live.load(Ordering::SeqCst) == 0 {
                    break state.finish().0;
                }
                drop(state);
                loom::thread::yield_now();
            };
            spawner.join().unwrap();
            failer.join().unwrap();
            assert!(
                !outlived.load(Ordering::SeqCst),
                "a task ran after the group finished"
            );
            assert!(collected.errors.len() <= 1);
            assert_eq!(live.load(Ordering::SeqCst), 0);
        });
    }

    /// Invariant: `shutdown`'s deadline survives a failure that comes after it (the grace a
    /// caller gives is honoured whatever a task does); a failure before it still counts, and
    /// its abort (due at once) is not put off by the shutdown's longer grace.
    #[test]
    fn loom_shutdown_grace_survives_a_concurrent_failure() {
        loom::model(|| {
            let state = Arc::new(Mutex::new(State::<u8>::new()));
            let now = tokio::time::Instant::now();
            let failer = {
                let state = state.clone();
                loom::thread::spawn(move || {
                    // A failure with "abort at once" semantics (the builder's zero grace)...
                    let _ = state.lock().unwrap().fail(Failure::Error(1), Some(now));
                })
            };
            // ...and a shutdown that gives no limit.
            state.lock().unwrap().shutdown(None);
            failer.join().unwrap();
            let state = state.lock().unwrap();
            match (state.cause, state.phase()) {
                (
                    Some(Cause::Shutdown),
                    Phase::Cancelling {
                        abort_at: None,
                        aborted: false,
                    },
                )
                | (
                    Some(Cause::Failure),
                    Phase::Cancelling {
                        abort_at: Some(_),
                        aborted: false,
                    },
                ) => {}
                other => panic!("the first cause's deadline was lost: {other:?}"),
            }
            if state.cause == Some(Cause::Failure) {
                // Exactly the failure's deadline: neither put off nor replaced.
                assert_eq!(
                    state.phase(),
                    Phase::Cancelling {
                        abort_at: Some(now),
                        aborted: false
                    }
                );
            }
            assert_eq!(state.errors(), 1);
        });
    }
}
