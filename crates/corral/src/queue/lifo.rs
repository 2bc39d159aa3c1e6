//! [`LifoQueue`]: last in, first out.

use super::api::queue_api;
use super::buffer::Lifo;

queue_api! {
    /// A last-in, first-out queue (a stack) for many producers and many consumers, with asyncio's
    /// `task_done`/`join` and `shutdown`: the port of `asyncio.LifoQueue`.
    ///
    /// It has the API and the guarantees of [`Queue`](super::Queue) (a cheap `Clone` handle,
    /// backpressure when bounded, first come, first served for the tasks that wait, cancel-safe
    /// `get` and `reserve`, `task_done`/`join`, `shutdown`); only the order differs: `get` takes the
    /// item put last. Use it where the freshest work matters most, or to go depth-first through
    /// work that produces more work.
    ///
    /// # Examples
    ///
    /// Depth-first: a worker takes the newest job, and the jobs it spawns go before older ones.
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::unbounded();
    /// queue.put("a").await?;
    /// queue.put("b").await?;
    ///
    /// let mut order = Vec::new();
    /// while let Ok(job) = queue.try_get() {
    ///     order.push(job);
    ///     if job == "b" {
    ///         queue.put("b.1").await?; // found more work while doing "b"
    ///     }
    ///     queue.task_done()?;
    /// }
    /// queue.join().await;
    /// assert_eq!(order, ["b", "b.1", "a"]);
    /// # Ok(())
    /// # }
    /// ```
    pub struct LifoQueue;

    /// A [`Stream`](futures_core::Stream) of a [`LifoQueue`]'s items, made by [`LifoQueue::into_stream`].
    ///
    /// It yields items as [`LifoQueue::get`] returns them and ends once the queue is shut down and
    /// empty. It waits in line with the `get`s but holds no item while it is not polled: when
    /// its turn comes it is woken, and the item stays free for any consumer until the stream
    /// runs. So a stream whose `next()` lost a `select!` holds nothing, and dropping it loses
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    /// use futures::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::bounded(4);
    /// let mut items = queue.clone().into_stream();
    /// queue.put(1).await?;
    /// assert_eq!(items.next().await, Some(1));
    /// queue.shutdown();
    /// assert_eq!(items.next().await, None);
    /// # Ok(())
    /// # }
    /// ```
    pub struct LifoQueueStream;
    pub struct LifoQueuePermit;
    pub struct OwnedLifoQueuePermit;

    buffer: Lifo,
    bounds: [T],
    put_where: "on top of the queue",
    get_what: "the item put last",
    get_example: {
        /// ```
        /// use corral::queue::LifoQueue;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = LifoQueue::unbounded();
        /// queue.put('a').await?;
        /// queue.put('b').await?;
        /// assert_eq!(queue.get().await?, 'b');
        /// assert_eq!(queue.get().await?, 'a');
        /// # Ok(())
        /// # }
        /// ```
    },
    shutdown_immediate_example: {
        /// ```
        /// use corral::queue::LifoQueue;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = LifoQueue::unbounded();
        /// for n in 1..=3 {
        ///     queue.put(n).await?;
        /// }
        /// let taken = queue.get().await?; // 3, the last put
        /// assert_eq!(queue.shutdown_immediate(), [2, 1]);
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
        /// use corral::queue::LifoQueue;
        /// use futures::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// let queue = LifoQueue::unbounded();
        /// for word in ["to", "be", "or"] {
        ///     queue.put(word).await?;
        /// }
        /// queue.shutdown();
        /// let words: Vec<_> = queue.into_stream().collect().await;
        /// assert_eq!(words, ["or", "be", "to"]);
        /// # Ok(())
        /// # }
        /// ```
    },
}
