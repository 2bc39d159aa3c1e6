//! Sync code in async code and back: executors and bridges.
//!
//! # Coming from asyncio
//!
//! | asyncio | corral |
//! |---|---|
//! | `loop.run_in_executor(None, f, *args)` (blocking I/O) | [`run_blocking`] |
//! | `ThreadPoolExecutor(max_workers=n)` + `run_in_executor(executor, ...)` | [`run_blocking`] (Tokio's pool), or a [`Semaphore`](crate::sync::Semaphore) around it to cap it at `n` |
//! | `run_in_executor(ProcessPoolExecutor(), cpu_bound, data)` | [`run_cpu`] (threads run in parallel in Rust) |
//! | a process for isolation (a crash must not take the program down) | [`std::process::Command`] inside [`run_blocking`], or `tokio::process` |
//! | `to_async(func)` (the guides' decorator) | [`to_async`] |
//! | `sync_wrapper(coro)` / `loop.run_until_complete(coro)` / `asyncio.run(main())` | [`block_on`] from sync code; `#[tokio::main]` for a program's `main` |
//! | `time.sleep(10)` inside `async def` (the guides' "blocking the event loop") | `tokio::time::sleep(..).await`; blocking calls go through [`run_blocking`] |
//!
//! # Choosing
//!
//! - **Blocking I/O** (a file read with `std::fs`, a sync database driver, DNS through libc):
//!   [`run_blocking`]. It runs on Tokio's blocking pool, which grows up to 512 threads, because
//!   such jobs mostly wait.
//! - **CPU-bound work** (hashing, parsing, compression): [`run_cpu`]. It runs on rayon's pool,
//!   one thread per core, so a burst of CPU jobs queues there instead of filling the blocking
//!   pool (and the cores) with hundreds of threads, and blocking I/O keeps its threads.
//!   Python needs a `ProcessPoolExecutor` for this because of the GIL; Rust threads run in
//!   parallel, so a process is only worth it for isolation: run a program with
//!   [`std::process::Command`] inside [`run_blocking`].
//! - **An async function called from sync code**: [`block_on`], which refuses (with
//!   [`BlockOnError`]) to run where a runtime is current: in async code, where Tokio would
//!   panic, and in a [`run_blocking`] job, which should use the runtime it runs on.
//!
//! # Panics
//!
//! A panic in the closure is caught on the pool's thread and resumed in the task that awaits
//! the job, with its original payload, as awaiting a thread's `join` would. It is never lost
//! and never takes down a pool thread. (The other choice, returning it as an error, would make
//! every caller handle a case that is a bug; a [`TaskGroup`](crate::task::TaskGroup) around
//! the caller already turns panics into a clean cancellation of the siblings.) A panic whose
//! future is dropped before taking it (the job panicked after the drop, or before it but
//! after the future's last poll) has nobody to resume in: it is [reported](crate::report). So is a panic in the destructor of what nobody awaits any more:
//! the result of a job whose future was dropped, or a job dropped before it ran (on a rayon
//! thread such a panic would abort the process).
//!
//! # Cancel safety, and why a blocking job cannot be stopped
//!
//! Dropping the future of a job (in `select!`, or by a timeout) loses its result, and:
//!
//! - a job that has not started yet never starts;
//! - a job that is running runs to its end: no one, not Tokio nor the OS, can safely stop a
//!   thread in the middle of arbitrary code. The `_with` forms ([`run_blocking_with`],
//!   [`run_cpu_with`]) hand the job a [`CancellationToken`] that reports
//!   [`is_cancelled`](CancellationToken::is_cancelled) once its future was dropped, so a long
//!   job can check it between steps and return early.
//!
//! # What the crates lacked
//!
//! Tokio's `spawn_blocking` and rayon's `spawn` do the running. corral adds: the result and the
//! panic of a rayon job brought back to an `await` (rayon's `spawn` aborts the process on a
//! panic, and has no result), the drop-to-cancel token, a typed error instead of Tokio's panics
//! when there is no runtime (or when `block_on` is called inside one), and `to_async`.
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
pub use tokio_util::sync::CancellationToken;

