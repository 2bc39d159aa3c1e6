//! `Session` and `with_session`: the guides' database session (commit on success, rollback on
//! error, close always).
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;
use std::time::Duration;

use tokio::runtime::Handle;

use super::exit_stack::{DEFAULT_DROP_TIMEOUT, Unfinished, spawn_detached};
use crate::report::{ReportKind, drop_contained, report, report_failure};
use crate::task::Failure;

/// A resource with an async end: the guides' `DatabaseSession` (`__aenter__`/`__aexit__`).
///
/// [`with_session`] calls [`commit`](Self::commit) when the body succeeds,
/// [`rollback`](Self::rollback) when it (or the commit) fails, and [`close`](Self::close)
/// always. `commit` and `rollback` do nothing by default, so a resource that only needs
/// closing (the guides' `get_connection`) implements `close` alone.
///
/// # Examples
///
/// ```
/// use corral::scope::Session;
///
/// # #[allow(dead_code)]
/// struct Connection { id: u32 }
///
/// impl Session for Connection {
///     type Error = std::io::Error;
///     async fn close(self) -> Result<(), std::io::Error> {
///         println!("connection {} closed", self.id);
///         Ok(())
///     }
/// }
/// ```
pub trait Session: Send + Sized + 'static {
    /// What commit, rollback and close fail with.
    type Error: Send + 'static;

    /// Makes the body's work permanent. Called once, when the body returned `Ok`.
    ///
    /// # Cancel safety
    ///
    /// [`with_session`] drops this future only when its own future is dropped (a timeout,
    /// `select!`, a cancelled task) while the commit runs. The session is then handed to a
    /// task on the current runtime that calls [`rollback`](Self::rollback) and then
    /// [`close`](Self::close), bounded by 30 seconds, with every failure
    /// [reported](crate::report) (outside a runtime, the session is only dropped, and that is
    /// reported). So a commit cut short is followed by a rollback: write `commit` so that,
    /// dropped part way, it leaves nothing a rollback cannot undo.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use corral::scope::{Session, with_session};
    ///
    /// struct Tx { committed: Arc<AtomicBool> }
    ///
    /// impl Session for Tx {
    ///     type Error = std::io::Error;
    ///     async fn commit(&mut self) -> Result<(), Self::Error> {
    ///         self.committed.store(true, Ordering::Release);
    ///         Ok(())
    ///     }
    ///     async fn close(self) -> Result<(), Self::Error> { Ok(()) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let committed = Arc::new(AtomicBool::new(false));
    /// let tx = Tx { committed: Arc::clone(&committed) };
    /// with_session(async { Ok(tx) }, async |_: &mut Tx| Ok::<_, std::io::Error>(())).await?;
    /// assert!(committed.load(Ordering::Acquire)); // the body succeeded
    /// # Ok(())
    /// # }
    /// ```
    fn commit(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Undoes the body's work. Called once, when the body or the commit failed, or (on a
    /// runtime task) when the [`with_session`] future was dropped before the end.
    ///
    /// # Cancel safety
    ///
    /// If the [`with_session`] future is dropped while this future runs, the session is handed
    /// to a task on the current runtime that calls `rollback` again, from the start, and then
    /// [`close`](Self::close), bounded by 30 seconds, with every failure
    /// [reported](crate::report) (outside a runtime, the session is only dropped, and that is
    /// reported). So `rollback` must tolerate being called again after one cut short. A
    /// rollback that panicked is not run again; the session is still closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use corral::scope::{Session, with_session};
    ///
    /// struct Tx { rolled_back: Arc<AtomicBool> }
    ///
    /// impl Session for Tx {
    ///     type Error = String;
    ///     async fn rollback(&mut self) -> Result<(), String> {
    ///         self.rolled_back.store(true, Ordering::Release);
    ///         Ok(())
    ///     }
    ///     async fn close(self) -> Result<(), String> { Ok(()) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let rolled_back = Arc::new(AtomicBool::new(false));
    /// let tx = Tx { rolled_back: Arc::clone(&rolled_back) };
    /// let outcome = with_session(async { Ok(tx) }, async |_: &mut Tx| Err::<(), _>("insert failed".to_owned())).await;
    /// assert!(matches!(outcome, Err(failure) if failure.error() == "insert failed"));
    /// assert!(rolled_back.load(Ordering::Acquire)); // the body failed
    /// # Ok(())
    /// # }
    /// ```
    fn rollback(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Releases the resource. Called once, always, last.
    ///
    /// # Cancel safety
    ///
    /// `close` takes the session by value, so if the [`with_session`] future is dropped while
    /// this future runs, the session is dropped with it and `close` is not called again: the
    /// session's own `Drop` is the last thing that runs. Give a resource that must be released
    /// a `Drop` that releases it (or hands that to a task) when `close` did not finish.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use corral::scope::{Session, with_session};
    ///
    /// struct Connection { closed: Arc<AtomicBool> }
    ///
    /// impl Session for Connection {
    ///     type Error = std::io::Error;
    ///     async fn close(self) -> Result<(), std::io::Error> {
    ///         self.closed.store(true, Ordering::Release);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let closed = Arc::new(AtomicBool::new(false));
    /// let conn = Connection { closed: Arc::clone(&closed) };
    /// let n = with_session(async { Ok(conn) }, async |_: &mut Connection| Ok::<_, std::io::Error>(3)).await?;
    /// assert_eq!(n, 3);
    /// assert!(closed.load(Ordering::Acquire)); // closed when the body was done
    /// # Ok(())
    /// # }
    /// ```
    fn close(self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Acquires a [`Session`], runs `body` with it, then commits or rolls back, and closes it:
/// `async with DatabaseSession() as session:` and the guides' `get_db_session`.
///
/// - The body returns `Ok`: `commit`, then `close`. A failing commit is rolled back (as the
///   guide's `try: yield; commit() except: rollback()` does) and its error is returned.
/// - The body returns `Err`: `rollback`, then `close`, and the body's error is returned.
/// - The error that caused the failure wins: a rollback or close error that follows it is
///   attached to it ([`SessionError::suppressed`]), never lost and never in its place. A close
///   error after a success is the error returned (as an exception in `finally` is raised).
///
/// # Cancel safety
///
/// Dropping this future before the session was closed (a timeout, `select!`, a cancelled
/// task) cannot await anything, since Rust has no async drop: the session is handed to a task
/// on the current runtime that rolls it back and closes it, bounded by 30 seconds, with every
/// failure [reported](crate::report). A rollback cut short is run again there (one that
/// panicked is not). Dropped while closing, the close in progress is dropped with the session
/// (the session's own `Drop` runs). The failure the body or commit ended with, which nobody
/// can receive any more, is reported too. Outside a runtime the session is dropped (a panic of
/// its destructor reported, not unwound) and that reported.
///
/// # Errors
///
/// A [`SessionError`] holding the error that ended the session (from `acquire`, the body,
/// the commit, or the close), with later cleanup errors attached.
///
/// # Examples
///
/// ```
/// use corral::scope::{Session, with_session};
/// use corral::task::BoxError;
///
/// #[derive(Default)]
/// struct Db { log: Vec<String> }
///
/// impl Db {
///     async fn execute(&mut self, sql: &str) -> Result<(), BoxError> {
///         if sql.contains("DROP") { return Err("permission denied".into()) }
///         self.log.push(sql.to_owned());
///         Ok(())
///     }
/// }
///
/// impl Session for Db {
///     type Error = BoxError;
///     async fn commit(&mut self) -> Result<(), BoxError> { println!("commit {:?}", self.log); Ok(()) }
///     async fn rollback(&mut self) -> Result<(), BoxError> { println!("rollback"); Ok(()) }
///     async fn close(self) -> Result<(), BoxError> { println!("close"); Ok(()) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let rows = with_session(async { Ok(Db::default()) }, async |db: &mut Db| {
///     db.execute("INSERT INTO users VALUES (1)").await?;
///     Ok::<_, BoxError>(1)
/// })
/// .await?; // commit, close
/// assert_eq!(rows, 1);
///
/// let failed = with_session(async { Ok(Db::default()) }, async |db: &mut Db| {
///     db.execute("DROP TABLE users").await
/// })
/// .await; // rollback, close
/// let Err(failure) = failed else { return Err("expected the DROP to be denied".into()) };
/// assert_eq!(failure.error().to_string(), "permission denied");
/// # Ok(())
/// # }
/// ```
pub async fn with_session<S, T, E, A, B>(acquire: A, body: B) -> Result<T, SessionError<E>>
where
    S: Session,
    A: Future<Output = Result<S, S::Error>>,
    B: AsyncFnOnce(&mut S) -> Result<T, E>,
    E: From<S::Error> + fmt::Debug,
    S::Error: fmt::Debug,
{
    let session = acquire
        .await
        .map_err(|error| SessionError::new(error.into()))?;
    let mut guard = Guard {
        session: Some(session),
        rollback: Rollback::NotStarted,
        failure: None,
    };
    let outcome = body(guard.session_mut()).await;
    let outcome = match outcome {
        Ok(value) => match guard.session_mut().commit().await {
            Ok(()) => Ok(value),
            Err(error) => Err(SessionError::new(E::from(error))),
        },
        Err(error) => Err(SessionError::new(error)),
    };
    // From here the failure is held by the guard, which reports it if this future is dropped
    // before the end (nobody would receive it).
    let value = match outcome {
        Ok(value) => Some(value),
        Err(failure) => {
            guard.failure = Some(failure);
            guard.rollback = Rollback::Running;
            // A rollback that panics while it runs is marked so before its panic goes on, so
            // that the guard does not run it again. One cut short (this future dropped
            // mid-rollback, whatever its future does as it is dropped) is run again.
            let rolled_back =
                match crate::util::catch_unwind_whole(guard.session_mut().rollback()).await {
                    Ok(rolled_back) => rolled_back,
                    Err(payload) => {
                        guard.rollback = Rollback::Panicked;
                        resume_unwind(payload)
                    }
                };
            guard.rollback = Rollback::Done;
            if let (Err(error), Some(failure)) = (rolled_back, guard.failure.as_mut()) {
                failure.suppressed.push(E::from(error));
            }
            None
        }
    };
    let closed = match guard.session.take() {
        Some(session) => session.close().await,
        None => Ok(()),
    };
    let failure = guard.failure.take();
    match (value, failure, closed) {
        (Some(value), None, Ok(())) => Ok(value),
        (_, Some(mut failure), Err(error)) => {
            failure.suppressed.push(E::from(error));
            Err(failure)
        }
        (_, Some(failure), Ok(())) => Err(failure),
        (_, None, Err(error)) => Err(SessionError::new(E::from(error))),
        // A failure is set exactly when no value is.
        (None, None, Ok(())) => {
            unreachable!("with_session ended with neither a value nor a failure")
        }
    }
}

/// How far the rollback of a failed session got.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rollback {
    NotStarted,
    /// Begun and not finished: if the guard finds it so, the rollback was cut short (the
    /// future dropped while it ran, whatever else is unwinding) and is run again.
    Running,
    /// The rollback itself panicked: it is not run again.
    Panicked,
    Done,
}

/// Holds the session while the body, commit and rollback run; rolls back (unless the rollback
/// finished or panicked) and closes it on a runtime task if the `with_session` future is
/// dropped or unwinds before the end.
struct Guard<S: Session, E: fmt::Debug>
where
    S::Error: fmt::Debug,
{
    session: Option<S>,
    /// A rollback that panicked is not run again; one cut short (the future dropped while it
    /// ran) is run again by the detached cleanup.
    rollback: Rollback,
    /// The failure `with_session` will return, from the end of the body or commit on: the
    /// guard reports it if the future is dropped before it was returned.
    failure: Option<SessionError<E>>,
}

impl<S: Session, E: fmt::Debug> Guard<S, E>
where
    S::Error: fmt::Debug,
{
    fn session_mut(&mut self) -> &mut S {
        // Taken only for `close`, the last step, after which the guard is not used again.
        self.session
            .as_mut()
            .expect("the session is held until it is closed")
    }
}

impl<S: Session, E: fmt::Debug> Drop for Guard<S, E>
where
    S::Error: fmt::Debug,
{
    fn drop(&mut self) {
        if let Some(failure) = self.failure.take() {
            report_failure("with_session", Failure::Error(failure));
        }
        let Some(mut session) = self.session.take() else {
            return;
        };
        match Handle::try_current() {
            Ok(_) => {
                // A rollback cut short runs again; one that panicked or finished does not.
                let rolled_back = match self.rollback {
                    Rollback::NotStarted | Rollback::Running => false,
                    Rollback::Panicked | Rollback::Done => true,
                };
                let cleanup = async move {
                    // Each step's failure is reported on its own, and `close` runs whatever
                    // the rollback did.
                    if !rolled_back {
                        match crate::util::catch_unwind_whole(session.rollback()).await {
                            Ok(Ok(())) => {}
                            Ok(Err(error)) => {
                                report_failure("with_session", Failure::Error(error));
                            }
                            Err(payload) => {
                                report_failure::<S::Error>("with_session", Failure::Panic(payload));
                            }
                        }
                    }
                    session.close().await
                };
                let limit: Duration = DEFAULT_DROP_TIMEOUT;
                let unfinished = Unfinished::new(
                    "with_session",
                    "the rollback and close of a dropped session".to_owned(),
                );
                spawn_detached::<S::Error>(
                    vec![Box::pin(cleanup)],
                    limit,
                    unfinished,
                    std::any::type_name::<S>(),
                );
            }
            Err(_) => {
                report(
                    "with_session",
                    ReportKind::Error,
                    &"dropped outside a tokio runtime: the session was neither rolled back nor closed",
                );
                // Under a catch: a destructor's panic must not leave this `drop`.
                drop_contained(
                    "with_session",
                    "dropping the session that could not be closed",
                    session,
                );
            }
        }
    }
}

/// Why [`with_session`] or [`with_resource`](super::with_resource) failed: the error that ended the session, and the rollback or close
/// errors that followed it.
///
/// # Examples
///
/// ```
/// use corral::scope::{Session, with_session};
///
/// struct Flaky;
/// impl Session for Flaky {
///     type Error = String;
///     async fn rollback(&mut self) -> Result<(), String> { Err("rollback failed".into()) }
///     async fn close(self) -> Result<(), String> { Ok(()) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outcome = with_session(async { Ok(Flaky) }, async |_: &mut Flaky| Err::<(), String>("insert failed".into()))
///     .await;
/// let Err(failure) = outcome else { return Err("expected the body to fail".into()) };
/// assert_eq!(failure.error(), "insert failed"); // the body's error wins
/// assert_eq!(failure.suppressed(), ["rollback failed"]); // and the rollback's is kept
/// # Ok(())
/// # }
/// ```
pub struct SessionError<E> {
    error: E,
    suppressed: Vec<E>,
}

impl<E> SessionError<E> {
    pub(crate) fn new(error: E) -> Self {
        Self {
            error,
            suppressed: Vec::new(),
        }
    }

    pub(crate) fn suppress(&mut self, error: E) {
        self.suppressed.push(error);
    }

    /// The error that ended the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # struct S; impl corral::scope::Session for S { type Error = String; async fn close(self) -> Result<(), String> { Ok(()) } }
    /// let outcome = corral::scope::with_session(async { Err::<S, _>("no connection".to_owned()) }, async |_: &mut S| Ok::<(), String>(()))
    ///     .await;
    /// let Err(failure) = outcome else { return Err("expected acquire to fail".into()) };
    /// assert_eq!(failure.error(), "no connection");
    /// # Ok(())
    /// # }
    /// ```
    pub fn error(&self) -> &E {
        &self.error
    }

    /// The error that ended the session, by value (the suppressed ones are dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # struct S; impl corral::scope::Session for S { type Error = String; async fn close(self) -> Result<(), String> { Ok(()) } }
    /// let outcome = corral::scope::with_session(async { Ok(S) }, async |_: &mut S| Err::<(), String>("boom".to_owned()))
    ///     .await;
    /// let Err(failure) = outcome else { return Err("expected the body to fail".into()) };
    /// assert_eq!(failure.into_error(), "boom");
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_error(self) -> E {
        self.error
    }

    /// The rollback and close errors that followed, in the order they happened.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # struct S; impl corral::scope::Session for S { type Error = String; async fn close(self) -> Result<(), String> { Err("close failed".into()) } }
    /// let outcome = corral::scope::with_session(async { Ok(S) }, async |_: &mut S| Err::<(), String>("boom".to_owned()))
    ///     .await;
    /// let Err(failure) = outcome else { return Err("expected the body to fail".into()) };
    /// assert_eq!(failure.suppressed(), ["close failed"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn suppressed(&self) -> &[E] {
        &self.suppressed
    }
}

impl<E: fmt::Debug> fmt::Debug for SessionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionError")
            .field("error", &self.error)
            .field("suppressed", &self.suppressed)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for SessionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)?;
        match self.suppressed.len() {
            0 => Ok(()),
            1 => write!(f, " (and while cleaning up: {})", self.suppressed[0]),
            n => write!(
                f,
                " (and {n} errors while cleaning up, first: {})",
                self.suppressed[0]
            ),
        }
    }
}

