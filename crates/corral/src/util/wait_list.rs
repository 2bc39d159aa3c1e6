//! A first-come, first-served list of parked tasks, kept under the owning primitive's lock.
//!
//! Tokio's `Notify` is the right tool when every waiter is woken at once (`Event`), but it
//! cannot say "wake exactly the first `n` tasks that are waiting now, and nobody if nobody
//! waits": `notify_one` with no waiter stores a permit that a later, unrelated waiter consumes.
//! `Condition::notify(n)`, the queue's blocked getters and putters, and the barrier need exact,
//! ordered hand-offs whose bookkeeping lives under the same lock as their data, so they share
//! this list instead.
//!
//! Design: entries live in a [`Slab`] (stable keys, no allocation once warm) and their arrival
//! order in a `VecDeque` of tickets. Notifying removes the entry and hands its waker back to be
//! woken after the caller releases its lock; a waiter learns it was notified by finding its
//! ticket gone. A waiter that gives up removes its entry in O(1) and leaves its ticket in the
//! order queue, where it is skipped later; the queue is compacted when stale tickets outnumber
//! live ones, so the cost of every operation is O(1) amortised and memory stays proportional to
//! the tasks actually waiting.

use std::collections::VecDeque;
use std::task::Waker;

use slab::Slab;

/// Identifies one waiter's place in a [`WaitList`].
///
/// The sequence number makes a ticket unique for the life of the list, so a slab key that is
/// reused by a later waiter never answers for an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket {
    key: usize,
    seq: u64,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    waker: Waker,
}

/// A FIFO of parked tasks. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    entries: Slab<Entry>,
    order: VecDeque<Ticket>,
    next_seq: u64,
}

impl WaitList {
    pub(crate) const fn new() -> Self {
        Self {
            entries: Slab::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Parks a waiter at the back of the list.
    pub(crate) fn push(&mut self, waker: &Waker) -> Ticket {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.entries.insert(Entry {
            seq,
            waker: waker.clone(),
        });
        let ticket = Ticket { key, seq };
        self.order.push_back(ticket);
        ticket
    }

    /// Whether `ticket` is still parked, that is, not notified and not removed.
    pub(crate) fn contains(&self, ticket: Ticket) -> bool {
        self.entries
            .get(ticket.key)
            .is_some_and(|entry| entry.seq == ticket.seq)
    }

    /// Replaces the waker of a parked waiter if it would wake a different task, and gives the
    /// replaced waker back, to be dropped once the caller has released its lock (dropping a
    /// waker may free a task).
    pub(crate) fn replace_waker(&mut self, ticket: Ticket, waker: &Waker) -> Option<Waker> {
        let entry = self.entries.get_mut(ticket.key)?;
        if entry.seq != ticket.seq || entry.waker.will_wake(waker) {
            return None;
        }
        Some(std::mem::replace(&mut entry.waker, waker.clone()))
    }

    /// Takes a parked waiter off the list without waking it, and gives its waker back, to be
    /// dropped once the caller has released its lock. `None` if it was no longer parked: it has
    /// been notified (and so owes the notification to someone else if it gives up now).
    pub(crate) fn take(&mut self, ticket: Ticket) -> Option<Waker> {
        if !self.contains(ticket) {
            return None;
        }
        let entry = self.entries.remove(ticket.key);
        self.compact();
        Some(entry.waker)
    }

    fn compact(&mut self) {
        if self.order.len() > 2 * self.entries.len() + 16 {
            let entries = &self.entries;
            self.order
                .retain(|t| entries.get(t.key).is_some_and(|e| e.seq == t.seq));
        }
    }

    /// Notifies the waiter that has waited longest; returns its waker, to be woken once the
    /// caller has released its lock. `None` if nobody waits.
    pub(crate) fn notify_one(&mut self) -> Option<Waker> {
        self.notify_oldest().map(|(_, waker)| waker)
    }

    /// [`notify_one`](Self::notify_one), also giving the notified waiter's sequence number:
    /// the order of its [`push`](Self::push), counted from zero.
    pub(crate) fn notify_oldest(&mut self) -> Option<(u64, Waker)> {
        while let Some(ticket) = self.order.pop_front() {
            if self.contains(ticket) {
                return Some((ticket.seq, self.entries.remove(ticket.key).waker));
            }
        }
        None
    }

    /// Notifies every parked waiter, appending their wakers to `wakers`.
    pub(crate) fn notify_all(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(waker) = self.notify_one() {
            wakers.push(waker);
        }
    }

    /// How many waiters are parked.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nobody is parked.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    #[test]
    fn notifies_in_arrival_order() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        let a = list.push(&w);
        let b = list.push(&w);
        let c = list.push(&w);
        assert!(list.notify_one().is_some());
        assert!(!list.contains(a));
        assert!(list.contains(b) && list.contains(c));
        assert!(list.notify_one().is_some());
        assert!(!list.contains(b));
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn removed_waiters_are_skipped_and_report_whether_notified() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        let a = list.push(&w);
        let b = list.push(&w);
        assert!(list.take(a).is_some(), "a was parked");
        assert!(list.notify_one().is_some());
        assert!(list.take(b).is_none(), "b was notified, not parked");
        assert!(list.notify_one().is_none());
        assert!(list.is_empty());
    }

    #[test]
    fn reused_slab_key_does_not_answer_for_an_old_ticket() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        let old = list.push(&w);
        assert!(list.notify_one().is_some());
        let new = list.push(&w);
        assert_eq!(old.key, new.key);
        assert!(!list.contains(old));
        assert!(list.contains(new));
    }

