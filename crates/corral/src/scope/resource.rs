//! `with_resource`: the session pattern for resources whose commit and rollback consume them
//! (sqlx's `Transaction::commit(self)`, for example), given as closures instead of a trait.
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use tokio::runtime::Handle;

use super::exit_stack::{DEFAULT_DROP_TIMEOUT, Unfinished, spawn_detached};
use super::session::SessionError;
use crate::report::{ReportKind, drop_contained, report, report_failure};
use crate::task::Failure;

/// Acquires a resource, runs `body` with it, then hands it to `on_ok` when the body succeeded
/// or to `on_err` when it failed: `async with` over a resource whose end consumes it.
///
/// `on_ok` and `on_err` own the resource, so they do the whole ending: commit (or roll back)
/// and release. Use [`with_session`](super::with_session) when the resource implements
/// [`Session`](super::Session) (separate commit, rollback and close, with a rollback after a
/// failed commit); use `with_resource` for types you cannot implement a trait for, such as a
/// database crate's transaction type: `with_resource(pool.begin(), body, |tx| tx.commit(),
/// |tx| tx.rollback())`.
///
/// - The body returns `Ok`: `on_ok(resource)`; its error, if any, is returned.
/// - The body returns `Err`: `on_err(resource)`; the body's error is returned, and an error of
///   `on_err` is attached to it ([`SessionError::suppressed`]), never in its place.
///
/// # Cancel safety
///
/// Dropping this future while the body runs hands the resource to `on_err` on a task of the
/// current runtime, bounded by 30 seconds, with its failure [reported](crate::report) (outside
/// a runtime the resource and `on_err` are dropped, a panic of a destructor reported, not
/// unwound, and that reported). Dropped while `on_ok` or `on_err`
/// runs, that future is dropped with the resource (the resource's own `Drop` runs), and the
/// body's error, which nobody can receive any more, is reported.
///
/// # Errors
///
/// A [`SessionError`] with the error of `acquire`, the body, or `on_ok`, and the error of
/// `on_err` attached.
///
/// # Examples
///
/// ```
/// use corral::scope::with_resource;
/// use corral::task::BoxError;
///
/// /// A transaction whose end consumes it, as sqlx's does.
/// struct Tx { rows: Vec<u32> }
/// impl Tx {
///     async fn begin() -> Result<Tx, BoxError> { Ok(Tx { rows: Vec::new() }) }
///     async fn insert(&mut self, row: u32) -> Result<(), BoxError> {
///         if row == 0 { return Err("row 0 is reserved".into()) }
///         self.rows.push(row);
///         Ok(())
///     }
///     async fn commit(self) -> Result<(), BoxError> { println!("committed {:?}", self.rows); Ok(()) }
///     async fn rollback(self) -> Result<(), BoxError> { println!("rolled back"); Ok(()) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), BoxError> {
/// let n = with_resource(Tx::begin(), async |tx: &mut Tx| {
///     tx.insert(1).await?;
///     tx.insert(2).await?;
///     Ok::<_, BoxError>(2)
/// }, Tx::commit, Tx::rollback).await?;
/// assert_eq!(n, 2);
///
/// let failed = with_resource(Tx::begin(), async |tx: &mut Tx| tx.insert(0).await, Tx::commit, Tx::rollback).await;
/// assert_eq!(failed.expect_err("row 0").error().to_string(), "row 0 is reserved");
/// # Ok(())
/// # }
/// ```
pub async fn with_resource<R, T, E, A, B, OnOk, OkFut, OnErr, ErrFut>(
    acquire: A,
    body: B,
    on_ok: OnOk,
    on_err: OnErr,
) -> Result<T, SessionError<E>>
where
    A: Future<Output = Result<R, E>>,
    B: AsyncFnOnce(&mut R) -> Result<T, E>,
    OnOk: FnOnce(R) -> OkFut,
    OkFut: Future<Output = Result<(), E>>,
    OnErr: FnOnce(R) -> ErrFut + Send + 'static,
    ErrFut: Future<Output = Result<(), E>> + Send + 'static,
    R: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    let resource = acquire.await.map_err(SessionError::new)?;
    let mut guard = Guard {
        armed: Some((resource, on_err)),
    };
    let outcome = body(guard.resource_mut()).await;
    let (resource, on_err) = guard.disarm();
    match outcome {
        Ok(value) => match on_ok(resource).await {
            Ok(()) => Ok(value),
            Err(error) => Err(SessionError::new(error)),
        },
        Err(error) => {
            // Held while `on_err` runs: reported if this future is dropped meanwhile.
            let mut held = Held(Some(SessionError::new(error)));
            let cleaned = on_err(resource).await;
            let mut failure = held.take();
            if let Err(error) = cleaned {
                failure.suppress(error);
            }
            Err(failure)
        }
    }
}

