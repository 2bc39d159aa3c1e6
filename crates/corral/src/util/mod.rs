//! Small building blocks shared by the primitives. Nothing here is public.

mod wait_list;

pub(crate) use wait_list::{Ticket, WaitList};

use std::future::Future;
use std::panic::AssertUnwindSafe;

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
