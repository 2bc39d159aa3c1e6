//! `map_concurrent` and its settled and spawning forms: a list of items through a concurrency
//! limit, results in input order.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, PoisonError};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::task::{JoinError, JoinSet};

use crate::task::Failure;
use crate::task::indexed::Indexed;

/// Runs `f` on every item, at most `limit` at once, and returns the results in input order;
/// the first error cancels the rest.
///
/// The items are pulled from the iterator lazily, one as each running future finishes, so a
/// long (or endless-until-error) iterator never piles up futures: at most `limit` exist at any
/// time. The futures run in place, on the task that awaits `map_concurrent` (they may borrow);
/// for work that should run in parallel on a multi-thread runtime, use
/// [`map_concurrent_spawned`]. To keep every result instead of stopping at the first error,
/// use [`map_concurrent_settled`].
///
/// Unlike `stream::iter(items).map(f).buffer_unordered(limit)`, nothing here waits on a
/// consumer: every future in flight is polled whenever any of them can make progress, so a
/// slow loop body between two `next()` calls cannot starve them into timeouts (the footgun of
/// [futures-rs#2387](https://github.com/rust-lang/futures-rs/issues/2387)); the results come
/// back in input order; and a zero limit is refused at once instead of hanging
/// ([futures-rs#2939](https://github.com/rust-lang/futures-rs/issues/2939)).
///
/// # Cancel safety
///
/// Dropping the future drops every item's future still running and the results collected so
/// far; items not pulled from the iterator yet are never started.
///
/// # Panics
///
/// Panics when called if `limit` is zero (nothing could ever run); any other limit is fine,
/// and `usize::MAX` means no limit (every item is started at once, so the iterator must end).
/// A panic in `f` or in a future propagates to the caller.
///
/// # Errors
///
/// The first error any future returns; the other running futures are dropped and no more
/// items are started.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::flow::map_concurrent;
///
/// async fn fetch(id: u32) -> Result<String, std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(u64::from(10 - id))).await; // later ids are faster
///     Ok(format!("page {id}"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), std::io::Error> {
/// let pages = map_concurrent(1..=4, 2, fetch).await?;
/// assert_eq!(pages, ["page 1", "page 2", "page 3", "page 4"]); // input order
/// # Ok(())
/// # }
/// ```
pub fn map_concurrent<I, F, Fut, T, E>(
    items: I,
    limit: usize,
    f: F,
) -> impl Future<Output = Result<Vec<T>, E>>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    assert_limit("map_concurrent", limit);
    drive(items, limit, f, |output| output)
}

/// Runs `f` on every item, at most `limit` at once, and returns every result in input order:
/// an error does not stop the others (asyncio's `gather(..., return_exceptions=True)` under a
/// semaphore).
///
/// Items are pulled lazily and run in place, as in [`map_concurrent`].
///
/// # Cancel safety
///
/// Dropping the future drops every item's future still running and the results collected so
/// far; items not pulled from the iterator yet are never started.
///
/// # Panics
///
/// Panics when called if `limit` is zero; any other limit is fine, and `usize::MAX` means no
/// limit (every item is started at once). A panic in `f` or in a future propagates to the
/// caller.
///
/// # Examples
///
/// ```
/// use corral::flow::map_concurrent_settled;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let results = map_concurrent_settled([4, 0, 2], 2, |n| async move {
///     if n == 0 { Err("zero") } else { Ok(8 / n) }
/// })
/// .await;
/// assert_eq!(results, [Ok(2), Err("zero"), Ok(4)]);
/// # }
/// ```
pub fn map_concurrent_settled<I, F, Fut>(
    items: I,
    limit: usize,
    f: F,
) -> impl Future<Output = Vec<Fut::Output>>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    assert_limit("map_concurrent_settled", limit);
    let all = drive(items, limit, f, Ok::<_, Infallible>);
    async move {
        match all.await {
            Ok(results) => results,
            Err(never) => match never {},
        }
    }
}

/// The tasks of one [`map_concurrent_spawned`] call, with what each returns: `(index, result)`.
type Joined<T, E> = Result<(usize, Result<T, E>), JoinError>;

/// The tasks of one [`map_concurrent_spawned`] call. Dropped while any is left (the caller
/// dropped the call: a timeout, a `select!`), it aborts them, and the errors and panics they
/// end with have nobody to go to: they are reported, as a dropped `TaskGroup` reports its own.
struct Tasks<T: Send + 'static, E: fmt::Debug + Send + 'static> {
    set: JoinSet<(usize, Result<T, E>)>,
}

