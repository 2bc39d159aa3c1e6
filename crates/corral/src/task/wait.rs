use std::fmt;
use std::future::Future;
use std::panic::{Location, resume_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::task::{JoinError, JoinHandle};

use super::error::TaskError;
use super::handle::Task;
use super::indexed::same;

/// When [`wait`] returns.
///
/// # Examples
///
/// ```
/// use corral::task::WaitFor;
///
/// let until = WaitFor::FirstCompleted;
/// assert_ne!(until, WaitFor::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitFor {
    /// As soon as any task finishes (asyncio's `FIRST_COMPLETED`).
    FirstCompleted,
    /// As soon as any task returns `Err` or panics, or when all have finished if none fails
    /// (asyncio's `FIRST_EXCEPTION`). As in asyncio, a task that was cancelled (a [`Task`] or
    /// `JoinHandle` passed in and aborted) has not failed: it is in `done` with its
    /// cancellation error, and the wait goes on.
    FirstError,
    /// When every task has finished (asyncio's `ALL_COMPLETED`).
    AllCompleted,
}

/// A task that [`wait`] returned as done: its position in the input and its result.
///
/// # Examples
///
/// ```
/// use corral::task::{Done, WaitFor, wait};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (done, _) = wait([async { Ok::<_, String>(5) }], WaitFor::AllCompleted, None).await;
/// for Done { index, result } in done {
///     assert_eq!((index, result), (0, Ok(5)));
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done<T, E> {
    /// The task's position in the input of [`wait`].
    pub index: usize,
    /// What the task returned.
    pub result: Result<T, E>,
}

/// A task that [`wait`] returned as still running. It keeps running; await it for its result,
/// pass it to `wait` again, or drop it to abort it.
///
/// Awaiting a `Pending` gives the task's `Result<T, E>`. If `wait` spawned the task and it
/// panicked, the panic resumes in the task that awaits.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::task::{WaitFor, wait};
///
/// async fn job(ms: u64) -> Result<u64, std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     Ok(ms)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let (_, pending) = wait([job(10), job(50)], WaitFor::FirstCompleted, None).await;
/// for task in pending {
///     assert_eq!(task.await?, 50); // it kept running meanwhile
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Cancel safety
///
/// Awaiting a `Pending` is cancel safe: dropping the `.await` of a `&mut pending` loses
/// nothing, and the task keeps running. Dropping the `Pending` itself aborts the task it
/// stands for, whether `wait` spawned it or was handed its [`Task`] or `JoinHandle`: nothing
/// outlives its entry.
///
/// # Panics
///
/// Awaiting panics if the task was cancelled by its runtime shutting down (there is then no
/// result to give), and resumes the task's own panic if it panicked.
pub struct Pending<T, E> {
    index: usize,
    handle: Handle<T, E>,
}

/// The task a [`Pending`] stands for, which it aborts when dropped.
enum Handle<T, E> {
    /// A future that `wait` spawned.
    Spawned(JoinHandle<Result<T, E>>),
    /// A corral [`Task`] passed in, so `E` is [`TaskError`]; the function is the identity.
    Task(Task<T>, fn(TaskError) -> E),
    /// A Tokio `JoinHandle` passed in, so `E` is [`JoinError`]; the function is the identity.
    Join(JoinHandle<T>, fn(JoinError) -> E),
}

