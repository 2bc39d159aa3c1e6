use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::indexed::{Budgeted, Indexed};

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
/// Each future costs one small allocation (a box that pins it). The futures are polled in
/// input order while that is cheap, and by wake-up once it is not, so the cost per future
/// stays flat from ten futures to a million, and gathering task handles costs little more than
/// awaiting them one by one.
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

/// [`gather`] for futures that are [`Unpin`], such as task handles: the same results, order
/// and cancellation, without boxing each future.
///
/// `gather` accepts any future, so it pins each one in a box of its own; an `Unpin` future
/// needs no pinning, and here the futures are stored as they are, in one `Vec`. That box is
/// most of what `gather` costs beyond awaiting the futures one by one: gathering 100,000 Tokio
/// [`JoinHandle`](tokio::task::JoinHandle)s this way costs about what awaiting them in a loop
/// does (see `BENCHMARKS.md`). Handles of a [`TaskGroup`](crate::task::TaskGroup)
/// ([`Task`](crate::task::Task)) and `Pin<Box<dyn Future>>` are `Unpin` too; an `async` block
/// is not (use [`gather`], or pin it with [`Box::pin`]).
///
/// An empty input gives `Ok(vec![])` at the first poll.
///
/// # Cancel safety
///
/// Dropping the `GatherUnpin` future drops every future it still holds, and the values
/// already produced. For task handles, dropping a handle does not cancel its task (that is
/// Tokio's `JoinHandle` semantics, and [`Task`](crate::task::Task)'s): the tasks run on, and
/// only their values are lost. It is only cancel safe if losing those is acceptable.
///
/// # Examples
///
/// Spawned work gathered in input order, the first failure returned:
///
/// ```
/// use corral::task::gather_unpin;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handles: Vec<_> = (1..=3_u64).map(|n| tokio::spawn(async move { n * 10 })).collect();
/// let values = gather_unpin(handles).await?; // a `JoinError` if a task panicked
/// assert_eq!(values, [10, 20, 30]);
/// # Ok(())
/// # }
/// ```
pub fn gather_unpin<I, F, T, E>(futures: I) -> GatherUnpin<F, T>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + Unpin,
{
    let inner = Futures::new(futures);
    let len = inner.len();
    GatherUnpin {
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

fn index_all<I, F>(futures: I) -> (Futures<Boxed<F>>, usize)
where
    I: IntoIterator<Item = F>,
    F: Future,
{
    let inner = Futures::new(futures.into_iter().map(|future| Boxed(Box::pin(future))));
    let len = inner.len();
    (inner, len)
}

/// The futures of a gather, each with its position in the input.
///
/// # Design
///
/// They start out polled *in turn*: each is boxed (to pin it) in one `Vec`, and a poll of the
/// gather polls the unfinished ones in input order with the caller's own waker, 128 at a time
/// (then it yields to the runtime, see [`POLLS_PER_TURN`]). For futures that need few polls
/// (task handles, futures that yield a couple of times) that is the cheapest way: no
/// per-future waker or node, no ready queue, and in-order outputs go straight onto the result.
/// Task handles in particular: a handle polled before its task has run registers a waker with
/// the task and must be polled again, so yielding between turns lets the tasks run first, and
/// gathering 100,000 handles registers about 256 wakers where a `FuturesUnordered` registered
/// 100,000 (`tests/task/coop.rs` counts the polls).
///
/// Polling in turn wastes a poll on every future that was not woken. So each poll that returns
/// `Pending` is counted, and once there have been more than there were futures (that is, as
/// soon as a lap after the first one, which every future needs anyway, finds one not ready: a
/// future that keeps waking while the others sleep, or timers firing one by one) the
/// unfinished futures move, still boxed, into a `FuturesUnordered`, where a wake-up polls only
/// the future that was woken. The cost per future stays flat whatever the futures do: about
/// one wasted poll each before the switch, and the `FuturesUnordered` cost after it.
///
/// Measured on `spawn_gather` (100,000 futures that yield once, current-thread runtime), this
/// halves the time of `corral_gather` against the `FuturesUnordered` it replaces (and against
/// `futures::join_all`).
///
/// Either way the coop budget is checked before every poll, and the gather yields (waking
/// itself) when it is spent, so a Tokio resource out of budget is never polled in vain.
///
/// The futures are stored as given, so they must be `Unpin`: [`gather`] and
/// [`gather_settled`] box each one (which pins it), [`gather_unpin`] stores them as they are.
struct Futures<F> {
    /// The futures polled in turn, in input order; finished ones are `None` until compacted.
    scan: Vec<Slot<F>>,
    /// How many of `scan` are unfinished.
    live: usize,
    /// Where the next poll in turn starts.
    cursor: usize,
    /// Polls in turn that returned `Pending`, and how many switch to polling by wake-up.
    wasted: usize,
    limit: usize,
    /// The futures polled by wake-up, after the switch.
    woken: FuturesUnordered<Budgeted<Indexed<F>>>,
}

/// A future pinned in a box of its own, for [`gather`] and [`gather_settled`]: polls straight
/// through to it (polling a `Pin<Box<F>>` through `Pin::new(&mut _)` left a call in between).
struct Boxed<F>(Pin<Box<F>>);

impl<F: Future> Future for Boxed<F> {
    type Output = F::Output;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

/// How many futures one poll of a gather polls in turn before it yields to the runtime.
///
/// Tokio's coop budget does not count a poll that returns `Pending`, so without this a gather
/// of 100,000 task handles polls every one of them, registering a waker with each task, before
/// any of those tasks has had a chance to run. Yielding every 128 polls (Tokio's budget) lets
/// the spawned tasks run between turns: the handles polled after that find their task done,
/// and the first lap registers a few hundred wakers instead of 100,000.
const POLLS_PER_TURN: usize = 128;

struct Slot<F> {
    index: usize,
    future: Option<F>,
}

impl<F> Futures<F> {
    fn new<I: IntoIterator<Item = F>>(futures: I) -> Self {
        let scan: Vec<Slot<F>> = futures
            .into_iter()
            .enumerate()
            .map(|(index, future)| Slot {
                index,
                future: Some(future),
            })
            .collect();
        let live = scan.len();
        Self {
            scan,
            live,
            cursor: 0,
            wasted: 0,
            limit: live,
            woken: FuturesUnordered::new(),
        }
    }

    /// How many futures have not finished.
    fn len(&self) -> usize {
        self.live + self.woken.len()
    }

    /// Drops every future (on the first error).
    fn clear(&mut self) {
        self.scan = Vec::new();
        self.live = 0;
        self.woken.clear();
    }

    /// Moves the unfinished futures to the `FuturesUnordered`.
    fn switch(&mut self) {
        for slot in std::mem::take(&mut self.scan) {
            if let Some(future) = slot.future {
                self.woken
                    .push(Budgeted::new(Indexed::new(slot.index, future)));
            }
        }
        self.live = 0;
    }
}

impl<F: Future + Unpin> Futures<F> {
    /// Polls the futures, handing each output to `sink` with its index, until every future is
    /// done (`Ready`), `sink` says to stop (`Ready`), or none can go on now (`Pending`).
    fn poll_each(
        &mut self,
        cx: &mut Context<'_>,
        mut sink: impl FnMut(usize, F::Output) -> ControlFlow<()>,
    ) -> Poll<()> {
        // Each unfinished future is polled at most once per call: after a full lap of
        // `Pending`s every one of them has the waker, so there is nothing to do until a wake.
        let mut lap = self.live;
        let mut turn = POLLS_PER_TURN;
        while self.live > 0 {
            if self.wasted > self.limit {
                self.switch();
                break;
            }
            if lap == 0 {
                return Poll::Pending;
            }
            if self.cursor >= self.scan.len() {
                self.cursor = 0;
                // Drop the finished slots once they are the majority, so a lap stays in
                // proportion to the unfinished futures.
                if self.live < self.scan.len() / 2 {
                    self.scan.retain(|slot| slot.future.is_some());
                }
            }
            let slot = &mut self.scan[self.cursor];
            let Some(future) = slot.future.as_mut() else {
                self.cursor += 1;
                continue;
            };
            if turn == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if super::indexed::yield_if_out_of_budget(cx) {
                return Poll::Pending;
            }
            turn -= 1;
            lap -= 1;
            match Pin::new(future).poll(cx) {
                Poll::Pending => {
                    self.wasted += 1;
                    self.cursor += 1;
                }
                Poll::Ready(output) => {
                    let index = slot.index;
                    slot.future = None;
                    self.live -= 1;
                    self.cursor += 1;
                    if sink(index, output).is_break() {
                        return Poll::Ready(());
                    }
                }
            }
        }
        while let Some((index, output)) = ready!(self.woken.poll_next_unpin(cx)) {
            if sink(index, output).is_break() {
                return Poll::Ready(());
            }
        }
        Poll::Ready(())
    }
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
    inner: Futures<Boxed<F>>,
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
        poll_gather(&mut this.inner, &mut this.results, cx)
    }
}

/// A poll of [`Gather`] or [`GatherUnpin`]: outputs in input order, the first error cancels
/// the rest.
fn poll_gather<P, T, E>(
    inner: &mut Futures<P>,
    results: &mut Outputs<T>,
    cx: &mut Context<'_>,
) -> Poll<Result<Vec<T>, E>>
where
    P: Future<Output = Result<T, E>> + Unpin,
{
    let mut failed = None;
    let sink = &mut *results;
    ready!(inner.poll_each(cx, |index, output| match output {
        Ok(value) => {
            sink.put(index, value);
            ControlFlow::Continue(())
        }
        Err(error) => {
            failed = Some(error);
            ControlFlow::Break(())
        }
    }));
    Poll::Ready(match failed {
        Some(error) => {
            // Cancel the rest now rather than when the caller drops this future.
            inner.clear();
            results.clear();
            Err(error)
        }
        None => Ok(results.take()),
    })
}

// Outputs are stored, never pinned; the futures are pinned in boxes of their own. So `Gather` is `Unpin` whatever `T` is.
impl<F, T> Unpin for Gather<F, T> {}

impl<F, T> fmt::Debug for Gather<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("pending", &self.inner.len())
            .field("len", &self.results.len())
            .finish()
    }
}

/// The future returned by [`gather_unpin`].
///
/// # Examples
///
/// ```
/// use corral::task::{GatherUnpin, gather_unpin};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handles = [tokio::spawn(async { 1 }), tokio::spawn(async { 2 })];
/// let pending: GatherUnpin<_, u32> = gather_unpin(handles);
/// assert_eq!(pending.await?, [1, 2]);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct GatherUnpin<F, T> {
    inner: Futures<F>,
    results: Outputs<T>,
}

impl<F, T, E> Future for GatherUnpin<F, T>
where
    F: Future<Output = Result<T, E>> + Unpin,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        poll_gather(&mut this.inner, &mut this.results, cx)
    }
}

// The futures are `Unpin` (for `poll`), and outputs are never pinned.
impl<F: Unpin, T> Unpin for GatherUnpin<F, T> {}

impl<F, T> fmt::Debug for GatherUnpin<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherUnpin")
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
    inner: Futures<Boxed<F>>,
    results: Outputs<F::Output>,
}

impl<F: Future> Future for GatherSettled<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let results = &mut this.results;
        ready!(this.inner.poll_each(cx, |index, output| {
            results.put(index, output);
            ControlFlow::Continue(())
        }));
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
