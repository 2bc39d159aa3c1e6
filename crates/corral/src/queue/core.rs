//! The one private core behind [`Queue`](super::Queue), [`PriorityQueue`](super::PriorityQueue)
//! and [`LifoQueue`](super::LifoQueue). See the module docs of `corral::queue` for the design.
//!
//! The three kinds differ only in their [`Discipline`]; everything that decides who may take an
//! item or a slot, and who is woken, lives here once.

use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use super::buffer::{Buffer, Discipline};
use super::error::{GetError, PutError, TaskDoneError, TryGetError, TryPutError};
use crate::util::{Ticket, WaitList};

/// The most room reserved up front for a bounded queue; beyond this the buffer grows on
/// demand (and then stays grown, so the steady state does not allocate).
const PREALLOCATE_MAX: usize = 1024;

/// The queue's shared state. `Queue<T>` and its siblings are `Arc<Core<_>>` handles.
pub(crate) struct Core<B> {
    state: Mutex<State<B>>,
    /// `None` for an unbounded queue.
    capacity: Option<usize>,
    /// The counts behind `task_done` and `join`.
    counts: Counts,
    all_done: Notify,
}

/// The counts behind `task_done` and `join`, kept in atomics so that `task_done` never takes
/// the lock.
///
/// All three counters only grow (wrapping), except that `shutdown_immediate` takes the items it
/// removes off `accepted`. `accepted` and `taken` are written only under the queue's lock (a
/// plain load and store, no read-modify-write); `done` is bumped by `task_done` alone. Items in
/// the queue are `accepted - taken`, items unfinished are `accepted - done`, and
/// `done <= taken <= accepted` holds in every view a thread can have, because a `task_done`
/// follows its `get`, which follows the `put`.
#[derive(Default)]
struct Counts {
    /// Items put, less those removed by `shutdown_immediate`.
    accepted: Padded<AtomicUsize>,
    /// Items taken by `get`, `try_get` or a stream.
    taken: Padded<AtomicUsize>,
    /// Items marked done by `task_done`.
    done: Padded<AtomicUsize>,
    /// How many `join` calls are registered on `all_done`; `task_done` skips the notify (and
    /// its lock) when nobody listens.
    joiners: Padded<AtomicUsize>,
}

/// Keeps a counter on a cache line of its own: the producer, the consumers and `task_done`
/// each write a different one.
#[derive(Default)]
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl Counts {
    /// Adds one to a counter written only under the queue's lock.
    fn bump_locked(counter: &AtomicUsize) {
        counter.store(counter.load(Relaxed).wrapping_add(1), Release);
    }

    /// Whether every item accepted has been marked done. Reads `done` first: `accepted` read
    /// afterwards is at least what it was then, so equality means "all done" at that moment.
    fn all_done(&self) -> bool {
        let done = self.done.load(SeqCst);
        self.accepted.load(SeqCst) == done
    }

    fn unfinished(&self) -> usize {
        let done = self.done.load(SeqCst);
        self.accepted.load(SeqCst).wrapping_sub(done)
    }
}

/// Everything the lock protects.
struct State<B> {
    buf: B,
    /// Getters parked because no item was free for them.
    getters: WaitList,
    /// Putters parked because no slot was free for them.
    putters: WaitList,
    /// Getters notified and not yet run (nor dropped). The first `woken_getters` items of the
    /// buffer are theirs: a newcomer may only take an item beyond them.
    woken_getters: usize,
    /// Putters notified and not yet run (nor dropped). The first `woken_putters` free slots are
    /// theirs.
    woken_putters: usize,
    shutdown: bool,
}

/// Wakers collected under the lock and woken after it is released. One wake-up is the
/// common case and needs no allocation.
#[derive(Default)]
struct Wakers {
    one: Option<Waker>,
    more: Vec<Waker>,
}

impl Wakers {
    fn push(&mut self, waker: Waker) {
        if self.one.is_none() {
            self.one = Some(waker);
        } else {
            self.more.push(waker);
        }
    }

    /// Inlined so the common case, nothing to wake, costs two compares at the call site.
    #[inline]
    fn wake(self) {
        if self.one.is_some() || !self.more.is_empty() {
            self.wake_all();
        }
    }

