//! [`LifoQueue`]: last in, first out.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::buffer::Lifo;
use super::core::Core;
use super::error::{
    GetError, PutError, TaskDoneError, TryGetError, TryPutError, ZeroCapacityError,
};
use crate::util::Ticket;

/// A last-in, first-out queue (a stack) for many producers and many consumers, with asyncio's
/// `task_done`/`join` and `shutdown`: the port of `asyncio.LifoQueue`.
///
/// It has the API and the guarantees of [`Queue`](super::Queue) (a cheap `Clone` handle,
/// backpressure when bounded, first come, first served for the tasks that wait, cancel-safe
/// `get` and `put`, `task_done`/`join`, `shutdown`); only the order differs: `get` takes the
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
pub struct LifoQueue<T> {
    core: Arc<Core<Lifo<T>>>,
}

impl<T> LifoQueue<T> {
    /// Creates a queue that holds at most `maxsize` items; [`put`](LifoQueue::put) waits for room
    /// beyond that.
    ///
    /// Room for up to 1024 items is reserved at once; past that the buffer grows as items
    /// arrive and keeps its size, so a queue in steady use does not allocate.
    ///
    /// # Panics
    ///
    /// Panics if `maxsize` is zero. asyncio reads a `maxsize` of zero as "unbounded"; corral
    /// refuses it, so a computed capacity that comes out as zero does not silently lift the
    /// bound. Use [`unbounded`](LifoQueue::unbounded) for no bound, or
    /// [`try_bounded`](LifoQueue::try_bounded) to get an error instead of a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// let queue = LifoQueue::<String>::bounded(100);
    /// assert_eq!(queue.capacity(), Some(100));
    /// ```
    #[track_caller]
    pub fn bounded(maxsize: usize) -> Self {
        match Self::try_bounded(maxsize) {
            Ok(queue) => queue,
            Err(err) => panic!("{err}"),
        }
    }

