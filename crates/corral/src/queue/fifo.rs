//! [`Queue`]: first in, first out.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::buffer::Fifo;
use super::core::Core;
use super::error::{
    GetError, PutError, TaskDoneError, TryGetError, TryPutError, ZeroCapacityError,
};
use crate::util::Ticket;

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
/// `get` or `put` future dropped while it waits loses nothing and inserts nothing.
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
pub struct Queue<T> {
    core: Arc<Core<Fifo<T>>>,
}

impl<T> Queue<T> {
    /// Creates a queue that holds at most `maxsize` items; [`put`](Queue::put) waits for room
    /// beyond that.
    ///
    /// Room for up to 1024 items is reserved at once; past that the buffer grows as items
    /// arrive and keeps its size, so a queue in steady use does not allocate.
    ///
    /// # Panics
    ///
    /// Panics if `maxsize` is zero. asyncio reads a `maxsize` of zero as "unbounded"; corral
    /// refuses it, so a computed capacity that comes out as zero does not silently lift the
    /// bound. Use [`unbounded`](Queue::unbounded) for no bound, or
    /// [`try_bounded`](Queue::try_bounded) to get an error instead of a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// let queue = Queue::<String>::bounded(100);
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
    /// use corral::queue::Queue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::<u32>::try_bounded(8)?;
    /// assert_eq!(queue.capacity(), Some(8));
    /// assert!(Queue::<u32>::try_bounded(0).is_err());
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

    /// Creates a queue without a bound: [`put`](Queue::put) never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::unbounded();
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

    /// Puts an item at the back of the queue, waiting for room while the queue is full.
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
    /// use corral::queue::Queue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(1);
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

    /// Puts an item at the back of the queue if there is room now.
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
    /// use corral::queue::{Queue, TryPutError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(2);
    /// queue.try_put(1)?;
    /// queue.try_put(2)?;
    /// assert!(matches!(queue.try_put(3), Err(TryPutError::Full(3))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.core.try_put(item)
    }

    /// Takes the item at the front of the queue, waiting while the queue is empty.
    ///
    /// After [`shutdown`](Queue::shutdown), `get` still returns the items left in the queue,
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
    pub async fn get(&self) -> Result<T, GetError> {
        self.core.get().await
    }

    /// Takes the item at the front of the queue if one is free now.
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
    /// use corral::queue::{Queue, TryGetError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::unbounded();
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
    /// [`join`](Queue::join) returns once every item put has been marked done.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if it is called more times than items were taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::unbounded();
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
    /// [`task_done`](Queue::task_done).
    ///
    /// It returns at once if nothing is unfinished. Items dropped by
    /// [`shutdown_immediate`](Queue::shutdown_immediate) count as done. Items put while `join`
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
    /// use corral::queue::Queue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let queue = Queue::unbounded();
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

    /// Shuts the queue down: from now on [`put`](Queue::put) fails, and [`get`](Queue::get)
    /// returns what is left, then fails.
    ///
    /// Putters that were waiting fail at once and get their item back; getters that were
    /// waiting fail once nothing is left for them. Calling it again does nothing. Python 3.13's
    /// `Queue.shutdown()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::unbounded();
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
    /// Every waiting `put` and `get` fails at once, and [`join`](Queue::join) waits only for
    /// the items already taken. Python 3.13's `Queue.shutdown(immediate=True)`, except that
    /// the removed items are returned, in the order `get` would have taken them, rather than
    /// dropped: drop the `Vec` to discard them as asyncio does.
    ///
    /// # Examples
    ///
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
    pub fn shutdown_immediate(&self) -> Vec<T> {
        self.core.shutdown_immediate()
    }

    /// The number of items in the queue, including those set aside for a woken `get`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::unbounded();
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
    /// use corral::queue::Queue;
    ///
    /// let queue = Queue::<u8>::bounded(4);
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
    /// use corral::queue::Queue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(1);
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
    /// use corral::queue::Queue;
    ///
    /// assert_eq!(Queue::<u8>::bounded(3).capacity(), Some(3));
    /// assert_eq!(Queue::<u8>::unbounded().capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.core.capacity()
    }

    /// Whether [`shutdown`](Queue::shutdown) or
    /// [`shutdown_immediate`](Queue::shutdown_immediate) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// let queue = Queue::<u8>::unbounded();
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
    /// Each item the stream yields is taken as by [`get`](Queue::get), so mark it with
    /// [`task_done`](Queue::task_done) if anyone `join`s. Clone the handle first to keep one.
    ///
    /// # Examples
    ///
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
    pub fn into_stream(self) -> QueueStream<T> {
        QueueStream {
            queue: self,
            ticket: None,
            done: false,
        }
    }
}

impl<T> Clone for Queue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
        }
    }
}

impl<T> Default for Queue<T> {
    /// An [`unbounded`](Queue::unbounded) queue, as `asyncio.Queue()`.
    fn default() -> Self {
        Self::unbounded()
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt_debug("Queue", f)
    }
}

/// A [`Stream`] of a [`Queue`]'s items, made by [`Queue::into_stream`].
///
/// It yields items as [`Queue::get`] returns them and ends once the queue is shut down and
/// empty. Dropping it while it waits for an item loses nothing: an item already set aside for
/// it goes to the next waiting getter.
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
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<T> {
    queue: Queue<T>,
    ticket: Option<Ticket>,
    done: bool,
}

impl<T> Stream for QueueStream<T> {
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

impl<T> FusedStream for QueueStream<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for QueueStream<T> {
    fn drop(&mut self) {
        self.queue.core.cancel_get(&mut self.ticket);
    }
}

impl<T> fmt::Debug for QueueStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("queue", &self.queue)
            .field("waiting", &self.ticket.is_some())
            .field("done", &self.done)
            .finish()
    }
}
