//! `ExitStack`: asyncio's `AsyncExitStack`.
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::runtime::Handle;

use crate::report::{ReportKind, drop_contained, report, report_failure};
use crate::task::{BoxError, ErrorGroup, Failure, PanicPayload};

type Cleanup<E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send + 'static>>;

/// How long the cleanups of a dropped stack may run on the runtime before they are abandoned.
pub(crate) const DEFAULT_DROP_TIMEOUT: Duration = Duration::from_secs(30);

/// A stack of async cleanups that run in reverse order: asyncio's `AsyncExitStack`.
///
/// Each [`enter`](Self::enter), [`push`](Self::push) or [`callback`](Self::callback) adds a
/// cleanup; [`close`](Self::close) runs them last-in first-out, every one of them even when
/// some fail or panic, and returns every failure. Call `close` on every path, success and
/// error alike; a stack that is dropped instead (an early `return`, a `?`, a cancelled task)
/// still runs its cleanups, as described below.
///
/// # Dropped without `close`
///
/// Rust has no async drop, so a stack cannot await its cleanups in its destructor. When it is
/// dropped with cleanups pending, it hands them, in the same reverse order, to a new task on
/// the current Tokio runtime, bounded by [`drop_timeout`](Self::drop_timeout) (30 seconds by
/// default); each failure, a panic, and running out of time are [reported](crate::report), never
/// lost. A runtime that shuts down first drops them unrun: that is reported too. Outside a
/// runtime nothing can run them: the stack reports how many it dropped. Cleanups dropped unrun
/// either way are dropped one by one, a panic of a destructor reported, never unwound. So
/// cleanups still run after an early return, but later than `close` would run them and with
/// nobody to return their errors to; `close` is the way to be sure they ran.
///
/// # Examples
///
/// The guides' `process_files`: open several resources, use them, close them all in reverse
/// order.
///
/// ```
/// use corral::scope::ExitStack;
/// use corral::task::BoxError;
///
/// struct File { name: String }
/// impl File {
///     async fn open(name: &str) -> Result<File, BoxError> { Ok(File { name: name.to_owned() }) }
///     async fn read(&self) -> String { format!("contents of {}", self.name) }
///     async fn close(&self) -> Result<(), BoxError> { println!("closed {}", self.name); Ok(()) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let mut stack = ExitStack::new();
/// let mut files = Vec::new();
/// for path in ["a.txt", "b.txt"] {
///     files.push(stack.enter(File::open(path), |f| async move { f.close().await }).await?);
/// }
/// let mut contents = Vec::new();
/// for f in &files {
///     contents.push(f.read().await);
/// }
/// stack.close().await?; // closes b.txt, then a.txt
/// assert_eq!(contents, ["contents of a.txt", "contents of b.txt"]);
/// # Ok(())
/// # }
/// ```
#[must_use = "call `close().await` to run the cleanups; a dropped stack runs them on a background task"]
pub struct ExitStack<E = BoxError>
where
    E: fmt::Debug + Send + 'static,
{
    cleanups: Vec<Cleanup<E>>,
    /// The cleanup `close` is running now, kept here so that a dropped `close` hands it on.
    current: Option<Cleanup<E>>,
    /// Failures `close` has seen so far, reported if `close` is dropped before returning them.
    errors: Vec<E>,
    panic: Option<PanicPayload>,
    drop_timeout: Duration,
}

impl ExitStack<BoxError> {
    /// An empty stack whose cleanups fail with a [`BoxError`]; [`ExitStack::default`] for any
    /// other error type.
    ///
    /// # Examples
    ///
    /// ```
    /// let stack = corral::scope::ExitStack::new();
    /// assert!(stack.is_empty());
    /// # drop(stack);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<E: fmt::Debug + Send + 'static> Default for ExitStack<E> {
    fn default() -> Self {
        Self {
            cleanups: Vec::new(),
            current: None,
            errors: Vec::new(),
            panic: None,
            drop_timeout: DEFAULT_DROP_TIMEOUT,
        }
    }
}

