use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use crate::loom::{AtomicUsize, Ordering};
use crate::queue::Queue;
use crate::sync::Event;
use crate::task::{BoxError, Failure, PanicPayload};

/// One queued submission: the item and where its result goes.
type Job<In, Out, E> = (In, oneshot::Sender<Result<Out, SubmitError<E>>>);

/// N workers over a bounded queue: the guides' `WorkerPool`, where each submission gets its
/// own result back.
///
/// [`submit`](WorkerPool::submit) puts an item in the queue, waiting for space when it is full
/// (backpressure), and resolves to the result of the handler on that item. A job that fails or
/// panics fails only its own submission; the worker that ran it goes on with the next one.
///
/// Shutting down: [`shutdown`](WorkerPool::shutdown) stops taking items, lets the workers
/// finish everything queued and waits for them; [`shutdown_immediate`](WorkerPool::shutdown_immediate)
/// stops the workers now and hands back the items that never ran. Dropping the pool stops its
/// workers as `shutdown_immediate` does: each worker's task is aborted, and the runtime drops
/// it, with the job it was running and everything that job owns, at the task's next turn, not
/// before `drop` returns (on a multi-thread runtime, a job in the middle of a poll on another
/// thread finishes that poll first). To wait until the workers are gone, call
/// `shutdown_immediate` and then await [`shutdown`](WorkerPool::shutdown) before dropping
/// the pool: it returns once every worker has stopped and dropped its job.
///
/// The pool is shared by reference (`&WorkerPool`, or an `Arc`), like a Tokio `Semaphore`.
///
/// # Comparison to a `Queue` and workers by hand
///
/// The guides build this from an `asyncio.Queue`, worker tasks and a `None` sentinel per
/// worker, and results come back through a second queue in completion order. Here each
/// submission awaits its own result, a failing job cannot kill its worker, and no sentinel is
/// needed: shutdown is a method.
///
/// # Examples
///
/// ```
/// use corral::pool::WorkerPool;
/// use corral::task::BoxError;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let pool = WorkerPool::new(4, |n: u64| async move { Ok::<_, BoxError>(n * n) });
/// let squares = corral::task::gather((1..=3).map(|n| pool.submit(n))).await?;
/// assert_eq!(squares, [1, 4, 9]);
/// pool.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct WorkerPool<In, Out, E = BoxError> {
    queue: Arc<Queue<Job<In, Out, E>>>,
    shared: Arc<Shared>,
    workers: Vec<AbortHandle>,
}

/// What the workers share with the pool.
struct Shared {
    /// Workers still running.
    alive: AtomicUsize,
    /// Set when the last worker has stopped.
    stopped: Event,
    /// Run by the last worker to stop: closes a queue nobody will serve any more.
    last_out: Box<dyn Fn() + Send + Sync>,
}

/// Counts a worker out when its task ends, finished or aborted.
struct Alive(Arc<Shared>);

impl Drop for Alive {
    fn drop(&mut self) {
        if self.0.alive.fetch_sub(1, Ordering::AcqRel) == 1 {
            (self.0.last_out)();
            self.0.stopped.set();
        }
    }
}

/// What the last worker to stop does to the queue. After `shutdown` (or with the pool
/// dropped) the queue is already shut down and drained. Otherwise the workers died with their
/// runtime (a pool kept past the runtime it was built in, even in the middle of a `shutdown`):
/// the queue is shut down at once, so that the jobs waiting in it, and every later `submit`,
/// fail with `Closed` instead of waiting forever for a worker, and that is reported.
fn close_when_unserved<J: Send + 'static>(queue: &Arc<Queue<J>>) -> Box<dyn Fn() + Send + Sync> {
    let queue = Arc::downgrade(queue);
    Box::new(move || {
        let Some(queue) = queue.upgrade() else {
            return;
        };
        let was_shut_down = queue.is_shutdown();
        let dropped = queue.shutdown_immediate();
        if was_shut_down && dropped.is_empty() {
            return; // drained by the workers, as `shutdown` asks
        }
        crate::report::report(
            "WorkerPool",
            crate::report::ReportKind::Error,
            &format_args!(
                "every worker stopped (their runtime shut down) before the queue was drained: \
                 the pool is closed, and {} queued jobs fail with Closed",
                dropped.len()
            ),
        );
        // Dropped by a stopping worker, where Tokio would catch a panic unreported.
        drop_caught("dropping the jobs left in the queue", dropped);
    })
}

