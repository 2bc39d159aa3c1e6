//! The machinery `TaskGroup` and `BackgroundTasks` share: a set of live children, each a
//! plain Tokio task, that the owner can abort and wait for.
//!
//! # Design
//!
//! Each child is spawned with `tokio::spawn`, wrapped in [`Child`], which catches a panic and
//! hands an error or panic to the owner's [`Supervisor`]. Tokio drops a task's future as soon
//! as it completes or is aborted, and with it the child's [`ChildGuard`], which counts the child
//! out of an atomic `live` count and wakes a waiting `join` when it was the last. So everything
//! the child captured is released at once, and a finished child costs its owner nothing but
//! an entry in a list of abort handles.
//!
//! That list is touched only by spawners (and by whoever aborts): completing children never
//! take the lock, so on a multi-threaded runtime a child finishing on one worker does not
//! contend with the task spawning on another. The spawner sweeps handles of finished tasks out
//! of the list whenever it holds more than twice as many as there are live children (plus a
//! small constant), so the memory a long-lived group holds stays proportional to the tasks
//! running, amortised O(1) per spawn: a group that runs a million short tasks one after another
//! holds a few dozen handles, not a million.
//!
//! Alternatives measured: a oneshot per child plus a registration on the group's token cost
//! 1.5x `JoinSet`; a slab of abort handles from which each child removed itself under the lock
//! cost three lock acquisitions per task and contended across workers (1.13x bare
//! `tokio::spawn` on a current-thread runtime, worse on two workers); owning a `JoinSet` would
//! need the owner to call `join_next` to reap.
//!
//! The guard never takes the lock, so spawning under it is safe even if `tokio::spawn` panics
//! (no runtime) or drops the future at once (runtime shutting down): the guard only counts.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, Id};

use super::error::Failure;
use super::handle::{Outcome, Task};

/// The owner of a set of children: told about every child that fails.
pub(crate) trait Supervisor: Send + Sync + 'static {
    type Error: Send + 'static;
    type State: Send + 'static;

    fn children(&self) -> &Children<Self::State>;

    /// Called from inside the failing child's poll, before its guard is dropped.
    fn child_failed(&self, failure: Failure<Self::Error>);
}

/// Handles beyond `2 * live + SWEEP_SLACK` trigger a sweep of the finished ones.
const SWEEP_SLACK: usize = 16;

/// The children of one owner: their count, their abort handles, and whatever state the owner
/// keeps under the same lock.
#[derive(Debug)]
pub(crate) struct Children<S> {
    state: Mutex<ChildSet<S>>,
    /// Spawned and not yet dropped.
    live: AtomicUsize,
    /// Someone waits in `idle`: the last child to go must notify.
    watched: AtomicBool,
    idle: Notify,
}

#[derive(Debug)]
pub(crate) struct ChildSet<S> {
    /// Abort handles of the children, and of some finished ones not yet swept.
    handles: Vec<AbortHandle>,
    /// Children are being aborted: one spawned from now on is aborted at once.
    aborting: bool,
    pub(crate) owner: S,
}

impl<S> ChildSet<S> {
    /// Takes the abort handles of every child but `except` (a task id), and makes any child
    /// spawned from now on abort itself. The caller aborts them after releasing the lock.
    pub(crate) fn take_abort_handles(&mut self, except: Option<Id>) -> Vec<AbortHandle> {
        self.aborting = true;
        let mut handles = std::mem::take(&mut self.handles);
        if let Some(id) = except {
            handles.retain(|handle| handle.id() != id);
        }
        handles
    }

    fn sweep(&mut self, live: usize) {
        if self.handles.len() < 2 * live + SWEEP_SLACK {
            return;
        }
        self.handles.retain(|handle| !handle.is_finished());
        if self.handles.capacity() > 4 * self.handles.len() + 4 * SWEEP_SLACK {
            self.handles.shrink_to(2 * self.handles.len() + SWEEP_SLACK);
        }
    }
}

impl<S> Children<S> {
    pub(crate) fn new(owner: S) -> Self {
        Self {
            state: Mutex::new(ChildSet {
                handles: Vec::new(),
                aborting: false,
                owner,
            }),
            live: AtomicUsize::new(0),
            watched: AtomicBool::new(false),
            idle: Notify::new(),
        }
    }

    /// Locks the set. A panic never happens under this lock in corral's own code (bar one in
    /// `tokio::spawn` itself, outside a runtime), and the state is updated in single steps, so
    /// a poisoned lock is still usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ChildSet<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many children are alive (spawned and not yet dropped).
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Asks the last child to go to notify [`Children::idle`]; returns whether none is alive.
    /// Call it after enabling a `Notified` of `idle`: with the child's decrement and load in the
    /// opposite order (both `SeqCst`), one of the two sides sees the other.
    pub(crate) fn watch(&self) -> bool {
        self.watched.store(true, Ordering::SeqCst);
        self.live() == 0
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
    let children = sup.children();
    let mut set = children.lock();
    if !admit(&set.owner) {
        drop(set);
        drop(future);
        return Task::refused();
    }
    // Counted before the child can run, so its guard never sees the count below itself.
    let live = children.live.fetch_add(1, Ordering::SeqCst) + 1;
    let handle = tokio::spawn(Child {
        future,
        guard: ChildGuard {
            sup: Arc::clone(sup),
        },
    });
    if set.aborting {
        handle.abort();
    } else {
        set.sweep(live);
        set.handles.push(handle.abort_handle());
    }
    drop(set);
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
                    guard.sup.child_failed(Failure::Error(error));
                    Poll::Ready(Outcome::Failed)
                }
            },
            Err(payload) => {
                guard.sup.child_failed(Failure::Panic(payload));
                Poll::Ready(Outcome::Panicked)
            }
        }
    }
}

/// Counts its child out when the child's future is dropped: on completion, on abort, and when
/// the runtime shuts down.
struct ChildGuard<P: Supervisor> {
    sup: Arc<P>,
}

impl<P: Supervisor> Drop for ChildGuard<P> {
    fn drop(&mut self) {
        let children = self.sup.children();
        if children.live.fetch_sub(1, Ordering::SeqCst) == 1
            && children.watched.load(Ordering::SeqCst)
        {
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