impl<T: Send + 'static, E: fmt::Debug + Send + 'static> Tasks<T, E> {
    /// After the first failure: aborts the other tasks and waits for them; an error or panic
    /// one had already ended with has nobody left to receive it, so it is reported.
    async fn abort_and_report_the_rest(&mut self) {
        self.set.abort_all();
        while let Some(joined) = self.set.join_next().await {
            report_unreceived(joined);
        }
    }
}

impl<T: Send + 'static, E: fmt::Debug + Send + 'static> Drop for Tasks<T, E> {
    fn drop(&mut self) {
        if self.set.is_empty() {
            return;
        }
        self.set.abort_all();
        // The tasks that already ended, without waiting.
        while let Some(joined) = self.set.try_join_next() {
            report_unreceived(joined);
        }
        if self.set.is_empty() {
            return;
        }
        // The rest end at their next poll, as cancelled; but one in the middle of a poll on
        // another worker may still end with an error or a panic. A task that only joins them
        // reports those (it ends as soon as they do). Outside a runtime they are dropped.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let mut rest = std::mem::take(&mut self.set);
            drop(runtime.spawn(async move {
                while let Some(joined) = rest.join_next().await {
                    report_unreceived(joined);
                }
            }));
        }
    }
}

/// Reports a task's failure that nobody can receive any more; a success or a cancellation is
/// nothing to report.
fn report_unreceived<T, E: fmt::Debug>(joined: Joined<T, E>) {
    let failure = match joined {
        Ok((_, Err(error))) => Failure::Error(error),
        Err(join_error) if join_error.is_panic() => match join_error.try_into_panic() {
            Ok(payload) => Failure::Panic(payload),
            Err(_) => return,
        },
        Ok((_, Ok(_))) | Err(_) => return,
    };
    crate::report::report_failure("map_concurrent_spawned", failure);
}

/// Runs `f` on every item in spawned tasks, at most `limit` tasks alive at once, and returns the
/// results in input order; the first error aborts the rest.
///
/// The spawning form of [`map_concurrent`], for work that should run in parallel on a
/// multi-thread runtime. Items are pulled from the iterator lazily and a task is spawned only
/// when fewer than `limit` are alive, so a million items never means a million tasks in memory.
/// The tasks run whether or not the caller polls, so nothing can starve them.
///
/// No task outlives the call: after the first error (or panic, in a task, in `f` or in the
/// iterator) every other task is aborted and waited for before the error is returned or the
/// panic resumed; an error or panic another task had already ended with meanwhile is
/// [reported](crate::report), never dropped. Dropping the returned future aborts them all
/// (each is dropped the next time the runtime would have polled it, as with [`JoinSet`]'s
/// drop), and reports the errors and panics they ended with, which nobody can receive any
/// more, as a dropped [`TaskGroup`](crate::task::TaskGroup) does; a task caught in the middle
/// of a poll on another worker is joined by a short-lived task that reports how it ends.
///
/// # Cancel safety
///
/// Dropping the future aborts every task it spawned and drops the results collected so far;
/// the errors and panics of tasks that failed are reported, not lost. Items not pulled from
/// the iterator yet are never started.
///
/// # Panics
///
/// Panics when called if `limit` is zero (any other limit is fine, and `usize::MAX` means no
/// limit: a task for every item at once), and when polled outside a Tokio runtime. A panic in
/// a task, in `f` or in the iterator is resumed in the caller once the other tasks are gone.
/// Panics if the runtime shuts down while the tasks run (their results can no longer come).
///
/// # Errors
///
/// The first error any task returns (the first to finish with one, which need not be the
/// earliest item).
///
/// # Examples
///
/// ```
/// use corral::flow::map_concurrent_spawned;
///
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> Result<(), std::num::TryFromIntError> {
/// let squares = map_concurrent_spawned(0..1_000u64, 8, |n| async move {
///     u32::try_from(n * n) // CPU work on any worker thread
/// })
/// .await?;
/// assert_eq!(squares[999], 998_001);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn map_concurrent_spawned<I, F, Fut, T, E>(
    items: I,
    limit: usize,
    mut f: F,
) -> impl Future<Output = Result<Vec<T>, E>>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    assert_limit("map_concurrent_spawned", limit);
    let site = std::panic::Location::caller();
    let mut items = items.into_iter();
    async move {
        let mut tasks = Tasks {
            set: JoinSet::new(),
        };
        let mut results = InOrder::with_capacity(items.size_hint().0);
        let mut exhausted = false;
        loop {
            while !exhausted && tasks.set.len() < limit {
                // The caller's code: a panic in it is resumed once the tasks are gone, and what
                // they failed with meanwhile is reported.
                // A panic's payload is held across the `.await` below in a mutex, which is
                // `Sync` where the bare payload is not, so the call's future stays `Sync`.
                let next =
                    catch_unwind(AssertUnwindSafe(|| items.next().map(&mut f))).map_err(Mutex::new);
                match next {
                    Ok(Some(fut)) => {
                        let index = results.next_slot();
                        // Watched in debug mode, as a group's task is.
                        crate::debug::spawn_in(
                            &mut tasks.set,
                            Indexed::new(index, fut),
                            0,
                            std::any::type_name::<Fut>(),
                            site,
                        );
                    }
                    Ok(None) => exhausted = true,
                    Err(payload) => {
                        tasks.abort_and_report_the_rest().await;
                        resume_unwind(payload.into_inner().unwrap_or_else(PoisonError::into_inner));
                    }
                }
            }
            let Some(joined) = tasks.set.join_next().await else {
                break;
            };
            match joined {
                Ok((index, Ok(value))) => results.fill(index, value),
                Ok((_, Err(error))) => {
                    tasks.abort_and_report_the_rest().await;
                    return Err(error);
                }
                Err(join_error) => {
                    tasks.abort_and_report_the_rest().await;
                    match join_error.try_into_panic() {
                        Ok(payload) => resume_unwind(payload),
                        Err(_) => panic!(
                            "map_concurrent_spawned: a task was cancelled by the runtime \
                             shutting down"
                        ),
                    }
                }
            }
        }
        Ok(results.finish())
    }
}

