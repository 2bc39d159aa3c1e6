//! The one atomic word of a group's core: how many of its tasks are alive, whether it still
//! admits tasks, and whether a waiter must be told when the last one leaves.
//!
//! A `TaskTracker` counts tasks too, but cannot refuse one: closing it only lets `wait`
//! finish. Here admitting is a single `fetch_add` that fails once the word is closed, and
//! finishing is a compare-and-swap that closes it only if no task is alive, so an admitted task
//! is always waited for and none is admitted after the group finished, with no lock on the
//! spawn path. (The enclosing groups' trackers, which only count, are tokio-util's.)

use crate::loom::{AtomicUsize, Ordering};

/// No task is admitted any more.
const CLOSED: usize = 1;
/// A waiter must be woken when the count drops to zero.
const WATCHED: usize = 2;
/// One live task.
const ONE: usize = 4;

/// What [`Live::admit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    Admitted,
    /// Not counted; `wake`: the waiter must be woken (the undo took the count to zero).
    Refused {
        wake: bool,
    },
}

#[derive(Debug)]
pub(crate) struct Live {
    word: AtomicUsize,
}

impl Live {
    pub(crate) fn new() -> Self {
        Self {
            word: AtomicUsize::new(0),
        }
    }

    /// Counts a new task in, unless the word is closed.
    pub(crate) fn admit(&self) -> Admit {
        let before = self.word.fetch_add(ONE, Ordering::SeqCst);
        if before & CLOSED != 0 {
            // Undone as a task leaving would be: the waiter may have seen the count.
            return Admit::Refused { wake: self.leave() };
        }
        Admit::Admitted
    }

    /// Counts a task out; returns whether it was the last and a waiter must be woken.
    #[must_use]
    pub(crate) fn leave(&self) -> bool {
        let before = self.word.fetch_sub(ONE, Ordering::SeqCst);
        debug_assert!(before >= ONE, "a group's live count went below zero");
        before & !(CLOSED | WATCHED) == ONE && before & WATCHED != 0
    }

    /// Asks the last task to leave to report it (see [`Live::leave`]).
    pub(crate) fn watch(&self) {
        self.word.fetch_or(WATCHED, Ordering::SeqCst);
    }

    /// Refuses every task from now on; returns whether the word was open until now.
    pub(crate) fn close(&self) -> bool {
        self.word.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }

    /// Opens a word that [`Live::close_if_idle`] closed for a group that could not finish after
    /// all (see `may_finish` in the core). Called under the group's lock, with its phase `Open`.
    pub(crate) fn reopen(&self) {
        self.word.fetch_and(!CLOSED, Ordering::SeqCst);
    }

    /// Closes the word if no task is alive; returns whether it did (the group may finish).
    pub(crate) fn close_if_idle(&self) -> bool {
        let mut word = self.word.load(Ordering::SeqCst);
        loop {
            if word >= ONE {
                return false;
            }
            match self.word.compare_exchange(
                word,
                word | CLOSED,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => word = now,
            }
        }
    }

    /// How many tasks are alive.
    pub(crate) fn len(&self) -> usize {
        self.word.load(Ordering::SeqCst) / ONE
    }
}

#[cfg(all(test, corral_loom))]
mod loom_tests {
    use super::{Admit, Live};
    use crate::loom::{Arc, AtomicBool, AtomicUsize, Ordering};

    /// The waiter: watches, and finishes (setting `finished`) only once the word is idle and
    /// closed.
    fn wait_until_idle(live: &Live, finished: &AtomicBool) {
        live.watch();
        loop {
            if live.close_if_idle() {
                finished.store(true, Ordering::SeqCst);
                break;
            }
            loom::thread::yield_now();
        }
    }

    /// Invariants: a task admitted concurrently with the waiter's `close_if_idle` either is
    /// refused or keeps the waiter from finishing (no task outlives its group); the count never
    /// goes below zero; and when the last task leaves after the waiter watched, exactly one
    /// `leave` reports it (no lost wake-up).
    #[test]
    fn loom_admit_races_close_if_idle() {
        loom::model(|| {
            let live = Arc::new(Live::new());
            let finished = Arc::new(AtomicBool::new(false));
            let outlived = Arc::new(AtomicBool::new(false));
            let wakes = Arc::new(AtomicUsize::new(0));

            let spawner = {
                let (live, finished, outlived, wakes) = (
                    live.clone(),
                    finished.clone(),
                    outlived.clone(),
                    wakes.clone(),
                );
                loom::thread::spawn(move || {
                    let admitted = live.admit();
                    if let Admit::Refused { wake: true } = admitted {
                        wakes.fetch_add(1, Ordering::SeqCst);
                    }
                    if admitted == Admit::Admitted {
                        // The task runs.
                        if finished.load(Ordering::SeqCst) {
                            outlived.store(true, Ordering::SeqCst);
                        }
                        if live.leave() {
                            wakes.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            };

            wait_until_idle(&live, &finished);
            spawner.join().unwrap();
            assert!(
                !outlived.load(Ordering::SeqCst),
                "a task ran after the group finished"
            );
            assert_eq!(live.len(), 0);
            assert!(wakes.load(Ordering::SeqCst) <= 1);
        });
    }

    /// The token's waker closes the word from another thread (`CloseOnCancel`), racing a
    /// spawn and the waiter. Invariants: a spawn that starts after `close` returned is refused
    /// (no work starts after cancellation); a spawn admitted before keeps the waiter from
    /// finishing until it leaves (no task outlives its group); the count never goes below zero.
    #[test]
    fn loom_close_on_cancel_races_admit_and_waiter() {
        loom::model(|| {
            let live = Arc::new(Live::new());
            let closed = Arc::new(AtomicBool::new(false));
            let finished = Arc::new(AtomicBool::new(false));

            let canceller = {
                let (live, closed) = (live.clone(), closed.clone());
                loom::thread::spawn(move || {
                    live.close();
                    closed.store(true, Ordering::SeqCst);
                })
            };
            let spawner = {
                let (live, closed, finished) = (live.clone(), closed.clone(), finished.clone());
                loom::thread::spawn(move || {
                    let after_cancel = closed.load(Ordering::SeqCst);
                    match live.admit() {
                        Admit::Admitted => {
                            assert!(!after_cancel, "admitted after the token closed the word");
                            assert!(
                                !finished.load(Ordering::SeqCst),
                                "a task ran after the group finished"
                            );
                            let _ = live.leave();
                        }
                        Admit::Refused { .. } => {}
                    }
                })
            };

            wait_until_idle(&live, &finished);
            canceller.join().unwrap();
            spawner.join().unwrap();
            assert_eq!(live.len(), 0);
        });
    }
}
