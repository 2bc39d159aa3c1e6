//! [`Barrier`]: a reusable meeting point for a fixed number of tasks, asyncio's
//! `asyncio.Barrier`.

use std::error::Error;
use std::fmt;
use std::sync::PoisonError;
use std::task::Waker;

use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::util::{Ticket, WaitList};

mod wait;

use wait::WaitState;
pub use wait::{BarrierWait, BarrierWaitResult, BrokenBarrier};

/// A meeting point where a fixed number of tasks wait for each other: asyncio's `Barrier`.
///
/// A barrier for `parties` tasks releases them together: each task calls
/// [`wait`](Barrier::wait), and the first `parties - 1` wait until the last one arrives. The
/// barrier is then empty and ready for the next *phase*; it can be used any number of times.
///
/// Each released task gets a [`BarrierWaitResult`]: an index in `0..parties`, different for
/// every task released by the same phase, and whether it is the *leader*, the task whose
/// arrival completed the phase (its index is always `parties - 1`). Exactly one task per
/// phase is the leader, which makes it a natural choice for work that one task should do
/// once per phase.
///
/// [`abort`](Barrier::abort) *breaks* the barrier: every task waiting in it, and every task
/// that waits later, gets [`BrokenBarrier`] until [`reset`](Barrier::reset) is called.
///
/// # Cancellation
///
/// A task whose `wait` is dropped before its phase was released is taken off the barrier: it
/// no longer counts, so the phase needs one more arrival, and its index is handed to the next
/// task that arrives. Once a phase has been released, dropping one of its waits changes
/// nothing: the other tasks are released all the same. A task that finishes a phase and
/// waits again at once always joins the next phase, never the one being released.
///
/// Where corral chooses differently from asyncio: the index is unique within a phase even
/// when waiters were cancelled and replaced, and a cancelled waiter does not break the
/// barrier or the phase. There is no `n_broken`-style draining state: a phase is released
/// as a whole, at once.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use corral::sync::Barrier;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let barrier = Arc::new(Barrier::new(3));
/// let mut tasks = Vec::new();
/// for name in ["A", "B", "C"] {
///     let barrier = Arc::clone(&barrier);
///     tasks.push(tokio::spawn(async move {
///         // ... phase 1 work ...
///         let arrival = barrier.wait().await?;
///         // ... phase 2 work, once all three are done with phase 1 ...
///         Ok::<_, corral::sync::BrokenBarrier>((name, arrival.is_leader()))
///     }));
/// }
///
/// let mut leaders = 0;
/// for task in tasks {
///     let (_name, is_leader) = task.await??;
///     leaders += usize::from(is_leader);
/// }
/// assert_eq!(leaders, 1);
/// # Ok(())
/// # }
/// ```
pub struct Barrier {
    parties: usize,
    /// Counts phases; bumped, under the lock, each time a phase ends (released or broken).
    /// A waiter that sees it move knows its phase is over without taking the lock.
    generation: AtomicUsize,
    /// How many waiters of broken phases have yet to learn that they were broken. While
    /// zero, a waiter whose phase is over knows it was released.
    broken_unseen: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The tasks waiting in the current phase. Its length is the number that arrived.
    waiters: WaitList,
    /// The lowest index never handed out in this phase.
    next_index: usize,
    /// Indices handed out in this phase whose waiters were dropped, to be handed out again.
    free: Vec<usize>,
    broken: bool,
    /// Phases that ended broken and still have waiters that have not looked at their result.
    broken_phases: Vec<BrokenPhase>,
}

#[derive(Debug)]
struct BrokenPhase {
    generation: usize,
    unseen: usize,
}

impl Barrier {
    /// Creates a barrier for `parties` tasks.
    ///
    /// A barrier for one party never waits: each `wait` returns at once, as the leader.
    ///
    /// # Panics
    ///
    /// Panics if `parties` is zero: no phase could ever be completed. Use
    /// [`try_new`](Barrier::try_new) to get an error instead. (Tokio's `Barrier` treats zero
    /// as one; asyncio raises `ValueError`.)
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Barrier;
    ///
    /// let barrier = Barrier::new(4);
    /// assert_eq!(barrier.parties(), 4);
    /// ```
    #[track_caller]
    pub fn new(parties: usize) -> Self {
        match Self::try_new(parties) {
            Ok(barrier) => barrier,
            Err(_) => panic!("a barrier needs at least one party"),
        }
    }

