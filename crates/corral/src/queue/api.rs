//! The API shared by [`Queue`](super::Queue), [`LifoQueue`](super::LifoQueue) and
//! [`PriorityQueue`](super::PriorityQueue), written once.
//!
//! The three kinds are distinct types, as asyncio's are, and differ only in their buffer (see
//! `buffer.rs`); everything else (who may take an item or a slot, who is woken, join, shutdown)
//! lives in the one private core. Their public API is the same, method for method, so it is
//! generated here from one definition, the way the standard library documents its integer types:
//! each kind passes its own type-level docs, the words that differ ("at the back of the queue",
//! "the smallest item") and the three examples that show its order.
//!
//! A generic `Queue<T, Order = Fifo>` was the alternative, and reads better in source; but
//! default type parameters do not drive inference, so `Queue::bounded(10)` would need an
//! annotation, or the three kinds' constructors would collide. The asyncio names and a plain
//! `Queue::bounded(10)` matter more.

/// Defines one kind of queue and its stream. See the module docs.
macro_rules! queue_api {
    (
        $(#[$queue_docs:meta])*
        pub struct $Queue:ident;
        $(#[$stream_docs:meta])*
        pub struct $Stream:ident;
        pub struct $Permit:ident;
        pub struct $OwnedPermit:ident;
        buffer: $Buffer:ident,
        bounds: [$($bounds:tt)*],
        put_where: $put_where:literal,
        get_what: $get_what:literal,
        get_example: { $(#[$get_example:meta])* },
        shutdown_immediate_example: { $(#[$shutdown_immediate_example:meta])* },
        into_stream_example: { $(#[$into_stream_example:meta])* },
    ) => {
        $(#[$queue_docs])*
        pub struct $Queue<T> {
            core: ::std::sync::Arc<$crate::queue::core::Core<$Buffer<T>>>,
        }

        impl<$($bounds)*> $Queue<T> {
            /// Creates a queue that holds at most `maxsize` items; [`put`](Self::put) waits for
            /// room beyond that.
            ///
            /// Room for up to 1024 items is reserved at once; past that the buffer grows as items
            /// arrive and keeps its size, so a queue in steady use does not allocate.
            ///
            /// # Panics
            ///
            /// Panics if `maxsize` is zero. asyncio reads a `maxsize` of zero as "unbounded";
            /// corral refuses it, so a computed capacity that comes out as zero does not
            /// silently lift the bound. Use [`unbounded`](Self::unbounded) for no bound, or
            /// [`try_bounded`](Self::try_bounded) to get an error instead of a panic.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            #[doc = concat!(" let queue = ", stringify!($Queue), "::<String>::bounded(100);")]
            /// assert_eq!(queue.capacity(), Some(100));
            /// ```
            #[track_caller]
            pub fn bounded(maxsize: usize) -> Self {
                match Self::try_bounded(maxsize) {
                    Ok(queue) => queue,
                    Err(err) => panic!("{err}"),
                }
            }

            /// Creates a queue that holds at most `maxsize` items, or an error if `maxsize` is
            /// zero.
            ///
            /// # Errors
            ///
            /// [`ZeroCapacityError`](crate::queue::ZeroCapacityError) if `maxsize` is zero.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::<u32>::try_bounded(8)?;")]
            /// assert_eq!(queue.capacity(), Some(8));
            #[doc = concat!(" assert!(", stringify!($Queue), "::<u32>::try_bounded(0).is_err());")]
            /// # Ok(())
            /// # }
            /// ```
            pub fn try_bounded(maxsize: usize) -> Result<Self, $crate::queue::ZeroCapacityError> {
                if maxsize == 0 {
                    return Err($crate::queue::ZeroCapacityError::new());
                }
                Ok(Self {
                    core: ::std::sync::Arc::new($crate::queue::core::Core::new(Some(maxsize))),
                })
            }

            /// Creates a queue without a bound: [`put`](Self::put) never waits.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::unbounded();")]
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
                    core: ::std::sync::Arc::new($crate::queue::core::Core::new(None)),
                }
            }

            #[doc = concat!(" Puts an item ", $put_where, ", waiting for room while the queue is full.")]
            ///
            /// Putters that wait are served first come, first served.
            ///
            /// # Cancel safety
            ///
            /// If `put` is used as the event in a `select!` and some other branch completes
            /// first, then it is guaranteed that the item was not put. However, in that case,
            /// the item is dropped and will be lost. It uses a queue for fairness: cancelling
            /// loses your place. A `put` that was handed a free slot and is dropped before it
            /// runs passes the slot on to the next waiting putter.
            ///
            /// To wait for room without giving up the item, wait with
            /// [`reserve`](Self::reserve), which is cancel safe, and put the item with the
            /// permit it returns, which neither waits nor fails.
            ///
            /// # Errors
            ///
            /// [`PutError`](crate::queue::PutError), which gives the item back, if the queue is
            /// shut down, including while this `put` waits.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(1);")]
            /// queue.put("first").await?;
            /// // The queue is full: this `put` waits until a `get` makes room.
            /// let (put, got) = tokio::join!(queue.put("second"), queue.get());
            /// put?;
            /// assert_eq!(got?, "first");
            /// assert_eq!(queue.try_get()?, "second");
            /// # Ok(())
            /// # }
            /// ```
            pub async fn put(&self, item: T) -> Result<(), $crate::queue::PutError<T>> {
                self.core.put(item).await
            }

            #[doc = concat!(" Puts an item ", $put_where, " if there is room now.")]
            ///
            /// It never takes a slot that was freed for a `put` already waiting.
            ///
            /// # Errors
            ///
            /// [`TryPutError::Full`](crate::queue::TryPutError::Full) if there is no free slot,
            /// [`TryPutError::Shutdown`](crate::queue::TryPutError::Shutdown) if the queue is
            /// shut down; both give the item back.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::{", stringify!($Queue), ", TryPutError};")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(2);")]
            /// queue.try_put(1)?;
            /// queue.try_put(2)?;
            /// assert!(matches!(queue.try_put(3), Err(TryPutError::Full(3))));
            /// # Ok(())
            /// # }
            /// ```
            pub fn try_put(&self, item: T) -> Result<(), $crate::queue::TryPutError<T>> {
                self.core.try_put(item)
            }

            /// Waits for room and holds one slot for an item, without giving up the item.
            ///
            #[doc = concat!(" The [`", stringify!($Permit), "`] it returns puts the item without waiting and without")]
            /// failing, so `reserve` is the cancel-safe way to wait for room in a `select!` or
            /// under a timeout. Waiting tasks (`reserve` and [`put`](Self::put)) are served
            /// first come, first served. While the permit is held its slot is taken: it counts
            /// toward [`is_full`](Self::is_full), and after [`shutdown`](Self::shutdown) the
            /// consumers wait for its item. Dropping the permit unused gives the slot to the
            /// next waiting putter.
            ///
            /// # Cancel safety
            ///
            /// This method is cancel safe: if it is used in `select!` and another branch
            /// completes first, no slot was reserved, and no item was involved. It uses a queue
            /// for fairness: cancelling loses your place. A `reserve` that was handed a free
            /// slot and is dropped before it runs passes the slot on to the next waiting putter.
            ///
            /// # Errors
            ///
            /// [`PutError`](crate::queue::PutError) if the queue is shut down, including while
            /// this `reserve` waits.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            /// use std::time::Duration;
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(1);")]
            /// queue.put(1).await?;
            /// let item = 2;
            /// // The queue is full: give up after a while, and keep the item.
            /// tokio::select! {
            ///     permit = queue.reserve() => permit?.put(item),
            ///     () = tokio::time::sleep(Duration::from_millis(10)) => {
            ///         println!("no room, {item} kept for later");
            ///     }
            /// }
            /// assert_eq!(queue.try_get()?, 1);
            /// let permit = queue.reserve().await?; // room now
            /// permit.put(item);
            /// assert_eq!(queue.try_get()?, 2);
            /// # Ok(())
            /// # }
            /// ```
            pub async fn reserve(&self) -> Result<$Permit<'_, T>, $crate::queue::PutError<()>> {
                self.core.reserve().await?;
                Ok($Permit { core: Some(&self.core) })
            }

            /// Waits for room and holds one slot, as [`reserve`](Self::reserve), with a permit
            /// that owns a handle to the queue (to move it into another task).
            ///
            /// # Cancel safety
            ///
            /// This method is cancel safe: if it is used in `select!` and another branch
            /// completes first, no slot was reserved. It uses a queue for fairness: cancelling
            /// loses your place.
            ///
            /// # Errors
            ///
            /// [`PutError`](crate::queue::PutError) if the queue is shut down, including while
            /// this call waits.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(1);")]
            /// let permit = queue.clone().reserve_owned().await?;
            /// tokio::spawn(async move { permit.put("computed later") }).await?;
            /// assert_eq!(queue.get().await?, "computed later");
            /// # Ok(())
            /// # }
            /// ```
            pub async fn reserve_owned(
                self,
            ) -> Result<$OwnedPermit<T>, $crate::queue::PutError<()>> {
                self.core.reserve().await?;
                Ok($OwnedPermit {
                    queue: self,
                    used: false,
                })
            }

            /// Holds one slot for an item if there is room now, as [`reserve`](Self::reserve)
            /// without the wait.
            ///
            /// It never takes a slot that was freed for a `put` or `reserve` already waiting.
            ///
            /// # Errors
            ///
            /// [`TryPutError::Full`](crate::queue::TryPutError::Full) if there is no free slot,
            /// [`TryPutError::Shutdown`](crate::queue::TryPutError::Shutdown) if the queue is
            /// shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(1);")]
            /// let permit = queue.try_reserve()?;
            /// assert!(queue.is_full(), "the permit holds the only slot");
            /// assert!(queue.try_put(1).is_err());
            /// drop(permit); // unused: the slot is free again
            /// queue.try_put(1)?;
            /// # Ok(())
            /// # }
            /// ```
            pub fn try_reserve(&self) -> Result<$Permit<'_, T>, $crate::queue::TryPutError<()>> {
                self.core.try_reserve()?;
                Ok($Permit { core: Some(&self.core) })
            }

            #[doc = concat!(" Takes ", $get_what, ", waiting while the queue is empty.")]
            ///
            /// After [`shutdown`](Self::shutdown), `get` still returns the items left in the queue,
            /// then fails. Getters that wait are served first come, first served.
            ///
            /// # Cancel safety
            ///
            /// This method is cancel safe: if it is used in `select!` and another branch completes
            /// first, no item was taken. It uses a queue for fairness: cancelling loses your
            /// place. A `get` that was woken for an item and is dropped before it runs passes the
            /// item on to the next waiting getter.
            ///
            /// # Errors
            ///
            /// [`GetError`](crate::queue::GetError) once the queue is shut down and empty.
            ///
            /// # Examples
            ///
            $(#[$get_example])*
            pub async fn get(&self) -> Result<T, $crate::queue::GetError> {
                self.core.get().await
            }

            #[doc = concat!(" Takes ", $get_what, " if one is free now.")]
            ///
            /// It never takes an item that was set aside for a `get` already woken.
            ///
            /// # Errors
            ///
            /// [`TryGetError::Empty`](crate::queue::TryGetError::Empty) if no item is free,
            /// [`TryGetError::Shutdown`](crate::queue::TryGetError::Shutdown) if the queue is
            /// shut down and empty.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::{", stringify!($Queue), ", TryGetError};")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::unbounded();")]
            /// queue.try_put(7)?;
            /// assert_eq!(queue.try_get()?, 7);
            /// assert_eq!(queue.try_get(), Err(TryGetError::Empty));
            /// # Ok(())
            /// # }
            /// ```
            pub fn try_get(&self) -> Result<T, $crate::queue::TryGetError> {
                self.core.try_get()
            }

            /// Marks one taken item as processed.
            ///
            /// Call it once for every item you took, when you are done with it;
            /// [`join`](Self::join) returns once every item put has been marked done.
            ///
            /// # Errors
            ///
            /// [`TaskDoneError`](crate::queue::TaskDoneError) if it is called more times than
            /// items were taken.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::unbounded();")]
            /// queue.put("job").await?;
            /// let job = queue.get().await?;
            /// println!("processing {job}");
            /// queue.task_done()?;
            /// assert!(queue.task_done().is_err(), "only one item was taken");
            /// # Ok(())
            /// # }
            /// ```
            pub fn task_done(&self) -> Result<(), $crate::queue::TaskDoneError> {
                self.core.task_done()
            }

            /// Waits until every item put into the queue has been taken and marked done with
            /// [`task_done`](Self::task_done).
            ///
            /// It returns at once if nothing is unfinished. Items dropped by
            /// [`shutdown_immediate`](Self::shutdown_immediate) count as done. Items put while
            /// `join` waits are waited for too.
            ///
            /// # Cancel safety
            ///
            /// This method is cancel safe: it takes nothing, and a `join` dropped while it waits
            /// leaves no trace.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::unbounded();")]
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

            /// Shuts the queue down: from now on [`put`](Self::put) fails, and [`get`](Self::get)
            /// returns what is left, then fails.
            ///
            /// Putters that were waiting fail at once and get their item back; getters that were
            /// waiting fail once nothing is left for them (nor can still come from a permit
            /// held since before the shutdown). Calling it again does nothing. Python 3.13's
            #[doc = concat!(" `", stringify!($Queue), ".shutdown()`.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::unbounded();")]
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
            /// Every waiting `put`, `reserve` and `get` fails at once, and [`join`](Self::join)
            /// waits only for the items already taken. A permit still held puts nothing: its
            /// item is dropped. Python 3.13's
            #[doc = concat!(" `", stringify!($Queue), ".shutdown(immediate=True)`, except that the removed items are")]
            /// returned, in the order `get` would have taken them, rather than dropped: drop the
            /// `Vec` to discard them as asyncio does.
            ///
            /// # Examples
            ///
            $(#[$shutdown_immediate_example])*
            pub fn shutdown_immediate(&self) -> Vec<T> {
                self.core.shutdown_immediate()
            }

            /// The number of items [`try_get`](Self::try_get) could take now.
            ///
            /// An item set aside for a `get` that was woken for it (and has not run yet) is
            /// not counted: it is on its way out, and `try_get` cannot take it. So `len`,
            /// [`is_empty`](Self::is_empty) and [`is_full`](Self::is_full) always agree with
            /// what [`try_get`](Self::try_get) and [`try_put`](Self::try_put) would do at that
            /// moment (other tasks may of course change it right after).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::unbounded();")]
            /// queue.try_put(())?;
            /// assert_eq!(queue.len(), 1);
            /// # Ok(())
            /// # }
            /// ```
            pub fn len(&self) -> usize {
                self.core.len()
            }

            /// Whether [`try_get`](Self::try_get) would find no item to take now (see
            /// [`len`](Self::len)).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            #[doc = concat!(" let queue = ", stringify!($Queue), "::<u8>::bounded(4);")]
            /// assert!(queue.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Whether [`try_put`](Self::try_put) would find no free slot now; never true for an
            /// unbounded queue.
            ///
            /// A slot is taken when it holds an item, when a permit from
            /// [`reserve`](Self::reserve) holds it, or when it was freed for a `put` that was
            /// woken for it and has not run yet. So a queue can be full while
            /// [`len`](Self::len) is below its capacity.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(2);")]
            /// queue.try_put(1)?;
            /// let permit = queue.try_reserve()?;
            /// assert!(queue.is_full());
            /// assert_eq!(queue.len(), 1);
            /// permit.put(2);
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
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            #[doc = concat!(" assert_eq!(", stringify!($Queue), "::<u8>::bounded(3).capacity(), Some(3));")]
            #[doc = concat!(" assert_eq!(", stringify!($Queue), "::<u8>::unbounded().capacity(), None);")]
            /// ```
            pub fn capacity(&self) -> Option<usize> {
                self.core.capacity()
            }

            /// Whether [`shutdown`](Self::shutdown) or
            /// [`shutdown_immediate`](Self::shutdown_immediate) was called.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            #[doc = concat!(" let queue = ", stringify!($Queue), "::<u8>::unbounded();")]
            /// assert!(!queue.is_shutdown());
            /// queue.shutdown();
            /// assert!(queue.is_shutdown());
            /// ```
            pub fn is_shutdown(&self) -> bool {
                self.core.is_shutdown()
            }

            /// Turns this handle into a [`Stream`](futures_core::Stream) of the queue's items that
            /// ends once the queue is shut down and empty.
            ///
            /// Each item the stream yields is taken as by [`get`](Self::get), so mark it with
            /// [`task_done`](Self::task_done) if anyone `join`s. Clone the handle first to keep
            /// one.
            ///
            /// # Cancel safety
            ///
            /// The stream's `next()` is cancel safe: if it is used in `select!` and another
            /// branch completes first, no item was taken. Dropping the stream takes nothing
            /// either.
            ///
            /// A stream waits in line with the `get`s, but holds no item while it is not being
            /// polled: when its turn comes it is woken, and the item stays free for anyone
            /// until the stream runs and takes it. So a stream whose `next()` lost a `select!`
            /// and sits idle holds nothing that other consumers could take. The price: a `get`
            /// or `try_get` may take that item first, and the stream then waits again, at the
            /// back of the line.
            ///
            /// # Examples
            ///
            $(#[$into_stream_example])*
            pub fn into_stream(self) -> $Stream<T> {
                $Stream {
                    queue: self,
                    ticket: None,
                    done: false,
                }
            }
        }

        impl<T> Clone for $Queue<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                Self {
                    core: ::std::sync::Arc::clone(&self.core),
                }
            }
        }

        impl<$($bounds)*> Default for $Queue<T> {
            #[doc = concat!(" An [`unbounded`](Self::unbounded) queue, as `asyncio.", stringify!($Queue), "()`.")]
            fn default() -> Self {
                Self::unbounded()
            }
        }

        impl<T> ::std::fmt::Debug for $Queue<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.core.fmt_debug(stringify!($Queue), f)
            }
        }

        $(#[$stream_docs])*
        #[must_use = "streams do nothing unless polled"]
        pub struct $Stream<T> {
            queue: $Queue<T>,
            ticket: Option<$crate::util::Ticket>,
            done: bool,
        }

        impl<$($bounds)*> ::futures_core::Stream for $Stream<T> {
            type Item = T;

            fn poll_next(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<Option<T>> {
                let this = self.get_mut();
                if this.done {
                    return ::std::task::Poll::Ready(None);
                }
                this.queue
                    .core
                    .poll_get(cx, &mut this.ticket, true)
                    .map(|result| match result {
                        Ok(item) => Some(item),
                        Err(_) => {
                            this.done = true;
                            None
                        }
                    })
            }
        }

        impl<$($bounds)*> ::futures_core::stream::FusedStream for $Stream<T> {
            fn is_terminated(&self) -> bool {
                self.done
            }
        }

        impl<T> Drop for $Stream<T> {
            fn drop(&mut self) {
                self.queue.core.cancel_get(&mut self.ticket, true);
            }
        }

        impl<T> ::std::fmt::Debug for $Stream<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($Stream))
                    .field("queue", &self.queue)
                    .field("waiting", &self.ticket.is_some())
                    .field("done", &self.done)
                    .finish()
            }
        }

        #[doc = concat!(" One slot of a [`", stringify!($Queue), "`], held for an item: made by [`", stringify!($Queue), "::reserve`]")]
        #[doc = concat!(" and [`", stringify!($Queue), "::try_reserve`].")]
        ///
        /// [`put`](Self::put) fills the slot without waiting and without failing. Dropping the
        /// permit unused gives the slot back: to the first `put` or `reserve` waiting (which
        /// is woken), or to whoever comes next.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(2);")]
        /// let permit = queue.reserve().await?;
        /// permit.put("reserved");
        /// assert_eq!(queue.get().await?, "reserved");
        /// # Ok(())
        /// # }
        /// ```
        #[must_use = "the slot is held until the permit is used or dropped"]
        pub struct $Permit<'a, T> {
            core: Option<&'a $crate::queue::core::Core<$Buffer<T>>>,
        }

        impl<$($bounds)*> $Permit<'_, T> {
            /// Puts the item in the slot this permit holds. It neither waits nor fails.
            ///
            #[doc = concat!(" After [`shutdown`](", stringify!($Queue), "::shutdown) the item is still put, and")]
            /// the consumers take it before their `get` fails: a permit is room granted before
            #[doc = concat!(" the shutdown. After [`shutdown_immediate`](", stringify!($Queue), "::shutdown_immediate)")]
            /// nobody will take it, and the item is dropped, as Tokio's `Permit::send` drops a
            /// message once the receiver is gone.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(1);")]
            /// let permit = queue.try_reserve()?;
            /// queue.shutdown();
            /// permit.put(1); // room granted before the shutdown
            /// assert_eq!(queue.try_get()?, 1);
            /// assert!(queue.try_get().is_err());
            /// # Ok(())
            /// # }
            /// ```
            pub fn put(mut self, item: T) {
                if let Some(core) = self.core.take() {
                    core.put_permit(item);
                }
            }
        }

        impl<T> Drop for $Permit<'_, T> {
            fn drop(&mut self) {
                if let Some(core) = self.core.take() {
                    core.release_permit();
                }
            }
        }

        impl<T> ::std::fmt::Debug for $Permit<'_, T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($Permit)).finish_non_exhaustive()
            }
        }

        #[doc = concat!(" One slot of a [`", stringify!($Queue), "`], held for an item, with a handle to the queue: made by")]
        #[doc = concat!(" [`", stringify!($Queue), "::reserve_owned`].")]
        ///
        #[doc = concat!(" It is [`", stringify!($Permit), "`] without the borrow, to move into another task.")]
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
        ///
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
        #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(1);")]
        /// let permit = queue.clone().reserve_owned().await?;
        /// permit.put(7);
        /// assert_eq!(queue.try_get()?, 7);
        /// # Ok(())
        /// # }
        /// ```
        #[must_use = "the slot is held until the permit is used or dropped"]
        pub struct $OwnedPermit<T> {
            queue: $Queue<T>,
            /// Set by `put`, so that `drop` does not give the slot back as well.
            used: bool,
        }

        impl<$($bounds)*> $OwnedPermit<T> {
            /// Puts the item in the slot this permit holds. It neither waits nor fails.
            ///
            #[doc = concat!(" As [`", stringify!($Permit), "::put`], and returns the queue handle.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!(" use corral::queue::", stringify!($Queue), ";")]
            ///
            /// # #[tokio::main(flavor = "current_thread")]
            /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
            #[doc = concat!(" let queue = ", stringify!($Queue), "::bounded(1);")]
            /// let permit = queue.clone().reserve_owned().await?;
            /// let queue = permit.put("done"); // the handle comes back
            /// assert_eq!(queue.try_get()?, "done");
            /// # Ok(())
            /// # }
            /// ```
            pub fn put(mut self, item: T) -> $Queue<T> {
                self.used = true;
                self.queue.core.put_permit(item);
                self.queue.clone()
            }
        }

        impl<T> Drop for $OwnedPermit<T> {
            fn drop(&mut self) {
                if !self.used {
                    self.queue.core.release_permit();
                }
            }
        }

        impl<T> ::std::fmt::Debug for $OwnedPermit<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($OwnedPermit)).finish_non_exhaustive()
            }
        }
    };
}

pub(super) use queue_api;
