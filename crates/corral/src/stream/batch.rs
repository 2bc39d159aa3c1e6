//! `batches`: group a stream's items by count and by time.
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use pin_project_lite::pin_project;

use tokio::time::Instant;

use crate::time::Timer;

/// The most items a batch has room for before its `Vec` grows (documented on [`batches`]).
const RESERVED: usize = 1024;

/// While the stream stays ready, the batch's deadline is looked at (one clock reading) every
/// this many items: a stream that never says `Pending` still has its batches handed on in time.
const LOOK_EVERY: usize = 32;

/// The most items one poll takes from a stream that stays ready before it yields to the
/// scheduler (keeping the partial batch), so that a batch with no size limit does not hold its
/// thread, and the timer wheel gets its turn.
const YIELD_AFTER: usize = 1024;

/// Groups a stream's items into `Vec`s of at most `max_size`, handing a batch on as soon as it
/// is full or `max_wait` after its first item arrived, whichever comes first; the last,
/// shorter batch comes when the stream ends. A `max_size` of 0 is taken as 1 (where Tokio's
/// `chunks_timeout` panics), and `usize::MAX` means no size limit: batches end only by time
/// (or when the stream ends).
///
/// A batch's `Vec` starts with room for at most 1,024 items (fewer when the stream's
/// `size_hint` says fewer are coming) and grows as items come, so a large `max_size` costs
/// nothing up front: a batch of one item that `max_wait` hands on holds no room for
/// `max_size` items, and a huge `max_size` cannot fail an allocation.
///
/// `Duration::MAX` (or any wait too long to be an instant on Tokio's clock) means no time
/// limit: every batch but the last waits until it is full, however long that takes. A long
/// wait is kept exactly, a century included (Tokio's own `sleep`, and so `chunks_timeout`,
/// caps every wait at about 30 years and would hand a partial batch on then).
///
/// A stream that never says `Pending` (an iterator turned into a stream, a generator with no
/// await in its loop) is held to the same `max_wait`: while it stays ready, the deadline is
/// looked at every 32 items, and a poll yields to the scheduler after 1,024 items (keeping the
/// partial batch), so that even a batch with no size limit does not hold its thread.
///
/// This is the guides' `batch_insert` for items that arrive over time (from a queue, a poll,
/// a socket): a slow trickle still gets written every `max_wait`. For a `Vec` already in
/// memory, `items.chunks(batch_size)` is the whole answer.
///
/// # Cancel safety
///
/// Calling `next()` on the returned stream is cancel safe: if it is used in `select!` and
/// another branch completes first, no item was lost (the partial batch is kept).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::stream::{StreamExt, batches};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # tokio::time::pause();
/// let rows = tokio_stream::iter(1..=7);
/// let sizes: Vec<usize> = batches(rows, 3, Duration::from_millis(100)).map(|b| b.len()).collect().await;
/// assert_eq!(sizes, [3, 3, 1]);
/// # }
/// ```
pub fn batches<S: Stream>(stream: S, max_size: usize, max_wait: Duration) -> Batches<S> {
    Batches {
        stream,
        timer: Timer::Unarmed,
        items: Vec::new(),
        max_size: max_size.max(1),
        max_wait,
        due: false,
        ended: false,
    }
}

pin_project! {
    /// The stream of [`batches`]: `Vec`s of at most `max_size` items, each handed on when full
    /// or `max_wait` after its first item.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::stream::{Batches, StreamExt, batches};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // No time limit: batches of three, and the rest when the stream ends.
    /// let batched: Batches<_> = batches(tokio_stream::iter(1..=4), 3, Duration::MAX);
    /// assert_eq!(batched.collect::<Vec<_>>().await, [vec![1, 2, 3], vec![4]]);
    /// # }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Batches<S: Stream> {
        #[pin]
        stream: S,
        // Armed when a batch gets its first item; waits past Tokio's 30-year horizon in
        // steps, and never for a wait that is no instant.
        #[pin]
        timer: Timer,
        items: Vec<S::Item>,
        max_size: usize,
        max_wait: Duration,
        // The batch's wait had already passed when it started (a zero `max_wait`).
        due: bool,
        // The stream ended: nothing more is polled.
        ended: bool,
    }
}

impl<S: Stream> Stream for Batches<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let mut taken = 0_usize;
        while !*this.ended {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if this.items.is_empty() {
                        // Room for the items the stream says are coming (this one and its
                        // lower bound), within the batch's size and `RESERVED`: never room
                        // for a huge `max_size` that a slow stream would not fill.
                        let coming = this.stream.size_hint().0.saturating_add(1);
                        this.items
                            .reserve_exact(coming.min(*this.max_size).min(RESERVED));
                        this.timer.set(Timer::After {
                            duration: *this.max_wait,
                        });
                        *this.due = this.timer.as_mut().start();
                    }
                    this.items.push(item);
                    if this.items.len() >= *this.max_size {
                        this.timer.set(Timer::Unarmed);
                        return Poll::Ready(Some(std::mem::take(this.items)));
                    }
                    taken += 1;
                    if taken.is_multiple_of(LOOK_EVERY) {
                        // The timer wheel cannot fire while this poll runs: read the clock.
                        let passed = *this.due
                            || this
                                .timer
                                .deadline()
                                .is_some_and(|deadline| Instant::now() >= deadline);
                        if passed {
                            this.timer.set(Timer::Unarmed);
                            return Poll::Ready(Some(std::mem::take(this.items)));
                        }
                        if taken >= YIELD_AFTER {
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                    }
                }
                Poll::Ready(None) => *this.ended = true,
                Poll::Pending => {
                    if this.items.is_empty() || !(*this.due || this.timer.as_mut().poll_fired(cx)) {
                        return Poll::Pending;
                    }
                    this.timer.set(Timer::Unarmed);
                    return Poll::Ready(Some(std::mem::take(this.items)));
                }
            }
        }
        // The rest, then the end.
        this.timer.set(Timer::Unarmed);
        if this.items.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(std::mem::take(this.items)))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            return (
                usize::from(!self.items.is_empty()),
                Some(usize::from(!self.items.is_empty())),
            );
        }
        let (low, high) = self.stream.size_hint();
        let pending = self.items.len();
        let full_batches = |n: usize| n.div_ceil(self.max_size);
        // At least as many batches as full ones can hold the items.
        let low = full_batches(low.saturating_add(pending));
        let high = if self.max_wait == Duration::MAX {
            // No time limit: every batch but the last is full, so the count is that of full
            // batches.
            high.and_then(|high| high.checked_add(pending))
                .map(full_batches)
        } else {
            // A batch that `max_wait` hands on may hold a single item: one batch per item to
            // come, plus the partial batch (however many items it holds already).
            high.and_then(|high| high.checked_add(usize::from(pending > 0)))
        };
        (low, high)
    }
}

impl<S: Stream> fmt::Debug for Batches<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batches")
            .field("max_size", &self.max_size)
            .field("max_wait", &self.max_wait)
            .field("pending", &self.items.len())
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}
