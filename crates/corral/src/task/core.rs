//! The core `TaskGroup` and `BackgroundTasks` share: one owned state machine ([`State`]) under
//! one lock, a `TaskTracker` that counts the live tasks, and the wrapper every task runs in.
//!
//! # Design
//!
//! Each task is a plain Tokio task, wrapped in [`Child`], which catches a panic and hands an
//! error or panic to the core, whose [`Policy`] says what a failure does: cancel the siblings
//! (a group) or go to the report hook (background tasks). Tokio drops a task's future as soon
//! as it completes or is aborted, and with it the task's [`Guard`], which counts it out of the
//! core's [`Live`] word: everything it captured is released at once, and a finished task
//! costs its owner nothing but an abort handle, swept as the list grows (amortised O(1) per
//! spawn).
//!
//! Spawning admits the task with one atomic step on the live word (which fails once the group
//! left `Open`, finished, or its token was cancelled), calls `tokio::spawn` with no lock held,
//! and then takes the lock once to record the abort handle (or abort the task at once, if the
//! group began aborting meanwhile). The token is not asked on that path (asking takes its
//! mutex): a [`CloseOnCancel`] waker, registered with the token once when the core is made,
//! closes the live word when the token is cancelled, from inside `cancel()`, before it returns.
//! A refused spawn then takes the slow path, which asks the token and moves the state. A waiter
//! finishes the group by closing the live word only if no task is alive, so an admitted task is
//! always waited for and none is admitted after.
//!
//! Nesting: while a task is polled, a thread-local holds the address of its core; a group
//! created inside the task looks the core up in a registry (touched once per group, never per
//! task) and records the `TaskTracker`s of every enclosing group ([`Scope`]). Each of its tasks
//! holds a token of each (in a [`Nested`] wrapper, so that a task of a group that is not nested
//! carries nothing for them), so an enclosing group's `join` waits for the tasks of every group
//! nested in it, at any depth, even after the inner group was dropped with its tasks mid-step
//! on another worker. A task that [`wait`](crate::task::wait) spawns holds the same tokens (of
//! the scope of the task that called it), and while it is polled a second thread-local holds
//! that scope itself ([`InScope`]), so a group or a `wait` inside it nests there too, at any
//! depth. Only those tasks set it: the poll of a group's own task is unchanged.
//!
//! Aborting after a failure is deferred to a turn of its own (the waiter's, or a small task's
//! when nobody waits yet): a task that was already ready in the same tick as the failure runs
//! first, and its error is kept, not lost to the abort. A group that begins cancelling while
//! nobody joins it (a failure, its token cancelled from outside, or its waiter gone mid-wait)
//! schedules that small task at the end of its grace, holding the core weakly: only a
//! cancelling group pays for it.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::error::{ErrorGroup, Failure, Hook, PanicPayload};
use super::handle::{Outcome, Task, Unclaimed};
use super::live::{Admit, Live};
use super::state::{Collected, Failed, Phase, State, deadline_after};
use crate::loom::{Mutex, MutexGuard};

/// What a failing task does to its siblings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Record it and cancel the siblings: a `TaskGroup`.
    CancelSiblings,
    /// Hand it to the hook and go on: `BackgroundTasks`.
    Report,
}

/// The trackers a task's nested groups register their tasks in: those of every enclosing
/// group.
pub(crate) type Scope = Arc<[TaskTracker]>;

/// What a group created inside a task needs of the task's group: the scope to nest in.
trait Scoped: Send + Sync {
    fn scope(&self) -> &Scope;
}

impl<E: Send + 'static> Scoped for Core<E> {
    fn scope(&self) -> &Scope {
        &self.scope
    }
}

thread_local! {
    /// The address of the core whose task is being polled on this thread (0: none). A plain
    /// number, so setting it around each poll costs next to nothing; a group created inside the
    /// poll looks the address up in [`CORES`].
    static POLLING: Cell<usize> = const { Cell::new(0) };

    /// The scope of the task that [`wait`](crate::task::wait) spawned being polled on this
    /// thread, if any, while [`POLLING`] is 0 (a group's task polled inside it sets `POLLING`,
    /// and wins). Set only around the polls of those tasks (see [`InScope`]): a group's own
    /// tasks never touch it.
    static WAITING: Cell<Option<Scope>> = const { Cell::new(None) };
}