impl<E: fmt::Debug + Send + 'static> ExitStack<E> {
    /// Sets how long the cleanups of a dropped stack may run before they are abandoned (and
    /// that reported). `Duration::MAX` means no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let stack = corral::scope::ExitStack::new().drop_timeout(Duration::from_secs(5));
    /// # drop(stack);
    /// ```
    pub fn drop_timeout(mut self, timeout: Duration) -> Self {
        self.drop_timeout = timeout;
        self
    }

    /// Acquires a resource and registers its async release: `enter_async_context`.
    ///
    /// Awaits `acquire`; on success, pushes `release(resource)` as a cleanup and returns the
    /// resource behind an [`Arc`] (the stack keeps the other handle for the release; put a
    /// `Mutex` inside for mutable access). On failure nothing is registered.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropped before `acquire` completes, it registers nothing
    /// (whatever `acquire` had built is dropped with it).
    ///
    /// # Errors
    ///
    /// The error of `acquire`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), corral::task::BoxError> {
    /// let mut stack = corral::scope::ExitStack::new();
    /// let conn = stack
    ///     .enter(async { Ok("connection") }, |conn| async move {
    ///         println!("closing {conn}");
    ///         Ok(())
    ///     })
    ///     .await?;
    /// assert_eq!(*conn, "connection");
    /// stack.close().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn enter<R, A, F, Fut>(&mut self, acquire: A, release: F) -> Result<Arc<R>, E>
    where
        A: Future<Output = Result<R, E>>,
        R: Send + Sync + 'static,
        F: FnOnce(Arc<R>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let resource = Arc::new(acquire.await?);
        let held = Arc::clone(&resource);
        self.push(async move { release(held).await });
        Ok(resource)
    }

    /// Registers an async cleanup: `push_async_exit` / `push_async_callback`.
    ///
    /// The future does nothing until the stack runs it (an `async` block runs no code before
    /// its first poll).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), corral::task::BoxError> {
    /// let mut stack = corral::scope::ExitStack::new();
    /// stack.push(async { println!("flushed"); Ok(()) });
    /// stack.close().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn push<Fut>(&mut self, cleanup: Fut)
    where
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.cleanups.push(Box::pin(cleanup));
    }

    /// Registers a sync cleanup that cannot fail: `callback`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), corral::task::BoxError> {
    /// let mut stack = corral::scope::ExitStack::new();
    /// stack.callback(|| println!("second"));
    /// stack.callback(|| println!("first"));
    /// stack.close().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn callback<F>(&mut self, cleanup: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.push(async move {
            cleanup();
            Ok(())
        });
    }

    /// Moves every registered cleanup to a new stack and leaves this one empty: asyncio's
    /// `pop_all`, for "open everything or nothing": if a later step fails, this stack closes
    /// what was opened; once all succeeded, `pop_all` hands the resources' cleanups on to
    /// whoever keeps the resources.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::scope::ExitStack;
    /// use corral::task::BoxError;
    ///
    /// async fn open_all(names: &[&'static str]) -> Result<ExitStack, BoxError> {
    ///     let mut stack = ExitStack::new();
    ///     for &name in names {
    ///         if name.is_empty() {
    ///             stack.close().await?; // close what was opened, then fail
    ///             return Err("empty name".into());
    ///         }
    ///         stack.callback(move || println!("closed {name}"));
    ///     }
    ///     Ok(stack.pop_all()) // success: the caller owns the cleanups now
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), BoxError> {
    /// let opened = open_all(&["a", "b"]).await?;
    /// assert_eq!(opened.len(), 2);
    /// opened.close().await?;
    /// assert!(open_all(&["a", ""]).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn pop_all(&mut self) -> Self {
        Self {
            cleanups: std::mem::take(&mut self.cleanups),
            current: None,
            errors: Vec::new(),
            panic: None,
            drop_timeout: self.drop_timeout,
        }
    }

    /// The number of cleanups registered and not yet run.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stack = corral::scope::ExitStack::new();
    /// stack.callback(|| ());
    /// assert_eq!(stack.len(), 1);
    /// # std::mem::forget(stack);
    /// ```
    pub fn len(&self) -> usize {
        self.cleanups.len()
    }

    /// Whether no cleanup is registered.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(corral::scope::ExitStack::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cleanups.is_empty()
    }

    /// Runs every cleanup, last registered first, and returns every failure.
    ///
    /// A cleanup that fails or panics does not stop the others. When one panicked, the first
    /// panic resumes here once all have run (the errors collected alongside are reported).
    ///
    /// # Cancel safety
    ///
    /// Dropping this future mid-way hands the cleanup it was running and those not yet run to
    /// a runtime task, as dropping the stack does, and reports the failures it had collected:
    /// no cleanup is skipped and no failure is lost, but nobody can await them any more.
    ///
    /// # Errors
    ///
    /// An [`ErrorGroup`] with every cleanup error, in the order they happened.
    ///
    /// # Panics
    ///
    /// Resumes the first panic of a cleanup, after every cleanup ran.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut stack = corral::scope::ExitStack::new();
    /// stack.push(async { Err("flush failed".into()) });
    /// stack.push(async { Err("close failed".into()) });
    /// let errors = stack.close().await.expect_err("both failed");
    /// let messages: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    /// assert_eq!(messages, ["close failed", "flush failed"]); // reverse order, none lost
    /// # }
    /// ```
    pub async fn close(mut self) -> Result<(), ErrorGroup<E>> {
        while let Some(cleanup) = self.cleanups.pop() {
            let current = self.current.insert(cleanup);
            let outcome = AssertUnwindSafe(current.as_mut()).catch_unwind().await;
            // The finished cleanup is dropped here: a destructor that panics is its panic.
            let dropped = catch_unwind(AssertUnwindSafe(|| self.current = None));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => self.errors.push(error),
                Err(payload) => self.keep_panic(payload),
            }
            if let Err(payload) = dropped {
                self.keep_panic(payload);
            }
        }
        let errors = std::mem::take(&mut self.errors);
        if let Some(payload) = self.panic.take() {
            for error in errors {
                report_failure("ExitStack", Failure::Error(error));
            }
            resume_unwind(payload);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ErrorGroup::from_errors(errors))
        }
    }

    /// Keeps the first panic of a cleanup, to resume once every cleanup ran; reports the
    /// others.
    fn keep_panic(&mut self, payload: PanicPayload) {
        match self.panic {
            None => self.panic = Some(payload),
            Some(_) => report_failure::<E>("ExitStack", Failure::Panic(payload)),
        }
    }
}