    /// Creates a barrier for `parties` tasks, or returns an error if `parties` is zero.
    ///
    /// # Errors
    ///
    /// Returns [`ZeroPartiesError`] if `parties` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Barrier;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::try_new(2)?;
    /// assert_eq!(barrier.parties(), 2);
    /// assert!(Barrier::try_new(0).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_new(parties: usize) -> Result<Self, ZeroPartiesError> {
        if parties == 0 {
            return Err(ZeroPartiesError(()));
        }
        Ok(Self {
            parties,
            generation: AtomicUsize::new(0),
            broken_unseen: AtomicUsize::new(0),
            state: Mutex::new(State {
                waiters: WaitList::new(),
                next_index: 0,
                free: Vec::new(),
                broken: false,
                broken_phases: Vec::new(),
            }),
        })
    }

    /// Waits until `parties` tasks have called `wait`, then releases them all.
    ///
    /// The task arrives at the barrier when the future is first polled. The task whose
    /// arrival completes the phase returns at once, as the leader; the others wake up.
    ///
    /// # Errors
    ///
    /// Returns [`BrokenBarrier`] if the barrier is broken when the task arrives, or is
    /// broken by [`abort`](Barrier::abort) or ended by [`reset`](Barrier::reset) while it
    /// waits.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: if the future is dropped before its phase was released,
    /// the task is taken off the barrier as if it had never arrived (the phase needs one
    /// more arrival, and the task's index goes to the next one). If it is dropped after the
    /// release, the release stands for every other task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corral::sync::Barrier;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Arc::new(Barrier::new(2));
    /// let other = tokio::spawn({
    ///     let barrier = Arc::clone(&barrier);
    ///     async move { barrier.wait().await }
    /// });
    ///
    /// let mine = barrier.wait().await?;
    /// let theirs = other.await??;
    /// assert_ne!(mine.index(), theirs.index());
    /// assert!(mine.is_leader() != theirs.is_leader());
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            state: WaitState::Arriving,
        }
    }

    /// Breaks the barrier: every task waiting in it, and every task that waits later, gets
    /// [`BrokenBarrier`], until [`reset`](Barrier::reset) is called.
    ///
    /// Aborting a broken barrier does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::pin;
    /// use corral::sync::Barrier;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::new(3);
    /// let mut waiter = pin!(barrier.wait());
    /// assert!(futures::poll!(waiter.as_mut()).is_pending()); // it arrived, and waits
    ///
    /// barrier.abort();
    /// assert!(waiter.await.is_err());
    /// assert!(barrier.is_broken());
    /// assert!(barrier.wait().await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn abort(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.lock();
            if state.broken {
                return;
            }
            state.broken = true;
            self.end_phase(&mut state, PhaseEnd::Broken, &mut wakers);
        }
        crate::util::wake_all("Barrier", wakers);
    }

    /// Returns the barrier to its initial state: not broken, and nobody waiting.
    ///
    /// Tasks waiting in the barrier when it is reset get [`BrokenBarrier`] (as in asyncio):
    /// the phase they waited for is abandoned, and the next `parties` tasks to arrive make up
    /// a fresh phase.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Barrier;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::new(1);
    /// barrier.abort();
    /// assert!(barrier.wait().await.is_err());
    ///
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// assert!(barrier.wait().await?.is_leader());
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.lock();
            state.broken = false;
            if state.waiters.is_empty() {
                state.next_index = 0;
                state.free.clear();
            } else {
                self.end_phase(&mut state, PhaseEnd::Broken, &mut wakers);
            }
        }
        crate::util::wake_all("Barrier", wakers);
    }

    /// How many tasks are waiting in the current phase.
    ///
    /// Always less than [`parties`](Barrier::parties), and zero while the barrier is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::pin;
    /// use corral::sync::Barrier;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::new(3);
    /// let mut first = pin!(barrier.wait());
    /// // Poll it once, so that it arrives.
    /// assert!(futures::poll!(first.as_mut()).is_pending());
    /// assert_eq!(barrier.n_waiting(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.lock().waiters.len()
    }

    /// The number of tasks each phase waits for.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Barrier;
    ///
    /// assert_eq!(Barrier::new(5).parties(), 5);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Whether the barrier is broken by [`abort`](Barrier::abort) (and not yet
    /// [`reset`](Barrier::reset)).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Barrier;
    ///
    /// let barrier = Barrier::new(2);
    /// assert!(!barrier.is_broken());
    /// barrier.abort();
    /// assert!(barrier.is_broken());
    /// barrier.reset();
    /// assert!(!barrier.is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        self.lock().broken
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent whenever the lock is released, even by a panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Arrives at the barrier: the one lock of the hot path. Gives back the wakers of the
    /// phase this arrival released, to be woken (by [`wake_all`](crate::util::wake_all)) once
    /// the caller has stored its own new state: a waker that panics must not leave the leader's
    /// future arriving again when polled again.
    fn arrive(&self, waker: &Waker) -> (WaitState, Vec<Waker>) {
        let mut wakers = Vec::new();
        let arrived = {
            let mut state = self.lock();
            if state.broken {
                return (WaitState::Done(Err(BrokenBarrier(()))), wakers);
            }
            let index = match state.free.pop() {
                Some(index) => index,
                None => {
                    state.next_index += 1;
                    state.next_index - 1
                }
            };
            if state.waiters.len() + 1 == self.parties {
                // The last arrival: release the phase. Indices below `parties - 1` are all
                // taken, so this one is `parties - 1`.
                debug_assert_eq!(index, self.parties - 1);
                self.end_phase(&mut state, PhaseEnd::Released, &mut wakers);
                WaitState::Done(Ok(BarrierWaitResult {
                    index,
                    leader: true,
                }))
            } else {
                WaitState::Waiting {
                    ticket: state.waiters.push(waker),
                    // Only changes under the lock, which is held.
                    generation: self.generation.load(Ordering::Relaxed),
                    index,
                }
            }
        };
        (arrived, wakers)
    }

    /// Ends the current phase under the lock, collecting the wakers of its waiters.
    fn end_phase(&self, state: &mut State, end: PhaseEnd, wakers: &mut Vec<Waker>) {
        let generation = self.generation.load(Ordering::Relaxed);
        let waiting = state.waiters.len();
        wakers.reserve_exact(waiting);
        state.waiters.notify_all(wakers);
        if end == PhaseEnd::Broken && waiting > 0 {
            state.broken_phases.push(BrokenPhase {
                generation,
                unseen: waiting,
            });
            self.broken_unseen.fetch_add(waiting, Ordering::Relaxed);
        }
        // Release: a waiter that sees the new generation also sees `broken_unseen` above.
        self.generation
            .store(generation.wrapping_add(1), Ordering::Release);
        state.next_index = 0;
        state.free.clear();
    }

    /// Whether the phase `generation`, which has ended, was broken; under the lock. Each
    /// waiter of a broken phase asks exactly once, and the phase is forgotten after the last.
    fn take_broken(&self, state: &mut State, generation: usize) -> bool {
        let Some(at) = state
            .broken_phases
            .iter()
            .position(|phase| phase.generation == generation)
        else {
            return false;
        };
        state.broken_phases[at].unseen -= 1;
        if state.broken_phases[at].unseen == 0 {
            state.broken_phases.swap_remove(at);
        }
        self.broken_unseen.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Polls a waiter whose task arrived in phase `generation`.
    fn poll_waiting(
        &self,
        waker: &Waker,
        ticket: Ticket,
        generation: usize,
        index: usize,
    ) -> Option<Result<BarrierWaitResult, BrokenBarrier>> {
        let released = Ok(BarrierWaitResult {
            index,
            leader: false,
        });
        // Fast path, no lock: the phase is over, and no broken phase has waiters that have
        // yet to look, so this one was released.
        if self.generation.load(Ordering::Acquire) != generation
            && self.broken_unseen.load(Ordering::Acquire) == 0
        {
            return Some(released);
        }
        let mut state = self.lock();
        if state.waiters.contains(ticket) {
            let replaced = state.waiters.replace_waker(ticket, waker);
            drop(state);
            drop(replaced);
            None
        } else if self.take_broken(&mut state, generation) {
            Some(Err(BrokenBarrier(())))
        } else {
            Some(released)
        }
    }

    /// A waiter is dropped before it saw the end of its phase.
    fn leave(&self, ticket: Ticket, generation: usize, index: usize) {
        let mut state = self.lock();
        if let Some(own) = state.waiters.take(ticket) {
            // Still waiting: un-count it, and give its index to the next arrival. Its waker
            // is dropped after the lock is released.
            state.free.push(index);
            drop(state);
            drop(own);
        } else {
            // Its phase ended; if it was broken, this waiter will never look, so stop
            // waiting for it to.
            self.take_broken(&mut state, generation);
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Read under the lock, formatted after it (the formatter is the caller's code).
        let (n_waiting, is_broken) = {
            let state = self.lock();
            (state.waiters.len(), state.broken)
        };
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &n_waiting)
            .field("is_broken", &is_broken)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PhaseEnd {
    Released,
    Broken,
}

/// The error of [`Barrier::try_new`] when asked for a barrier of zero parties.
///
/// # Examples
///
/// ```
/// use corral::sync::Barrier;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let err = Barrier::try_new(0).err().ok_or("zero parties are refused")?;
/// assert_eq!(err.to_string(), "a barrier needs at least one party");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ZeroPartiesError(());

impl fmt::Display for ZeroPartiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a barrier needs at least one party")
    }
}

impl Error for ZeroPartiesError {}

#[cfg(all(test, not(corral_loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    use super::*;

    /// Whether the barrier keeps no trace of past phases: nobody counted as waiting, no
    /// broken phase left with waiters that will never look (which would also keep the
    /// lock-free fast path off for good).
    fn is_settled(barrier: &Barrier) -> bool {
        let state = barrier.lock();
        state.waiters.is_empty()
            && state.broken_phases.is_empty()
            && barrier.broken_unseen.load(Ordering::Relaxed) == 0
    }

    /// A waiter of a broken phase that is dropped without looking at its result is forgotten
    /// by the ledger of broken phases (`leave` takes its share of it).
    #[test]
    fn a_waiter_of_a_broken_phase_dropped_unpolled_leaves_nothing_behind() {
        let barrier = Barrier::new(2);
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut stale = pin!(barrier.wait());
            assert!(stale.as_mut().poll(&mut cx).is_pending());
            barrier.abort();
            assert!(!is_settled(&barrier), "the broken phase awaits its waiter");
        } // dropped unpolled since the abort
        assert!(is_settled(&barrier));
        barrier.reset();
        assert!(is_settled(&barrier));
    }

    /// Same for a waiter that does look: the ledger is drained when it sees its phase broken.
    #[test]
    fn a_waiter_of_a_broken_phase_that_looks_leaves_nothing_behind() {
        let barrier = Barrier::new(2);
        let mut cx = Context::from_waker(Waker::noop());
        let mut stale = pin!(barrier.wait());
        assert!(stale.as_mut().poll(&mut cx).is_pending());
        barrier.abort();
        barrier.reset();
        assert!(matches!(
            stale.as_mut().poll(&mut cx),
            std::task::Poll::Ready(Err(_))
        ));
        assert!(is_settled(&barrier));
    }
}