/// Every live core by address: registered when it is made, removed when it is dropped (so an
/// address is never looked up after its core is gone: a task being polled holds its core).
/// Touched once per group, never per task. Not a loom shim: it is a `static`.
static CORES: std::sync::Mutex<Option<HashMap<usize, Weak<dyn Scoped>>>> =
    std::sync::Mutex::new(None);

fn cores() -> std::sync::MutexGuard<'static, Option<HashMap<usize, Weak<dyn Scoped>>>> {
    CORES.lock().unwrap_or_else(PoisonError::into_inner)
}

fn address<T>(core: &T) -> usize {
    std::ptr::from_ref(core).cast::<()>() as usize
}

/// The scope of the task running on this thread, for a group created inside it: that of the
/// group's task being polled, or else that of the task `wait` spawned being polled.
fn current_scope() -> Option<Scope> {
    let polling = POLLING.with(Cell::get);
    if polling == 0 {
        return waiting_scope();
    }
    let core = cores().as_ref()?.get(&polling)?.upgrade()?;
    Some(Arc::clone(core.scope()))
}

/// The scope in [`WAITING`], left in place (`None` also while the thread is being torn down).
fn waiting_scope() -> Option<Scope> {
    WAITING
        .try_with(|cell| {
            let scope = cell.take();
            let copy = scope.clone();
            cell.set(scope);
            copy
        })
        .ok()
        .flatten()
}

/// Wraps a future that is spawned outside any group (by [`wait`](crate::task::wait)) so that
/// its task holds a token of every group enclosing the task running on this thread, as the
/// task of a nested group does: their `join` waits until it is gone. The code it polls sees
/// that same scope, so a group (or a `wait`) inside it nests there too, at any depth.
pub(crate) fn in_current_scope<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let scope = current_scope();
    let held = scope.as_ref().map_or_else(Box::default, |scope| {
        scope.iter().map(TaskTracker::token).collect()
    });
    InScope {
        future,
        scope,
        _held: held,
    }
}

/// `repr(C)`, `live` first: the live word sits right after the `Arc`'s counts (in the same
/// cache line unless the allocation starts in the last 16 bytes of one), so a task's start and
/// end, which step both, move one line between the spawning and the finishing thread.
#[repr(C)]
pub(crate) struct Core<E> {
    /// This group's own live tasks, and whether it admits more.
    live: Live,
    state: Mutex<State<E>>,
    policy: Policy,
    /// Registered with the token, with a [`CloseOnCancel`] waker: keeps it registered.
    _on_cancel: Pin<Box<WaitForCancellationFutureOwned>>,
    /// Notified when the last task leaves while a waiter watches.
    idle: Notify,
    /// The live tasks of groups nested in this group's tasks, at any depth.
    nested: TaskTracker,
    /// The `nested` trackers of the enclosing groups: each task holds a token of each.
    enclosing: Scope,
    /// What this group's tasks give groups created inside them: `enclosing` plus `nested`.
    scope: Scope,
    pub(crate) token: CancellationToken,
    /// The grace a failure (or a cancelled token) gives before aborting.
    grace: Duration,
    hook: Hook<E>,
    source: &'static str,
    /// The runtime the group was made on, if any: where its abort is scheduled when the
    /// cancellation comes from a thread outside any runtime (a token cancelled from a plain
    /// thread, a `run` future dropped there). Recorded at the first spawn if the group was made outside any runtime.
    runtime: OnceLock<tokio::runtime::Handle>,
}

impl<E> Core<E> {
    /// Locks the state. Nothing panics under this lock (no user code runs there), so a
    /// poisoned lock is still consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<E>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many of this group's own tasks are alive.
    pub(crate) fn live(&self) -> usize {
        self.live.len()
    }

    /// The runtime to run the group's own small tasks on: the current one, or else the one
    /// the group was made on.
    fn runtime(&self) -> Option<tokio::runtime::Handle> {
        tokio::runtime::Handle::try_current()
            .ok()
            .or_else(|| self.runtime.get().cloned())
    }

    /// This core's identity in [debug mode](crate::debug): its address, unique while it lives.
    fn debug_owner(&self) -> u64 {
        address(self) as u64
    }

    /// Called when the owning `TaskGroup` or `BackgroundTasks` is dropped: every task spawned
    /// in debug mode and still running (about to be aborted) is reported with its name and
    /// spawn site, even if debug mode was turned off since.
    pub(crate) fn report_abandoned(&self) {
        if self.live() > 0 && crate::debug::any_watched() {
            crate::debug::report_abandoned(self.debug_owner(), self.source);
        }
    }