/// Builds a [`WorkerPool`] with a queue capacity other than the default.
///
/// # Examples
///
/// ```
/// use corral::pool::WorkerPool;
/// use corral::task::BoxError;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let pool = WorkerPool::builder(2)
///     .capacity(100)
///     .build(|line: String| async move { Ok::<_, BoxError>(line.len()) });
/// assert_eq!(pool.submit("four".to_string()).await?, 4);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    capacity: Option<usize>,
}

impl Builder {
    /// The number of items that may wait in the queue before `submit` waits for space (the
    /// number of workers unless set). Zero counts as one.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::WorkerPool;
    ///
    /// let builder = WorkerPool::builder(4).capacity(1_000);
    /// # let _ = builder;
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity.max(1));
        self
    }

    /// Starts the workers, each calling `handler` on one item at a time.
    ///
    /// # Panics
    ///
    /// Panics if the number of workers is zero, or if called outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::WorkerPool;
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let pool = WorkerPool::builder(1).build(|n: i32| async move { Ok::<_, BoxError>(-n) });
    /// assert_eq!(pool.submit(5).await?, -5);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn build<In, Out, E, F, Fut>(self, handler: F) -> WorkerPool<In, Out, E>
    where
        F: Fn(In) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Out, E>> + Send + 'static,
        In: Send + 'static,
        Out: Send + 'static,
        E: fmt::Debug + Send + 'static,
    {
        assert!(self.workers > 0, "a WorkerPool needs at least one worker");
        let queue = Arc::new(Queue::bounded(self.capacity.unwrap_or(self.workers)));
        let shared = Arc::new(Shared {
            alive: AtomicUsize::new(self.workers),
            stopped: Event::new(),
            last_out: close_when_unserved(&queue),
        });
        let handler = Arc::new(handler);
        let site = std::panic::Location::caller();
        let workers = (0..self.workers)
            .map(|_| {
                let alive = Alive(shared.clone());
                let run = work(queue.clone(), handler.clone());
                // Watched in debug mode, under the handler's name: a handler that blocks its
                // thread is what debug mode is for.
                crate::debug::spawn(Worker::new(run, alive), 0, std::any::type_name::<F>(), site)
                    .abort_handle()
            })
            .collect();
        WorkerPool {
            queue,
            shared,
            workers,
        }
    }
}

/// One worker: takes jobs until the queue is shut down and empty.
///
/// Every value of the caller's that the worker drops (a skipped item, a result or an error
/// nobody receives) is dropped under `catch_unwind`, as the job itself runs: a destructor that
/// panics is reported, and the worker goes on with the next job.
async fn work<In, Out, E, F, Fut>(queue: Arc<Queue<Job<In, Out, E>>>, handler: Arc<F>)
where
    F: Fn(In) -> Fut,
    Fut: Future<Output = Result<Out, E>>,
    E: fmt::Debug,
{
    while let Ok((item, reply)) = queue.get().await {
        if reply.is_closed() {
            // The submitter went away before the job started: skip it.
            drop_caught("dropping the item of a withdrawn submission", item);
            continue;
        }
        let result = match catch_unwind(AssertUnwindSafe(|| handler(item))) {
            // A job whose future panics as it is dropped fails its submission (and not the
            // worker, which would stop with nothing reported).
            Ok(job) => match crate::util::catch_unwind_whole(job).await {
                Ok(Ok(out)) => Ok(out),
                Ok(Err(error)) => Err(SubmitError::Failed(error)),
                Err(payload) => Err(SubmitError::Panicked(JobPanic::new(payload))),
            },
            Err(payload) => Err(SubmitError::Panicked(JobPanic::new(payload))),
        };
        // An `Err` means the submitter went away while the job ran: nobody else can receive
        // what it ended with.
        match reply.send(result) {
            Ok(()) | Err(Err(SubmitError::Closed)) => {}
            Err(Ok(out)) => drop_caught("dropping the result of a withdrawn submission", out),
            Err(Err(SubmitError::Failed(error))) => {
                crate::report::report_failure("WorkerPool", Failure::Error(error));
            }
            Err(Err(SubmitError::Panicked(panic))) => {
                let payload = panic.into_payload();
                crate::report::report_failure("WorkerPool", Failure::<E>::Panic(payload));
            }
        }
    }
}

/// Drops a value of the caller's that nobody will receive, reporting a panic of its
/// destructor instead of unwinding through the worker.
fn drop_caught<T>(what: &str, value: T) {
    crate::report::drop_contained("WorkerPool", what, value);
}