    #[cold]
    fn wake_all(self) {
        if let Some(waker) = self.one {
            waker.wake();
        }
        self.more.into_iter().for_each(Waker::wake);
    }
}

impl<B: Buffer> State<B> {
    /// Items a newcomer may take: those not promised to a woken getter.
    fn free_items(&self) -> usize {
        self.buf.len().saturating_sub(self.woken_getters)
    }

    /// Slots a newcomer may fill: those not promised to a woken putter.
    fn free_slots(&self, capacity: Option<usize>) -> usize {
        match capacity {
            None => usize::MAX,
            Some(cap) => cap
                .saturating_sub(self.buf.len())
                .saturating_sub(self.woken_putters),
        }
    }

    /// Restores "no getter is parked while an item is free", and after shutdown wakes every
    /// parked getter once no item is left for them.
    fn settle_getters(&mut self, wakers: &mut Wakers) {
        while self.buf.len() > self.woken_getters {
            let Some(waker) = self.getters.notify_one() else {
                break;
            };
            self.woken_getters += 1;
            wakers.push(waker);
        }
        if self.shutdown && self.buf.len() == 0 {
            self.wake_all_getters(wakers);
        }
    }

    /// Restores "no putter is parked while a slot is free".
    fn settle_putters(&mut self, capacity: Option<usize>, wakers: &mut Wakers) {
        if self.putters.is_empty() {
            return;
        }
        while self.free_slots(capacity) > 0 {
            let Some(waker) = self.putters.notify_one() else {
                break;
            };
            self.woken_putters += 1;
            wakers.push(waker);
        }
    }

    fn wake_all_getters(&mut self, wakers: &mut Wakers) {
        let before = wakers.more.len();
        self.getters.notify_all(&mut wakers.more);
        self.woken_getters += wakers.more.len() - before;
    }

    fn wake_all_putters(&mut self, wakers: &mut Wakers) {
        let before = wakers.more.len();
        self.putters.notify_all(&mut wakers.more);
        self.woken_putters += wakers.more.len() - before;
    }
}

impl<B: Buffer> Core<B> {
    pub(crate) fn new(capacity: Option<usize>) -> Self {
        let hint = capacity.map_or(0, |cap| cap.min(PREALLOCATE_MAX));
        Self {
            state: Mutex::new(State {
                buf: B::with_capacity(hint),
                getters: WaitList::new(),
                putters: WaitList::new(),
                woken_getters: 0,
                woken_putters: 0,
                shutdown: false,
            }),
            capacity,
            counts: Counts::default(),
            all_done: Notify::new(),
        }
    }

