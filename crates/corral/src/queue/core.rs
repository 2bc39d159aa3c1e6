//! The one private core behind [`Queue`](super::Queue), [`PriorityQueue`](super::PriorityQueue)
//! and [`LifoQueue`](super::LifoQueue). See the module docs of `corral::queue` for the design.
//!
//! The three kinds differ only in their [`Discipline`]; everything that decides who may take an
//! item or a slot, and who is woken, lives here once.

use std::fmt;
use std::future::poll_fn;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use super::buffer::{Buffer, Comparing, Discipline};
use super::error::{GetError, PutError, TaskDoneError, TryGetError, TryPutError};
use crate::loom::Ordering::{Acquire, Relaxed, Release, SeqCst};
use crate::loom::{AtomicUsize, Mutex, MutexGuard};
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
    ///
    /// Called by `join` (after it registers in `joiners`) and `shutdown_immediate` (after it
    /// lowers `accepted`), never on the hot path. It reads both counters with a
    /// read-modify-write that adds nothing: an RMW reads the latest value, and if it comes
    /// before a `task_done`'s compare-and-swap of `done`, that CAS reads from it and so
    /// synchronises with it, making the joiner's registration visible to the `task_done`'s
    /// read of `joiners`. This closes the "each misses the other" (store-buffering) window
    /// with acquire/release alone, which is what loom checks (loom models `SeqCst` accesses
    /// as acquire/release), and keeps `task_done` to one atomic RMW.
    fn all_done(&self) -> bool {
        let done = self.done.fetch_add(0, SeqCst);
        self.accepted.fetch_add(0, SeqCst) == done
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
    /// Slots held by a permit from `reserve`/`try_reserve`: not free, and not yet an item.
    permits: usize,
    /// The tickets in `getters` that belong to a stream. A stream is woken in its turn, but
    /// nothing is set aside for it (it may never be polled again): it takes an item only if
    /// one is still free when it runs. Empty unless a stream waits.
    streams: Vec<Ticket>,
    shutdown: bool,
    /// `shutdown_immediate` was called: a permit's item is dropped, not inserted.
    immediate: bool,
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

    /// Every waker is woken, each under `catch_unwind`. A waker is another task's: its panic
    /// is reported, never passed on to this caller, who may be in a destructor (a dropped
    /// `get` passing its item on), or holding an item just taken off the queue (which it must
    /// still return); and it strands no getter or putter after it.
    #[cold]
    fn wake_all(self) {
        let wake = |waker: Waker| {
            crate::report::contain("Queue", "a waiting task's waker", || waker.wake());
        };
        if let Some(waker) = self.one {
            wake(waker);
        }
        self.more.into_iter().for_each(wake);
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
                .saturating_sub(self.permits)
                .saturating_sub(self.woken_putters),
        }
    }

    /// Shut down, and no item is left or can still come: `get` fails. Items can still come
    /// from the permits held at a plain `shutdown`, not after `shutdown_immediate`.
    fn drained(&self) -> bool {
        self.shutdown && self.buf.len() == 0 && (self.permits == 0 || self.immediate)
    }

    /// After `getters.notify_one()`: whether the waiter just notified was a stream (which is
    /// not counted in `woken_getters`). At most one ticket of `streams` is no longer parked.
    fn notified_a_stream(&mut self) -> bool {
        if self.streams.is_empty() {
            return false;
        }
        let getters = &self.getters;
        match self.streams.iter().position(|&t| !getters.contains(t)) {
            Some(index) => {
                self.streams.swap_remove(index);
                true
            }
            None => false,
        }
    }

    /// Restores "no `get` is parked while an item is free", and after shutdown wakes every
    /// parked getter once no item is left or can still come.
    fn settle_getters(&mut self, wakers: &mut Wakers) {
        while self.buf.len() > self.woken_getters {
            let Some(waker) = self.getters.notify_one() else {
                break;
            };
            // A stream is woken but holds nothing, so the item is still to be given: go on.
            if !self.notified_a_stream() {
                self.woken_getters += 1;
            }
            wakers.push(waker);
        }
        if self.drained() {
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
        // Every parked stream was among them; streams are not counted.
        self.woken_getters += wakers.more.len() - before - self.streams.len();
        self.streams.clear();
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
                permits: 0,
                streams: Vec::new(),
                shutdown: false,
                immediate: false,
            }),
            capacity,
            counts: Counts::default(),
            all_done: Notify::new(),
        }
    }

    /// The lock, ignoring poisoning. The only foreign code run under it is a priority queue
    /// item's `Ord` (and cloning a waker); a panic there is caught (see `buffer::Entry`).
    ///
    /// An `Ord` that uses its own queue would take this lock again and deadlock: that use
    /// panics instead (inside the `Ord`, where the panic is caught and reported).
    fn lock(&self) -> MutexGuard<'_, State<B>> {
        if B::RUNS_CALLER_CODE {
            super::buffer::refuse_reentry(std::ptr::from_ref(self).cast());
        }
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives up a place in line taken by [`Core::poll_get`] (with the same `stream`): a `get`
    /// that was notified and never ran passes its item on to the next getter in line. A
    /// stream was given nothing to pass on.
    pub(crate) fn cancel_get(&self, ticket: &mut Option<Ticket>, stream: bool) {
        let Some(t) = ticket.take() else { return };
        let mut wakers = Wakers::default();
        {
            let mut state = self.lock();
            if stream && let Some(index) = state.streams.iter().position(|&s| s == t) {
                state.streams.swap_remove(index);
            }
            // A waker let go is dropped after unlocking: dropping it may free a task.
            let left = state.getters.take(t);
            if left.is_some() || stream {
                drop(state);
                drop(left);
                return;
            }
            state.woken_getters -= 1;
            state.settle_getters(&mut wakers);
        }
        wakers.wake();
    }

    /// Gives up a place in line taken by [`Core::poll_slot`]: a putter that was notified and
    /// never ran passes its slot on to the next putter in line.
    fn cancel_put(&self, ticket: &mut Option<Ticket>) {
        let Some(t) = ticket.take() else { return };
        let mut wakers = Wakers::default();
        {
            let mut state = self.lock();
            if let Some(left) = state.putters.take(t) {
                drop(state);
                drop(left);
                return;
            }
            state.woken_putters -= 1;
            state.settle_putters(self.capacity, &mut wakers);
        }
        wakers.wake();
    }

    /// Gives back a slot held by a permit that was dropped unused: to the first putter in line
    /// (woken now), or free. After shutdown, the last permit out lets the getters finish.
    pub(crate) fn release_permit(&self) {
        let mut wakers = Wakers::default();
        {
            let mut state = self.lock();
            state.permits -= 1;
            state.settle_putters(self.capacity, &mut wakers);
            if state.drained() {
                state.wake_all_getters(&mut wakers);
            }
        }
        wakers.wake();
    }

    pub(crate) fn try_reserve(&self) -> Result<(), TryPutError<()>> {
        let mut state = self.lock();
        if state.shutdown {
            return Err(TryPutError::Shutdown(()));
        }
        if state.free_slots(self.capacity) == 0 {
            return Err(TryPutError::Full(()));
        }
        state.permits += 1;
        Ok(())
    }

    /// Waits for a slot and holds it as a permit; `Ok` means the caller now owns one permit
    /// (and must end it with [`Core::put_permit`] or [`Core::release_permit`]).
    pub(crate) async fn reserve(&self) -> Result<(), PutError<()>> {
        let mut waiter = ReserveWaiter {
            core: self,
            ticket: None,
        };
        poll_fn(|cx| waiter.poll(cx)).await
    }

    /// Waits in line for a slot; `Ready(Some(state))` means the caller may fill one now (under
    /// the lock it is handed), `Ready(None)` that the queue is shut down. `ticket` is the
    /// caller's place in line; whoever holds one must call [`Core::cancel_put`] if it gives up.
    fn poll_slot(
        &self,
        cx: &mut Context<'_>,
        ticket: &mut Option<Ticket>,
    ) -> Poll<Option<MutexGuard<'_, State<B>>>> {
        let mut state = self.lock();
        let entitled = match *ticket {
            Some(t) if state.putters.contains(t) => {
                let replaced = state.putters.replace_waker(t, cx.waker());
                drop(state);
                drop(replaced);
                return Poll::Pending;
            }
            Some(_) => {
                // Notified: one of the slots counted by `woken_putters` is ours.
                *ticket = None;
                state.woken_putters -= 1;
                true
            }
            None => state.free_slots(self.capacity) > 0,
        };
        if state.shutdown {
            Poll::Ready(None)
        } else if entitled
            && self
                .capacity
                .is_none_or(|cap| state.buf.len() + state.permits < cap)
        {
            Poll::Ready(Some(state))
        } else {
            *ticket = Some(state.putters.push(cx.waker()));
            Poll::Pending
        }
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
        // `accepted` is read with an RMW (only while someone joins): it then sees a concurrent
        // `shutdown_immediate`'s lowering, or that call sees our `done` (see `all_done`).
        if counts.joiners.load(SeqCst) > 0 && counts.accepted.fetch_add(0, SeqCst) == done {
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

    /// The items `try_get` could take now: those not set aside for a woken `get`.
    pub(crate) fn len(&self) -> usize {
        self.lock().free_items()
    }

    /// Whether `try_put` would find no free slot now (every slot holds an item, is held by a
    /// permit, or is set aside for a woken `put`).
    pub(crate) fn is_full(&self) -> bool {
        self.capacity.is_some() && self.lock().free_slots(self.capacity) == 0
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
        Counts::bump_locked(&self.counts.accepted);
        let _comparing = B::RUNS_CALLER_CODE.then(|| Comparing::enter(self));
        state.buf.push(item);
        state.settle_getters(wakers);
    }

    /// Removes an item the caller is entitled to take, and wakes a putter if one may fill the
    /// slot.
    fn remove(&self, state: &mut State<B>, wakers: &mut Wakers) -> Option<B::Item> {
        let comparing = B::RUNS_CALLER_CODE.then(|| Comparing::enter(self));
        let item = state.buf.pop();
        drop(comparing);
        let item = item?;
        Counts::bump_locked(&self.counts.taken);
        state.settle_putters(self.capacity, wakers);
        if state.drained() {
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
        B::report_caught();
        Ok(())
    }

    /// Fills the slot held by a permit. After `shutdown_immediate` nobody will take the item,
    /// so it is dropped (outside the lock), as Tokio's `Permit::send` drops a message once
    /// the receiver is gone.
    pub(crate) fn put_permit(&self, item: B::Item) {
        let mut wakers = Wakers::default();
        let dropped = {
            let mut state = self.lock();
            state.permits -= 1;
            if state.immediate {
                if state.drained() {
                    state.wake_all_getters(&mut wakers);
                }
                Some(item)
            } else {
                self.insert(&mut state, item, &mut wakers);
                None
            }
        };
        wakers.wake();
        B::report_caught();
        drop(dropped);
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
                return Err(if state.drained() {
                    TryGetError::Shutdown
                } else {
                    TryGetError::Empty
                });
            }
            self.remove(&mut state, &mut wakers)
        };
        wakers.wake();
        B::report_caught();
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
    ///
    /// A `stream` waits in line like a `get`, but when its turn comes it is only woken: no
    /// item is set aside for it, because a stream may sit idle (its `next()` lost a `select!`)
    /// for as long as it likes, and must not hold an item meanwhile. It takes an item if one is
    /// free when it runs, and otherwise waits again at the back of the line.
    pub(crate) fn poll_get(
        &self,
        cx: &mut Context<'_>,
        ticket: &mut Option<Ticket>,
        stream: bool,
    ) -> Poll<Result<B::Item, GetError>> {
        let mut wakers = Wakers::default();
        let result = {
            let mut state = self.lock();
            let entitled = match *ticket {
                Some(t) if state.getters.contains(t) => {
                    let replaced = state.getters.replace_waker(t, cx.waker());
                    drop(state);
                    drop(replaced);
                    return Poll::Pending;
                }
                Some(_) if !stream => {
                    // Notified: one of the items counted by `woken_getters` is ours.
                    *ticket = None;
                    state.woken_getters -= 1;
                    true
                }
                Some(_) => {
                    *ticket = None;
                    state.free_items() > 0
                }
                None => state.free_items() > 0,
            };
            if entitled && let Some(item) = self.remove(&mut state, &mut wakers) {
                Poll::Ready(Ok(item))
            } else if state.drained() {
                Poll::Ready(Err(GetError::new()))
            } else {
                // Nothing free (after shutdown: what is left is promised to woken getters,
                // one of which may yet pass its item on, or may still come from a permit).
                let t = state.getters.push(cx.waker());
                if stream {
                    state.streams.push(t);
                }
                *ticket = Some(t);
                Poll::Pending
            }
        };
        wakers.wake();
        B::report_caught();
        result
    }

    pub(crate) fn shutdown_immediate(&self) -> Vec<B::Item> {
        let mut wakers = Wakers::default();
        let dropped = {
            let mut state = self.lock();
            state.shutdown = true;
            state.immediate = true;
            let dropped = std::mem::replace(&mut state.buf, B::with_capacity(0));
            // An RMW (see `Counts::all_done`), against `join`, which registers in `joiners` and
            // then reads `accepted`, and `task_done`, which writes `done` and then reads it.
            self.counts.accepted.fetch_sub(dropped.len(), SeqCst);
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
        // Read under the lock, formatted after it (the formatter is the caller's code).
        let (len, getters, putters, permits, shutdown) = {
            let state = self.lock();
            (
                state.free_items(),
                state.getters.len() + state.woken_getters,
                state.putters.len() + state.woken_putters,
                state.permits,
                state.shutdown,
            )
        };
        f.debug_struct(name)
            .field("len", &len)
            .field("capacity", &self.capacity)
            .field("unfinished", &self.counts.unfinished())
            .field("getters", &getters)
            .field("putters", &putters)
            .field("permits", &permits)
            .field("shutdown", &shutdown)
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
        if self.item.is_none() {
            // Polled after completion; `poll_fn` never does this.
            return Poll::Pending;
        }
        let core = self.core;
        let mut wakers = Wakers::default();
        let Some(mut state) = std::task::ready!(core.poll_slot(cx, &mut self.ticket)) else {
            return Poll::Ready(
                self.item
                    .take()
                    .map_or(Ok(()), |item| Err(PutError::new(item))),
            );
        };
        if let Some(item) = self.item.take() {
            core.insert(&mut state, item, &mut wakers);
        }
        drop(state);
        wakers.wake();
        B::report_caught();
        Poll::Ready(Ok(()))
    }
}

impl<B: Buffer> Drop for PutWaiter<'_, B> {
    fn drop(&mut self) {
        // `self.item` is dropped after this, outside the lock.
        self.core.cancel_put(&mut self.ticket);
    }
}