    /// Keeps the live word closed whenever the phase is not `Open`; called under the lock,
    /// after every transition, before the token is cancelled.
    fn seal(&self, state: &State<E>) {
        if state.phase() != Phase::Open {
            self.live.close();
        }
    }

    fn abort_at(&self) -> Option<Instant> {
        deadline_after(self.grace)
    }

    /// Hands a failure nobody can receive to the hook, under `catch_unwind`: a panicking hook
    /// is reported, never propagated.
    pub(crate) fn report(&self, failure: Failure<E>) {
        call_hook(self.source, &self.hook, failure);
    }

    /// The owner is dropped: abort every task now, report what nobody received.
    pub(crate) fn close(&self) {
        let (handles, errors, panics) = {
            let mut state = self.lock();
            let closed = state.close();
            self.seal(&state);
            closed
        };
        self.token.cancel();
        for handle in handles {
            handle.abort();
        }
        self.report_all(errors, panics);
    }

    /// Reports every failure in order.
    pub(crate) fn report_all(&self, errors: Vec<E>, panics: Vec<PanicPayload>) {
        for error in errors {
            self.report(Failure::Error(error));
        }
        for payload in panics {
            self.report(Failure::Panic(payload));
        }
    }
}

/// Runs `hook` on `failure`, containing a panic of the hook.
pub(crate) fn call_hook<E>(source: &'static str, hook: &Hook<E>, failure: Failure<E>) {
    crate::report::contain(source, "the failure hook", || hook(failure));
}

