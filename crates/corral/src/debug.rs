//! Debug mode: asyncio's debug mode, done better. Off by default, and free when off.
//!
//! The guides' "common pitfalls" are blocking the event loop, forgetting `await`, fire-and-forget
//! tasks whose errors vanish, and holding a lock across a slow call. Rust's compiler already
//! catches the second (futures are `#[must_use]`) and clippy the last (`await_holding_lock`);
//! corral's report catches the third (failures nobody receives are reported, see
//! [`report`](crate::report)). What is left can only be seen at run time, and debug mode sees it:
//!
//! - **A poll that blocks its thread.** Every poll of a task that corral spawns to run code of
//!   yours is timed; one that runs longer than the threshold is reported, with the task's name
//!   and the place it was spawned. This is asyncio's `slow_callback_duration` (100 ms by
//!   default there too), but it names the task and the spawn site instead of a callback's
//!   `repr`. The watched tasks, each with the name and site it is reported under:
//!   - the tasks of a [`TaskGroup`](crate::task::TaskGroup) (and its
//!     [`Spawner`](crate::task::Spawner)), of [`BackgroundTasks`](crate::task::BackgroundTasks),
//!     and those [`wait`](crate::task::wait) spawns for plain futures: the type name of the
//!     future (which names the `async fn`, or the block's enclosing function), and the
//!     `spawn` (or `wait`) call;
//!   - the task of [`shield`](crate::time::shield): the shielded future's type name, and the
//!     `shield` call;
//!   - the workers of a [`WorkerPool`](crate::pool::WorkerPool), which run its handler: the
//!     handler's type name, and the `new` (or `build`) call;
//!   - the tasks of [`map_concurrent_spawned`](crate::flow::map_concurrent_spawned): the item
//!     future's type name, and the call;
//!   - the task of a [`Debouncer`](crate::flow::Debouncer) that runs its calls:
//!     `corral::flow::Debouncer's calls`, and the `call` that started it (later calls of the
//!     burst run in it too);
//!   - the watcher of [`Task::on_done`](crate::task::Task::on_done), which runs the callback:
//!     the callback's type name, and the `on_done` call;
//!   - the cleanups that a dropped [`ExitStack`](crate::scope::ExitStack),
//!     [`with_resource`](crate::scope::with_resource) or
//!     [`with_session`](crate::scope::with_session) runs on a task of its own: the stack, the
//!     `on_err` function's type name, or the session's type, and a line of corral (they are
//!     spawned by a destructor, where the caller's site is not known).
//!
//!   Futures that run in place, on the task that awaits them ([`map_concurrent`], a
//!   [`Deadline`](crate::time::Deadline)'s work, ...), are part of that task: watched when it
//!   is one of the above. [`run_blocking`](crate::blocking::run_blocking) and
//!   [`run_cpu`](crate::blocking::run_cpu) jobs run on threads made for blocking, and are not
//!   timed.
//! - **Tasks still running when their owner is dropped.** A group or manager dropped without
//!   `join`/`shutdown` aborts its tasks (nothing outlives its group); in debug mode each task
//!   it had to abort is reported with its name and spawn site, because an owner that is dropped
//!   with work still running usually means a missing `join`.
//!
//! Reports go to the crate's [`report`](crate::report) with [`ReportKind::SlowPoll`] or
//! [`ReportKind::Abandoned`], so they reach standard error (or `tracing`, or your hook).
//!
//! # Cost
//!
//! Off, each of the spawns above reads one atomic and takes the plain path: no wrapper, no
//! clock read. On,
//! each poll reads the clock twice and each task registers its spawn site, so it is for
//! development and tests; the `taskgroup` benchmark's `corral_taskgroup_debug` row measures it
//! (1.15–2.0× a `TaskGroup` task with it off).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use corral::task::{BoxError, TaskGroup};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! corral::debug::enable(Duration::from_millis(10));
//! let group = TaskGroup::new();
//! group.spawn(async {
//!     std::thread::sleep(Duration::from_millis(20)); // blocks the thread: reported
//!     Ok::<_, BoxError>(())
//! });
//! group.join().await?;
//! corral::debug::disable();
//! # Ok(())
//! # }
//! ```
//!
//! [`map_concurrent`]: crate::flow::map_concurrent
//! [`ReportKind::SlowPoll`]: crate::report::ReportKind::SlowPoll
//! [`ReportKind::Abandoned`]: crate::report::ReportKind::Abandoned
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::report::{ReportKind, report};

/// The slow-poll threshold in nanoseconds; 0 means debug mode is off.
static THRESHOLD_NANOS: AtomicU64 = AtomicU64::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Tasks alive under debug mode: id → (owner, name, spawn site).
static LIVE: Mutex<Option<HashMap<u64, Entry>>> = Mutex::new(None);

/// How many entries `LIVE` holds: lets a dropped owner skip the lock when nothing is watched,
/// whether or not debug mode is still on (a task spawned under it stays watched after
/// [`disable`]).
static WATCHED: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, Copy)]
struct Entry {
    owner: u64,
    name: &'static str,
    site: &'static Location<'static>,
}