use crate::task::{Failure, PanicPayload};

/// Runs a blocking closure on Tokio's blocking pool and awaits its result.
///
/// The job is handed to the pool when `run_blocking` is called, as with
/// [`tokio::task::spawn_blocking`] and asyncio's `run_in_executor` (not on the first poll).
/// Use it for work that waits: sync file or network I/O, sync database drivers. For CPU-bound
/// work use [`run_cpu`].
///
/// # Cancel safety
///
/// Dropping the future loses the result. A job that has not started yet never starts; a job
/// that is running runs to its end (see the [module docs](self)); use [`run_blocking_with`] to
/// let it notice.
///
/// # Panics
///
/// A panic in `f` resumes in the task that awaits the [`Blocking`] future.
///
/// # Errors
///
/// [`BlockingError`] when called outside a Tokio runtime, or when the runtime shut down before
/// the job ran.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), corral::task::BoxError> {
/// let dir = std::env::temp_dir();
/// let entries = corral::blocking::run_blocking(move || std::fs::read_dir(dir).map(|d| d.count())).await??;
/// println!("{entries} entries in the temp dir");
/// # Ok(())
/// # }
/// ```
pub fn run_blocking<F, R>(f: F) -> Blocking<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_job(move || Some(f()), None)
}

/// Like [`run_blocking`], and the job gets a [`CancellationToken`] that is cancelled when its
/// future is dropped.
///
/// # Cancel safety
///
/// Dropping the future loses the result and cancels the token: a job that has not started
/// never starts, a running one sees [`is_cancelled`](CancellationToken::is_cancelled) return
/// `true` and may stop early.
///
/// # Panics
///
/// A panic in `f` resumes in the task that awaits the [`Blocking`] future.
///
/// # Errors
///
/// As [`run_blocking`].
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use corral::blocking::run_blocking_with;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), corral::task::BoxError> {
/// let (chunks, incoming) = mpsc::channel();
/// let (report, mut progress) = tokio::sync::mpsc::unbounded_channel();
/// let job = run_blocking_with(move |token| {
///     let mut total = 0;
///     for chunk in incoming {
///         if token.is_cancelled() {
///             break; // nobody waits for the result any more: stop early
///         }
///         total += chunk; // one step of blocking work
///         if report.send(total).is_err() {
///             break;
///         }
///     }
///     total
/// });
/// chunks.send(1)?;
/// assert_eq!(progress.recv().await, Some(1), "the job is running");
///
/// // Give up on the job (a `timeout` or a lost `select!` drops it the same way).
/// drop(job);
/// chunks.send(2)?;
/// // The job saw the cancellation and returned without handling chunk 2: its report
/// // channel closed with no more progress.
/// assert_eq!(progress.recv().await, None);
/// # Ok(())
/// # }
/// ```
pub fn run_blocking_with<F, R>(f: F) -> Blocking<R>
where
    F: FnOnce(CancellationToken) -> R + Send + 'static,
    R: Send + 'static,
{
    let token = CancellationToken::new();
    let job_token = token.clone();
    spawn_job(
        move || {
            // A job whose future is gone before it starts does not start (`abort` may
            // already have stopped it; this covers the race).
            if job_token.is_cancelled() {
                return None;
            }
            Some(f(job_token))
        },
        Some(token),
    )
}

fn spawn_job<R, J>(job: J, token: Option<CancellationToken>) -> Blocking<R>
where
    J: FnOnce() -> Option<R> + Send + 'static,
    R: Send + 'static,
{
    // The panic is caught here, not by Tokio, so that one nobody receives is reported; and the
    // job, then its result, are carried so that Tokio, which drops them unread once the future
    // is gone (and swallows a panic there), drops them under our catch.
    let job = Carried::new("run_blocking", "dropping a job that never ran", job);
    let job = move || {
        let Some(job) = job.into_inner() else {
            // Not reached: the carrier holds the job until now.
            return Err(Unclaimed::new("run_blocking", None));
        };
        catch_unwind(AssertUnwindSafe(job))
            .map(|value| Carried::new("run_blocking", RESULT_DROPPED, value))
            .map_err(|payload| Unclaimed::new("run_blocking", Some(payload)))
    };
    let inner = match Handle::try_current() {
        Ok(handle) => Inner::Running(handle.spawn_blocking(job)),
        Err(_) => Inner::Failed(Some(BlockingError::no_runtime())),
    };
    Blocking { inner, token }
}

/// Runs a CPU-bound closure on rayon's thread pool (one thread per core) and awaits its result.
///
/// The job is queued when `run_cpu` is called. It needs no Tokio runtime: the result comes
/// back through a oneshot channel, so `run_cpu` works under any executor.
///
/// This is the Rust answer to asyncio's `ProcessPoolExecutor`: Rust threads run in parallel,
/// so CPU work needs no second process. For isolation (a crash or a leak must not reach this
/// process), run a program in [`run_blocking`]:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), corral::task::BoxError> {
/// let output = corral::blocking::run_blocking(|| std::process::Command::new("echo").arg("isolated").output()).await??;
/// assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "isolated");
/// # Ok(())
/// # }
/// ```
///
/// # Cancel safety
///
/// Dropping the future loses the result; a job that has not started yet never starts, a
/// running one runs to its end (use [`run_cpu_with`] to let it notice).
///
/// # Panics
///
/// A panic in `f` is caught on the rayon thread (where it would otherwise abort the process)
/// and resumes in the task that awaits the [`Cpu`] future.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// fn fib(n: u64) -> u64 {
///     if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
/// }
/// let (a, b) = tokio::join!(corral::blocking::run_cpu(|| fib(25)), corral::blocking::run_cpu(|| fib(26)));
/// assert_eq!(a + b, fib(27));
/// # }
/// ```
pub fn run_cpu<F, R>(f: F) -> Cpu<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_cpu(move |_| f(), None)
}