impl<E: Send + 'static> Core<E> {
    pub(crate) fn new(
        policy: Policy,
        token: CancellationToken,
        grace: Duration,
        hook: Hook<E>,
        source: &'static str,
    ) -> Arc<Self> {
        let enclosing: Scope = match policy {
            // A group created inside a group's task is nested in it.
            Policy::CancelSiblings => current_scope().unwrap_or_else(|| Arc::new([])),
            // Background tasks outlive the code that started them: they nest in nothing.
            Policy::Report => Arc::new([]),
        };
        let nested = TaskTracker::new();
        let scope: Scope = enclosing
            .iter()
            .cloned()
            .chain(std::iter::once(nested.clone()))
            .collect();
        let core = Arc::new_cyclic(|weak: &Weak<Self>| Self {
            _on_cancel: close_on_cancel(&token, weak),
            live: Live::new(),
            state: Mutex::new(State::new()),
            policy,
            idle: Notify::new(),
            nested,
            enclosing,
            scope,
            token,
            grace,
            hook,
            source,
            runtime: tokio::runtime::Handle::try_current()
                .map(OnceLock::from)
                .unwrap_or_default(),
        });
        if core.token.is_cancelled() {
            // `close_on_cancel` found it ready, or it was cancelled since: either way the
            // waker could not (or need not) reach the core being made.
            core.live.close();
        }
        // A group created inside one of this core's tasks (a group's or a background task's)
        // nests in it: the core's `join` or `shutdown` waits until that group's tasks are gone
        // too, even if one is mid-step on another worker when it is aborted.
        let weak: Weak<dyn Scoped> = Arc::downgrade(&core) as Weak<Core<E>>;
        cores()
            .get_or_insert_with(HashMap::new)
            .insert(address(&*core), weak);
        core
    }

    /// Spawns `future` as a task of this core if it admits one; otherwise drops it unpolled
    /// and returns an already-cancelled task. `tokio::spawn` runs with no lock held.
    #[track_caller]
    #[inline(always)]
    pub(crate) fn spawn<F, T>(self: &Arc<Self>, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        // No lock: one atomic step that fails once the group left `Open` or finished, or its
        // token was cancelled (`CloseOnCancel` closed the word).
        if let Admit::Refused { wake } = self.live.admit() {
            if wake {
                self.idle.notify_waiters();
            }
            self.refused();
            drop(future);
            return Task::refused();
        }
        let child = Child {
            future,
            guard: Guard {
                core: Arc::clone(self),
                done: false,
            },
        };
        let handle = if self.enclosing.is_empty() {
            self.spawn_child::<F, _>(child)
        } else {
            // Released after the child counted the task out (fields drop in order).
            self.spawn_child::<F, _>(Nested {
                child,
                _held: self.enclosing.iter().map(TaskTracker::token).collect(),
            })
        };
        // The closure runs only when a sweep is due, the first time at the first spawn.
        let abort = self
            .lock()
            .register(handle.abort_handle(), || self.sweep_due());
        if let Some(abort) = abort {
            abort.abort();
        }
        Task::new(handle)
    }

    /// Spawns a task's future, watched in debug mode.
    #[track_caller]
    #[inline(always)]
    fn spawn_child<F, C>(&self, child: C) -> tokio::task::JoinHandle<C::Output>
    where
        C: Future + Send + 'static,
        C::Output: Send + 'static,
    {
        crate::debug::spawn(
            child,
            self.debug_owner(),
            std::any::type_name::<F>(),
            std::panic::Location::caller(),
        )
    }

    /// A sweep of the abort handles is due (see [`State::register`]): the number of live
    /// tasks. The first is at the first spawn, which records the runtime it spawns on if the
    /// group was made outside any runtime: there the abort of a token cancelled from a plain
    /// thread is scheduled. (Checked here, not on every spawn, where it cost 17 instructions
    /// a task.)
    #[cold]
    #[inline(never)]
    fn sweep_due(&self) -> usize {
        if self.runtime.get().is_none()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let _ = self.runtime.set(runtime);
        }
        self.live.len()
    }

    /// A spawn was refused: if the token was cancelled while the group was open, the group
    /// now begins cancelling (with work asked for, so `join` says it was cancelled).
    #[cold]
    fn refused(self: &Arc<Self>) {
        let token_cancelled = self.token.is_cancelled();
        let mut state = self.lock();
        let was_open = state.phase() == Phase::Open;
        let abort_at = || match self.policy {
            Policy::CancelSiblings => self.abort_at(),
            Policy::Report => None,
        };
        state.admit(token_cancelled, abort_at);
        self.seal(&state);
        let unjoined = was_open && state.phase() != Phase::Open;
        let pending = unjoined_abort(&state);
        drop(state);
        if unjoined {
            self.schedule_abort(pending);
        }
    }

    /// The token was cancelled from outside (by [`CloseOnCancel`], in a task of its own): an
    /// open group begins cancelling, and if nobody joins it, aborts its tasks when the grace
    /// ends. Whatever moved the group out of `Open` first schedules the abort; this only does
    /// if it was the token.
    fn cancelled_by_token(self: &Arc<Self>, work_running: bool) {
        let pending = {
            let mut state = self.lock();
            if state.phase() != Phase::Open {
                return;
            }
            state.cancelled_from_outside(work_running, self.abort_at());
            self.seal(&state);
            unjoined_abort(&state)
        };
        self.schedule_abort(pending);
    }

    /// A task (or the body, from `run`) failed.
    pub(crate) fn fail(self: &Arc<Self>, failure: Failure<E>) {
        if self.policy == Policy::Report {
            self.report(failure);
            return;
        }
        let (failed, pending) = {
            let mut state = self.lock();
            let failed = state.fail(failure, self.abort_at());
            self.seal(&state);
            (failed, unjoined_abort(&state))
        };
        match failed {
            Failed::Unreceived(failure) => self.report(failure),
            Failed::Recorded { first: false } => {}
            Failed::Recorded { first: true } => {
                // Wakes a waiter, which aborts when the grace ends.
                self.token.cancel();
                // Nobody waits yet: the group aborts by itself when the grace ends.
                self.schedule_abort(pending);
            }
        }
    }

    /// Cancels the token and aborts every task at `abort_at` (`shutdown`).
    pub(crate) fn shutdown(&self, grace: Duration) {
        let mut state = self.lock();
        state.shutdown(deadline_after(grace));
        self.seal(&state);
        drop(state);
        self.token.cancel();
    }

    /// Waits until every task (own and nested) is gone, aborting them when the grace ends,
    /// and finishes the group.
    pub(crate) async fn wait(&self) -> Collected<E> {
        self.live.watch();
        self.nested.close();
        self.lock().set_joining();
        // An abort waits for one turn of the scheduler after it falls due, so that tasks
        // already ready at that instant run first and their errors are kept.
        let mut deferred = false;
        loop {
            // Made (and enabled) before looking, so a last task leaving in between still
            // wakes us.
            let mut own = pin!(self.idle.notified());
            own.as_mut().enable();
            let nested = self.nested.wait();
            let mut token_cancelled = self.token.is_cancelled();
            let step = {
                let mut state = self.lock();
                let open = state.phase() == Phase::Open;
                match may_finish(&self.live, open, || self.nested.is_empty()) {
                    Finish::Yes => {
                        let (collected, finished) = state.finish();
                        self.seal(&state);
                        drop(state);
                        // Every task is gone: their handles are let go of here (outside the
                        // lock: the last one may drop a task's unclaimed value), not aborted at
                        // drop.
                        drop(finished);
                        return collected;
                    }
                    Finish::No => {}
                    Finish::Reopened => {
                        // `CloseOnCancel` closes the word without this lock, and if it found it
                        // closed by `may_finish` it did not move the group: read the token
                        // again, and the block below does.
                        token_cancelled |= self.token.is_cancelled();
                    }
                }
                if token_cancelled {
                    let abort_at = match self.policy {
                        Policy::CancelSiblings => self.abort_at(),
                        Policy::Report => None,
                    };
                    state.cancelled_from_outside(true, abort_at);
                    self.seal(&state);
                }
                let open = state.phase() == Phase::Open;
                let now = Instant::now();
                if !deferred && state.abort_due(now) {
                    None
                } else {
                    Some((state.due(now), open))
                }
            };
            let Some((due, open)) = step else {
                deferred = true;
                tokio::task::yield_now().await;
                continue;
            };
            for handle in due.abort {
                handle.abort();
            }
            let own_live = self.live.len() > 0;
            let idle = async {
                if own_live {
                    own.await;
                }
                nested.await;
            };
            tokio::select! {
                () = idle => {}
                () = self.token.cancelled(), if open => {}
                () = sleep_until(due.wake_at) => {}
            }
        }
    }

    /// Marks the group as cancelled from outside with work running (`run`'s body was
    /// cancelled by the token).
    pub(crate) fn body_cancelled(&self) {
        let mut state = self.lock();
        state.cancelled_from_outside(true, self.abort_at());
        self.seal(&state);
    }

    pub(crate) fn set_joining(&self) {
        self.lock().set_joining();
    }

    /// `run`'s future was dropped before the group finished: nobody joins any more, so a
    /// failure from now on schedules its own abort (as if nobody had joined), and a
    /// cancellation already under way gets its abort scheduled now, at the end of its grace.
    pub(crate) fn waiter_gone(self: &Arc<Self>) {
        let pending = {
            let mut state = self.lock();
            state.clear_joining();
            unjoined_abort(&state)
        };
        self.schedule_abort(pending);
    }

    /// Aborts the tasks at `at` (the end of the grace of a group that began cancelling while
    /// nobody joins it), from a small task of its own that holds the core weakly, so it never
    /// keeps the group alive; an abort already due runs in a turn of its own, after the tasks
    /// that were ready in this same tick (so their errors are kept). Nothing to do for `None`
    /// (no unjoined cancellation, or an unlimited grace), or with no runtime to run on (none
    /// current, and the group was made outside one: a later `join` aborts when it finds the
    /// grace over). Only a cancelling group gets here: never a
    /// task's spawn, poll or finish.
    #[cold]
    #[inline(never)]
    fn schedule_abort(self: &Arc<Self>, at: Option<Instant>) {
        let Some(at) = at else { return };
        let Some(runtime) = self.runtime() else {
            return;
        };
        let core = Arc::downgrade(self);
        if at <= Instant::now() {
            drop(runtime.spawn(async move {
                // A turn of its own first: a task spawned from a worker runs next (Tokio's
                // LIFO slot), before the siblings woken in this same tick.
                tokio::task::yield_now().await;
                abort_when_due(core).await;
            }));
        } else {
            drop(runtime.spawn(async move {
                tokio::time::sleep_until(at).await;
                // One turn, as the waiter does: tasks woken at this same instant run first.
                tokio::task::yield_now().await;
                abort_when_due(core).await;
            }));
        }
    }

    /// Turns what the group collected into `join`'s result; resumes the first panic once the
    /// others (and the errors) went to the hook.
    pub(crate) fn result<T>(
        &self,
        collected: Collected<E>,
        value: Option<T>,
    ) -> Result<T, ErrorGroup<E>> {
        let Collected {
            errors,
            panics,
            cancelled,
            runtime_gone,
        } = collected;
        let mut panics = panics.into_iter();
        if let Some(first) = panics.next() {
            self.report_all(errors, panics.collect());
            resume_unwind(first);
        }
        if !errors.is_empty() {
            return Err(ErrorGroup::from_errors(errors));
        }
        match value {
            Some(value) if !cancelled && !runtime_gone => Ok(value),
            _ if runtime_gone => Err(ErrorGroup::runtime_shut_down()),
            _ => Err(ErrorGroup::cancelled()),
        }
    }
}