#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};

    use loom::thread;

    use super::*;
    use crate::loom::Arc;

    /// The ledger of broken phases is drained: nobody is counted as waiting, and no broken
    /// phase is left with waiters that will never look.
    fn assert_settled(barrier: &Barrier) {
        let state = barrier.lock();
        assert!(state.waiters.is_empty());
        assert!(state.broken_phases.is_empty());
        assert_eq!(barrier.broken_unseen.load(Ordering::Relaxed), 0);
    }

    /// No lost wake-up, one leader: two parties arriving on two threads are both released
    /// (loom reports a deadlock if a waiter is never woken), with indices {0, 1} and exactly
    /// one leader, whichever path (lock or lock-free generation check) each waiter takes.
    #[test]
    fn loom_barrier_releases_both_parties_with_one_leader() {
        loom::model(|| {
            let barrier = Arc::new(Barrier::new(2));
            let other = {
                let barrier = barrier.clone();
                thread::spawn(move || loom::future::block_on(barrier.wait()))
            };
            let mine = loom::future::block_on(barrier.wait()).unwrap();
            let theirs = other.join().unwrap().unwrap();
            assert!(mine.is_leader() ^ theirs.is_leader());
            let mut indices = [mine.index(), theirs.index()];
            indices.sort_unstable();
            assert_eq!(indices, [0, 1]);
            assert_settled(&barrier);
        });
    }

    /// A broken phase is never taken for a released one: a waiter racing `abort` always gets
    /// `BrokenBarrier` (the lock-free fast path sees `broken_unseen` whenever it sees the
    /// generation move), and the count of unseen broken waiters returns to zero, never below.
    #[test]
    fn loom_barrier_abort_breaks_a_racing_waiter_and_the_ledger_drains() {
        loom::model(|| {
            let barrier = Arc::new(Barrier::new(2));
            let aborter = {
                let barrier = barrier.clone();
                thread::spawn(move || barrier.abort())
            };
            assert!(loom::future::block_on(barrier.wait()).is_err());
            aborter.join().unwrap();
            assert_settled(&barrier);
        });
    }

    /// Count never negative, nothing left behind: a waiter dropped after arriving, racing
    /// `abort`, is either un-counted (it left first) or struck off the broken phase's ledger
    /// (the abort came first), never both and never neither.
    #[test]
    fn loom_barrier_a_waiter_dropped_while_aborted_leaves_no_trace() {
        loom::model(|| {
            let barrier = Arc::new(Barrier::new(3));
            let leaver = {
                let barrier = barrier.clone();
                thread::spawn(move || {
                    let mut wait = pin!(barrier.wait());
                    let mut cx = Context::from_waker(std::task::Waker::noop());
                    let first = wait.as_mut().poll(&mut cx);
                    // Arrived (pending), or the abort came first and it was refused.
                    assert!(matches!(first, Poll::Pending | Poll::Ready(Err(_))));
                })
            };
            barrier.abort();
            leaver.join().unwrap();
            assert_settled(&barrier);
        });
    }
}