/// A `reserve` in progress: a `put` that takes a slot without an item. Dropping it before it
/// completes gives its place (and a slot promised to it) to the next putter.
struct ReserveWaiter<'a, B: Buffer> {
    core: &'a Core<B>,
    ticket: Option<Ticket>,
}

impl<B: Buffer> ReserveWaiter<'_, B> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), PutError<()>>> {
        let Some(mut state) = std::task::ready!(self.core.poll_slot(cx, &mut self.ticket)) else {
            return Poll::Ready(Err(PutError::new(())));
        };
        state.permits += 1;
        Poll::Ready(Ok(()))
    }
}

impl<B: Buffer> Drop for ReserveWaiter<'_, B> {
    fn drop(&mut self) {
        self.core.cancel_put(&mut self.ticket);
    }
}

/// A `get` in progress; see [`Core::poll_get`].
struct GetWaiter<'a, B: Buffer> {
    core: &'a Core<B>,
    ticket: Option<Ticket>,
}

impl<B: Discipline> GetWaiter<'_, B> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<B::Item, GetError>> {
        self.core.poll_get(cx, &mut self.ticket, false)
    }
}

impl<B: Buffer> Drop for GetWaiter<'_, B> {
    fn drop(&mut self) {
        self.core.cancel_get(&mut self.ticket, false);
    }
}