/// The waker a core registers with its token: closes the core's live word when the token is
/// cancelled, so `spawn` refuses tasks from then on without asking the token (which takes its
/// mutex). Tokio-util wakes it from inside `cancel()` (also a parent's), after the token reads
/// as cancelled and before `cancel()` returns; it only ever wakes it on cancellation. If the
/// word was still open (the token was cancelled from outside), it also spawns a small task
/// that moves the group to `Cancelling` and schedules its abort (see
/// [`Core::cancelled_by_token`]); no lock of the core is taken inside `cancel()`.
///
/// It holds the core weakly (the core holds the registration); once the core is gone there is
/// nothing to close.
struct CloseOnCancel<E>(Weak<Core<E>>);

impl<E: Send + 'static> Wake for CloseOnCancel<E> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(core) = self.0.upgrade() else { return };
        // The word was open: nothing moved the group out of `Open` (a failure, `shutdown`,
        // a finish or a drop seal the word before they cancel the token), so the token was
        // cancelled from outside, and the group begins cancelling now. That takes the core's
        // lock, which is not taken here (this runs inside `cancel()`, under the token's own
        // locks): a small task does it. A cancellation the group made itself costs nothing.
        if core.live.close()
            && core.policy == Policy::CancelSiblings
            && let Some(runtime) = core.runtime()
        {
            // Work was running if a task (own or nested) was alive when the token was
            // cancelled (read now: by the time the small task runs, they may have finished):
            // `join` then says the group was cancelled.
            let work_running = core.live.len() > 0 || !core.nested.is_empty();
            let core = Arc::downgrade(&core);
            drop(runtime.spawn(async move {
                if let Some(core) = core.upgrade() {
                    core.cancelled_by_token(work_running);
                }
            }));
        }
    }
}