    /// The lock, ignoring poisoning. The only foreign code run under it is a priority queue
    /// item's `Ord` (and cloning a waker); a panic there leaves the waiter bookkeeping and the
    /// counts consistent (the item is counted before it is pushed), so later calls go on.
    fn lock(&self) -> MutexGuard<'_, State<B>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives up a place in line taken by [`Core::poll_get`]: a getter that was notified and
    /// never ran passes its item on to the next getter in line.
    pub(crate) fn cancel_get(&self, ticket: &mut Option<Ticket>) {
        let Some(t) = ticket.take() else { return };
        let mut wakers = Wakers::default();
        {
            let mut state = self.lock();
            if state.getters.remove(t) {
                return;
            }
            state.woken_getters -= 1;
            state.settle_getters(&mut wakers);
        }
        wakers.wake();
    }

    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        let counts = &self.counts;
        // Acquire on `done` synchronises with every earlier `task_done`, each of which saw
        // `taken` above its own `done`: so the `taken` read below is at least `done`.
        let mut done = counts.done.load(Acquire);
        let done = loop {
            if counts.taken.load(Acquire) == done {
                return Err(TaskDoneError::new());
            }
            let next = done.wrapping_add(1);
            match counts
                .done
                .compare_exchange_weak(done, next, SeqCst, Acquire)
            {
                Ok(_) => break next,
                Err(actual) => done = actual,
            }
        };
        // The last item done releases `join`. A joiner registers before it reads `done`, and we
        // read `joiners` after writing `done`: one of us sees the other.
        if counts.joiners.load(SeqCst) > 0 && counts.accepted.load(SeqCst) == done {
            self.all_done.notify_waiters();
        }
        Ok(())
    }

    pub(crate) async fn join(&self) {
        if self.counts.all_done() {
            return;
        }
        self.counts.joiners.fetch_add(1, SeqCst);
        let _registered = JoinerGuard(&self.counts.joiners);
        loop {
            // Check, register, re-check: a `task_done` that saw `joiners > 0` notifies after
            // we registered; one that did not, finished before our re-check reads the count.
            let notified = self.all_done.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.counts.all_done() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn shutdown(&self) {
        let mut wakers = Wakers::default();
        {
            let mut state = self.lock();
            if state.shutdown {
                return;
            }
            state.shutdown = true;
            state.wake_all_putters(&mut wakers);
            state.settle_getters(&mut wakers);
        }
        wakers.wake();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().buf.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.capacity.is_some_and(|cap| self.len() >= cap)
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.lock().shutdown
    }
}

impl<B: Discipline> Core<B> {
    /// Inserts an item the caller is entitled to insert, and wakes a getter if one may take it.
    fn insert(&self, state: &mut State<B>, item: B::Item, wakers: &mut Wakers) {
        // Counted before the push: a panicking `Ord` in a heap push still leaves the item in.
        Counts::bump_locked(&self.counts.accepted);
        state.buf.push(item);
        state.settle_getters(wakers);
    }

    /// Removes an item the caller is entitled to take, and wakes a putter if one may fill the
    /// slot.
    fn remove(&self, state: &mut State<B>, wakers: &mut Wakers) -> Option<B::Item> {
        let item = state.buf.pop()?;
        Counts::bump_locked(&self.counts.taken);
        state.settle_putters(self.capacity, wakers);
        if state.shutdown && state.buf.len() == 0 {
            state.wake_all_getters(wakers);
        }
        Some(item)
    }

    pub(crate) fn try_put(&self, item: B::Item) -> Result<(), TryPutError<B::Item>> {
        let mut wakers = Wakers::default();
        {
            let mut state = self.lock();
            if state.shutdown {
                return Err(TryPutError::Shutdown(item));
            }
            if state.free_slots(self.capacity) == 0 {
                return Err(TryPutError::Full(item));
            }
            self.insert(&mut state, item, &mut wakers);
        }
        wakers.wake();
        Ok(())
    }

    pub(crate) async fn put(&self, item: B::Item) -> Result<(), PutError<B::Item>> {
        let mut waiter = PutWaiter {
            core: self,
            item: Some(item),
            ticket: None,
        };
        poll_fn(|cx| waiter.poll(cx)).await
    }

    pub(crate) fn try_get(&self) -> Result<B::Item, TryGetError> {
        let mut wakers = Wakers::default();
        let item = {
            let mut state = self.lock();
            if state.free_items() == 0 {
                return Err(if state.shutdown && state.buf.len() == 0 {
                    TryGetError::Shutdown
                } else {
                    TryGetError::Empty
                });
            }
            self.remove(&mut state, &mut wakers)
        };
        wakers.wake();
        item.ok_or(TryGetError::Empty)
    }

    pub(crate) async fn get(&self) -> Result<B::Item, GetError> {
        let mut waiter = GetWaiter {
            core: self,
            ticket: None,
        };
        poll_fn(|cx| waiter.poll(cx)).await
    }

    /// The building block of `get` and of the queue streams: `ticket` is the caller's place in
    /// line, kept between polls; whoever holds one must call [`Core::cancel_get`] if it gives
    /// up before this returns `Ready`.
    pub(crate) fn poll_get(
        &self,
        cx: &mut Context<'_>,
        ticket: &mut Option<Ticket>,
    ) -> Poll<Result<B::Item, GetError>> {
        let mut wakers = Wakers::default();
        let result = {
            let mut state = self.lock();
            let entitled = match *ticket {
                Some(t) if state.getters.contains(t) => {
                    state.getters.update(t, cx.waker());
                    return Poll::Pending;
                }
                Some(_) => {
                    // Notified: one of the items counted by `woken_getters` is ours.
                    *ticket = None;
                    state.woken_getters -= 1;
                    true
                }
                None => state.free_items() > 0,
            };
            if entitled && let Some(item) = self.remove(&mut state, &mut wakers) {
                Poll::Ready(Ok(item))
            } else if state.shutdown && state.buf.len() == 0 {
                Poll::Ready(Err(GetError::new()))
            } else {
                // Nothing free (after shutdown: what is left is promised to woken getters,
                // one of which may yet pass its item on).
                *ticket = Some(state.getters.push(cx.waker()));
                Poll::Pending
            }
        };
        wakers.wake();
        result
    }

    pub(crate) fn shutdown_immediate(&self) -> Vec<B::Item> {
        let mut wakers = Wakers::default();
        let dropped = {
            let mut state = self.lock();
            state.shutdown = true;
            let dropped = std::mem::replace(&mut state.buf, B::with_capacity(0));
            let accepted = self.counts.accepted.load(Relaxed);
            // SeqCst against `task_done`, which writes `done` and then reads `accepted`.
            self.counts
                .accepted
                .store(accepted.wrapping_sub(dropped.len()), SeqCst);
            state.wake_all_putters(&mut wakers);
            state.wake_all_getters(&mut wakers);
            dropped
        };
        if self.counts.joiners.load(SeqCst) > 0 && self.counts.all_done() {
            self.all_done.notify_waiters();
        }
        wakers.wake();
        dropped.into_vec_in_order()
    }
}

impl<B: Buffer> Core<B> {
    /// The `Debug` output of the queue types: their state, without needing `T: Debug`.
    pub(crate) fn fmt_debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct(name)
            .field("len", &state.buf.len())
            .field("capacity", &self.capacity)
            .field("unfinished", &self.counts.unfinished())
            .field("getters", &(state.getters.len() + state.woken_getters))
            .field("putters", &(state.putters.len() + state.woken_putters))
            .field("shutdown", &state.shutdown)
            .finish()
    }
}