    /// Creates a queue that holds at most `maxsize` items, or an error if `maxsize` is zero.
    ///
    /// # Errors
    ///
    /// [`ZeroCapacityError`] if `maxsize` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::<u32>::try_bounded(8)?;
    /// assert_eq!(queue.capacity(), Some(8));
    /// assert!(LifoQueue::<u32>::try_bounded(0).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_bounded(maxsize: usize) -> Result<Self, ZeroCapacityError> {
        if maxsize == 0 {
            return Err(ZeroCapacityError::new());
        }
        Ok(Self {
            core: Arc::new(Core::new(Some(maxsize))),
        })
    }

    /// Creates a queue without a bound: [`put`](LifoQueue::put) never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::unbounded();
    /// for n in 0..10_000 {
    ///     queue.try_put(n)?;
    /// }
    /// assert_eq!(queue.capacity(), None);
    /// assert!(!queue.is_full());
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded() -> Self {
        Self {
            core: Arc::new(Core::new(None)),
        }
    }

    /// Puts an item on top of the queue, waiting for room while the queue is full.
    ///
    /// Putters that wait are served first come, first served.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: if it is used in `select!` and another branch completes
    /// first, the item was not inserted (it is dropped with the future). It uses a queue for
    /// fairness: cancelling loses your place. A `put` that was handed a free slot and is dropped
    /// before it runs passes the slot on to the next waiting putter.
    ///
    /// # Errors
    ///
    /// [`PutError`], which gives the item back, if the queue is shut down, including while
    /// this `put` waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::bounded(1);
    /// queue.put("first").await?;
    /// // The queue is full: this `put` waits until a `get` makes room.
    /// let (put, got) = tokio::join!(queue.put("second"), queue.get());
    /// put?;
    /// assert_eq!(got?, "first");
    /// assert_eq!(queue.try_get()?, "second");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.core.put(item).await
    }

    /// Puts an item on top of the queue if there is room now.
    ///
    /// It never takes a slot that was freed for a `put` already waiting.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] if there is no free slot, [`TryPutError::Shutdown`] if the queue is
    /// shut down; both give the item back.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::{LifoQueue, TryPutError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::bounded(2);
    /// queue.try_put(1)?;
    /// queue.try_put(2)?;
    /// assert!(matches!(queue.try_put(3), Err(TryPutError::Full(3))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.core.try_put(item)
    }

    /// Takes the item put last, waiting while the queue is empty.
    ///
    /// After [`shutdown`](LifoQueue::shutdown), `get` still returns the items left in the queue,
    /// then fails. Getters that wait are served first come, first served.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: if it is used in `select!` and another branch completes
    /// first, no item was taken. It uses a queue for fairness: cancelling loses your place. A
    /// `get` that was woken for an item and is dropped before it runs passes the item on to
    /// the next waiting getter.
    ///
    /// # Errors
    ///
    /// [`GetError`] once the queue is shut down and empty.
    ///
    /// # Examples
    ///
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
    pub async fn get(&self) -> Result<T, GetError> {
        self.core.get().await
    }

    /// Takes the item put last if one is free now.
    ///
    /// It never takes an item that was set aside for a `get` already woken.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] if no item is free, [`TryGetError::Shutdown`] if the queue is
    /// shut down and empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::{LifoQueue, TryGetError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::unbounded();
    /// queue.try_put(7)?;
    /// assert_eq!(queue.try_get()?, 7);
    /// assert_eq!(queue.try_get(), Err(TryGetError::Empty));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.core.try_get()
    }

    /// Marks one taken item as processed.
    ///
    /// Call it once for every item you took, when you are done with it;
    /// [`join`](LifoQueue::join) returns once every item put has been marked done.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if it is called more times than items were taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::unbounded();
    /// queue.put("job").await?;
    /// let job = queue.get().await?;
    /// println!("processing {job}");
    /// queue.task_done()?;
    /// assert!(queue.task_done().is_err(), "only one item was taken");
    /// # Ok(())
    /// # }
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.core.task_done()
    }

    /// Waits until every item put into the queue has been taken and marked done with
    /// [`task_done`](LifoQueue::task_done).
    ///
    /// It returns at once if nothing is unfinished. Items dropped by
    /// [`shutdown_immediate`](LifoQueue::shutdown_immediate) count as done. Items put while `join`
    /// waits are waited for too.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: it takes nothing, and a `join` dropped while it waits
    /// leaves no trace.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let queue = LifoQueue::unbounded();
    /// queue.put(1).await?;
    /// let worker = tokio::spawn({
    ///     let queue = queue.clone();
    ///     async move {
    ///         let item = queue.get().await?;
    ///         queue.task_done()?;
    ///         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(item)
    ///     }
    /// });
    /// queue.join().await;
    /// assert_eq!(worker.await??, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn join(&self) {
        self.core.join().await;
    }

    /// Shuts the queue down: from now on [`put`](LifoQueue::put) fails, and [`get`](LifoQueue::get)
    /// returns what is left, then fails.
    ///
    /// Putters that were waiting fail at once and get their item back; getters that were
    /// waiting fail once nothing is left for them. Calling it again does nothing. Python 3.13's
    /// `LifoQueue.shutdown()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::unbounded();
    /// queue.put(1).await?;
    /// queue.shutdown();
    /// assert!(queue.put(2).await.is_err());
    /// assert_eq!(queue.get().await?, 1);
    /// assert!(queue.get().await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(&self) {
        self.core.shutdown();
    }

    /// Shuts the queue down and removes every item still in it, counting each as done.
    ///
    /// Every waiting `put` and `get` fails at once, and [`join`](LifoQueue::join) waits only for
    /// the items already taken. Python 3.13's `LifoQueue.shutdown(immediate=True)`, except that
    /// the removed items are returned, in the order `get` would have taken them, rather than
    /// dropped: drop the `Vec` to discard them as asyncio does.
    ///
    /// # Examples
    ///
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
    pub fn shutdown_immediate(&self) -> Vec<T> {
        self.core.shutdown_immediate()
    }

    /// The number of items in the queue, including those set aside for a woken `get`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::unbounded();
    /// queue.try_put(())?;
    /// assert_eq!(queue.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether the queue holds no item.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// let queue = LifoQueue::<u8>::bounded(4);
    /// assert!(queue.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue holds `capacity` items; never true for an unbounded queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = LifoQueue::bounded(1);
    /// queue.try_put(1)?;
    /// assert!(queue.is_full());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        self.core.is_full()
    }

    /// The most items the queue holds, or `None` if it is unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// assert_eq!(LifoQueue::<u8>::bounded(3).capacity(), Some(3));
    /// assert_eq!(LifoQueue::<u8>::unbounded().capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.core.capacity()
    }

    /// Whether [`shutdown`](LifoQueue::shutdown) or
    /// [`shutdown_immediate`](LifoQueue::shutdown_immediate) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::LifoQueue;
    ///
    /// let queue = LifoQueue::<u8>::unbounded();
    /// assert!(!queue.is_shutdown());
    /// queue.shutdown();
    /// assert!(queue.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.core.is_shutdown()
    }

    /// Turns this handle into a [`Stream`] of the queue's items that ends once the queue is
    /// shut down and empty.
    ///
    /// Each item the stream yields is taken as by [`get`](LifoQueue::get), so mark it with
    /// [`task_done`](LifoQueue::task_done) if anyone `join`s. Clone the handle first to keep one.
    ///
    /// # Examples
    ///
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
    pub fn into_stream(self) -> LifoQueueStream<T> {
        LifoQueueStream {
            queue: self,
            ticket: None,
            done: false,
        }
    }
}

impl<T> Clone for LifoQueue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
        }
    }
}

impl<T> Default for LifoQueue<T> {
    /// An [`unbounded`](LifoQueue::unbounded) queue, as `asyncio.LifoQueue()`.
    fn default() -> Self {
        Self::unbounded()
    }
}

impl<T> fmt::Debug for LifoQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt_debug("LifoQueue", f)
    }
}

/// A [`Stream`] of a [`LifoQueue`]'s items, made by [`LifoQueue::into_stream`].
///
/// It yields items as [`LifoQueue::get`] returns them and ends once the queue is shut down and
/// empty. Dropping it while it waits for an item loses nothing: an item already set aside for
/// it goes to the next waiting getter.
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
#[must_use = "streams do nothing unless polled"]
pub struct LifoQueueStream<T> {
    queue: LifoQueue<T>,
    ticket: Option<Ticket>,
    done: bool,
}

impl<T> Stream for LifoQueueStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        this.queue
            .core
            .poll_get(cx, &mut this.ticket)
            .map(|result| match result {
                Ok(item) => Some(item),
                Err(_) => {
                    this.done = true;
                    None
                }
            })
    }
}

impl<T> FusedStream for LifoQueueStream<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for LifoQueueStream<T> {
    fn drop(&mut self) {
        self.queue.core.cancel_get(&mut self.ticket);
    }
}

impl<T> fmt::Debug for LifoQueueStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LifoQueueStream")
            .field("queue", &self.queue)
            .field("waiting", &self.ticket.is_some())
            .field("done", &self.done)
            .finish()
    }
}