/// Registers a [`CloseOnCancel`] for the core being made with `token`; the returned future
/// keeps the registration and is never polled again. The waker cannot reach a core still being
/// made, so [`Core::new`] asks the token once the core is made and closes the word itself if
/// it was cancelled by then (already before, or meanwhile).
fn close_on_cancel<E: Send + 'static>(
    token: &CancellationToken,
    core: &Weak<Core<E>>,
) -> Pin<Box<WaitForCancellationFutureOwned>> {
    let mut on_cancel = Box::pin(token.clone().cancelled_owned());
    let waker = Waker::from(Arc::new(CloseOnCancel(Weak::clone(core))));
    // Ready if the token is already cancelled: `Core::new` closes the word then.
    let _ = on_cancel.as_mut().poll(&mut Context::from_waker(&waker));
    on_cancel
}

/// When the tasks of a group that began cancelling must be aborted, if nobody joins it (a
/// waiter aborts them itself).
fn unjoined_abort<E>(state: &State<E>) -> Option<Instant> {
    if state.is_joining() {
        return None;
    }
    state.abort_pending()
}

/// Aborts a cancelling group's tasks in a turn of their own, unless a waiter did it first.
async fn abort_when_due<E>(core: Weak<Core<E>>) {
    let Some(core) = core.upgrade() else { return };
    let due = core.lock().due(Instant::now());
    drop(core);
    for handle in due.abort {
        handle.abort();
    }
}

/// Whether a group may finish: none of its own tasks is alive, and the word is closed so that
/// none is admitted after, and no task of a group nested in it (or that `wait` spawned in one
/// of its tasks) is alive either. `nested_idle` is asked again once the word is closed: a last
/// own task may start a nested task (taking its tracker token) and leave between the first
/// look and the close, and that task would outlive the group. After the close, only a nested
/// task (or something handed out of one) starts another, while it holds a token itself, so an
/// empty tracker then stays empty. The first look keeps the word open while nested tasks run:
/// one of them may still spawn into the group through a [`Spawner`](crate::task::Spawner).
/// (Only when the race above happens is the word closed for a moment while a nested task
/// runs, until the waiter opens it again: a spawn in that moment is refused, as once the group
/// finished.)
///
/// If the word was closed and a nested task then found alive, a group still `open` (called
/// under its lock) has the word opened again, so that if the waiter is dropped (`run` in a
/// `select!`) the group goes on admitting tasks.
///
/// Out of line: inlined into the waiter's state machine (and with it into a caller's), it
/// changed the code generated around the spawns of the same function, 2 instructions a task
/// (callgrind, `instr_probe corral_taskgroup`).
#[inline(never)]
fn may_finish(live: &Live, open: bool, nested_idle: impl Fn() -> bool) -> Finish {
    if !(nested_idle() && live.close_if_idle()) {
        Finish::No
    } else if nested_idle() {
        Finish::Yes
    } else if open {
        live.reopen();
        Finish::Reopened
    } else {
        Finish::No
    }
}