/// A worker's task: the [`work`] loop, which it drops under `catch_unwind`.
///
/// A worker is stopped by aborting its task (`shutdown_immediate`, the pool dropped) or by its
/// runtime shutting down; Tokio then drops the loop, with the job it was running, and would
/// catch a panic of the job's destructor into a `JoinError` nobody holds. Dropped here, the
/// panic is reported. The loop is boxed (once per worker) so that it can be dropped in place
/// before the task ends. The worker is counted out (`alive`) after that drop and its report,
/// so `shutdown` returns after every report of its workers.
struct Worker<W> {
    run: Pin<Box<Option<W>>>,
    _alive: Alive,
}

impl<W> Worker<W> {
    fn new(run: W, alive: Alive) -> Self {
        Self {
            run: Box::pin(Some(run)),
            _alive: alive,
        }
    }

    /// Drops the loop now, reporting a panic of the destructors it runs.
    fn stop(&mut self, what: &str) {
        let mut run = self.run.as_mut();
        crate::report::contain("WorkerPool", what, move || run.set(None));
    }
}

impl<W: Future<Output = ()>> Future for Worker<W> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(run) = self.run.as_mut().as_pin_mut() else {
            return Poll::Ready(());
        };
        // The loop catches every panic of the caller's code: one that gets here is a bug, and
        // is reported rather than lost with the task.
        match catch_unwind(AssertUnwindSafe(|| run.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => {
                // The handler may be dropped here (the last `Arc` of it).
                self.stop("dropping a stopped worker's handler");
                Poll::Ready(())
            }
            Err(payload) => {
                crate::report::report_panic("WorkerPool", "a worker", &payload);
                self.stop("dropping a panicked worker");
                Poll::Ready(())
            }
        }
    }
}

impl<W> Drop for Worker<W> {
    fn drop(&mut self) {
        self.stop("dropping the job of a stopped worker");
    }
}

impl WorkerPool<(), ()> {
    /// A builder, for a queue capacity other than the default.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::WorkerPool;
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let pool = WorkerPool::builder(3).capacity(10).build(|x: u8| async move { Ok::<_, BoxError>(x) });
    /// assert_eq!(pool.workers(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(workers: usize) -> Builder {
        Builder {
            workers,
            capacity: None,
        }
    }
}

impl<In, Out, E> WorkerPool<In, Out, E>
where
    In: Send + 'static,
    Out: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    /// Starts `workers` workers, each calling `handler` on one item at a time, over a queue
    /// that holds as many items as there are workers.
    ///
    /// # Panics
    ///
    /// Panics if `workers` is zero, or if called outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::WorkerPool;
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let pool = WorkerPool::new(2, |url: &'static str| async move {
    ///     Ok::<_, BoxError>(format!("<html>{url}</html>"))
    /// });
    /// assert_eq!(pool.submit("a.example").await?, "<html>a.example</html>");
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn new<F, Fut>(workers: usize, handler: F) -> Self
    where
        F: Fn(In) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Out, E>> + Send + 'static,
    {
        WorkerPool::builder(workers).build(handler)
    }
}

impl<In, Out, E> WorkerPool<In, Out, E> {
    /// Submits `item` and waits for its result.
    ///
    /// Waits for space first when the queue is full (backpressure; submitters are served first
    /// come, first served), then for a worker to run the job.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while it waits for space loses nothing: the item was not queued (it
    /// is dropped with the future, as Tokio's `send` drops its value). Dropping it once the item
    /// is queued withdraws the job: a worker that takes it skips it without calling the
    /// handler. A job already running when the future is dropped runs to its end, and a
    /// failure nobody can now receive is [reported](crate::report).
    ///
    /// # Errors
    ///
    /// [`SubmitError::Failed`] with the handler's error, [`SubmitError::Panicked`] if it
    /// panicked, [`SubmitError::Closed`] if the pool was shut down before the job ran (or, with
    /// [`shutdown_immediate`](WorkerPool::shutdown_immediate), while it ran).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::{SubmitError, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = WorkerPool::new(2, |n: u32| async move {
    ///     if n == 0 { Err("zero") } else { Ok(100 / n) }
    /// });
    /// assert_eq!(pool.submit(4).await?, 25);
    /// assert!(matches!(pool.submit(0).await, Err(SubmitError::Failed("zero"))));
    /// assert_eq!(pool.submit(5).await?, 20); // the worker carried on
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit(&self, item: In) -> Result<Out, SubmitError<E>> {
        let (reply, result) = oneshot::channel();
        if self.queue.put((item, reply)).await.is_err() {
            return Err(SubmitError::Closed);
        }
        result.await.unwrap_or(Err(SubmitError::Closed))
    }