/// Un-registers a `join` call however it ends.
struct JoinerGuard<'a>(&'a AtomicUsize);

impl Drop for JoinerGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// Loom models of the queue's own protocol. What is modelled: the lock (`crate::loom::Mutex`)
/// and every counter (`accepted`, `taken`, `done`, `joiners`), so loom explores every
/// interleaving of `put`/`get`/`task_done`/`join`, of the hand-off counts (`woken_getters`,
/// `woken_putters`, permits, streams) and of the lock-free `task_done`/`join` handshake. What is
/// not: `join` parks on Tokio's `Notify`, which loom cannot see into; it is taken as one atomic
/// step (loom runs one thread at a time, so its own atomics behave as sequentially consistent),
/// and the check, register, re-check around it is modelled. The futures run on
/// `loom::future::block_on`, whose wakers are loom's, so a lost wake-up is a loom deadlock.
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Wake, Waker};

    use loom::thread;

    use super::super::buffer::Fifo;
    use super::*;
    use crate::loom::Arc;

    type Q = Core<Fifo<u32>>;

    /// Wakes a parked loom thread.
    struct Unpark(thread::Thread);

    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Runs a future on the current loom thread, parking it while the future waits: a wake-up
    /// that never comes is a deadlock loom reports. (loom's own `block_on` needs its `futures`
    /// feature.)
    fn block_on<F: Future>(fut: F) -> F::Output {
        let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    }

    /// `join` never returns while an item is unfinished, and is woken by the last `task_done`
    /// (no lost wake-up); the done count never passes the taken count (never negative).
    #[test]
    fn loom_join_returns_after_the_last_task_done() {
        loom::model(|| {
            let q = Arc::new(Q::new(None));
            assert!(q.try_put(1).is_ok());
            let worker = {
                let q = q.clone();
                thread::spawn(move || {
                    assert_eq!(q.try_get(), Ok(1));
                    assert!(q.task_done().is_ok());
                    assert!(q.task_done().is_err(), "one item taken, one done");
                })
            };
            block_on(q.join());
            assert_eq!(q.counts.done.load(SeqCst), 1, "join returned too early");
            assert!(worker.join().is_ok());
            assert_eq!(q.counts.joiners.load(SeqCst), 0);
        });
    }

    /// The last item done by `task_done` and the last ones removed by `shutdown_immediate`,
    /// concurrently: whichever finishes last wakes `join` (no lost wake-up), and `join` does
    /// not return before both.
    #[test]
    fn loom_join_is_woken_by_task_done_or_shutdown_immediate() {
        loom::model(|| {
            let q = Arc::new(Q::new(None));
            assert!(q.try_put(1).is_ok() && q.try_put(2).is_ok());
            assert_eq!(q.try_get(), Ok(1));
            let worker = {
                let q = q.clone();
                thread::spawn(move || assert!(q.task_done().is_ok()))
            };
            let stopper = {
                let q = q.clone();
                thread::spawn(move || assert_eq!(q.shutdown_immediate(), [2]))
            };
            block_on(q.join());
            assert_eq!(
                q.counts.done.load(SeqCst),
                1,
                "join returned before task_done"
            );
            assert!(worker.join().is_ok() && stopper.join().is_ok());
        });
    }

    /// Two `task_done` calls race a `get`: exactly one succeeds for the one item taken (the
    /// count never goes negative, and nothing is counted twice).
    #[test]
    fn loom_task_done_never_passes_the_items_taken() {
        loom::model(|| {
            let q = Arc::new(Q::new(None));
            assert!(q.try_put(1).is_ok());
            let racer = {
                let q = q.clone();
                thread::spawn(move || q.task_done().is_ok())
            };
            assert_eq!(q.try_get(), Ok(1));
            let mine = q.task_done().is_ok();
            let theirs = racer.join().unwrap_or(false);
            assert!(mine ^ theirs, "exactly one task_done for one item");
            assert!(q.task_done().is_err());
        });
    }

    /// A `get` that may be woken for an item and dropped before it runs: the item reaches the
    /// other getter (no item lost, no lost wake-up) and is delivered once (none duplicated).
    #[test]
    fn loom_a_dropped_woken_get_passes_its_item_on() {
        loom::model(|| {
            let q = Arc::new(Q::new(None));
            let dropper = {
                let q = q.clone();
                thread::spawn(move || {
                    let mut get = pin!(q.get());
                    let mut cx = Context::from_waker(Waker::noop());
                    if let Poll::Ready(Ok(item)) = get.as_mut().poll(&mut cx) {
                        // It took the item before it was dropped: hand it back.
                        assert!(q.try_put(item).is_ok());
                    }
                })
            };
            let putter = {
                let q = q.clone();
                thread::spawn(move || assert!(q.try_put(7).is_ok()))
            };
            assert_eq!(block_on(q.get()), Ok(7));
            assert!(dropper.join().is_ok() && putter.join().is_ok());
            assert_eq!(q.try_get(), Err(TryGetError::Empty), "delivered twice");
        });
    }

    /// A `put` that may be handed a slot and dropped before it runs: the slot reaches the other
    /// `put` (no lost wake-up), the dropped `put` inserts nothing, and every item inserted is
    /// taken exactly once.
    #[test]
    fn loom_a_dropped_woken_put_passes_its_slot_on() {
        loom::model(|| {
            let q = Arc::new(Q::new(Some(1)));
            assert!(q.try_put(1).is_ok());
            let dropper = {
                let q = q.clone();
                thread::spawn(move || {
                    let mut put = pin!(q.put(2));
                    let mut cx = Context::from_waker(Waker::noop());
                    matches!(put.as_mut().poll(&mut cx), Poll::Ready(Ok(())))
                })
            };
            let getter = {
                let q = q.clone();
                thread::spawn(move || [block_on(q.get()), block_on(q.get())])
            };
            assert!(block_on(q.put(3)).is_ok());
            let inserted_2 = dropper.join().unwrap_or(true);
            let mut out: Vec<u32> = match getter.join() {
                Ok(got) => got.into_iter().flatten().collect(),
                Err(_) => Vec::new(),
            };
            out.extend(q.try_get());
            out.sort_unstable();
            let expected: &[u32] = if inserted_2 { &[1, 2, 3] } else { &[1, 3] };
            assert_eq!(
                out, expected,
                "an item lost, duplicated or inserted by a dropped put"
            );
        });
    }

    /// A permit dropped unused gives its slot to the `put` waiting for it (no lost wake-up),
    /// and the queue never holds more than its capacity.
    #[test]
    fn loom_a_dropped_permit_passes_its_slot_on() {
        loom::model(|| {
            let q = Arc::new(Q::new(Some(1)));
            assert!(q.try_reserve().is_ok());
            let releaser = {
                let q = q.clone();
                thread::spawn(move || q.release_permit())
            };
            assert!(block_on(q.put(1)).is_ok());
            assert!(releaser.join().is_ok());
            assert!(q.is_full());
            assert_eq!(q.try_get(), Ok(1));
        });
    }

    /// A stream that waits and is never polled again (its `next()` lost a `select!`) holds
    /// nothing: an item put reaches a `get` (no item hoarded, no lost wake-up).
    #[test]
    fn loom_an_idle_stream_holds_no_item() {
        loom::model(|| {
            let q = Arc::new(Q::new(None));
            let mut stream = None;
            let mut cx = Context::from_waker(Waker::noop());
            assert!(q.poll_get(&mut cx, &mut stream, true).is_pending());
            let putter = {
                let q = q.clone();
                thread::spawn(move || assert!(q.try_put(1).is_ok()))
            };
            assert_eq!(block_on(q.get()), Ok(1));
            assert!(putter.join().is_ok());
            q.cancel_get(&mut stream, true);
            assert_eq!(q.try_get(), Err(TryGetError::Empty));
        });
    }
}
