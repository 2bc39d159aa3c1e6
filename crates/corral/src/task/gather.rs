use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use std::sync::Arc;
use std::task::Waker;

use super::pinned::{Pinned, ReadyQueue, SlotWaker, Slots, Unpinned};

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
/// The futures are pinned sixteen to an allocation, and polled in input order while that is
/// cheap, by wake-up once it is not, so the cost per future stays flat from ten futures to a
/// million, and gathering task handles costs little more than awaiting them one by one (100,000
/// Tokio `JoinHandle`s: 1.08× the instructions of awaiting them in a loop, see
/// `BENCHMARKS.md`).
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
    let inner = Futures::new(Pinned::new(futures));
    let len = inner.len();
    Gather {
        inner,
        results: Outputs::new(len),
    }
}

/// [`gather`] for futures that are [`Unpin`], such as task handles: the same results and
/// order, with the futures stored as they are.
///
/// On the first `Err` the remaining futures are dropped, as in `gather`; dropping a task
/// handle does not cancel its task, so tasks passed in run on (abort them, or spawn them into
/// a [`TaskGroup`](crate::task::TaskGroup), whose first failure cancels the rest).
///
/// `gather` accepts any future, so it pins them (sixteen to an allocation); an `Unpin` future
/// needs no pinning, and here the futures are stored as they are, in one `Vec`. That saves a
/// little more: gathering 100,000 Tokio [`JoinHandle`](tokio::task::JoinHandle)s this way
/// costs about what awaiting them in a loop does (1.05× the instructions, against 1.08× for
/// `gather`; see `BENCHMARKS.md`). Handles of a [`TaskGroup`](crate::task::TaskGroup)
/// ([`Task`](crate::task::Task)) and `Pin<Box<dyn Future>>` are `Unpin` too; an `async` block
/// is not (use [`gather`]).
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
    let inner = Futures::new(Unpinned::new(futures));
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
    let inner = Futures::new(Pinned::new(futures));
    let len = inner.len();
    GatherSettled {
        inner,
        results: Outputs::new(len),
    }
}

/// The futures of a gather, each with its position in the input.
///
/// # Design
///
/// They are pinned in place, sixteen to an allocation (see [`Pinned`]), and start out polled
/// *in turn*: a poll of the gather polls the unfinished ones in input order with the caller's
/// own waker, 128 at a time (then it yields to the runtime, see [`POLLS_PER_TURN`]). For
/// futures that need few polls (task handles, futures that yield a couple of times) that is
/// the cheapest way: no per-future waker or node, no ready queue, and in-order outputs go
/// straight onto the result. Task handles in particular: a handle polled before its task has
/// run registers a waker with the task and must be polled again, so yielding between turns
/// lets the tasks run first, and gathering 100,000 handles registers about 256 wakers where a
/// `FuturesUnordered` registered 100,000 (`tests/task/coop.rs` counts the polls).
///
/// Polling in turn wastes a poll on every future that was not woken. So each poll that returns
/// `Pending` is counted, and once there have been more than there were futures (that is, as
/// soon as a lap after the first one, which every future needs anyway, finds one not ready: a
/// future that keeps waking while the others sleep, or timers firing one by one) the gather
/// switches to polling by wake-up: each unfinished future is polled once more with a waker of
/// its own, which queues its index when it wakes ([`ReadyQueue`]), and from then on a poll of
/// the gather polls only the futures queued. The cost per future stays flat whatever the
/// futures do: about one wasted poll each before the switch, and one waker each after it.
///
/// Measured on `spawn_gather` (100,000 futures that yield once, current-thread runtime),
/// polling in turn halves the time of `corral_gather` against a `FuturesUnordered` (and
/// against `futures::join_all`).
///
/// Either way the coop budget is checked before every poll, and the gather yields (waking
/// itself) when it is spent, so a Tokio resource out of budget is never polled in vain.
struct Futures<S> {
    slots: S,
    /// How many futures there were.
    total: usize,
    /// How many have not finished.
    live: usize,
    /// The unfinished futures' indices in input order, once finished ones were dropped from
    /// the lap (`compacted`); until then the lap is `0..total`.
    scan: Vec<usize>,
    compacted: bool,
    /// Where the next poll in turn starts, in the lap.
    cursor: usize,
    /// Polls in turn that returned `Pending`, and how many switch to polling by wake-up.
    wasted: usize,
    limit: usize,
    /// Set once the futures are polled by wake-up.
    woken: Option<Woken>,
}

