//! [`Queue`]: first in, first out.

use super::api::queue_api;
use super::buffer::Fifo;

queue_api! {
    /// A first-in, first-out queue for many producers and many consumers, with asyncio's
    /// `task_done`/`join` and `shutdown`: the port of `asyncio.Queue`.
    ///
    /// A `Queue` is a cheap handle: [`clone`](Clone::clone) it to give a producer or a consumer
    /// its own, as with async-channel's `Sender`/`Receiver`. Every clone refers to the same queue,
    /// and every clone can both put and get. Dropping a handle does nothing to the queue; when the
    /// last one is dropped, the items still queued are dropped with it. A queue is never closed by
    /// its producers going away (any handle can put): say that no more items will come with
    /// [`shutdown`](Queue::shutdown), which lets the consumers drain what is left and then stop.
    ///
    /// Bounded queues give backpressure: [`put`](Queue::put) waits while the queue is full.
    /// Waiting putters and getters are served first come, first served, and the non-waiting
    /// [`try_put`](Queue::try_put) and [`try_get`](Queue::try_get) never jump ahead of them. A
    /// `get` future dropped while it waits loses nothing. A `put` future dropped while it waits
    /// inserts nothing, and its item is dropped with it; wait with [`reserve`](Queue::reserve)
    /// to keep the item.
    ///
    /// [`task_done`](Queue::task_done) and [`join`](Queue::join) let a producer wait until every
    /// item it put has been processed, not merely taken.
    ///
    /// # Comparison to a channel
    ///
    /// `tokio::sync::mpsc` and async-channel close when one side is dropped and have no notion of
    /// "processed". Use a `Queue` when the asyncio pattern is what you need: workers that share one
    /// queue, `join` to wait for the work, and an explicit shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(10);
    ///
    /// let worker = tokio::spawn({
    ///     let queue = queue.clone();
    ///     async move {
    ///         let mut sum = 0;
    ///         while let Ok(n) = queue.get().await {
    ///             sum += n;
    ///             queue.task_done()?;
    ///         }
    ///         Ok::<_, corral::queue::TaskDoneError>(sum)
    ///     }
    /// });
    ///
    /// for n in 1..=100 {
    ///     queue.put(n).await?;
    /// }
    /// queue.join().await; // every item was taken and marked done
    /// queue.shutdown(); // the worker's next `get` fails: it stops
    /// assert_eq!(worker.await??, 5050);
    /// # Ok(())
    /// # }
    /// ```
    pub struct Queue;

    /// A [`Stream`](futures_core::Stream) of a [`Queue`]'s items, made by [`Queue::into_stream`].
    ///
    /// It yields items as [`Queue::get`] returns them and ends once the queue is shut down and
    /// empty. It waits in line with the `get`s but holds no item while it is not polled: when
    /// its turn comes it is woken, and the item stays free for any consumer until the stream
    /// runs. So a stream whose `next()` lost a `select!` holds nothing, and dropping it loses
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    /// use futures::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(4);
    /// let mut items = queue.clone().into_stream();
    /// queue.put(1).await?;
    /// assert_eq!(items.next().await, Some(1));
    /// queue.shutdown();
    /// assert_eq!(items.next().await, None);
    /// # Ok(())
    /// # }
    /// ```
    pub struct QueueStream;
    pub struct QueuePermit;
    pub struct OwnedQueuePermit;

    buffer: Fifo,
    bounds: [T],
    put_where: "at the back of the queue",
    get_what: "the item at the front of the queue",
    get_example: {
        /// ```
        /// use corral::queue::Queue;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = Queue::unbounded();
        /// queue.put('a').await?;
        /// queue.put('b').await?;
        /// assert_eq!(queue.get().await?, 'a');
        /// assert_eq!(queue.get().await?, 'b');
        /// # Ok(())
        /// # }
        /// ```
    },
    shutdown_immediate_example: {
        /// ```
        /// use corral::queue::Queue;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = Queue::unbounded();
        /// for n in 1..=3 {
        ///     queue.put(n).await?;
        /// }
        /// let taken = queue.get().await?;
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
        /// use corral::queue::Queue;
        /// use futures::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = Queue::unbounded();
        /// for word in ["to", "be", "or"] {
        ///     queue.put(word).await?;
        /// }
        /// queue.shutdown();
        /// let words: Vec<_> = queue.into_stream().collect().await;
        /// assert_eq!(words, ["to", "be", "or"]);
        /// # Ok(())
        /// # }
        /// ```
    },
}