/// A `put` in progress. Dropping it before it completes gives its place (and a slot promised
/// to it) to the next putter; its item is dropped with it, never inserted.
struct PutWaiter<'a, B: Buffer> {
    core: &'a Core<B>,
    item: Option<B::Item>,
    ticket: Option<Ticket>,
}

impl<B: Discipline> PutWaiter<'_, B> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), PutError<B::Item>>> {
        let core = self.core;
        let mut wakers = Wakers::default();
        let result = {
            let mut state = core.lock();
            let entitled = match self.ticket {
                Some(t) if state.putters.contains(t) => {
                    state.putters.update(t, cx.waker());
                    return Poll::Pending;
                }
                Some(_) => {
                    self.ticket = None;
                    state.woken_putters -= 1;
                    true
                }
                None => state.free_slots(core.capacity) > 0,
            };
            let Some(item) = self.item.take() else {
                // Polled after completion; `poll_fn` never does this.
                return Poll::Pending;
            };
            if state.shutdown {
                Poll::Ready(Err(PutError::new(item)))
            } else if entitled && core.capacity.is_none_or(|cap| state.buf.len() < cap) {
                core.insert(&mut state, item, &mut wakers);
                Poll::Ready(Ok(()))
            } else {
                self.item = Some(item);
                self.ticket = Some(state.putters.push(cx.waker()));
                Poll::Pending
            }
        };
        wakers.wake();
        result
    }
}

impl<B: Buffer> Drop for PutWaiter<'_, B> {
    fn drop(&mut self) {
        let Some(t) = self.ticket.take() else { return };
        let mut wakers = Wakers::default();
        {
            let mut state = self.core.lock();
            if state.putters.remove(t) {
                return;
            }
            state.woken_putters -= 1;
            state.settle_putters(self.core.capacity, &mut wakers);
        }
        wakers.wake();
        // `self.item` is dropped after this, outside the lock.
    }
}

/// A `get` in progress; see [`Core::poll_get`].
struct GetWaiter<'a, B: Buffer> {
    core: &'a Core<B>,
    ticket: Option<Ticket>,
}

impl<B: Discipline> GetWaiter<'_, B> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<B::Item, GetError>> {
        self.core.poll_get(cx, &mut self.ticket)
    }
}

impl<B: Buffer> Drop for GetWaiter<'_, B> {
    fn drop(&mut self) {
        self.core.cancel_get(&mut self.ticket);
    }
}

/// Un-registers a `join` call however it ends.
struct JoinerGuard<'a>(&'a AtomicUsize);

impl Drop for JoinerGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}
