use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::indexed::Indexed;

/// Runs every future concurrently and returns their values in input order; the first error
/// cancels the rest: asyncio's `gather`.
///
/// The futures are polled in place, inside the returned future, so they may borrow (no
/// `'static` bound) and nothing is spawned: for work that should run on other threads, spawn
/// it into a [`TaskGroup`](crate::task::TaskGroup). Results come back in the order of the input
/// whatever order the futures finish in. On the first `Err`, the remaining futures are dropped
/// (cancelled) and that error is returned; to keep every outcome instead, use
/// [`gather_settled`](crate::task::gather_settled).
///
/// An empty input gives `Ok(vec![])` at the first poll.
///
/// Each future costs one small allocation (its node in a `FuturesUnordered`), and a wake-up
/// polls only the future that was woken, so gathering 100,000 futures costs about 100,000 times
/// one: the cost per future stays flat as the input grows.
///
/// # Cancel safety
///
/// Dropping the `Gather` future drops every future it still holds: their work is cancelled and
/// values already produced are lost. It is only cancel safe if losing those is acceptable.
///
/// # Examples
///
/// The guides' `fetch_all`, polled in place:
///
/// ```
/// use std::time::Duration;
/// use corral::task::gather;
///
/// async fn fetch_user(id: u32) -> Result<String, std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(u64::from(10 - id))).await;
///     Ok(format!("user-{id}"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let users = gather((1..=3).map(fetch_user)).await?;
/// assert_eq!(users, ["user-1", "user-2", "user-3"]); // input order, not completion order
/// # Ok(())
/// # }
/// ```
pub fn gather<I, F, T, E>(futures: I) -> Gather<F, T>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>>,
{
    let (inner, len) = index_all(futures);
    Gather {
        inner,
        results: Outputs::new(len),
    }
}

/// Runs every future concurrently and returns every output in input order, errors included:
/// asyncio's `gather(..., return_exceptions=True)`.
///
/// Nothing is cancelled when one fails; each output is kept in its slot. Works for any output
/// type, `Result` or not. Polled in place, like [`gather`](crate::task::gather). An empty input
/// gives an empty `Vec` at the first poll.
///
/// # Cancel safety
///
/// Dropping the `GatherSettled` future drops every future it still holds, and the outputs
/// already produced.
///
/// # Examples
///
/// The guides' `safe_fetch_all`:
///
/// ```
/// use corral::task::gather_settled;
///
/// async fn fetch(url: &str) -> Result<usize, String> {
///     if url.contains("bad") { Err(format!("{url}: 404")) } else { Ok(url.len()) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let urls = ["a.example", "bad.example", "ccc.example"];
/// let results = gather_settled(urls.iter().map(|url| fetch(url))).await;
/// let ok: Vec<Option<usize>> = results.into_iter().map(Result::ok).collect();
/// assert_eq!(ok, [Some(9), None, Some(11)]);
/// # Ok(())
/// # }
/// ```
pub fn gather_settled<I, F>(futures: I) -> GatherSettled<F>
where
    I: IntoIterator<Item = F>,
    F: Future,
{
    let (inner, len) = index_all(futures);
    GatherSettled {
        inner,
        results: Outputs::new(len),
    }
}

fn index_all<I, F>(futures: I) -> (FuturesUnordered<Indexed<F>>, usize)
where
    I: IntoIterator<Item = F>,
{
    let inner: FuturesUnordered<_> = futures
        .into_iter()
        .enumerate()
        .map(|(index, future)| Indexed::new(index, future))
        .collect();
    let len = inner.len();
    (inner, len)
}

/// The future returned by [`gather`].
///
/// # Examples
///
/// ```
/// use corral::task::{Gather, gather};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pending: Gather<_, u32> = gather([1, 2].map(|n| async move { Ok::<_, std::io::Error>(n) }));
/// assert_eq!(pending.await?, [1, 2]);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Gather<F, T> {
    inner: FuturesUnordered<Indexed<F>>,
    results: Outputs<T>,
}

/// `gather`'s outputs, put back in input order.
///
/// While they arrive in input order (the common case: futures that finish in the order they
/// were first polled) they are pushed straight onto the result, which grows as they come; the
/// first one out of order moves them into one slot per input. Allocating `len` slots up front
/// instead costs a page fault per 4 KiB on every call once the buffer is past glibc's mmap
/// threshold (100k `u64` outputs: 1.6 MB of `Option<u64>`, ~900 faults, +12% on
/// `spawn_gather`).
struct Outputs<T> {
    len: usize,
    in_order: Vec<T>,
    slots: Vec<Option<T>>,
}

impl<T> Outputs<T> {
    fn new(len: usize) -> Self {
        Self {
            len,
            in_order: Vec::new(),
            slots: Vec::new(),
        }
    }

    fn put(&mut self, index: usize, value: T) {
        if self.slots.is_empty() {
            if index == self.in_order.len() {
                self.in_order.push(value);
                return;
            }
            self.slots.reserve_exact(self.len);
            self.slots.extend(self.in_order.drain(..).map(Some));
            self.slots.resize_with(self.len, || None);
        }
        self.slots[index] = Some(value);
    }

    /// Drops every output (on the first error).
    fn clear(&mut self) {
        self.in_order = Vec::new();
        self.slots = Vec::new();
    }

    fn take(&mut self) -> Vec<T> {
        if self.slots.is_empty() {
            std::mem::take(&mut self.in_order)
        } else {
            std::mem::take(&mut self.slots)
                .into_iter()
                .flatten()
                .collect()
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl<F, T, E> Future for Gather<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while let Some((index, output)) = ready!(this.inner.poll_next_unpin(cx)) {
            match output {
                Ok(value) => this.results.put(index, value),
                Err(error) => {
                    // Cancel the rest now rather than when the caller drops this future.
                    this.inner.clear();
                    this.results.clear();
                    return Poll::Ready(Err(error));
                }
            }
        }
        Poll::Ready(Ok(this.results.take()))
    }
}

// Outputs are stored, never pinned; the futures live in a `FuturesUnordered`, which pins them
// on the heap. So `Gather` is `Unpin` whatever `T` is.
impl<F, T> Unpin for Gather<F, T> {}

impl<F, T> fmt::Debug for Gather<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("pending", &self.inner.len())
            .field("len", &self.results.len())
            .finish()
    }
}

/// The future returned by [`gather_settled`].
///
/// # Examples
///
/// ```
/// use corral::task::{GatherSettled, gather_settled};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let pending: GatherSettled<_> = gather_settled([1, 2].map(|n| async move { n }));
/// assert_eq!(pending.await, [1, 2]);
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct GatherSettled<F: Future> {
    inner: FuturesUnordered<Indexed<F>>,
    results: Outputs<F::Output>,
}

impl<F: Future> Future for GatherSettled<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while let Some((index, output)) = ready!(this.inner.poll_next_unpin(cx)) {
            this.results.put(index, output);
        }
        Poll::Ready(this.results.take())
    }
}

// As for `Gather`: outputs are never pinned.
impl<F: Future> Unpin for GatherSettled<F> {}

impl<F: Future> fmt::Debug for GatherSettled<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherSettled")
            .field("pending", &self.inner.len())
            .field("len", &self.results.len())
            .finish()
    }
}