/// Like [`run_cpu`], and the job gets a [`CancellationToken`] that is cancelled when its future
/// is dropped.
///
/// # Cancel safety
///
/// Dropping the future loses the result and cancels the token: a job that has not started
/// never starts, a running one sees [`is_cancelled`](CancellationToken::is_cancelled) return
/// `true`.
///
/// # Panics
///
/// A panic in `f` resumes in the task that awaits the [`Cpu`] future.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let primes = corral::blocking::run_cpu_with(|token| {
///     (2..10_000_u32)
///         .take_while(|_| !token.is_cancelled())
///         .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
///         .count()
/// })
/// .await;
/// assert_eq!(primes, 1229);
/// # }
/// ```
pub fn run_cpu_with<F, R>(f: F) -> Cpu<R>
where
    F: FnOnce(CancellationToken) -> R + Send + 'static,
    R: Send + 'static,
{
    let token = CancellationToken::new();
    let job_token = token.clone();
    spawn_cpu(move |()| f(job_token), Some(token))
}

fn spawn_cpu<R, J>(job: J, token: Option<CancellationToken>) -> Cpu<R>
where
    J: FnOnce(()) -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    // Nothing of the caller's may unwind out of this closure: rayon aborts the process when a
    // job panics. The job and its result are carried, so that dropping either unread (the job
    // skipped, the result unsent) catches and reports a panic of its destructor.
    let job = Carried::new("run_cpu", "dropping a job that never ran", job);
    rayon::spawn(move || {
        // The receiver is closed only when the future was dropped: skip a job nobody awaits.
        if tx.is_closed() {
            return;
        }
        let Some(job) = job.into_inner() else {
            return;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| job(())))
            .map(|value| Carried::new("run_cpu", RESULT_DROPPED, value))
            .map_err(|payload| Unclaimed::new("run_cpu", Some(payload)));
        // Nobody wants an outcome the future does not take: the future was dropped before it
        // was sent (it comes back here), or after, before its next poll (it is dropped with
        // the channel). Either way its carrier drops the result under a catch, and reports
        // the panic.
        drop(tx.send(outcome));
    });
    Cpu { rx, token }
}

