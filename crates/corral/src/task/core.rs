//! The machinery `TaskGroup` and `BackgroundTasks` share: a set of live children, each a
//! plain Tokio task, that the owner can abort and wait for.
//!
//! # Design
//!
//! Each child is spawned with `tokio::spawn`, wrapped in [`Child`], which catches a panic,
//! hands an error or panic to the owner's [`Supervisor`], and carries a [`ChildGuard`] whose
//! destructor takes the child out of the set. Tokio drops a task's future as soon as it
//! completes or is aborted, so a finished child is reaped at once, without the owner polling
//! anything: a group that runs a million short tasks one after another holds memory only for
//! the ones alive. The set keeps each child's [`AbortHandle`] in a [`Slab`] (O(1) insert and
//! remove, capacity bounded by the peak number of live children) under one short lock.
//!
//! Alternatives measured in the prototype: a oneshot per child plus a registration on the
//! group's cancellation token cost 1.5× `JoinSet`; owning a `JoinSet` would need the owner to
//! call `join_next` to reap. Wrapping the `JoinHandle` and cancelling by abort costs what
//! `JoinSet` costs.
//!
//! Spawning takes the lock twice, once to reserve the child's slot and once to record its
//! abort handle, so `tokio::spawn` itself never runs under the lock: if it panics (no runtime)
//! it drops the child, whose guard must be able to take the lock to give the slot back.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use slab::Slab;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::error::Failure;
use super::handle::{Outcome, Task};

/// The owner of a set of children: told about every child that fails.
pub(crate) trait Supervisor: Send + Sync + 'static {
    type Error: Send + 'static;
    type State: Send + 'static;

    fn children(&self) -> &Children<Self::State>;

    /// Called from inside the failing child's poll, before its guard is dropped.
    fn child_failed(&self, child: ChildId, failure: Failure<Self::Error>);
}

/// Identifies a child for its whole life; the sequence number makes it unique even when its
/// slab key is reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChildId {
    key: usize,
    seq: u64,
}

#[derive(Debug)]
struct Slot {
    seq: u64,
    abort: Option<AbortHandle>,
}

/// The set of live children, plus whatever state the owner keeps under the same lock.
#[derive(Debug)]
pub(crate) struct Children<S> {
    state: Mutex<ChildSet<S>>,
    idle: Notify,
}

#[derive(Debug)]
pub(crate) struct ChildSet<S> {
    slots: Slab<Slot>,
    next_seq: u64,
    live: usize,
    /// Someone waits in `idle`: the last child to go must notify.
    watched: bool,
    /// Children are being aborted: one whose spawn is still in flight aborts itself.
    aborting: bool,
    pub(crate) owner: S,
}

impl<S> ChildSet<S> {
    /// How many children are alive (spawned and not yet dropped).
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Asks the last child to go to notify [`Children::idle`]; returns whether none is alive.
    pub(crate) fn watch(&mut self) -> bool {
        self.watched = true;
        self.live == 0
    }

    /// Takes the abort handles of every child but `except`, and makes any child whose spawn is
    /// still in flight abort itself. The caller aborts them after releasing the lock.
    pub(crate) fn take_abort_handles(&mut self, except: Option<ChildId>) -> Vec<AbortHandle> {
        self.aborting = true;
        let mut handles = Vec::with_capacity(self.slots.len());
        self.slots.retain(|key, slot| {
            if except.is_some_and(|c| c.key == key && c.seq == slot.seq) {
                return true;
            }
            handles.extend(slot.abort.take());
            false
        });
        handles
    }
}

impl<S> Children<S> {
    pub(crate) fn new(owner: S) -> Self {
        Self {
            state: Mutex::new(ChildSet {
                slots: Slab::new(),
                next_seq: 0,
                live: 0,
                watched: false,
                aborting: false,
                owner,
            }),
            idle: Notify::new(),
        }
    }

    /// Locks the set. A panic never happens under this lock in corral's own code, but a
    /// poisoned lock is still usable: its state is updated in single steps.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ChildSet<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notified when the last watched child goes, and when the owner's state changes in a way
    /// a waiter must see (see [`Children::wake_watchers`]).
    pub(crate) fn idle(&self) -> &Notify {
        &self.idle
    }

    pub(crate) fn wake_watchers(&self) {
        self.idle.notify_waiters();
    }
}

/// Spawns `future` as a child of `sup`, if `admit` (run under the lock) allows it; otherwise
/// drops it unpolled and returns an already-cancelled task.
pub(crate) fn spawn_child<P, F, T>(
    sup: &Arc<P>,
    future: F,
    admit: impl FnOnce(&P::State) -> bool,
) -> Task<T>
where
    P: Supervisor,
    F: Future<Output = Result<T, P::Error>> + Send + 'static,
    T: Send + 'static,
{
    let id = {
        let mut set = sup.children().lock();
        if !admit(&set.owner) {
            drop(set);
            drop(future);
            return Task::refused();
        }
        let seq = set.next_seq;
        set.next_seq += 1;
        set.live += 1;
        let key = set.slots.insert(Slot { seq, abort: None });
        ChildId { key, seq }
    };
    let child = Child {
        future,
        guard: ChildGuard {
            sup: Arc::clone(sup),
            id,
        },
    };
    let handle = tokio::spawn(child);
    let abort_now = {
        let mut set = sup.children().lock();
        let aborting = set.aborting;
        match set.slots.get_mut(id.key) {
            Some(slot) if slot.seq == id.seq && !aborting => {
                slot.abort = Some(handle.abort_handle());
                false
            }
            _ => aborting,
        }
    };
    if abort_now {
        handle.abort();
    }
    Task::new(handle)
}

pin_project! {
    /// A child's future: catches its panic and reports its failure to the supervisor.
    struct Child<P: Supervisor, F> {
        #[pin]
        future: F,
        guard: ChildGuard<P>,
    }
}

impl<P, F, T> Future for Child<P, F>
where
    P: Supervisor,
    F: Future<Output = Result<T, P::Error>>,
{
    type Output = Outcome<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        let this = self.project();
        let guard = &*this.guard;
        let mut future = this.future;
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => match ready!(poll) {
                Ok(value) => Poll::Ready(Outcome::Done(value)),
                Err(error) => {
                    guard.sup.child_failed(guard.id, Failure::Error(error));
                    Poll::Ready(Outcome::Failed)
                }
            },
            Err(payload) => {
                guard.sup.child_failed(guard.id, Failure::Panic(payload));
                Poll::Ready(Outcome::Panicked)
            }
        }
    }
}

/// Takes its child out of the set when the child's future is dropped: on completion, on abort,
/// and when the runtime shuts down.
struct ChildGuard<P: Supervisor> {
    sup: Arc<P>,
    id: ChildId,
}

impl<P: Supervisor> Drop for ChildGuard<P> {
    fn drop(&mut self) {
        let children = self.sup.children();
        let notify = {
            let mut set = children.lock();
            if set
                .slots
                .get(self.id.key)
                .is_some_and(|slot| slot.seq == self.id.seq)
            {
                set.slots.remove(self.id.key);
            }
            set.live -= 1;
            set.live == 0 && set.watched
        };
        if notify {
            children.wake_watchers();
        }
    }
}

/// Aborts every handle; called after the lock is released.
pub(crate) fn abort_all(handles: Vec<AbortHandle>) {
    for handle in handles {
        handle.abort();
    }
}
