use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::indexed::Budgeted;

/// Runs every future concurrently and yields their outputs in the order they finish:
/// asyncio's `as_completed`.
///
/// The returned [`AsCompleted`] is a [`Stream`]; its inherent [`next`](AsCompleted::next)
/// saves importing a `StreamExt`. The futures are polled in place while the stream is polled,
/// so they may borrow (no `'static` bound). Each output is yielded once, as soon as it is
/// ready; an empty input gives a stream that ends at once.
///
/// # Examples
///
/// The guides' `process_as_completed`:
///
/// ```
/// use std::time::Duration;
/// use corral::task::as_completed;
///
/// async fn fetch_user(id: u64) -> u64 {
///     tokio::time::sleep(Duration::from_millis(100 / id)).await;
///     id
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let mut users = as_completed([1, 2, 4].map(fetch_user));
/// let mut order = Vec::new();
/// while let Some(user) = users.next().await {
///     order.push(user); // process results as they arrive
/// }
/// assert_eq!(order, [4, 2, 1]); // fastest first
/// # Ok(())
/// # }
/// ```
///
/// asyncio's `as_completed(aws, timeout=5)`, one limit for the whole iteration, is a
/// [`Deadline`](crate::time::Deadline) created before the loop, with each
/// [`next`](AsCompleted::next) run under it. `next` is cancel safe, so when the deadline fires
/// no output is lost: the stream still holds the unfinished futures, to drop (which cancels
/// them, where asyncio leaves its tasks running) or to go on with. A limit per item instead
/// is [`timeout`](crate::time::timeout) around each `next`.
///
/// ```
/// use std::time::Duration;
/// use corral::task::as_completed;
/// use corral::time::Deadline;
///
/// async fn fetch_user(id: u64) -> u64 {
///     tokio::time::sleep(Duration::from_millis(100 * id)).await;
///     id
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let mut users = as_completed([3, 1, 2, 9].map(fetch_user));
/// let limit = Deadline::after(Duration::from_millis(500)); // as_completed(..., timeout=0.5)
/// let mut arrived = Vec::new();
/// let timed_out = loop {
///     match limit.run(users.next()).await {
///         Ok(Some(user)) => arrived.push(user),
///         Ok(None) => break false, // all done in time
///         Err(_elapsed) => break true, // asyncio raises TimeoutError here
///     }
/// };
/// assert!(timed_out);
/// assert_eq!(arrived, [1, 2, 3]);
/// assert_eq!(users.len(), 1); // user 9 is still in the stream; dropping it cancels it
/// # Ok(())
/// # }
/// ```
pub fn as_completed<I, F>(futures: I) -> AsCompleted<F>
where
    I: IntoIterator<Item = F>,
    F: Future,
{
    AsCompleted {
        inner: futures.into_iter().map(Budgeted::new).collect(),
    }
}

/// The stream returned by [`as_completed`]: outputs in completion order.
///
/// Dropping it drops (cancels) the futures that have not finished.
///
/// # Examples
///
/// Named, it can be stored and driven by something else, here a `Stream` combinator:
///
/// ```
/// use corral::task::{AsCompleted, as_completed};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let stream: AsCompleted<_> = as_completed([3, 1, 2].map(|n| async move { n * 10 }));
/// let total: i32 = stream.fold(0, |sum, n| async move { sum + n }).await;
/// assert_eq!(total, 60);
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    inner: FuturesUnordered<Budgeted<F>>,
}

impl<F: Future> AsCompleted<F> {
    /// The next output to finish, or `None` once every future has been yielded.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: if it is used in `select!` and another branch completes
    /// first, no output was taken; the futures keep their progress and the next call yields
    /// the next output to finish.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::as_completed;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut outputs = as_completed([1, 2].map(|n| async move { n }));
    /// let mut sum = 0;
    /// while let Some(n) = outputs.next().await {
    ///     sum += n;
    /// }
    /// assert_eq!(sum, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn next(&mut self) -> Option<F::Output> {
        poll_fn(|cx| self.inner.poll_next_unpin(cx)).await
    }

    /// How many futures have not finished yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::as_completed;
    ///
    /// let outputs = as_completed([1, 2].map(|n| async move { n }));
    /// assert_eq!(outputs.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether every future has finished and been yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::as_completed;
    ///
    /// let outputs = as_completed(Vec::<std::future::Ready<u8>>::new());
    /// assert!(outputs.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.inner.poll_next_unpin(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.inner.len(), Some(self.inner.len()))
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("pending", &self.inner.len())
            .finish()
    }
}