impl<E: fmt::Debug + Send + 'static> Drop for ExitStack<E> {
    fn drop(&mut self) {
        for error in self.errors.drain(..) {
            report_failure("ExitStack", Failure::Error(error));
        }
        if let Some(payload) = self.panic.take() {
            report_failure::<E>("ExitStack", Failure::Panic(payload));
        }
        let mut pending: Vec<Cleanup<E>> = self.current.take().into_iter().collect();
        pending.extend(self.cleanups.drain(..).rev());
        if pending.is_empty() {
            return;
        }
        match Handle::try_current() {
            Ok(_) => {
                let unfinished = Unfinished::new(
                    "ExitStack",
                    format!("{} cleanups of a dropped stack", pending.len()),
                );
                spawn_detached(
                    pending,
                    self.drop_timeout,
                    unfinished,
                    "corral::scope::ExitStack (the cleanups of a dropped stack)",
                );
            }
            Err(_) => {
                report(
                    "ExitStack",
                    ReportKind::Error,
                    &format_args!(
                        "dropped outside a tokio runtime: {} cleanups could not run",
                        pending.len()
                    ),
                );
                // Each under a catch: a destructor's panic must not leave this `drop`.
                for cleanup in pending {
                    drop_contained(
                        "ExitStack",
                        "dropping a cleanup that could not run",
                        cleanup,
                    );
                }
            }
        }
    }
}

/// Reports, if it is dropped before [`run_detached`] ran to the end, that the cleanups it
/// stands for did not: a runtime that is shutting down drops a task spawned then without
/// polling it, and drops a running one mid-way.
pub(crate) struct Unfinished {
    source: &'static str,
    /// What did not run, for the report: "2 cleanups of a dropped stack".
    what: String,
    armed: bool,
}