/// Like [`ErrorGroup`](crate::task::ErrorGroup), an `Error` for any printable `E` (so
/// `SessionError<BoxError>` is one too); its `Display` starts with the error that ended the
/// session.
impl<E: fmt::Debug + fmt::Display> Error for SessionError<E> {}

// The `# Cancel safety` claims of `Session::commit` and `Session::close` (the rollback's are
// checked in `tests/scope`).
#[cfg(all(test, not(corral_loom)))]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::oneshot;

    use super::*;

    type Log = Arc<Mutex<Vec<&'static str>>>;

    /// A session whose commit and close each take 10 ms; it logs when each step starts and
    /// ends, and when it is dropped (and says so on `dropped`).
    struct Slow {
        log: Log,
        dropped: Option<oneshot::Sender<()>>,
    }

    impl Slow {
        fn new(log: &Log) -> (Self, oneshot::Receiver<()>) {
            let (dropped, rx) = oneshot::channel();
            let session = Self {
                log: Arc::clone(log),
                dropped: Some(dropped),
            };
            (session, rx)
        }

        fn push(&self, entry: &'static str) {
            self.log.lock().expect("log").push(entry);
        }
    }

    impl Session for Slow {
        type Error = String;

        async fn commit(&mut self) -> Result<(), String> {
            self.push("commit");
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.push("committed");
            Ok(())
        }

        async fn rollback(&mut self) -> Result<(), String> {
            self.push("rollback");
            Ok(())
        }

        async fn close(self) -> Result<(), String> {
            self.push("close");
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.push("closed");
            Ok(())
        }
    }

    impl Drop for Slow {
        fn drop(&mut self) {
            self.push("drop");
            if let Some(dropped) = self.dropped.take() {
                let _ = dropped.send(());
            }
        }
    }

    fn entries(log: &Log) -> Vec<&'static str> {
        log.lock().expect("log").clone()
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_dropped_mid_commit_is_rolled_back_and_closed_on_a_task() {
        let log = Log::default();
        let (session, dropped) = Slow::new(&log);
        let work = with_session(async { Ok(session) }, async |_: &mut Slow| {
            Ok::<_, String>(())
        });
        // The commit takes 10 ms: dropped 5 ms into it.
        assert!(
            tokio::time::timeout(Duration::from_millis(5), work)
                .await
                .is_err()
        );
        dropped.await.expect("the session is dropped in the end");
        assert_eq!(
            entries(&log),
            ["commit", "rollback", "close", "closed", "drop"],
            "the commit cut short is followed by a rollback and a close"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_dropped_mid_close_is_dropped_and_not_closed_again() {
        let log = Log::default();
        let (session, mut dropped) = Slow::new(&log);
        let work = with_session(async { Ok(session) }, async |_: &mut Slow| {
            Ok::<_, String>(())
        });
        // The commit takes 10 ms, then the close 10 ms: dropped 5 ms into the close.
        assert!(
            tokio::time::timeout(Duration::from_millis(15), work)
                .await
                .is_err()
        );
        assert_eq!(dropped.try_recv(), Ok(()), "dropped with the future");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(
            entries(&log),
            ["commit", "committed", "close", "drop"],
            "the close cut short is not run again, and no rollback follows it"
        );
    }
}
