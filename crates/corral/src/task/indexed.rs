use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

pin_project! {
    /// A future that remembers its position in the input, so results can be put back in order.
    #[derive(Debug)]
    pub(crate) struct Indexed<F> {
        #[pin]
        future: F,
        index: usize,
    }
}

impl<F> Indexed<F> {
    pub(crate) fn new(index: usize, future: F) -> Self {
        Self { future, index }
    }
}

impl<F: Future> Future for Indexed<F> {
    type Output = (usize, F::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = ready!(this.future.poll(cx));
        Poll::Ready((*this.index, output))
    }
}
