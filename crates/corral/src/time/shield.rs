use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::sync::oneshot;

use crate::report::{drop_contained, report_failure};
use crate::task::{Failure, PanicPayload};

type Outcome<T, E> = Result<Result<T, E>, PanicPayload>;

/// Protects `future` from cancellation: it runs to completion as its own task even if the
/// side awaiting it is dropped: asyncio's `shield`.
///
/// Awaiting the returned [`Shielded`] gives the future's result. Dropping it (because the
/// awaiting side was cancelled, a timeout fired, ...) does not stop the work, and the result
/// can still be awaited later through the same `Shielded` (await `&mut shielded`). If nobody
/// ever takes the result and the work fails or panics, the failure is logged as a `tracing`
/// error event (target `corral`) rather than lost.
///
/// This is one of the two places (with [`BackgroundTasks`](crate::task::BackgroundTasks)) where
/// corral lets work outlive the code that started it, and the name says so.
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
pub fn shield<F, T, E>(future: F) -> Shielded<T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: fmt::Debug + Send + 'static,
{
    let (sender, receiver) = oneshot::channel();
    tokio::spawn(async move {
        // Dropped inside the catch too: a destructor that panics is the work's panic.
        let outcome = crate::util::catch_unwind_whole(future).await;
        if let Err(unreceived) = sender.send(outcome) {
            report_unreceived(unreceived);
        }
    });
    Shielded {
        receiver,
        report: report_unreceived::<T, E>,
    }
}

/// The handle returned by [`shield`]: await it (or `&mut` it) for the work's result.
///
/// Dropping it lets the work finish on its own; a failure nobody received is logged.
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
    receiver: oneshot::Receiver<Outcome<T, E>>,
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
            Ok(Ok(result)) => Poll::Ready(result),
            Ok(Err(payload)) => resume_unwind(payload),
            Err(_) => {
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
        if let Ok(outcome) = self.receiver.try_recv() {
            (self.report)(outcome);
        }
    }
}

impl<T, E> fmt::Debug for Shielded<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shielded").finish_non_exhaustive()
    }
}