/// What [`may_finish`] found.
#[derive(Debug, PartialEq, Eq)]
enum Finish {
    /// Every task is gone and the word is closed: the group finishes.
    Yes,
    /// A task is alive; the word is as it was.
    No,
    /// The word was closed, then a nested task was found alive, and opened again.
    Reopened,
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

pin_project! {
    /// A task's future: catches its panic, hands its failure to the core, and names its
    /// group's scope to the code it polls.
    struct Child<E, F>
    where
        E: Send,
        E: 'static,
    {
        #[pin]
        future: F,
        guard: Guard<E>,
    }
}

impl<E, F, T> Future for Child<E, F>
where
    E: Send + 'static,
    F: Future<Output = Result<T, E>>,
{
    type Output = Outcome<T>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        let this = self.project();
        let guard = this.guard;
        let mut future = this.future;
        let outer = POLLING.with(|cell| cell.replace(address(&*guard.core)));
        let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
        POLLING.with(|cell| cell.set(outer));
        let failure = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => {
                guard.done = true;
                return Poll::Ready(Outcome::Done(Unclaimed::new(value)));
            }
            Ok(Poll::Ready(Err(error))) => Failure::Error(error),
            Err(payload) => Failure::Panic(payload),
        };
        guard.done = true;
        let outcome = match failure {
            Failure::Error(_) => Outcome::Failed,
            Failure::Panic(_) => Outcome::Panicked,
        };
        guard.core.fail(failure);
        Poll::Ready(outcome)
    }
}

/// What a task holds of its group: the core, which counts the task out when Tokio drops it.
struct Guard<E: Send + 'static> {
    core: Arc<Core<E>>,
    /// The task completed (it was not dropped unfinished).
    done: bool,
}

pin_project! {
    /// The task of a nested group: its child, and the tracker tokens that keep every enclosing
    /// group waiting until the task is gone (released after the child counted it out). A task
    /// of a group that is not nested is spawned without them.
    struct Nested<C> {
        #[pin]
        child: C,
        _held: Box<[TaskTrackerToken]>,
    }
}

impl<C: Future> Future for Nested<C> {
    type Output = C::Output;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        self.project().child.poll(cx)
    }
}

pin_project! {
    /// A task that [`wait`](crate::task::wait) spawned: its future, the scope it was spawned
    /// in, which the code it polls sees (in [`WAITING`]), and the tracker tokens of that scope,
    /// which keep every enclosing group waiting until the task is gone.
    struct InScope<F> {
        #[pin]
        future: F,
        // Swapped with `WAITING` around each poll: the outer value is kept here meanwhile.
        scope: Option<Scope>,
        _held: Box<[TaskTrackerToken]>,
    }
}

impl<F: Future> Future for InScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = Entered::enter(this.scope);
        this.future.poll(cx)
    }
}

/// The scope of a task that `wait` spawned, entered for one poll: it clears [`POLLING`] and
/// swaps the task's scope into [`WAITING`], and puts both back when dropped, also when the poll
/// unwinds (a panic of the task leaves no scope behind on its thread).
struct Entered<'a> {
    /// The task's slot: holds the outer `WAITING` while entered.
    slot: &'a mut Option<Scope>,
    polling: usize,
}

impl<'a> Entered<'a> {
    fn enter(slot: &'a mut Option<Scope>) -> Self {
        let polling = POLLING.with(|cell| cell.replace(0));
        swap_waiting(slot);
        Self { slot, polling }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        swap_waiting(self.slot);
        POLLING.with(|cell| cell.set(self.polling));
    }
}

/// Swaps `slot` with [`WAITING`]; does nothing while the thread is being torn down (then
/// neither the swap in nor the swap back happens, and the slot keeps its scope).
fn swap_waiting(slot: &mut Option<Scope>) {
    let _ = WAITING.try_with(|cell| {
        let outer = cell.take();
        cell.set(slot.take());
        *slot = outer;
    });
}

impl<E> Drop for Core<E> {
    fn drop(&mut self) {
        let mut cores = cores();
        if let Some(map) = cores.as_mut() {
            map.remove(&address(self));
            if map.is_empty() {
                // Nothing held once no group is alive.
                *cores = None;
            }
        }
    }
}

