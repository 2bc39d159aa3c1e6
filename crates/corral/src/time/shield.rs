use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::sync::oneshot;

use crate::report::{ReportKind, drop_contained, report, report_failure, report_panic};
use crate::task::{Failure, PanicPayload};

type Outcome<T, E> = Result<Result<T, E>, PanicPayload>;

/// What the shielded task sends its handle.
enum Sent<T, E> {
    /// The work ended: its result, or its panic.
    Done(Outcome<T, E>),
    /// The runtime dropped the task before the work ended (it shut down).
    CutOff,
}

/// Protects `future` from cancellation: it runs to completion as its own task even if the
/// side awaiting it is dropped: asyncio's `shield`.
///
/// Awaiting the returned [`Shielded`] gives the future's result. Dropping it (because the
/// awaiting side was cancelled, a timeout fired, ...) does not stop the work, and the result
/// can still be awaited later through the same `Shielded` (await `&mut shielded`). If nobody
/// ever takes the result and the work fails or panics, the failure is
/// [reported](crate::report) rather than lost.
///
/// This is one of the two places (with [`BackgroundTasks`](crate::task::BackgroundTasks)) where
/// corral lets work outlive the code that started it, and the name says so.
///
/// # Runtime shutdown
///
/// Shielding protects the work from its caller's cancellation, not from the end of the
/// runtime. When the runtime shuts down, Tokio drops every task, this one too: the work stops
/// at the await point it was waiting in (or before its first poll), and does not finish.
/// What corral guarantees then is that the cut is not silent: awaiting the `Shielded` panics
/// (see Panics), and if the `Shielded` was dropped, or is dropped later without being awaited,
/// the cut is [reported](crate::report) ("the runtime shut down before the shielded work
/// finished"); a panic of the work's destructor as Tokio drops it is reported too. What it
/// cannot guarantee is that the work, or any of it past its last await, ran. To be sure the
/// work finishes, await the `Shielded` before the runtime shuts down (for example, before
/// returning from `main`).
///
/// # Cancel safety
///
/// Awaiting a `Shielded` is cancel safe: that is its purpose. The work goes on and its result
/// is kept for a later await.
///
/// # Panics
///
/// Panics if called outside a Tokio runtime. Awaiting resumes the work's panic if it panicked,
/// and panics if the runtime shut down before the work finished (there is no result to give).
///
/// # Examples
///
/// The guides' `critical_operation`: the save completes even though the caller gave up.
///
/// ```
/// use std::time::Duration;
/// use corral::time::{shield, timeout};
///
/// async fn save_order() -> Result<u32, std::io::Error> {
///     tokio::time::sleep(Duration::from_secs(2)).await;
///     Ok(1042)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let mut saving = shield(save_order());
/// // The caller only waits one second...
/// assert!(timeout(Duration::from_secs(1), &mut saving).await.is_err());
/// // ...but the work went on, and its result can still be collected.
/// assert_eq!(saving.await?, 1042);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn shield<F, T, E>(future: F) -> Shielded<T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    let (sender, receiver) = oneshot::channel();
    // A future of its own, not an `async` block: its destructor runs however the task ends,
    // even when a runtime that shuts down drops it unpolled or mid-way. Watched in debug mode,
    // under the work's name, as a group's task is.
    let task = ShieldTask {
        work: Some(Box::pin(future)),
        sender: Some(sender),
    };
    drop(crate::debug::spawn(
        task,
        0,
        std::any::type_name::<F>(),
        std::panic::Location::caller(),
    ));
    Shielded {
        receiver,
        report: report_unreceived::<T, E>,
    }
}

/// The shielded task: runs the work and sends its outcome to the [`Shielded`] handle.
///
/// When the runtime drops it before the work ended (it shut down), its `Drop` drops the work
/// under a catch (a destructor's panic is reported) and tells the handle, which panics when
/// awaited; if the handle is gone too, the cut is reported, never silent.
struct ShieldTask<F, T, E> {
    /// Boxed, so the task is `Unpin` and the work can be dropped under a catch.
    work: Option<Pin<Box<F>>>,
    sender: Option<oneshot::Sender<Sent<T, E>>>,
}