/// Turns a sync function into an async one that runs on the blocking pool: the guides'
/// `to_async` decorator.
///
/// The function takes one argument; pass a tuple for several. Each call returns a
/// [`Blocking`] future, as [`run_blocking`] does.
///
/// # Cancel safety
///
/// As [`run_blocking`]: dropping a call's future loses its result; a call that has not
/// started never starts, a running one runs to its end.
///
/// # Examples
///
/// ```
/// use corral::blocking::to_async;
///
/// fn checksum((data, seed): (Vec<u8>, u32)) -> u32 {
///     data.iter().fold(seed, |acc, b| acc.wrapping_mul(31).wrapping_add(u32::from(*b)))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), corral::task::BoxError> {
/// let checksum_async = to_async(checksum);
/// let sum = checksum_async((b"hello".to_vec(), 7)).await?;
/// assert_eq!(sum, checksum((b"hello".to_vec(), 7)));
/// # Ok(())
/// # }
/// ```
pub fn to_async<F, A, R>(f: F) -> impl Fn(A) -> Blocking<R> + Clone + Send + Sync + 'static
where
    F: Fn(A) -> R + Send + Sync + 'static,
    A: Send + 'static,
    R: Send + 'static,
{
    let f = Arc::new(f);
    move |arg| {
        let f = Arc::clone(&f);
        run_blocking(move || f(arg))
    }
}

/// Runs a future to completion from sync code, on a new current-thread runtime: asyncio's
/// `asyncio.run` and the guides' `sync_wrapper`.
///
/// Each call builds a runtime (with I/O and time enabled), runs `fut` on it and shuts it down,
/// as `sync_wrapper` makes and closes a loop; tasks that `fut` spawned and left running are
/// dropped with it. A program's `main` uses `#[tokio::main]` instead, and code that already
/// holds a runtime calls its [`Runtime::block_on`](tokio::runtime::Runtime::block_on).
///
/// # Errors
///
/// [`BlockOnError::InsideRuntime`] when a Tokio runtime is current on this thread:
/// - in async code (an `async fn`, a task), where Tokio would panic ("Cannot start a runtime
///   from within a runtime"): `.await` the future instead;
/// - in a [`run_blocking`] job (a blocking-pool thread). Tokio would allow a second runtime
///   there, but one built and torn down per call, beside the runtime the job already belongs
///   to, is rarely what is meant: use `Handle::current().block_on(fut)`, which runs `fut` on
///   that runtime (its timers and I/O included).
///
/// [`BlockOnError::Build`] when the runtime cannot be built (the OS refused a thread or an
/// I/O driver).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// async fn fetch_data(url: &str) -> String {
///     tokio::time::sleep(Duration::from_millis(1)).await;
///     format!("data from {url}")
/// }
///
/// fn main() -> Result<(), corral::blocking::BlockOnError> {
///     let data = corral::blocking::block_on(fetch_data("https://api.example.com"))?;
///     assert_eq!(data, "data from https://api.example.com");
///     Ok(())
/// }
/// ```
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, BlockOnError> {
    if Handle::try_current().is_ok() {
        return Err(BlockOnError::InsideRuntime);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BlockOnError::Build)?;
    Ok(runtime.block_on(fut))
}

enum Inner<R> {
    Running(JoinHandle<Result<Carried<Option<R>>, Unclaimed>>),
    Failed(Option<BlockingError>),
}

/// What a job result is called in the report of a panic in its destructor.
const RESULT_DROPPED: &str = "dropping the result of a job nobody awaits";

/// A value of the caller's on its way through a pool, the job before it runs or its result
/// before the future takes it. Dropped on the way (the future was dropped, so the job is
/// skipped or its result unsent), it is dropped under `catch_unwind` and a panic of its
/// destructor is reported: on a rayon thread that panic would abort the process, and Tokio
/// swallows one in a task's output that nobody reads.
struct Carried<T> {
    value: Option<T>,
    source: &'static str,
    /// What dropping it means, for the report.
    what: &'static str,
}

