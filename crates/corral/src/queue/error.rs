//! The errors of the queue operations, shared by the three kinds of queue.

use std::error::Error;
use std::fmt;

/// The error [`put`](super::Queue::put) returns when the queue is shut down; it gives the item
/// back.
///
/// A `put` that was waiting for room when [`shutdown`](super::Queue::shutdown) was called
/// fails with this error too: the item was never inserted.
///
/// # Examples
///
/// ```
/// use corral::queue::Queue;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let queue = Queue::unbounded();
/// queue.shutdown();
/// let Err(err) = queue.put("late").await else {
///     return Err("a shut down queue takes no item".into());
/// };
/// assert_eq!(err.to_string(), "queue is shut down");
/// assert_eq!(err.into_inner(), "late");
/// # Ok(())
/// # }
/// ```
pub struct PutError<T>(T);

impl<T> PutError<T> {
    pub(crate) fn new(item: T) -> Self {
        Self(item)
    }

    /// Gives back the item that was not inserted.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(1);
    /// queue.shutdown();
    /// if let Err(err) = queue.put(vec![1, 2, 3]).await {
    ///     assert_eq!(err.into_inner(), [1, 2, 3]);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PutError(..)")
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T> Error for PutError<T> {}

/// The error [`try_put`](super::Queue::try_put) returns; it gives the item back.
///
/// # Examples
///
/// ```
/// use corral::queue::{Queue, TryPutError};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let queue = Queue::bounded(1);
/// queue.try_put(1)?;
/// assert!(matches!(queue.try_put(2), Err(TryPutError::Full(2))));
/// queue.shutdown();
/// assert!(matches!(queue.try_put(3), Err(TryPutError::Shutdown(3))));
/// # Ok(())
/// # }
/// ```
pub enum TryPutError<T> {
    /// The queue had no free slot (or every free slot was promised to a `put` already waiting).
    Full(T),
    /// The queue is shut down.
    Shutdown(T),
}

impl<T> TryPutError<T> {
    /// Gives back the item that was not inserted.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(1);
    /// queue.try_put('a')?;
    /// let Err(err) = queue.try_put('b') else {
    ///     return Err("the queue should be full".into());
    /// };
    /// assert_eq!(err.into_inner(), 'b');
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(item) | Self::Shutdown(item) => item,
        }
    }

    /// Whether the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Queue::bounded(1);
    /// queue.try_put(1)?;
    /// assert!(queue.try_put(2).is_err_and(|err| err.is_full()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the queue was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::queue::Queue;
    ///
    /// let queue = Queue::unbounded();
    /// queue.shutdown();
    /// assert!(queue.try_put(1).is_err_and(|err| err.is_shutdown()));
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::Shutdown(_))
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "queue is full",
            Self::Shutdown(_) => "queue is shut down",
        })
    }
}

impl<T> Error for TryPutError<T> {}

/// The error [`get`](super::Queue::get) returns: the queue is shut down and no item is left.
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
/// assert_eq!(queue.get().await?, 1); // what was queued is still delivered
/// let Err(err) = queue.get().await else {
///     return Err("the queue should be drained".into());
/// };
/// assert_eq!(err.to_string(), "queue is shut down and empty");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetError(());

impl GetError {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down and empty")
    }
}

impl Error for GetError {}

/// The error [`try_get`](super::Queue::try_get) returns.
///
/// # Examples
///
/// ```
/// use corral::queue::{Queue, TryGetError};
///
/// let queue = Queue::<u8>::unbounded();
/// assert_eq!(queue.try_get(), Err(TryGetError::Empty));
/// queue.shutdown();
/// assert_eq!(queue.try_get(), Err(TryGetError::Shutdown));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryGetError {
    /// No item was free: the queue was empty, or every item in it was promised to a `get`
    /// already woken. Items may still come.
    Empty,
    /// The queue is shut down and no item is left: none will come.
    Shutdown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "queue is empty",
            Self::Shutdown => "queue is shut down and empty",
        })
    }
}

impl Error for TryGetError {}

/// The error [`task_done`](super::Queue::task_done) returns when it is called more times than
/// items were taken.
///
/// asyncio raises `ValueError` only once the count of unfinished items would go below zero,
/// so a `task_done` for an item still in the queue goes unnoticed there; corral counts against
/// the items actually taken by `get`, `try_get` or a stream.
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
/// assert!(queue.task_done().is_err(), "nothing was taken yet");
/// queue.get().await?;
/// queue.task_done()?;
/// let Err(err) = queue.task_done() else {
///     return Err("one item taken, two marked done".into());
/// };
/// assert_eq!(err.to_string(), "task_done called more times than items were taken");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneError(());

impl TaskDoneError {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done called more times than items were taken")
    }
}

impl Error for TaskDoneError {}

/// The error [`try_bounded`](super::Queue::try_bounded) returns for a capacity of zero.
///
/// asyncio reads `maxsize <= 0` as "unbounded"; corral refuses a zero capacity instead, so a
/// computed capacity that comes out as zero is caught rather than silently lifting the bound.
/// Use [`unbounded`](super::Queue::unbounded) for a queue without a bound.
///
/// # Examples
///
/// ```
/// use corral::queue::Queue;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let Err(err) = Queue::<u8>::try_bounded(0) else {
///     return Err("zero capacity should be refused".into());
/// };
/// assert_eq!(err.to_string(), "queue capacity must be at least 1");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroCapacityError(());

impl ZeroCapacityError {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

impl fmt::Display for ZeroCapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue capacity must be at least 1")
    }
}

impl Error for ZeroCapacityError {}
