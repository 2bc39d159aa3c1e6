use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::error::ErrorGroup;
use super::indexed::{Budgeted, Indexed};

/// Runs every future concurrently; the first to finish wins and the rest are dropped.
///
/// Returns the winner's output, or `None` for an empty input. The losers are dropped as soon as
/// the winner is known, which cancels a future polled in place. The futures are polled in place
/// and may borrow. When several are ready in the same poll, the first one polled wins; which
/// one that is, is unspecified.
///
/// A task handle (a [`Task`](crate::task::Task) or a Tokio `JoinHandle`) is a future too, but
/// dropping it does not cancel its task: a losing task runs on (and its group's `join` waits
/// for it). To race tasks and cancel the losers, use [`wait`](crate::task::wait) with
/// [`WaitFor::FirstCompleted`](crate::task::WaitFor::FirstCompleted) and drop the pending
/// entries, which aborts them.
///
/// To take the first *success* and ignore failures, use [`first_ok`].
///
/// # Cancel safety
///
/// Dropping the `Race` future drops every future it holds.
///
/// # Examples
///
/// The guides' `first_response` (asyncio's `wait(..., FIRST_COMPLETED)` plus cancelling the
/// rest):
///
/// ```
/// use std::time::Duration;
/// use corral::task::race;
///
/// async fn fetch(mirror: &str, delay_ms: u64) -> String {
///     tokio::time::sleep(Duration::from_millis(delay_ms)).await;
///     format!("payload from {mirror}")
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let mirrors = [("eu", 80), ("us", 30), ("ap", 120)];
/// let first = race(mirrors.map(|(name, ms)| fetch(name, ms))).await;
/// assert_eq!(first.as_deref(), Some("payload from us"));
/// # Ok(())
/// # }
/// ```
pub fn race<I, F>(futures: I) -> Race<F>
where
    I: IntoIterator<Item = F>,
    F: Future,
{
    Race {
        inner: futures.into_iter().map(Budgeted::new).collect(),
    }
}

/// The future returned by [`race`].
///
/// # Examples
///
/// ```
/// use corral::task::{Race, race};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let first: Race<_> = race([7].map(|n| async move { n }));
/// assert_eq!(first.await, Some(7));
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Race<F> {
    inner: FuturesUnordered<Budgeted<F>>,
}

impl<F: Future> Future for Race<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let winner = ready!(self.inner.poll_next_unpin(cx));
        self.inner.clear();
        Poll::Ready(winner)
    }
}

impl<F> fmt::Debug for Race<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Race")
            .field("pending", &self.inner.len())
            .finish()
    }
}

/// Runs every future concurrently and returns the first `Ok`; the rest are dropped (which
/// cancels a future polled in place). If none succeeds, returns every error, in input order.
///
/// As with [`race`], a losing task handle is dropped, which leaves its task running: to cancel
/// losing tasks, [`wait`](crate::task::wait) on them and drop the pending entries.
///
/// The classic use is "try several mirrors, take whichever answers first". An empty input gives
/// an empty [`ErrorGroup`] (no error, not cancelled) at the first poll. The futures are polled in
/// place and may borrow.
///
/// # Cancel safety
///
/// Dropping the `FirstOk` future drops every future it holds and the errors collected so far.
///
/// # Errors
///
/// If every future fails, an [`ErrorGroup`] with one error per input, in input order.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::task::first_ok;
///
/// async fn fetch(mirror: &str, delay_ms: u64, up: bool) -> Result<String, String> {
///     tokio::time::sleep(Duration::from_millis(delay_ms)).await;
///     if up { Ok(format!("payload from {mirror}")) } else { Err(format!("{mirror} is down")) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// // The fastest mirror is down; the first success wins.
/// let mirrors = [("eu", 80, true), ("us", 30, false), ("ap", 120, true)];
/// let body = first_ok(mirrors.map(|(m, ms, up)| fetch(m, ms, up))).await;
/// assert_eq!(body.ok().as_deref(), Some("payload from eu"));
///
/// let all_down = first_ok([fetch("eu", 5, false), fetch("us", 1, false)]).await;
/// let Err(errors) = all_down else {
///     return Err("expected every mirror to be down".into());
/// };
/// assert_eq!(errors.errors(), ["eu is down", "us is down"]); // input order
/// # Ok(())
/// # }
/// ```
pub fn first_ok<I, F, T, E>(futures: I) -> FirstOk<F, E>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>>,
{
    let inner: FuturesUnordered<_> = futures
        .into_iter()
        .enumerate()
        .map(|(index, future)| Budgeted::new(Indexed::new(index, future)))
        .collect();
    FirstOk {
        inner,
        errors: Vec::new(),
    }
}

/// The future returned by [`first_ok`].
///
/// # Examples
///
/// ```
/// use corral::task::{FirstOk, first_ok};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let first: FirstOk<_, &str> = first_ok([Ok(1), Err("down")].map(|r| async move { r }));
/// assert_eq!(first.await.ok(), Some(1));
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct FirstOk<F, E> {
    inner: FuturesUnordered<Budgeted<Indexed<F>>>,
    errors: Vec<(usize, E)>,
}

impl<F, T, E> Future for FirstOk<F, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, ErrorGroup<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while let Some((index, output)) = ready!(this.inner.poll_next_unpin(cx)) {
            match output {
                Ok(value) => {
                    this.inner.clear();
                    this.errors.clear();
                    return Poll::Ready(Ok(value));
                }
                Err(error) => this.errors.push((index, error)),
            }
        }
        let mut errors = std::mem::take(&mut this.errors);
        errors.sort_unstable_by_key(|(index, _)| *index);
        Poll::Ready(Err(ErrorGroup::from_errors(
            errors.into_iter().map(|(_, error)| error).collect(),
        )))
    }
}

// Errors are stored, never pinned; the futures are pinned inside the `FuturesUnordered`.
impl<F, E> Unpin for FirstOk<F, E> {}

impl<F, E> fmt::Debug for FirstOk<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstOk")
            .field("pending", &self.inner.len())
            .field("errors", &self.errors.len())
            .finish()
    }
}