impl<T> Carried<T> {
    fn new(source: &'static str, what: &'static str, value: T) -> Self {
        Self {
            value: Some(value),
            source,
            what,
        }
    }

    /// The value, taken out of the carrier (always there until taken).
    fn into_inner(mut self) -> Option<T> {
        self.value.take()
    }
}

impl<T> Drop for Carried<T> {
    fn drop(&mut self) {
        let Some(value) = self.value.take() else {
            return;
        };
        crate::report::drop_contained(self.source, self.what, value);
    }
}

/// A job's panic on its way to the [`Blocking`] or [`Cpu`] future. Tokio drops a task's
/// output unread when its `JoinHandle` is gone, and a oneshot drops a value unread with its
/// receiver, so a panic whose future was dropped (before or after the job ended, but before
/// the future's next poll) ends here, unclaimed, and is reported: it costs nothing on the way
/// to a future that takes it.
struct Unclaimed {
    payload: Option<PanicPayload>,
    /// Who reports it: `run_blocking` or `run_cpu`.
    source: &'static str,
}

impl Unclaimed {
    fn new(source: &'static str, payload: Option<PanicPayload>) -> Self {
        Self { payload, source }
    }

    /// The panic, claimed: no longer reported.
    fn claim(mut self) -> Option<PanicPayload> {
        self.payload.take()
    }
}

impl Drop for Unclaimed {
    fn drop(&mut self) {
        if let Some(payload) = self.payload.take() {
            crate::report::report_failure::<()>(self.source, Failure::Panic(payload));
        }
    }
}

/// The future of a [`run_blocking`] job: its result, or a [`BlockingError`].
///
/// Dropping it loses the result and cancels the job's token; a job that has not started never
/// starts.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), corral::task::BoxError> {
/// let job: corral::blocking::Blocking<u32> = corral::blocking::run_blocking(|| 6 * 7);
/// assert_eq!(job.await?, 42);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Blocking<R> {
    inner: Inner<R>,
    /// The `_with` job's token, cancelled on drop.
    token: Option<CancellationToken>,
}

impl<R> Future for Blocking<R> {
    type Output = Result<R, BlockingError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            Inner::Failed(error) => {
                Poll::Ready(Err(error.take().unwrap_or_else(BlockingError::shutdown)))
            }
            Inner::Running(handle) => {
                let outcome = ready!(Pin::new(handle).poll(cx));
                // Finished: nothing is left for `drop` to abort.
                self.inner = Inner::Failed(None);
                match outcome {
                    Ok(Ok(carried)) => match carried.into_inner().flatten() {
                        Some(value) => Poll::Ready(Ok(value)),
                        // The job skips itself only once this future is dropped: unreachable.
                        None => Poll::Ready(Err(BlockingError::shutdown())),
                    },
                    Ok(Err(unclaimed)) => match unclaimed.claim() {
                        Some(payload) => resume_unwind(payload),
                        None => Poll::Ready(Err(BlockingError::shutdown())),
                    },
                    // Cancelled: the runtime shut down before the job ran.
                    Err(_) => Poll::Ready(Err(BlockingError::shutdown())),
                }
            }
        }
    }
}

impl<R> Drop for Blocking<R> {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
        if let Inner::Running(handle) = &self.inner {
            // Stops a job that has not started; a running one is out of reach.
            handle.abort();
        }
    }
}

impl<R> fmt::Debug for Blocking<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking")
            .field(
                "cancelled",
                &self.token.as_ref().map(CancellationToken::is_cancelled),
            )
            .finish_non_exhaustive()
    }
}

