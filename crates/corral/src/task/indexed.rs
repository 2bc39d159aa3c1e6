use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

pin_project! {
    /// A future that remembers its position in the input, so results can be put back in order.
    /// A hand-written future rather than `async move { (index, fut.await) }`: an async block
    /// keeps the captured future and the awaited one in separate fields, doubling what a
    /// `FuturesUnordered` moves and stores per item. Over Tokio resources it goes inside a
    /// [`Budgeted`].
    #[derive(Debug)]
    pub(crate) struct Indexed<F> {
        #[pin]
        future: F,
        index: usize,
    }
}

pin_project! {
    /// A future in a `FuturesUnordered` that yields visibly once the coop budget is spent (see
    /// [`yield_if_out_of_budget`]).
    #[derive(Debug)]
    pub(crate) struct Budgeted<F> {
        #[pin]
        future: F,
    }
}

impl<F> Budgeted<F> {
    #[inline]
    pub(crate) fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F: Future> Future for Budgeted<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if yield_if_out_of_budget(cx) {
            return Poll::Pending;
        }
        self.project().future.poll(cx)
    }
}

impl<F> Indexed<F> {
    #[inline]
    pub(crate) fn new(index: usize, future: F) -> Self {
        Self { future, index }
    }
}

impl<F: Future> Future for Indexed<F> {
    type Output = (usize, F::Output);

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = ready!(this.future.poll(cx));
        Poll::Ready((*this.index, output))
    }
}

/// Yields where `FuturesUnordered` can see it once the task's coop budget is spent.
///
/// A Tokio resource polled without budget (a `JoinHandle`, a channel) returns `Pending` and
/// *defers* its wake-up until the task yields. `FuturesUnordered` only notices a future that
/// woke itself during its poll, so it goes on polling every other ready future, each of which
/// returns `Pending` at once: with n `JoinHandle`s that is n wasted polls per budget of 128,
/// O(n²/128) in all (100k handles: ~39M polls, 3 s instead of 75 ms). Waking now, before
/// polling, makes the yield visible: `FuturesUnordered` returns after two such futures and the
/// task is rescheduled with a fresh budget. Outside a Tokio runtime the budget is unlimited.
pub(crate) fn yield_if_out_of_budget(cx: &Context<'_>) -> bool {
    if tokio::task::coop::has_budget_remaining() {
        return false;
    }
    cx.waker().wake_by_ref();
    true
}

/// The identity, as a function from `A` to `B`, when `A` and `B` are the same type; `None`
/// otherwise. It lets a generic function take a known type (a `Task`, a nested `ErrorGroup`)
/// its own way without `unsafe` and without a branch that cannot happen.
pub(crate) fn same<A: 'static, B: 'static>() -> Option<fn(A) -> B> {
    let identity: fn(A) -> A = |a| a;
    (&identity as &dyn std::any::Any)
        .downcast_ref::<fn(A) -> B>()
        .copied()
}