    /// Stops taking items, lets the workers finish every job already queued, and waits until
    /// they have stopped. Submissions waiting for space, and any made afterwards, fail with
    /// [`SubmitError::Closed`].
    ///
    /// After [`shutdown_immediate`](WorkerPool::shutdown_immediate), it waits until the
    /// stopped workers are gone: when it returns, every job they were running has been dropped.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropping the future only stops the waiting; the pool is shut
    /// down from the first poll and its workers go on draining the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::{SubmitError, WorkerPool};
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let pool = WorkerPool::new(1, |n: u8| async move { Ok::<_, BoxError>(n) });
    /// pool.shutdown().await;
    /// assert!(matches!(pool.submit(1).await, Err(SubmitError::Closed)));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        self.queue.shutdown();
        self.shared.stopped.wait().await;
    }

    /// Stops now: takes every queued item out, stops the workers and returns the items that
    /// never ran, in queue order. Their submissions, and those of the jobs that were running,
    /// fail with [`SubmitError::Closed`]. Submissions withdrawn by their submitter are not
    /// returned.
    ///
    /// It does not wait: each worker's task is aborted, and the runtime drops it, with the job
    /// it was running, at the task's next turn, not before this returns (a job in the middle
    /// of a poll on another thread finishes that poll first; a panic of a job's destructor is
    /// [reported](crate::report)). Await [`shutdown`](WorkerPool::shutdown) afterwards to wait
    /// until every worker has stopped and dropped its job.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::pool::WorkerPool;
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let pool = WorkerPool::new(1, |n: u8| async move {
    ///     tokio::time::sleep(Duration::from_secs(1)).await;
    ///     Ok::<_, BoxError>(n)
    /// });
    /// assert!(pool.shutdown_immediate().is_empty()); // nothing was queued
    /// pool.shutdown().await; // the workers have stopped
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown_immediate(&self) -> Vec<In> {
        let jobs = self.queue.shutdown_immediate();
        for worker in &self.workers {
            worker.abort();
        }
        let mut left = Vec::with_capacity(jobs.len());
        for (item, reply) in jobs {
            if reply.is_closed() {
                // Withdrawn: nobody wants it back, and its destructor must not cost the others.
                drop_caught("dropping the item of a withdrawn submission", item);
            } else {
                left.push(item);
            }
        }
        left
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::WorkerPool;
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = WorkerPool::new(8, |x: u8| async move { Ok::<_, BoxError>(x) });
    /// assert_eq!(pool.workers(), 8);
    /// # }
    /// ```
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The number of items waiting in the queue (not those running).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::WorkerPool;
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = WorkerPool::new(2, |x: u8| async move { Ok::<_, BoxError>(x) });
    /// assert_eq!(pool.queued(), 0);
    /// # }
    /// ```
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether [`shutdown`](WorkerPool::shutdown) or
    /// [`shutdown_immediate`](WorkerPool::shutdown_immediate) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::WorkerPool;
    /// use corral::task::BoxError;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = WorkerPool::new(2, |x: u8| async move { Ok::<_, BoxError>(x) });
    /// pool.shutdown().await;
    /// assert!(pool.is_shutdown());
    /// # }
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.queue.is_shutdown()
    }
}

impl<In, Out, E> Drop for WorkerPool<In, Out, E> {
    fn drop(&mut self) {
        // Nobody can submit to a dropped pool, so nobody waits for what it still holds: it is
        // dropped here (and the last worker finds nothing left to report).
        let jobs = self.queue.shutdown_immediate();
        for worker in &self.workers {
            worker.abort();
        }
        // Each on its own: a destructor that panics is reported, and costs no other item.
        for (item, _) in jobs {
            drop_caught("dropping the item of a job that never ran", item);
        }
    }
}

impl<In, Out, E> fmt::Debug for WorkerPool<In, Out, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.workers.len())
            .field("queued", &self.queue.len())
            .field("shutdown", &self.queue.is_shutdown())
            .finish()
    }
}

/// The error of [`WorkerPool::submit`].
///
/// # Examples
///
/// ```
/// use corral::pool::{SubmitError, WorkerPool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = WorkerPool::new(1, |_: ()| async { if true { panic!("bug") } Ok::<(), String>(()) });
/// let Err(err) = pool.submit(()).await else {
///     return Err("the job panicked, so the submission fails".into());
/// };
/// assert!(matches!(err, SubmitError::Panicked(_)));
/// assert_eq!(err.to_string(), "job panicked: bug");
/// # Ok(())
/// # }
/// ```
#[non_exhaustive]
pub enum SubmitError<E> {
    /// The handler returned this error.
    Failed(E),
    /// The handler panicked; the worker went on.
    Panicked(JobPanic),
    /// The pool was shut down before the job could run (or, by `shutdown_immediate`, while it
    /// ran).
    Closed,
}