/// The future of a [`run_cpu`] job: its result.
///
/// Dropping it loses the result and cancels the job's token; a job that has not started never
/// starts.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let job: corral::blocking::Cpu<u64> = corral::blocking::run_cpu(|| (1..=20).product());
/// assert_eq!(job.await, 2_432_902_008_176_640_000);
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Cpu<R> {
    rx: oneshot::Receiver<Result<Carried<R>, Unclaimed>>,
    /// The `_with` job's token, cancelled on drop.
    token: Option<CancellationToken>,
}

impl<R> Future for Cpu<R> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        match ready!(Pin::new(&mut self.rx).poll(cx)) {
            Ok(Ok(carried)) => match carried.into_inner() {
                Some(value) => Poll::Ready(value),
                None => unrun(),
            },
            Ok(Err(unclaimed)) => match unclaimed.claim() {
                Some(payload) => resume_unwind(payload),
                None => unrun(),
            },
            // The job drops its sender unsent only when the receiver (this future) is gone, and
            // rayon's global pool never drops a queued job: unreachable while we are polled.
            Err(_) => unrun(),
        }
    }
}

/// The end of a [`Cpu`] future whose job gave no result, which cannot happen (see `poll`).
fn unrun() -> ! {
    resume_unwind(Box::new(
        "corral::blocking: the rayon job was dropped unrun",
    ))
}

impl<R> Drop for Cpu<R> {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl<R> fmt::Debug for Cpu<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cpu")
            .field(
                "cancelled",
                &self.token.as_ref().map(CancellationToken::is_cancelled),
            )
            .finish_non_exhaustive()
    }
}

/// Why a [`run_blocking`] job gave no result.
///
/// # Examples
///
/// ```
/// // Outside a runtime, the job cannot reach Tokio's blocking pool.
/// let job = corral::blocking::run_blocking(|| 1);
/// let Err(error) = futures::executor::block_on(job) else {
///     return Err("expected no runtime here".into());
/// };
/// assert!(error.is_no_runtime());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BlockingError {
    kind: BlockingErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockingErrorKind {
    NoRuntime,
    Shutdown,
}

impl BlockingError {
    fn no_runtime() -> Self {
        Self {
            kind: BlockingErrorKind::NoRuntime,
        }
    }

    fn shutdown() -> Self {
        Self {
            kind: BlockingErrorKind::Shutdown,
        }
    }

    /// Whether the job was started outside a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let job = corral::blocking::run_blocking(|| ());
    /// assert!(matches!(futures::executor::block_on(job), Err(error) if error.is_no_runtime()));
    /// ```
    pub fn is_no_runtime(&self) -> bool {
        self.kind == BlockingErrorKind::NoRuntime
    }

    /// Whether the runtime shut down before the job ran.
    ///
    /// # Examples
    ///
    /// ```
    /// // No runtime at all: not the same as one that shut down.
    /// let job = corral::blocking::run_blocking(|| ());
    /// assert!(matches!(futures::executor::block_on(job), Err(error) if !error.is_shutdown()));
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.kind == BlockingErrorKind::Shutdown
    }
}

impl fmt::Display for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            BlockingErrorKind::NoRuntime => "blocking job started outside a tokio runtime",
            BlockingErrorKind::Shutdown => "runtime shut down before the blocking job ran",
        })
    }
}

impl Error for BlockingError {}

/// Why [`block_on`] did not run the future.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Inside a runtime, `block_on` refuses instead of panicking deep in Tokio.
/// let refused = corral::blocking::block_on(async { 1 });
/// assert!(matches!(refused, Err(corral::blocking::BlockOnError::InsideRuntime)));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BlockOnError {
    /// Called where a Tokio runtime is current: `.await` the future instead (in a
    /// [`run_blocking`] job, use `Handle::current().block_on(fut)`).
    InsideRuntime,
    /// The runtime could not be built.
    Build(std::io::Error),
}

impl fmt::Display for BlockOnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InsideRuntime => {
                f.write_str("block_on called inside a tokio runtime: await the future instead")
            }
            Self::Build(_) => f.write_str("could not build a runtime for block_on"),
        }
    }
}

impl Error for BlockOnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::InsideRuntime => None,
            Self::Build(error) => Some(error),
        }
    }
}