/// What polling by wake-up needs: the queue, each unfinished future's waker (made at its
/// first poll after the switch), and the futures taken from the queue, `batch[next..]` not
/// polled yet (left there only by a poll that panicked, and put back by the next poll).
struct Woken {
    queue: Arc<ReadyQueue>,
    wakers: Vec<Option<Waker>>,
    batch: Vec<usize>,
    next: usize,
}

/// How many futures one poll of a gather polls in turn before it yields to the runtime.
///
/// Tokio's coop budget does not count a poll that returns `Pending`, so without this a gather
/// of 100,000 task handles polls every one of them, registering a waker with each task, before
/// any of those tasks has had a chance to run. Yielding every 128 polls (Tokio's budget) lets
/// the spawned tasks run between turns: the handles polled after that find their task done,
/// and the first lap registers a few hundred wakers instead of 100,000.
const POLLS_PER_TURN: usize = 128;

/// How many times one poll of a gather takes the futures woken, once polling by wake-up.
const TAKES_PER_POLL: usize = 2;

impl<S> Futures<S> {
    /// How many futures have not finished.
    fn len(&self) -> usize {
        self.live
    }
}

impl<S: Slots> Futures<S> {
    fn new((slots, total): (S, usize)) -> Self {
        Self {
            slots,
            total,
            live: total,
            scan: Vec::new(),
            compacted: false,
            cursor: 0,
            wasted: 0,
            limit: total,
            woken: None,
        }
    }

    /// Drops every future (on the first error).
    fn clear(&mut self) {
        self.slots.clear();
        self.scan = Vec::new();
        self.live = 0;
        self.woken = None;
    }

    /// How many futures a lap visits.
    fn lap_len(&self) -> usize {
        if self.compacted {
            self.scan.len()
        } else {
            self.total
        }
    }

    /// The index of the future at `position` in the lap.
    fn index_at(&self, position: usize) -> usize {
        if self.compacted {
            self.scan[position]
        } else {
            position
        }
    }

    /// The unfinished futures' indices, in input order.
    fn unfinished(&mut self) -> Vec<usize> {
        let mut unfinished = Vec::with_capacity(self.live);
        for position in 0..self.lap_len() {
            let index = self.index_at(position);
            if self.slots.future(index).is_some() {
                unfinished.push(index);
            }
        }
        unfinished
    }

    /// Switches to polling by wake-up: every unfinished future is queued, to be polled once
    /// with a waker of its own.
    fn switch(&mut self) {
        let unfinished = self.unfinished();
        self.scan = Vec::new();
        self.woken = Some(Woken {
            queue: Arc::new(ReadyQueue::new(self.total, unfinished)),
            wakers: (0..self.total).map(|_| None).collect(),
            batch: Vec::new(),
            next: 0,
        });
    }
}