/// Refuses a zero limit, the only one nothing could run under. Nothing here takes a permit
/// or reserves room by the limit (it only bounds how many futures or tasks are alive), so any
/// other limit, `usize::MAX` included, is fine.
fn assert_limit(function: &str, limit: usize) {
    assert!(limit > 0, "{function}: the limit must be above zero");
}

/// The in-place driver: keeps up to `limit` futures in flight, pulling items lazily, and files
/// each output at its item's index through `keep`; stops at the first `Err` of `keep`.
async fn drive<I, F, Fut, S, X>(
    items: I,
    limit: usize,
    mut f: F,
    mut keep: impl FnMut(Fut::Output) -> Result<S, X>,
) -> Result<Vec<S>, X>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    let mut items = items.into_iter();
    let mut running = FuturesUnordered::new();
    let mut results = InOrder::with_capacity(items.size_hint().0);
    let mut exhausted = false;
    loop {
        while !exhausted && running.len() < limit {
            match items.next() {
                Some(item) => {
                    let index = results.next_slot();
                    let fut = f(item);
                    running.push(Indexed::new(index, fut));
                }
                None => exhausted = true,
            }
        }
        let Some((index, output)) = running.next().await else {
            break;
        };
        results.fill(index, keep(output)?);
    }
    Ok(results.finish())
}

/// The most memory reserved up front for result slots, whatever the items' `size_hint` claims
/// (a lazy `0..u64::MAX` stopped by an early error must not reserve memory for all of it):
/// 8 MiB, a million slots of a word, fewer of a larger result.
const MAX_RESERVED_BYTES: usize = 8 << 20;

/// Puts results that finish in any order back in input order: one slot per item, filled by
/// index, unwrapped in one pass at the end. Measured against a `Vec` of the leading finished
/// results plus a `VecDeque` window of pending slots, this costs about 30 fewer instructions per
/// item (a push and an indexed store instead of a deque push, pop and front check per item);
/// the final pass collects in place when `Option<S>` is no bigger than `S` (a niche), as for
/// `String`, `Vec` and boxed values.
struct InOrder<S> {
    slots: Vec<Option<S>>,
}

impl<S> InOrder<S> {
    /// Room for `expected` results up front (the items' `size_hint`), so the common case never
    /// reallocates.
    fn with_capacity(expected: usize) -> Self {
        Self {
            slots: Vec::with_capacity(
                expected.min(MAX_RESERVED_BYTES / std::mem::size_of::<Option<S>>().max(1)),
            ),
        }
    }

    fn next_slot(&mut self) -> usize {
        self.slots.push(None);
        self.slots.len() - 1
    }

    fn fill(&mut self, index: usize, value: S) {
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Some(value);
        }
    }

    /// The results in input order. Every slot is filled by then: `drive` and the spawning loop
    /// return early (with the error) rather than reach this with an item unfinished.
    fn finish(self) -> Vec<S> {
        self.slots.into_iter().flatten().collect()
    }
}
