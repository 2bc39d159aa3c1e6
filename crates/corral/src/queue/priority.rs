//! [`PriorityQueue`]: smallest first.

use super::api::queue_api;
use super::buffer::Heap;

queue_api! {
    /// A queue that gives its smallest item first, for many producers and many consumers, with
    /// asyncio's `task_done`/`join` and `shutdown`: the port of `asyncio.PriorityQueue`.
    ///
    /// It has the API and the guarantees of [`Queue`](super::Queue) (a cheap `Clone` handle,
    /// backpressure when bounded, first come, first served for the tasks that wait, cancel-safe
    /// `get` and `reserve`, `task_done`/`join`, `shutdown`); only the order differs: `get` takes the
    /// smallest item by `Ord`, as Python's `heapq` does. Put `(priority, job)` tuples to order jobs
    /// by priority, and wrap the priority in [`Reverse`](std::cmp::Reverse) for largest first.
    ///
    /// Equal items come out in the order they were put. asyncio's `PriorityQueue` makes no such
    /// promise (`heapq` is not stable), which is why Python code adds a counter to its tuples;
    /// here that is not needed.
    ///
    /// The order is that of the items present at the same time: an item put after a larger one
    /// was taken does not overtake it. `T`'s `Ord` runs under the queue's lock; if it panics,
    /// the panic is caught there and [reported](crate::report) once the lock is released, the
    /// two items it compared count as equal (they keep the order they were put in), and
    /// nothing is lost: every item still comes out once, and [`join`](PriorityQueue::join)
    /// still returns. An `Ord` must not use its own queue (the lock is held): if it does, that
    /// call panics inside the `Ord` (and so is reported the same way) instead of deadlocking.
    /// This is the one place corral runs your code under one of its locks: a heap cannot
    /// order items without comparing them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cmp::Reverse;
    ///
    /// use corral::queue::PriorityQueue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let jobs = PriorityQueue::bounded(16);
    /// jobs.put((2, "send newsletter")).await?;
    /// jobs.put((0, "page on-call")).await?;
    /// jobs.put((1, "rotate logs")).await?;
    ///
    /// let worker = tokio::spawn({
    ///     let jobs = jobs.clone();
    ///     async move {
    ///         let mut done = Vec::new();
    ///         while let Ok((_, job)) = jobs.get().await {
    ///             done.push(job);
    ///             jobs.task_done()?;
    ///         }
    ///         Ok::<_, corral::queue::TaskDoneError>(done)
    ///     }
    /// });
    /// jobs.join().await;
    /// jobs.shutdown();
    /// let done = worker.await??;
    /// assert_eq!(done, ["page on-call", "rotate logs", "send newsletter"]);
    ///
    /// // Largest first: wrap the key in `Reverse`.
    /// let scores = PriorityQueue::unbounded();
    /// for score in [70, 95, 80] {
    ///     scores.try_put(Reverse(score))?;
    /// }
    /// assert_eq!(scores.try_get()?, Reverse(95));
    /// # Ok(())
    /// # }
    /// ```
    pub struct PriorityQueue;

    /// A [`Stream`](futures_core::Stream) of a [`PriorityQueue`]'s items, made by [`PriorityQueue::into_stream`].
    ///
    /// It yields items as [`PriorityQueue::get`] returns them and ends once the queue is shut down and
    /// empty. It waits in line with the `get`s but holds no item while it is not polled: when
    /// its turn comes it is woken, and the item stays free for any consumer until the stream
    /// runs. So a stream whose `next()` lost a `select!` holds nothing, and dropping it loses
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::PriorityQueue;
    /// use futures::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = PriorityQueue::bounded(4);
    /// let mut items = queue.clone().into_stream();
    /// queue.put(1).await?;
    /// assert_eq!(items.next().await, Some(1));
    /// queue.shutdown();
    /// assert_eq!(items.next().await, None);
    /// # Ok(())
    /// # }
    /// ```
    pub struct PriorityQueueStream;
    pub struct PriorityQueuePermit;
    pub struct OwnedPriorityQueuePermit;

    buffer: Heap,
    bounds: [T: Ord],
    put_where: "into the queue",
    get_what: "the smallest item",
    get_example: {
        /// ```
        /// use corral::queue::PriorityQueue;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = PriorityQueue::unbounded();
        /// queue.put((2, "write report")).await?;
        /// queue.put((1, "fix outage")).await?;
        /// assert_eq!(queue.get().await?, (1, "fix outage"));
        /// assert_eq!(queue.get().await?, (2, "write report"));
        /// # Ok(())
        /// # }
        /// ```
    },
    shutdown_immediate_example: {
        /// ```
        /// use corral::queue::PriorityQueue;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = PriorityQueue::unbounded();
        /// for n in [3, 1, 2] {
        ///     queue.put(n).await?;
        /// }
        /// let taken = queue.get().await?; // 1, the smallest
        /// assert_eq!(queue.shutdown_immediate(), [2, 3]);
        /// assert!(queue.get().await.is_err());
        /// queue.task_done()?; // for `taken`; 2 and 3 already count as done
        /// queue.join().await;
        /// # let _ = taken;
        /// # Ok(())
        /// # }
        /// ```
    },
    into_stream_example: {
        /// ```
        /// use corral::queue::PriorityQueue;
        /// use futures::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = PriorityQueue::unbounded();
        /// for word in ["to", "be", "or"] {
        ///     queue.put(word).await?;
        /// }
        /// queue.shutdown();
        /// let words: Vec<_> = queue.into_stream().collect().await;
        /// assert_eq!(words, ["be", "or", "to"]);
        /// # Ok(())
        /// # }
        /// ```
    },
}
