//! [`BarrierWait`], the future of [`Barrier::wait`], and what it returns.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Barrier;
use crate::util::Ticket;

/// The future returned by [`Barrier::wait`].
///
/// See [`Barrier::wait`]. Polling it again after it completed returns the same result.
///
/// # Examples
///
/// ```
/// use corral::sync::{Barrier, BarrierWait};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let barrier = Barrier::new(1);
/// let wait: BarrierWait<'_> = barrier.wait();
/// assert_eq!(wait.await?.index(), 0);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct BarrierWait<'a> {
    pub(super) barrier: &'a Barrier,
    pub(super) state: WaitState,
}

#[derive(Debug)]
pub(super) enum WaitState {
    /// Not polled yet: the task has not arrived.
    Arriving,
    /// Counted in phase `generation`, with `index`.
    Waiting {
        ticket: Ticket,
        generation: usize,
        index: usize,
    },
    Done(Result<BarrierWaitResult, BrokenBarrier>),
}

impl Future for BarrierWait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.state {
            WaitState::Arriving => {
                let (arrived, released) = this.barrier.arrive(cx.waker());
                this.state = arrived;
                // After the state is stored: if a waker panics, a poll again gives the result.
                crate::util::wake_all("Barrier", released);
            }
            WaitState::Waiting {
                ticket,
                generation,
                index,
            } => {
                if let Some(result) =
                    this.barrier
                        .poll_waiting(cx.waker(), ticket, generation, index)
                {
                    this.state = WaitState::Done(result);
                }
            }
            WaitState::Done(_) => {}
        }
        match this.state {
            WaitState::Done(result) => Poll::Ready(result),
            _ => Poll::Pending,
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let WaitState::Waiting {
            ticket,
            generation,
            index,
        } = self.state
        {
            self.barrier.leave(ticket, generation, index);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            WaitState::Arriving => "arriving",
            WaitState::Waiting { .. } => "waiting",
            WaitState::Done(_) => "done",
        };
        f.debug_struct("BarrierWait")
            .field("parties", &self.barrier.parties)
            .field("state", &state)
            .finish()
    }
}

/// What a task released by a [`Barrier`] learns: its index and whether it is the leader.
///
/// # Examples
///
/// ```
/// use corral::sync::Barrier;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let barrier = Barrier::new(1);
/// let result = barrier.wait().await?;
/// assert_eq!(result.index(), 0);
/// assert!(result.is_leader());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BarrierWaitResult {
    pub(super) index: usize,
    pub(super) leader: bool,
}

impl BarrierWaitResult {
    /// The task's index in its phase, in `0..parties`, different for each task the phase
    /// released (asyncio's return value of `wait`).
    ///
    /// Without cancellations it is the order of arrival. A task that arrives after a
    /// waiter was dropped takes that waiter's index.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Barrier;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::new(2);
    /// let (a, b) = tokio::join!(barrier.wait(), barrier.wait());
    /// let mut indices = [a?.index(), b?.index()];
    /// indices.sort();
    /// assert_eq!(indices, [0, 1]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether this task is the leader of its phase: the one whose arrival completed it.
    ///
    /// Each phase has exactly one leader, and its index is `parties - 1` (Tokio's
    /// `is_leader`).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Barrier;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let barrier = Barrier::new(2);
    /// let (a, b) = tokio::join!(barrier.wait(), barrier.wait());
    /// let (a, b) = (a?, b?);
    /// assert!(a.is_leader() ^ b.is_leader());
    /// let leader = if a.is_leader() { a } else { b };
    /// assert_eq!(leader.index(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// The error of [`Barrier::wait`] on a barrier that is broken, or that was broken or reset
/// while the task waited (asyncio's `BrokenBarrierError`).
///
/// # Examples
///
/// ```
/// use corral::sync::{Barrier, BrokenBarrier};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let barrier = Barrier::new(2);
/// barrier.abort();
/// let err: BrokenBarrier = barrier.wait().await.err().ok_or("the barrier was aborted")?;
/// assert_eq!(err.to_string(), "barrier is broken");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BrokenBarrier(pub(super) ());

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken")
    }
}

impl Error for BrokenBarrier {}