    #[test]
    fn order_queue_stays_proportional_to_live_waiters() {
        let mut list = WaitList::new();
        let (_, w) = waker();
        for _ in 0..10_000 {
            let t = list.push(&w);
            assert!(list.take(t).is_some());
        }
        assert!(
            list.order.len() <= 17,
            "stale tickets: {}",
            list.order.len()
        );
    }

    #[test]
    fn take_and_replace_waker_hand_the_old_waker_back() {
        let mut list = WaitList::new();
        let (first, w1) = waker();
        let (_, w2) = waker();
        let t = list.push(&w1);
        assert!(
            list.replace_waker(t, &w1).is_none(),
            "same waker: nothing to swap"
        );
        let old = list.replace_waker(t, &w2).expect("a different waker");
        assert!(old.will_wake(&w1));
        drop((old, w1));
        assert_eq!(
            Arc::strong_count(&first),
            1,
            "the list let go of the old waker"
        );
        let taken = list.take(t).expect("parked");
        assert!(taken.will_wake(&w2));
        assert!(list.take(t).is_none(), "taken once");
        assert!(list.is_empty());
    }

    #[test]
    fn update_swaps_the_waker_that_gets_woken() {
        let mut list = WaitList::new();
        let (first, w1) = waker();
        let (second, w2) = waker();
        let t = list.push(&w1);
        drop(list.replace_waker(t, &w2));
        let mut wakers = Vec::new();
        list.notify_all(&mut wakers);
        wakers.into_iter().for_each(Waker::wake);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }
}

#[cfg(all(test, corral_loom))]
mod loom_tests {
    //! The protocol every owner of a `WaitList` follows (the condition, the barrier, the
    //! queue), on a small owner: a count of items and the list, under one loom `Mutex`. A
    //! taker checks for an item and registers in the same critical section (so the re-check
    //! is the lock itself), unlocks and waits; a giver adds an item and takes a waker off the
    //! list under the lock, and wakes it after unlocking. A taker that gives up takes its
    //! ticket back, or, if it was already notified, passes the notification on, as
    //! `Condition`'s `Registration` does. (The condition's own data lock is Tokio's, which
    //! loom cannot see, so the condition is modelled through this owner.)

    use std::future::poll_fn;
    use std::sync::PoisonError;
    use std::task::{Poll, Waker};

    use loom::thread;

    use super::*;
    use crate::loom::{Arc, Mutex, MutexGuard};

    #[derive(Default)]
    struct Owner {
        state: Mutex<(usize, WaitList)>,
    }

    impl Owner {
        fn lock(&self) -> MutexGuard<'_, (usize, WaitList)> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Adds an item and notifies the longest waiting taker, waking it after unlocking.
        fn give(&self) {
            let waker = {
                let mut state = self.lock();
                state.0 += 1;
                state.1.notify_one()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }

        /// Takes an item if there is one, and otherwise registers (or re-registers) `ticket`.
        fn try_take(&self, ticket: &mut Option<Ticket>, waker: &Waker) -> bool {
            let mut state = self.lock();
            if state.0 > 0 {
                state.0 -= 1;
                if let Some(t) = ticket.take() {
                    // Taken while still parked: leave the list (the waker drops unlocked).
                    let waker = state.1.take(t);
                    drop(state);
                    drop(waker);
                }
                return true;
            }
            match *ticket {
                Some(t) if state.1.contains(t) => drop(state.1.replace_waker(t, waker)),
                _ => *ticket = Some(state.1.push(waker)),
            }
            false
        }

        /// Waits for an item and takes it.
        fn take(&self) {
            let mut ticket = None;
            loom::future::block_on(poll_fn(|cx| {
                if self.try_take(&mut ticket, cx.waker()) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }));
        }

        /// Gives up waiting: leaves quietly, or passes a notification it got on.
        fn give_up(&self, ticket: Ticket) {
            let next = {
                let mut state = self.lock();
                match state.1.take(ticket) {
                    Some(own) => {
                        drop(state);
                        drop(own);
                        None
                    }
                    None => state.1.notify_one(),
                }
            };
            if let Some(next) = next {
                next.wake();
            }
        }
    }

    /// No lost wake-up: a taker that checks and registers under the lock is always woken by
    /// a giver on another thread (loom reports a deadlock otherwise), and the list ends empty.
    #[test]
    fn loom_wait_list_no_lost_wake_up() {
        loom::model(|| {
            let owner = Arc::new(Owner::default());
            let taker = {
                let owner = owner.clone();
                thread::spawn(move || owner.take())
            };
            owner.give();
            taker.join().unwrap();
            let state = owner.lock();
            assert_eq!(state.0, 0, "the item was taken exactly once");
            assert!(state.1.is_empty());
        });
    }

    /// No notification swallowed, no item lost or duplicated: one taker waits for good while
    /// another registers and gives up, racing a single give. Whoever got the notification,
    /// the taker that stays is woken (a second item is given only if the one that gave up
    /// took the first), and every item is taken exactly once.
    #[test]
    fn loom_wait_list_a_taker_that_gives_up_passes_its_notification_on() {
        loom::model(|| {
            let owner = Arc::new(Owner::default());
            let stayer = {
                let owner = owner.clone();
                thread::spawn(move || owner.take())
            };
            let quitter = {
                let owner = owner.clone();
                thread::spawn(move || {
                    let mut ticket = None;
                    if owner.try_take(&mut ticket, Waker::noop()) {
                        return true;
                    }
                    owner.give_up(ticket.expect("registered"));
                    false
                })
            };
            owner.give();
            if quitter.join().unwrap() {
                owner.give();
            }
            stayer.join().unwrap();
            let state = owner.lock();
            assert_eq!(state.0, 0, "every item taken exactly once");
            assert!(state.1.is_empty());
        });
    }
}