impl Unfinished {
    pub(crate) fn new(source: &'static str, what: String) -> Self {
        Self {
            source,
            what,
            armed: true,
        }
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.armed {
            report(
                self.source,
                ReportKind::Error,
                &format_args!("the runtime shut down before {} ran", self.what),
            );
        }
    }
}

/// Spawns [`run_detached`] on the current runtime (there must be one), watched in debug mode
/// under `name`: the cleanups are the caller's code. The spawn site in a report is the line of
/// corral that calls this, from a destructor, where the caller's own site is not known.
#[track_caller]
pub(crate) fn spawn_detached<E: fmt::Debug + Send + 'static>(
    pending: Vec<Cleanup<E>>,
    limit: Duration,
    unfinished: Unfinished,
    name: &'static str,
) {
    drop(crate::debug::spawn(
        run_detached(pending, limit, unfinished),
        0,
        name,
        std::panic::Location::caller(),
    ));
}

/// Runs the cleanups of a dropped stack, in order, within `limit`, reporting every failure;
/// `unfinished` reports if the task is dropped first.
///
/// Not an `async fn`: the cleanups go into their [`Left`] guard before the future exists, so a
/// runtime that shuts down and drops the task unpolled drops them through the guard too (each
/// under a catch, a destructor's panic reported), not as the bare captured `Vec`, whose
/// destructor's panic Tokio would swallow.
fn run_detached<E: fmt::Debug + Send + 'static>(
    pending: Vec<Cleanup<E>>,
    limit: Duration,
    unfinished: Unfinished,
) -> impl Future<Output = ()> + Send + 'static {
    let total = pending.len();
    // Owned out here, not by `run_all`, so that the time running out drops nothing in the
    // middle of the `timeout` (where a destructor's panic would end this task unreported).
    let left = Left {
        source: unfinished.source,
        current: None,
        rest: pending.into_iter(),
    };
    run_left(left, total, limit, unfinished)
}

async fn run_left<E: fmt::Debug + Send + 'static>(
    mut left: Left<E>,
    total: usize,
    limit: Duration,
    mut unfinished: Unfinished,
) {
    let mut done = 0;
    let source = unfinished.source;
    let run_all = async {
        while let Some(cleanup) = left.rest.next() {
            let current = left.current.insert(cleanup);
            let outcome = AssertUnwindSafe(current.as_mut()).catch_unwind().await;
            // The finished cleanup is dropped here: a destructor that panics is its panic.
            let dropped = catch_unwind(AssertUnwindSafe(|| left.current = None));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => report_failure(source, Failure::Error(error)),
                Err(payload) => report_failure::<E>(source, Failure::Panic(payload)),
            }
            if let Err(payload) = dropped {
                report_failure::<E>(source, Failure::Panic(payload));
            }
            done += 1;
        }
    };
    let finished = match crate::time::timer_after(limit) {
        Some(deadline) => tokio::time::timeout_at(deadline, run_all).await.is_ok(),
        None => {
            run_all.await;
            true
        }
    };
    unfinished.armed = false;
    if !finished {
        report(
            unfinished.source,
            ReportKind::Error,
            &format_args!(
                "{} timed out after {limit:?}: {} of {total} did not finish",
                unfinished.what,
                total - done
            ),
        );
        drop(left); // each dropped under a catch, a panic reported
    }
}

/// The cleanups [`run_detached`] has not finished: the one running and those after it. When
/// they are dropped unfinished (the time ran out, or the runtime shut down), each is dropped
/// under `catch_unwind`, and a panic of its destructor is reported.
struct Left<E> {
    source: &'static str,
    current: Option<Cleanup<E>>,
    rest: std::vec::IntoIter<Cleanup<E>>,
}

impl<E> Drop for Left<E> {
    fn drop(&mut self) {
        for cleanup in self.current.take().into_iter().chain(self.rest.by_ref()) {
            drop_contained(
                self.source,
                "dropping a cleanup that did not finish",
                cleanup,
            );
        }
    }
}

impl<E: fmt::Debug + Send + 'static> fmt::Debug for ExitStack<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitStack")
            .field("pending", &self.cleanups.len())
            .field("drop_timeout", &self.drop_timeout)
            .finish_non_exhaustive()
    }
}