impl<F, T, E> Future for ShieldTask<F, T, E>
where
    F: Future<Output = Result<T, E>>,
    E: fmt::Debug,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(work) = this.work.as_mut() else {
            return Poll::Ready(());
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => Ok(result),
            Err(payload) => Err(payload),
        };
        // Dropped inside a catch too: a destructor that panics is the work's panic.
        let work = this.work.take();
        let outcome = match (outcome, catch_unwind(AssertUnwindSafe(move || drop(work)))) {
            (outcome, Ok(())) => outcome,
            (Ok(result), Err(payload)) => {
                drop_contained("shield", "the destructor of the work's result", result);
                Err(payload)
            }
            (Err(first), Err(second)) => {
                report_panic("shield", "the destructor of the work", &second);
                Err(first)
            }
        };
        if let Some(sender) = this.sender.take()
            && let Err(Sent::Done(unreceived)) = sender.send(Sent::Done(outcome))
        {
            report_unreceived(unreceived);
        }
        Poll::Ready(())
    }
}

impl<F, T, E> Drop for ShieldTask<F, T, E> {
    fn drop(&mut self) {
        let Some(work) = self.work.take() else {
            return; // ended, and its outcome was sent
        };
        // Dropped unfinished: the runtime shut down (only it can drop this task; nobody holds
        // its `JoinHandle`). Tokio would swallow a panic of the work's destructor.
        drop_contained(
            "shield",
            "the destructor of the work cut off by the runtime",
            work,
        );
        if let Some(sender) = self.sender.take()
            && sender.send(Sent::CutOff).is_err()
        {
            report_cut_off();
        }
    }
}

/// Reports work that the runtime cut off and whose handle was dropped: nobody else will know.
fn report_cut_off() {
    report(
        "shield",
        ReportKind::Error,
        &"the runtime shut down before the shielded work finished",
    );
}

/// The handle returned by [`shield`]: await it (or `&mut` it) for the work's result.
///
/// Dropping it lets the work finish on its own; a failure nobody received is logged, and so is
/// work the runtime cut off by shutting down first (see [`shield`]'s "Runtime shutdown").
///
/// # Examples
///
/// ```
/// use corral::time::{Shielded, shield};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let saving: Shielded<u32, std::io::Error> = shield(async { Ok(1) });
/// assert_eq!(saving.await?, 1);
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping a Shielded lets the work finish unobserved; await it for the result"]
pub struct Shielded<T, E> {
    receiver: oneshot::Receiver<Sent<T, E>>,
    report: fn(Outcome<T, E>),
}

/// Reports a failure nobody received; a value nobody received is dropped under
/// `catch_unwind`, its destructor's panic reported (it would otherwise unwind into the detached
/// task, or into the caller's drop, where nobody hears of it).
fn report_unreceived<T, E: fmt::Debug>(outcome: Outcome<T, E>) {
    let failure = match outcome {
        Ok(Ok(value)) => {
            drop_contained(
                "shield",
                "the destructor of the work's unreceived value",
                value,
            );
            return;
        }
        Ok(Err(error)) => Failure::Error(error),
        Err(payload) => Failure::Panic(payload),
    };
    report_failure("shield", failure);
}

impl<T, E> Future for Shielded<T, E> {
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match ready!(Pin::new(&mut self.receiver).poll(cx)) {
            Ok(Sent::Done(Ok(result))) => Poll::Ready(result),
            Ok(Sent::Done(Err(payload))) => resume_unwind(payload),
            // Closed without a word: the task is gone, as good as cut off.
            Ok(Sent::CutOff) | Err(_) => {
                panic!("corral::time::shield: the runtime shut down before the work finished")
            }
        }
    }
}

impl<T, E> Drop for Shielded<T, E> {
    fn drop(&mut self) {
        // Close first: from here on the work's own send fails and the work reports. Then take
        // whatever was sent before, which only this side can still report.
        self.receiver.close();
        match self.receiver.try_recv() {
            Ok(Sent::Done(outcome)) => (self.report)(outcome),
            Ok(Sent::CutOff) => report_cut_off(),
            Err(_) => {}
        }
    }
}

impl<T, E> fmt::Debug for Shielded<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shielded").finish_non_exhaustive()
    }
}