/// The body's failure while `on_err` runs: [reported](crate::report) if the `with_resource`
/// future is dropped before it could return it.
struct Held<E: fmt::Debug>(Option<SessionError<E>>);

impl<E: fmt::Debug> Held<E> {
    fn take(&mut self) -> SessionError<E> {
        self.0.take().expect("taken once, when on_err ends")
    }
}

impl<E: fmt::Debug> Drop for Held<E> {
    fn drop(&mut self) {
        if let Some(failure) = self.0.take() {
            crate::report::report_failure("with_resource", crate::task::Failure::Error(failure));
        }
    }
}

/// Holds the resource and its `on_err` while the body runs; hands them to a runtime task if
/// the `with_resource` future is dropped before the body ends.
struct Guard<R, OnErr, ErrFut, E>
where
    OnErr: FnOnce(R) -> ErrFut + Send + 'static,
    ErrFut: Future<Output = Result<(), E>> + Send + 'static,
    R: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    armed: Option<(R, OnErr)>,
}

impl<R, OnErr, ErrFut, E> Guard<R, OnErr, ErrFut, E>
where
    OnErr: FnOnce(R) -> ErrFut + Send + 'static,
    ErrFut: Future<Output = Result<(), E>> + Send + 'static,
    R: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    fn resource_mut(&mut self) -> &mut R {
        // Disarmed only after the body, after which `resource_mut` is not called again.
        &mut self.armed.as_mut().expect("armed while the body runs").0
    }

    fn disarm(&mut self) -> (R, OnErr) {
        self.armed.take().expect("disarmed once, after the body")
    }
}

impl<R, OnErr, ErrFut, E> Drop for Guard<R, OnErr, ErrFut, E>
where
    OnErr: FnOnce(R) -> ErrFut + Send + 'static,
    ErrFut: Future<Output = Result<(), E>> + Send + 'static,
    R: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    fn drop(&mut self) {
        let Some((resource, on_err)) = self.armed.take() else {
            return;
        };
        match Handle::try_current() {
            Ok(_) => {
                // `on_err` is the caller's code, run here inside `drop`, maybe while the body
                // unwinds: its panic is reported, never let out of the destructor.
                let cleanup = match catch_unwind(AssertUnwindSafe(|| on_err(resource))) {
                    Ok(cleanup) => cleanup,
                    Err(payload) => {
                        report_failure::<E>("with_resource", Failure::Panic(payload));
                        return;
                    }
                };
                let unfinished = Unfinished::new(
                    "with_resource",
                    "on_err of a dropped with_resource".to_owned(),
                );
                spawn_detached::<E>(
                    vec![Box::pin(cleanup)],
                    DEFAULT_DROP_TIMEOUT,
                    unfinished,
                    std::any::type_name::<OnErr>(),
                );
            }
            Err(_) => {
                report(
                    "with_resource",
                    ReportKind::Error,
                    &"dropped outside a tokio runtime: on_err could not run",
                );
                // Each under a catch: a destructor's panic must not leave this `drop`.
                drop_contained(
                    "with_resource",
                    "dropping the resource that on_err could not take",
                    resource,
                );
                drop_contained(
                    "with_resource",
                    "dropping on_err, which could not run",
                    on_err,
                );
            }
        }
    }
}