impl<S: Slots> Futures<S>
where
    S::Future: Future,
{
    /// Polls the futures, handing each output to `sink` with its index, until every future is
    /// done (`Ready`), `sink` says to stop (`Ready`), or none can go on now (`Pending`).
    fn poll_each(
        &mut self,
        cx: &mut Context<'_>,
        mut sink: impl FnMut(usize, <S::Future as Future>::Output) -> ControlFlow<()>,
    ) -> Poll<()> {
        if self.woken.is_none() {
            ready!(self.poll_in_turn(cx, &mut sink));
            if self.live == 0 || self.woken.is_none() {
                return Poll::Ready(());
            }
        }
        self.poll_woken(cx, &mut sink)
    }

    /// Polls the futures in turn with the caller's waker; `Ready` when done, stopped by
    /// `sink`, or switched to polling by wake-up.
    fn poll_in_turn(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut impl FnMut(usize, <S::Future as Future>::Output) -> ControlFlow<()>,
    ) -> Poll<()> {
        // Each unfinished future is polled at most once per call: after a full lap of
        // `Pending`s every one of them has the waker, so there is nothing to do until a wake.
        let mut lap = self.live;
        let mut turn = POLLS_PER_TURN;
        while self.live > 0 {
            if self.wasted > self.limit {
                self.switch();
                return Poll::Ready(());
            }
            if lap == 0 {
                return Poll::Pending;
            }
            if self.cursor >= self.lap_len() {
                self.cursor = 0;
                // Drop the finished futures from the lap once they are the majority, so a lap
                // stays in proportion to the unfinished ones.
                if self.live < self.lap_len() / 2 {
                    self.scan = self.unfinished();
                    self.compacted = true;
                }
            }
            let index = self.index_at(self.cursor);
            let Some(future) = self.slots.future(index) else {
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
            self.cursor += 1;
            match future.poll(cx) {
                Poll::Pending => self.wasted += 1,
                Poll::Ready(output) => {
                    // Counted and handed on before the future is dropped: a destructor that
                    // panics leaves the gather consistent.
                    self.live -= 1;
                    let flow = sink(index, output);
                    self.slots.finish(index);
                    if flow.is_break() {
                        return Poll::Ready(());
                    }
                }
            }
        }
        Poll::Ready(())
    }

    /// Polls the futures woken since the last poll, each with its own waker: what the queue
    /// holds, then what was woken meanwhile, then yields (as `FuturesUnordered` yields once
    /// two of its futures woke themselves), so a future that wakes itself in its poll is
    /// polled at most [`TAKES_PER_POLL`] times per poll of the gather. A future woken after
    /// the last take has woken the gather, whose waker that take registered.
    fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut impl FnMut(usize, <S::Future as Future>::Output) -> ControlFlow<()>,
    ) -> Poll<()> {
        let Some(woken) = self.woken.as_mut() else {
            return Poll::Ready(());
        };
        // A future's poll (or destructor) that panicked left the rest of its batch.
        if woken.next < woken.batch.len() {
            woken.queue.put_back(&woken.batch[woken.next..]);
        }
        woken.batch.clear();
        woken.next = 0;
        for _ in 0..TAKES_PER_POLL {
            if self.live == 0 {
                return Poll::Ready(());
            }
            woken.batch.clear();
            woken.next = 0;
            woken.queue.take(cx.waker(), &mut woken.batch);
            if woken.batch.is_empty() {
                return Poll::Pending;
            }
            while let Some(&index) = woken.batch.get(woken.next) {
                if super::indexed::yield_if_out_of_budget(cx) {
                    woken.queue.put_back(&woken.batch[woken.next..]);
                    woken.batch.clear();
                    woken.next = 0;
                    return Poll::Pending;
                }
                woken.next += 1;
                let Some(future) = self.slots.future(index) else {
                    continue;
                };
                let waker = woken.wakers[index].get_or_insert_with(|| {
                    Waker::from(Arc::new(SlotWaker {
                        index,
                        queue: Arc::downgrade(&woken.queue),
                    }))
                });
                if let Poll::Ready(output) = future.poll(&mut Context::from_waker(waker)) {
                    self.live -= 1;
                    woken.wakers[index] = None;
                    let flow = sink(index, output);
                    self.slots.finish(index);
                    if flow.is_break() {
                        return Poll::Ready(());
                    }
                }
            }
        }
        if self.live == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
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
    inner: Futures<Pinned<F>>,
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
fn poll_gather<S, T, E>(
    inner: &mut Futures<S>,
    results: &mut Outputs<T>,
    cx: &mut Context<'_>,
) -> Poll<Result<Vec<T>, E>>
where
    S: Slots,
    S::Future: Future<Output = Result<T, E>>,
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

// Outputs are stored, never pinned, and the futures are pinned in allocations of their own. So
// `Gather` is `Unpin` whatever `F` and `T` are.
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
    inner: Futures<Unpinned<F>>,
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
    inner: Futures<Pinned<F>>,
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
