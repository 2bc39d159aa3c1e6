//! Small building blocks shared by the primitives. Nothing here is public.

mod wait_list;

pub(crate) use wait_list::{Ticket, WaitList};

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::task::Waker;

use futures_util::FutureExt;

/// Runs `future` to its end under `catch_unwind`, and drops it inside the catch too: a value
/// the future holds that panics as it is dropped panics within the caught poll (as Tokio's own
/// task harness treats it), not afterwards in the caller, which would take the caller down
/// (a worker, a timer task) with nothing reported.
pub(crate) async fn catch_unwind_whole<F: Future>(future: F) -> std::thread::Result<F::Output> {
    #[expect(
        clippy::redundant_async_block,
        reason = "the block owns `future`, so it is dropped inside the catch"
    )]
    let owned = async move { future.await };
    AssertUnwindSafe(owned).catch_unwind().await
}

/// Wakes every waker of `wakers`, each under `catch_unwind`, then resumes the first panic, if
/// a waker panicked.
///
/// A waker is the caller's code (a hand-written `Wake`, an executor's), and may panic. The
/// wakers handed here belong to waiters already taken off their wait list as notified or
/// released: a panic that left the loop at one of them would strand every waiter after it,
/// released yet never woken. So all are woken first; the first panic then goes on to the
/// caller (as it would without the catch), and any later one is reported under `source`.
///
/// One waker alone strands nobody: it is woken directly, at no cost over `wake`.
pub(crate) fn wake_all(source: &'static str, wakers: impl IntoIterator<Item = Waker>) {
    let mut wakers = wakers.into_iter();
    let Some(one) = wakers.next() else { return };
    let Some(two) = wakers.next() else {
        one.wake();
        return;
    };
    let mut first = None;
    for waker in [one, two].into_iter().chain(wakers) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            match first {
                None => first = Some(payload),
                Some(_) => crate::report::report_panic(source, "a waker", &payload),
            }
        }
    }
    if let Some(payload) = first {
        resume_unwind(payload);
    }
}