impl<E> SubmitError<E> {
    /// The handler's error, if the job failed with one.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::SubmitError;
    ///
    /// assert_eq!(SubmitError::Failed("full").into_error(), Some("full"));
    /// assert_eq!(SubmitError::<&str>::Closed.into_error(), None);
    /// ```
    pub fn into_error(self) -> Option<E> {
        match self {
            SubmitError::Failed(error) => Some(error),
            _ => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for SubmitError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Failed(error) => f.debug_tuple("Failed").field(error).finish(),
            SubmitError::Panicked(panic) => f.debug_tuple("Panicked").field(panic).finish(),
            SubmitError::Closed => f.write_str("Closed"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for SubmitError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Failed(error) => write!(f, "job failed: {error}"),
            SubmitError::Panicked(panic) => match panic.message() {
                Some(message) => write!(f, "job panicked: {message}"),
                None => f.write_str("job panicked"),
            },
            SubmitError::Closed => f.write_str("worker pool shut down"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for SubmitError<E> {}

/// A job's panic, as [`SubmitError::Panicked`] carries it: its message, and the payload for
/// [`std::panic::resume_unwind`].
///
/// # Examples
///
/// ```
/// use corral::pool::{SubmitError, WorkerPool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = WorkerPool::new(1, |n: u8| async move { assert!(n > 0, "n was {n}"); Ok::<_, String>(n) });
/// let Err(SubmitError::Panicked(panic)) = pool.submit(0).await else {
///     return Err("the job should have panicked".into());
/// };
/// assert_eq!(panic.message(), Some("n was 0"));
/// # Ok(())
/// # }
/// ```
pub struct JobPanic {
    message: Option<String>,
    // In a Mutex only so that the error is `Sync` (and so converts into a `BoxError`).
    payload: Mutex<PanicPayload>,
}

impl JobPanic {
    fn new(payload: PanicPayload) -> Self {
        Self {
            message: crate::task::panic_message(payload.as_ref()).map(str::to_owned),
            payload: Mutex::new(payload),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::{SubmitError, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = WorkerPool::new(1, |n: u8| async move {
    ///     if n == 0 { std::panic::panic_any(7_u8) }
    ///     Ok::<_, String>(n)
    /// });
    /// if let Err(SubmitError::Panicked(panic)) = pool.submit(0).await {
    ///     assert_eq!(panic.message(), None); // not a string
    /// }
    /// # }
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The payload, to resume the panic with [`std::panic::resume_unwind`].
    ///
    /// # Examples
    ///
    /// ```should_panic
    /// use corral::pool::{SubmitError, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = WorkerPool::new(1, |n: u8| async move {
    ///     if n == 0 { panic!("bug") }
    ///     Ok::<_, String>(n)
    /// });
    /// if let Err(SubmitError::Panicked(panic)) = pool.submit(0).await {
    ///     std::panic::resume_unwind(panic.into_payload());
    /// }
    /// # }
    /// ```
    pub fn into_payload(self) -> PanicPayload {
        self.payload
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for JobPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.message().unwrap_or("<non-string payload>"), f)
    }
}

/// Loom model of the count of live workers and the `stopped` event it sets. What is modelled:
/// `alive` (a loom atomic) and the event's flag and registration (see `sync::event`'s
/// models); the workers are threads that stop, since loom cannot run Tokio tasks.
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use loom::future::block_on;
    use loom::thread;

    use super::*;

    /// `shutdown`'s wait ends exactly when the last worker has stopped: two workers stop on
    /// two threads while the pool waits on `stopped`. The wait always returns (exactly one
    /// worker sees itself last and sets the event; loom reports a deadlock otherwise), and
    /// never before both are counted out.
    #[test]
    fn loom_worker_pool_stopped_is_set_by_the_last_worker_only() {
        loom::model(|| {
            let shared = Arc::new(Shared {
                alive: AtomicUsize::new(2),
                stopped: Event::new(),
                last_out: Box::new(|| {}),
            });
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let alive = Alive(shared.clone());
                    thread::spawn(move || drop(alive))
                })
                .collect();
            block_on(shared.stopped.wait());
            assert_eq!(
                shared.alive.load(Ordering::Acquire),
                0,
                "a worker still runs"
            );
            for worker in workers {
                worker.join().unwrap();
            }
        });
    }
}