impl<T, E> Handle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Takes over `future` if it is the handle of a task that is already running (a [`Task`],
    /// a `JoinHandle` or a [`Pending`]), so that aborting the entry aborts that task; hands it
    /// back otherwise, to be spawned when `wait` is first polled.
    fn adopt<F>(future: F) -> Result<Self, F>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        if let (Some(into_task), Some(error)) = (same::<F, Task<T>>(), same::<TaskError, E>()) {
            return Ok(Handle::Task(into_task(future), error));
        }
        if let (Some(into_join), Some(error)) = (same::<F, JoinHandle<T>>(), same::<JoinError, E>())
        {
            return Ok(Handle::Join(into_join(future), error));
        }
        if let Some(into_pending) = same::<F, Pending<T, E>>() {
            return Ok(into_pending(future).handle);
        }
        Err(future)
    }

    /// Spawns a plain future. Its task holds a token of every group enclosing the calling
    /// task, as the task of a nested group does, so their `join` waits until it is gone even
    /// if it is mid-step on another worker when aborted; the future runs in that same scope,
    /// so a group or a `wait` inside it nests there too. Watched in debug mode, as a group's
    /// tasks are (owned by no group).
    fn spawn<F>(future: F, site: &'static Location<'static>) -> Self
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        Handle::Spawned(crate::debug::spawn(
            super::core::in_current_scope(future),
            0,
            std::any::type_name::<F>(),
            site,
        ))
    }
}