/// Turns debug mode on for the whole process: polls of corral-spawned tasks longer than
/// `slow_poll` are reported, and so are tasks still running when their owner is dropped.
///
/// Applies to tasks spawned from now on. A zero threshold is taken as one nanosecond (every
/// poll is reported); `Duration::MAX` reports only abandoned tasks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// corral::debug::enable(Duration::from_millis(100)); // asyncio's slow_callback_duration
/// assert!(corral::debug::is_enabled());
/// corral::debug::disable();
/// assert!(!corral::debug::is_enabled());
/// ```
pub fn enable(slow_poll: Duration) {
    let nanos = u64::try_from(slow_poll.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    THRESHOLD_NANOS.store(nanos, Ordering::Relaxed);
}

/// Turns debug mode off. Tasks already spawned under it keep being watched until they end.
///
/// # Examples
///
/// ```
/// corral::debug::disable();
/// assert!(!corral::debug::is_enabled());
/// ```
pub fn disable() {
    THRESHOLD_NANOS.store(0, Ordering::Relaxed);
}

/// Whether debug mode is on.
///
/// # Examples
///
/// ```
/// if corral::debug::is_enabled() {
///     println!("slow polls are being reported");
/// }
/// ```
pub fn is_enabled() -> bool {
    THRESHOLD_NANOS.load(Ordering::Relaxed) != 0
}

/// The threshold when debug mode is on: the one check on the spawn path.
#[inline]
pub(crate) fn slow_poll_threshold() -> Option<Duration> {
    match THRESHOLD_NANOS.load(Ordering::Relaxed) {
        0 => None,
        nanos => Some(Duration::from_nanos(nanos)),
    }
}

/// Spawns `future` as a task of `owner` (a group's identity, or 0 for none), watched under
/// `name` and `site` when debug mode is on; otherwise plain `tokio::spawn`, after one atomic
/// load. Tracks its caller, so that Tokio's panic outside a runtime names the caller's line.
#[track_caller]
#[inline(always)]
pub(crate) fn spawn<F>(
    future: F,
    owner: u64,
    name: &'static str,
    site: &'static Location<'static>,
) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match slow_poll_threshold() {
        None => tokio::spawn(future),
        Some(threshold) => tokio::spawn(Watched::new(future, owner, name, site, threshold)),
    }
}

/// Spawns `future` into `set`, watched as [`spawn`] watches a task (the same single atomic
/// load when debug mode is off); the set's output type is unchanged.
#[track_caller]
#[inline(always)]
pub(crate) fn spawn_in<F>(
    set: &mut tokio::task::JoinSet<F::Output>,
    future: F,
    owner: u64,
    name: &'static str,
    site: &'static Location<'static>,
) -> tokio::task::AbortHandle
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match slow_poll_threshold() {
        None => set.spawn(future),
        Some(threshold) => set.spawn(Watched::new(future, owner, name, site, threshold)),
    }
}

pin_project! {
    /// A task's future under debug mode: times each poll, and is listed as alive until dropped.
    pub(crate) struct Watched<F> {
        #[pin]
        inner: F,
        id: u64,
        threshold: Duration,
        entry: Entry,
    }

    impl<F> PinnedDrop for Watched<F> {
        fn drop(this: Pin<&mut Self>) {
            let id = this.id;
            let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(map) = live.as_mut()
                && map.remove(&id).is_some()
            {
                WATCHED.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

impl<F: Future> Watched<F> {
    /// Wraps `inner`, the task `name` spawned at `site` by the owner `owner`, to be watched
    /// with `threshold`.
    pub(crate) fn new(
        inner: F,
        owner: u64,
        name: &'static str,
        site: &'static Location<'static>,
        threshold: Duration,
    ) -> Self {
        let entry = Entry { owner, name, site };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(HashMap::new)
            .insert(id, entry);
        WATCHED.fetch_add(1, Ordering::Relaxed);
        Self {
            inner,
            id,
            threshold,
            entry,
        }
    }
}

impl<F: Future> Future for Watched<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let start = Instant::now();
        let poll = this.inner.poll(cx);
        let took = start.elapsed();
        if took > *this.threshold {
            let detail = SlowPoll {
                entry: *this.entry,
                took,
                threshold: *this.threshold,
            };
            report("debug", ReportKind::SlowPoll, &detail);
        }
        poll
    }
}

/// Whether any task spawned under debug mode is still alive (debug mode may be off by now).
pub(crate) fn any_watched() -> bool {
    WATCHED.load(Ordering::Relaxed) != 0
}

/// Reports every watched task of `owner` that is still alive: called by an owner that is
/// dropped while it still had running tasks, before it aborts them.
pub(crate) fn report_abandoned(owner: u64, owner_kind: &'static str) {
    // Collect under the lock, report after releasing it: the report runs user code.
    let abandoned: Vec<Entry> = {
        let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        live.as_ref()
            .map(|map| map.values().filter(|e| e.owner == owner).copied().collect())
            .unwrap_or_default()
    };
    for entry in abandoned {
        report(
            owner_kind,
            ReportKind::Abandoned,
            &Abandoned { entry, owner_kind },
        );
    }
}

struct SlowPoll {
    entry: Entry,
    took: Duration,
    threshold: Duration,
}

impl fmt::Debug for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a poll of task `{}` (spawned at {}) blocked its thread for {:?} (threshold {:?})",
            self.entry.name, self.entry.site, self.took, self.threshold
        )
    }
}

struct Abandoned {
    entry: Entry,
    owner_kind: &'static str,
}

impl fmt::Debug for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task `{}` (spawned at {}) was still running when its {} was dropped; it was aborted",
            self.entry.name, self.entry.site, self.owner_kind
        )
    }
}