impl<E: Send + 'static> Drop for Guard<E> {
    fn drop(&mut self) {
        let core = &self.core;
        // The guard is dropped after the future: unwinding here, the future's destructor
        // panicked (or a runtime is dropped as its thread unwinds; see below).
        if std::thread::panicking() {
            destructor_panicked(core);
        }
        if !self.done {
            dropped_unfinished(core);
        }
        // Counted out after the flag is set, so a waiter sees it.
        if core.live.leave() {
            core.idle.notify_waiters();
        }
    }
}

/// A value the task's future held panicked as it was dropped: a panic of the task, on
/// completion or on abort, which Tokio hands to whoever awaits the [`Task`], and which the
/// group must see too. The payload is on its way to Tokio, so the group gets one that says
/// what happened.
///
/// A runtime dropped while its thread unwinds drops its tasks during that unwinding too; then
/// nothing tells the two apart, and nothing is recorded (the runtime's shutdown is, by
/// [`dropped_unfinished`]). A destructor panicking as its runtime shuts down is only printed
/// by the panic hook. (Telling them apart in every case would take a `Drop` on the task's
/// wrapper, which costs every task about 1.5% more instructions.)
#[cold]
#[inline(never)]
fn destructor_panicked<E: Send + 'static>(core: &Arc<Core<E>>) {
    if runtime_is_shutting_down() {
        return;
    }
    let payload: PanicPayload =
        Box::new("a value held by a task panicked as it was dropped (the panic is printed above)");
    core.fail(Failure::Panic(payload));
}

/// A task was dropped unfinished: if not by the group (`Task::abort`, or the runtime shutting
/// down), records a runtime that shut down. Out of line: the common drop is of a finished task.
///
/// Dropped with no runtime around at all, the task was never spawned: `spawn` was called
/// outside a runtime, and `tokio::spawn` dropped the task before it panicked. That is the
/// caller's mistake, reported to them by the panic, not a runtime that shut down under the
/// group (a runtime shutting down drops its tasks inside its own context). The check costs
/// nothing on the hot path: only a task dropped unfinished gets here.
#[cold]
#[inline(never)]
fn dropped_unfinished<E>(core: &Core<E>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    if !core.lock().aborting() && runtime_is_shutting_down() {
        core.lock().runtime_gone();
    }
}

/// Whether the runtime of the current thread refuses new tasks (it is shutting down), or
/// there is none.
fn runtime_is_shutting_down() -> bool {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return true;
    };
    // A runtime shutting down drops a new task on the spot; a running one never finishes a
    // pending task by itself.
    let probe = runtime.spawn(std::future::pending::<()>());
    let closed = probe.is_finished();
    probe.abort();
    closed
}

#[cfg(all(test, corral_loom))]
mod loom_tests {
    use super::{Admit, Finish, Live, may_finish};
    use crate::loom::{Arc, AtomicBool, AtomicUsize, Ordering};

    /// A group's last own task starts a nested task (taking a token of the group's `nested`
    /// tracker, here a counter) and leaves, racing the waiter's `may_finish`. Invariant: no
    /// task outlives its group: if the waiter finishes, the nested task has already ended; and
    /// if it does not, the open group admits tasks (its word is not left closed).
    #[test]
    fn loom_a_nested_task_started_by_the_last_task_is_waited_for() {
        loom::model(|| {
            let live = Arc::new(Live::new());
            let nested = Arc::new(AtomicUsize::new(0));
            let nested_ended = Arc::new(AtomicBool::new(false));
            assert_eq!(live.admit(), Admit::Admitted);

            let task = {
                let (live, nested, nested_ended) =
                    (live.clone(), nested.clone(), nested_ended.clone());
                loom::thread::spawn(move || {
                    // The own task spawns a nested one, which holds a token from here...
                    nested.fetch_add(1, Ordering::SeqCst);
                    // ...and leaves.
                    let _ = live.leave();
                    // The nested task runs to its end and lets its token go.
                    nested_ended.store(true, Ordering::SeqCst);
                    nested.fetch_sub(1, Ordering::SeqCst);
                })
            };

            match may_finish(&live, true, || nested.load(Ordering::SeqCst) == 0) {
                Finish::Yes => assert!(
                    nested_ended.load(Ordering::SeqCst),
                    "the group finished while a nested task ran"
                ),
                Finish::No | Finish::Reopened => {
                    // The group is still open and did not finish: it admits tasks (a waiter
                    // dropped now leaves no open group refusing every spawn).
                    assert_eq!(live.admit(), Admit::Admitted, "an open group refuses tasks");
                    let _ = live.leave();
                }
            }
            task.join().unwrap();
        });
    }
}