impl<T, E> Handle<T, E> {
    fn abort(&self) {
        match self {
            Handle::Spawned(handle) => handle.abort(),
            Handle::Task(task, _) => task.abort(),
            Handle::Join(handle, _) => handle.abort(),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            Handle::Spawned(handle) => handle.is_finished(),
            Handle::Task(task, _) => task.is_finished(),
            Handle::Join(handle, _) => handle.is_finished(),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        self.poll_failed(cx).map(|(result, _)| result)
    }

    /// Polls the task; with its result, whether it failed as [`WaitFor::FirstError`] counts
    /// it: an error or a panic, not a cancellation (as asyncio's `FIRST_EXCEPTION`).
    fn poll_failed(&mut self, cx: &mut Context<'_>) -> Poll<(Result<T, E>, bool)> {
        Poll::Ready(match self {
            Handle::Spawned(handle) => match ready!(Pin::new(handle).poll(cx)) {
                Ok(result) => {
                    let failed = result.is_err();
                    (result, failed)
                }
                Err(err) => match err.try_into_panic() {
                    Ok(payload) => resume_unwind(payload),
                    Err(_) => panic!(
                        "corral::task::wait: a task was cancelled by its runtime shutting down"
                    ),
                },
            },
            Handle::Task(task, error) => match ready!(Pin::new(task).poll(cx)) {
                Ok(value) => (Ok(value), false),
                Err(err) => {
                    let failed = !err.is_cancelled();
                    (Err(error(err)), failed)
                }
            },
            Handle::Join(handle, error) => match ready!(Pin::new(handle).poll(cx)) {
                Ok(value) => (Ok(value), false),
                Err(err) => {
                    let failed = !err.is_cancelled();
                    (Err(error(err)), failed)
                }
            },
        })
    }
}

impl<T, E> Drop for Handle<T, E> {
    fn drop(&mut self) {
        self.abort();
    }
}

/// What [`wait`] returns: the finished futures, then the pending ones.
type Waited<T, E> = (Vec<Done<T, E>>, Vec<Pending<T, E>>);

/// Waits on a set of tasks until `until` (or `timeout`) says to return, then hands back the
/// tasks that are done and those still running: asyncio's `wait`.
///
/// Returns `(done, pending)`. `done` holds, in completion order, every task that had finished
/// when `wait` returned (several may have finished together); `pending` holds, in input order,
/// the tasks still running. Pending tasks keep running until you await them or drop them (which
/// aborts them), so nothing is leaked. If `timeout` passes first, `wait` returns what it has,
/// like asyncio; it never returns an error. An empty input returns two empty vectors at once.
///
/// # Tasks already running, and plain futures
///
/// The inputs may be handles of tasks that are already running: corral's [`Task`] (from a
/// [`TaskGroup`](crate::task::TaskGroup) or [`BackgroundTasks`](crate::task::BackgroundTasks)),
/// Tokio's `JoinHandle`, or a [`Pending`] from an earlier `wait`. `wait` takes the handle
/// over, spawns nothing, and the [`Pending`] entry stands for that very task: dropping or
/// [aborting](Pending::abort) it aborts the task (asyncio's `task.cancel()`). A `Task` gives
/// `Result<T, TaskError>` (the error itself goes to its group), a `JoinHandle` gives
/// `Result<T, JoinError>`.
///
/// Any other future is spawned as a task of its own (at the first poll of `wait`), so it must
/// be `Send + 'static`; its `Result<T, E>` is passed through and a panic resumes where the
/// entry is awaited. Called in a task of a [`TaskGroup`](crate::task::TaskGroup) (or of
/// [`BackgroundTasks`](crate::task::BackgroundTasks)), its tasks are under that group as a
/// nested group's are, and so are the groups and `wait`s they start, at any depth: a group
/// created inside such a spawned future, or a `wait` called in one, nests in the same group.
/// (Tasks that other corral types spawn for their own work, such as
/// [`map_concurrent_spawned`](crate::flow::map_concurrent_spawned)'s, are owned by those
/// types, not by the group: dropping them aborts their tasks without waiting.) The group's
/// `join` (and `shutdown`, whatever its grace, which cannot abort them) returns only once they
/// are all gone, so pending entries handed out of the group's task (or a group handed out of a
/// spawned future) hold it up until they are awaited or dropped. Pass the
/// handles themselves, not a future around them: `async move { task.await }` or
/// `task.map(..)` is a new future, which `wait` spawns, and aborting its entry would only
/// drop the wrapper while the real task ran on.
///
/// Unlike the in-place combinators ([`gather`](crate::task::gather), [`race`](crate::task::race),
/// ...), `wait` runs its inputs as tasks, so they make progress even while nobody awaits them.
///
/// # Cancel safety
///
/// Dropping the `wait` future aborts every task it was given or spawned.
///
/// # Panics
///
/// Panics if called outside a Tokio runtime. If a future that `wait` spawned panics before
/// `wait` returns, the panic resumes here (after the other tasks are aborted).
///
/// # Examples
///
/// The guides' `create_task` then `wait(FIRST_COMPLETED)`, with tasks of a group; the loop
/// is asyncio's `while pending: done, pending = await wait(pending, ...)`:
///
/// ```
/// use std::time::Duration;
/// use corral::task::{BoxError, TaskGroup, WaitFor, wait};
///
/// async fn job(ms: u64) -> Result<u64, BoxError> {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     Ok(ms)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let group: TaskGroup<BoxError> = TaskGroup::new();
/// let tasks = [group.spawn(job(30)), group.spawn(job(10)), group.spawn(job(20))];
/// let mut order = Vec::new();
/// let (mut done, mut pending) = wait(tasks, WaitFor::FirstCompleted, None).await;
/// loop {
///     for task in done {
///         order.push(task.result?);
///     }
///     if pending.is_empty() {
///         break;
///     }
///     (done, pending) = wait(pending, WaitFor::FirstCompleted, None).await;
/// }
/// assert_eq!(order, [10, 20, 30]);
/// group.join().await?;
/// # Ok(())
/// # }
/// ```
///
/// # Examples
///
/// The guides' `first_response`:
///
/// ```
/// use std::time::Duration;
/// use corral::task::{wait, WaitFor};
///
/// async fn fetch(mirror: &'static str, delay_ms: u64) -> Result<&'static str, std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(delay_ms)).await;
///     Ok(mirror)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let requests = [fetch("eu", 80), fetch("us", 30), fetch("ap", 120)];
/// let (done, pending) = wait(requests, WaitFor::FirstCompleted, None).await;
/// assert_eq!(done.len(), 1);
/// assert_eq!(done[0].result.as_ref().ok(), Some(&"us"));
/// assert_eq!(pending.len(), 2);
/// drop(pending); // cancel the rest
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn wait<I, F, T, E>(
    futures: I,
    until: WaitFor,
    timeout: Option<Duration>,
) -> impl Future<Output = Waited<T, E>>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    // Where `wait` was called: the spawn site debug mode names for the futures it spawns (an
    // `async fn` cannot see its caller).
    let site = Location::caller();
    // Handles of running tasks are taken over now, so that dropping this future even before
    // its first poll aborts them; plain futures are spawned at the first poll (in the scope of
    // the task polling it).
    let inputs: Vec<Result<Handle<T, E>, F>> = futures.into_iter().map(Handle::adopt).collect();
    async move {
        let mut running: FuturesUnordered<Tracked<T, E>> = inputs
            .into_iter()
            .enumerate()
            .map(|(index, input)| {
                let handle = input.unwrap_or_else(|future| Handle::spawn(future, site));
                Tracked(Pending { index, handle })
            })
            .collect();
        let mut done = Vec::new();
        let mut expired = pin!(async {
            match timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        });
        loop {
            let next = tokio::select! {
                biased;
                next = running.next() => next,
                () = &mut expired => break,
            };
            let Some((finished, failed)) = next else {
                break;
            };
            done.push(finished);
            if until == WaitFor::FirstCompleted || (until == WaitFor::FirstError && failed) {
                // Collect whatever else has already finished, as asyncio does. Unconstrained:
                // with the task's coop budget spent, a finished handle would read as pending
                // (and `Tracked` would yield), leaving finished tasks in `pending`.
                while let Some(Some((finished, _))) =
                    tokio::task::unconstrained(running.next()).now_or_never()
                {
                    done.push(finished);
                }
                break;
            }
        }
        let mut pending: Vec<_> = running.into_iter().map(|tracked| tracked.0).collect();
        pending.sort_unstable_by_key(|task| task.index);
        (done, pending)
    }
}

impl<T, E> Pending<T, E> {
    /// The task's position in the input of [`wait`].
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{wait, WaitFor};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// async fn job(ms: u64) -> Result<u64, std::io::Error> {
    ///     tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    ///     Ok(ms)
    /// }
    /// let (done, pending) = wait([job(50), job(10), job(90)], WaitFor::FirstCompleted, None).await;
    /// assert_eq!(done[0].index, 1);
    /// let still_running: Vec<usize> = pending.iter().map(|task| task.index()).collect();
    /// assert_eq!(still_running, [0, 2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether the task has finished; awaiting it then returns at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{wait, WaitFor};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let job = async { tokio::time::sleep(Duration::from_secs(5)).await; Ok::<_, std::io::Error>(7) };
    /// let (_, mut pending) = wait([job], WaitFor::AllCompleted, Some(Duration::from_secs(1))).await;
    /// let task = pending.remove(0);
    /// assert!(!task.is_finished());
    /// assert_eq!(task.await?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Aborts the task (the same as dropping this handle).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::task::{wait, WaitFor};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let job = std::future::pending::<Result<(), std::io::Error>>();
    /// let (_, pending) = wait([job], WaitFor::AllCompleted, Some(Duration::from_secs(1))).await;
    /// for task in pending {
    ///     task.abort();
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn abort(self) {
        drop(self);
    }
}

impl<T, E> Future for Pending<T, E> {
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.handle.poll(cx)
    }
}

/// A running task inside `wait`, whose output keeps its index (and whether it failed, for
/// [`WaitFor::FirstError`]).
struct Tracked<T, E>(Pending<T, E>);

impl<T, E> Future for Tracked<T, E> {
    type Output = (Done<T, E>, bool);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(Done<T, E>, bool)> {
        if super::indexed::yield_if_out_of_budget(cx) {
            return Poll::Pending;
        }
        let index = self.0.index;
        let (result, failed) = ready!(self.0.handle.poll_failed(cx));
        Poll::Ready((Done { index, result }, failed))
    }
}

impl<T, E> fmt::Debug for Pending<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("index", &self.index)
            .field("finished", &self.handle.is_finished())
            .finish()
    }
}
