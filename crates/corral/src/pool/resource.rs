use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};

/// Creates and checks the resources of a [`Pool`]: deadpool's `Manager`, with `async fn`.
///
/// # Examples
///
/// ```
/// use corral::pool::{Manager, Pool};
///
/// struct Connection { healthy: bool }
/// struct Database;
///
/// impl Manager for Database {
///     type Resource = Connection;
///     type Error = std::io::Error;
///
///     async fn create(&self) -> Result<Connection, std::io::Error> {
///         Ok(Connection { healthy: true }) // connect here
///     }
///
///     async fn recycle(&self, conn: &mut Connection) -> Result<(), std::io::Error> {
///         if conn.healthy { Ok(()) } else { Err(std::io::Error::other("broken")) }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::new(Database, 10);
/// let conn = pool.acquire().await?;
/// assert!(conn.healthy);
/// # Ok(())
/// # }
/// ```
pub trait Manager: Send + Sync + 'static {
    /// What the pool holds.
    type Resource: Send + 'static;
    /// The error of `create` and `recycle`.
    type Error: Send + 'static;

    /// Creates a new resource, when the pool has none idle and is below its size.
    ///
    /// # Cancel safety
    ///
    /// The pool awaits this future inside [`Pool::acquire`], so it is dropped unfinished when
    /// the acquire is: a [`Pool::acquire_timeout`] whose timeout passes, a losing `select!`
    /// branch, an aborted task. The pool then gives the slot back at once and the next acquire
    /// creates a new resource; whatever the unfinished `create` owned (a half-open
    /// connection) is dropped with its future, so it should clean up in `Drop`, not after an
    /// `.await`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::{Manager, Pool};
    ///
    /// struct Counter;
    /// impl Manager for Counter {
    ///     type Resource = u32;
    ///     type Error = std::io::Error;
    ///     async fn create(&self) -> Result<u32, std::io::Error> { Ok(0) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), std::io::Error> {
    /// assert_eq!(Counter.create().await?, 0);
    /// let pool = Pool::new(Counter, 1);
    /// assert_eq!(pool.status().size, 0); // nothing is created before the first acquire
    /// # Ok(())
    /// # }
    /// ```
    fn create(&self) -> impl Future<Output = Result<Self::Resource, Self::Error>> + Send;

    /// Checks an idle resource before it is handed out again (a ping, a rollback of a
    /// leftover transaction). An error means the resource is broken: the pool drops it and
    /// tries the next one, or creates a new one. The default accepts every resource.
    ///
    /// # Cancel safety
    ///
    /// The pool awaits this future inside [`Pool::acquire`], so it is dropped unfinished when
    /// the acquire is (a timeout of [`Pool::acquire_timeout`], a losing `select!` branch). The
    /// resource being checked is then dropped too, never handed out or put back, and its slot
    /// is freed: a check cut short may have left it halfway through an exchange (a `PING`
    /// sent, its reply unread), which would confuse the next user. A `recycle` that panics is
    /// treated the same way.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::Manager;
    ///
    /// struct Sessions;
    /// impl Manager for Sessions {
    ///     type Resource = Vec<u8>;
    ///     type Error = &'static str;
    ///     async fn create(&self) -> Result<Vec<u8>, &'static str> { Ok(Vec::new()) }
    ///     async fn recycle(&self, buffer: &mut Vec<u8>) -> Result<(), &'static str> {
    ///         buffer.clear(); // reset it for the next user
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), &'static str> {
    /// let mut buffer = b"left over".to_vec();
    /// Sessions.recycle(&mut buffer).await?;
    /// assert!(buffer.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    fn recycle(
        &self,
        resource: &mut Self::Resource,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = resource;
        async { Ok(()) }
    }
}

/// A [`Manager`] made of a closure that creates resources, for [`Pool::from_fn`]. Every
/// resource is accepted again without a check.
///
/// # Examples
///
/// ```
/// use corral::pool::{FnManager, Pool};
///
/// let pool: Pool<FnManager<_>> = Pool::from_fn(4, || async { Ok::<_, std::io::Error>(Vec::<u8>::new()) });
/// # let _ = pool;
/// ```
pub struct FnManager<F>(F);

impl<F, Fut, R, E> Manager for FnManager<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send,
    R: Send + 'static,
    E: Send + 'static,
{
    type Resource = R;
    type Error = E;

    fn create(&self) -> impl Future<Output = Result<R, E>> + Send {
        (self.0)()
    }
}

impl<F> fmt::Debug for FnManager<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnManager")
    }
}

/// A pool of reusable resources (connections, sessions, clients): the guides'
/// `ConnectionPool`.
///
/// At most `max_size` resources exist at once. [`acquire`](Pool::acquire) hands out an idle
/// resource after checking it with [`Manager::recycle`] (a broken one is dropped and replaced,
/// never handed out), or creates one with [`Manager::create`] while the pool is below its size,
/// or waits; waiters are served first come, first served. The [`PoolGuard`] it returns derefs
/// to the resource and puts it back when dropped: asyncio's `async with pool.acquire() as conn`
/// is `let conn = pool.acquire().await?;` and the end of the scope.
///
/// `Pool` is a cheap `Clone` handle; clones share the same resources.
///
/// No code of the manager or of the resource (create, recycle, drop) runs under the pool's
/// lock.
///
/// # Examples
///
/// ```
/// use corral::pool::Pool;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::from_fn(2, || async { Ok::<_, std::io::Error>(String::from("conn")) });
/// {
///     let conn = pool.acquire().await?;
///     assert_eq!(*conn, "conn");
///     assert_eq!(pool.status().available, 0);
/// } // returned here
/// assert_eq!(pool.status().available, 1);
/// # Ok(())
/// # }
/// ```
pub struct Pool<M: Manager> {
    inner: Arc<Inner<M>>,
}

struct Inner<M: Manager> {
    manager: M,
    max_size: usize,
    permits: Arc<Semaphore>,
    idle: Mutex<VecDeque<M::Resource>>,
    /// Resources that exist: idle, handed out, being checked or being created.
    size: AtomicUsize,
    /// Tasks waiting in `acquire` for a permit.
    waiting: AtomicUsize,
}

/// Where a guard sends its resource back: the pool's shared state, seen through its resource
/// type only, so that `PoolGuard<R>` does not name the manager (which also keeps rustc's
/// `Send` checks of tasks holding a guard simple).
trait Home<R>: Send + Sync {
    fn put_back(&self, resource: R);
    fn forget_one(&self);
}

impl<M: Manager> Home<M::Resource> for Inner<M> {
    fn put_back(&self, resource: M::Resource) {
        Inner::put_back(self, resource);
    }

    fn forget_one(&self) {
        Inner::forget_one(self);
    }
}

impl<M: Manager> Inner<M> {
    fn idle(&self) -> MutexGuard<'_, VecDeque<M::Resource>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts a resource back among the idle ones (moving it in; nothing is dropped under the
    /// lock).
    fn put_back(&self, resource: M::Resource) {
        self.idle().push_back(resource);
    }

    /// Counts a resource out of the pool; the caller drops it after this returns.
    fn forget_one(&self) {
        self.size.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The numbers of a [`Pool`] at one moment, from [`Pool::status`].
///
/// # Examples
///
/// ```
/// use corral::pool::{Pool, Status};
///
/// let pool = Pool::from_fn(5, || async { Ok::<_, std::io::Error>(()) });
/// let Status { max_size, size, available, waiting, .. } = pool.status();
/// assert_eq!((max_size, size, available, waiting), (5, 0, 0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Status {
    /// The most resources that may exist at once.
    pub max_size: usize,
    /// The resources that exist: idle, handed out, or being checked or created.
    pub size: usize,
    /// The idle resources, ready to be handed out.
    pub available: usize,
    /// The tasks waiting in `acquire` for a resource.
    pub waiting: usize,
}

impl<M: Manager> Pool<M> {
    /// A pool of at most `max_size` resources made by `manager`. Nothing is created until the
    /// first [`acquire`](Pool::acquire).
    ///
    /// # Panics
    ///
    /// Panics if `max_size` is zero (no acquire could ever succeed). Any other size is fine;
    /// `usize::MAX` means no limit (a size above Tokio's `Semaphore::MAX_PERMITS`, about
    /// 2.3 × 10¹⁸, is a limit no pool can reach, and is kept as that).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::{Manager, Pool};
    ///
    /// struct Numbers;
    /// impl Manager for Numbers {
    ///     type Resource = u64;
    ///     type Error = std::convert::Infallible;
    ///     async fn create(&self) -> Result<u64, Self::Error> { Ok(42) }
    /// }
    ///
    /// let pool = Pool::new(Numbers, 8);
    /// assert_eq!(pool.status().max_size, 8);
    /// ```
    #[track_caller]
    pub fn new(manager: M, max_size: usize) -> Self {
        assert!(max_size > 0, "a Pool needs a max_size of at least 1");
        Pool {
            inner: Arc::new(Inner {
                manager,
                max_size,
                // Tokio's semaphore holds at most `MAX_PERMITS`: more resources than that can
                // never exist at once anyway, so the limit is the same.
                permits: Arc::new(Semaphore::new(max_size.min(Semaphore::MAX_PERMITS))),
                idle: Mutex::new(VecDeque::new()),
                size: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    /// Acquires a resource: an idle one that passes [`Manager::recycle`], or a new one from
    /// [`Manager::create`] when none is idle; waits while `max_size` resources are handed out.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute resources in the order they were
    /// requested. Cancelling a call to `acquire` makes you lose your place in the queue, and
    /// leaks nothing: no permit, and no resource slot. A resource whose check was cut short
    /// (or whose `recycle` panicked) is dropped and its slot freed, as deadpool does: it may be
    /// halfway through an exchange (a `PING` sent, its reply unread), which would confuse the
    /// next check or user. One being created is dropped unfinished with its `create` future,
    /// and its slot is free.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Create`] when the pool had to create a resource and `create` failed; the
    /// slot is given back, so the next acquire tries again.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::Pool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::from_fn(1, || async { Ok::<_, std::io::Error>(Vec::<u8>::new()) });
    /// let mut buffer = pool.acquire().await?;
    /// buffer.extend_from_slice(b"kept for the next user");
    /// drop(buffer);
    /// assert_eq!(pool.acquire().await?.len(), 22);
    /// # Ok(())
    /// # }
    /// ```
    pub fn acquire(
        &self,
    ) -> impl Future<Output = Result<PoolGuard<M::Resource>, AcquireError<M::Error>>> + Send + '_
    {
        // Declared `Send` here, so the compiler proves it once for every `M` rather than at
        // each `tokio::spawn` (where it fails on higher-ranked lifetimes for some error types).
        self.acquire_inner()
    }

    async fn acquire_inner(&self) -> Result<PoolGuard<M::Resource>, AcquireError<M::Error>> {
        let permit = {
            let _waiting = Waiting::enter(&self.inner.waiting);
            match self.inner.permits.clone().acquire_owned().await {
                Ok(permit) => permit,
                // The pool never closes its semaphore.
                Err(_) => unreachable!("a pool's semaphore is never closed"),
            }
        };
        loop {
            let idle = self.inner.idle().pop_front();
            match idle {
                Some(resource) => {
                    let mut checking = Checking {
                        resource: Some(resource),
                        inner: &self.inner,
                    };
                    let healthy = match checking.resource.as_mut() {
                        Some(resource) => self.inner.manager.recycle(resource).await.is_ok(),
                        None => false,
                    };
                    if healthy && let Some(resource) = checking.resource.take() {
                        return Ok(self.guard(resource, permit));
                    }
                    // Broken: `checking` counts it out and drops it, outside any lock.
                    drop(checking);
                }
                None => {
                    self.inner.size.fetch_add(1, Ordering::AcqRel);
                    let creating = Creating(&self.inner);
                    let created = self.inner.manager.create().await;
                    std::mem::forget(creating);
                    return match created {
                        Ok(resource) => Ok(self.guard(resource, permit)),
                        Err(error) => {
                            self.inner.forget_one();
                            Err(AcquireError::Create(error))
                        }
                    };
                }
            }
        }
    }

    /// [`acquire`](Pool::acquire), giving up after `timeout` (the wait for a resource and its
    /// check or creation together).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Pool::acquire): cancelling loses your place in the queue and leaks
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Timeout`] when `timeout` passes first, [`AcquireError::Create`] as for
    /// `acquire`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::pool::{AcquireError, Pool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let pool = Pool::from_fn(1, || async { Ok::<_, std::io::Error>(()) });
    /// let held = pool.acquire().await?;
    /// let second = pool.acquire_timeout(Duration::from_millis(100)).await;
    /// assert!(matches!(second, Err(AcquireError::Timeout)));
    /// drop(held);
    /// # Ok(())
    /// # }
    /// ```
    // Not an `async fn`: the `Send` in the signature is what lets a spawned task await it
    // (see `acquire`).
    #[allow(clippy::manual_async_fn)]
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<PoolGuard<M::Resource>, AcquireError<M::Error>>> + Send + '_
    {
        async move {
            match crate::time::timeout(timeout, self.acquire()).await {
                Ok(result) => result,
                Err(_) => Err(AcquireError::Timeout),
            }
        }
    }

    /// The pool's numbers now.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::Pool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::from_fn(3, || async { Ok::<_, std::io::Error>(()) });
    /// let a = pool.acquire().await?;
    /// let b = pool.acquire().await?;
    /// drop(b);
    /// let status = pool.status();
    /// assert_eq!((status.size, status.available, status.waiting), (2, 1, 0));
    /// # drop(a);
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> Status {
        Status {
            max_size: self.inner.max_size,
            size: self.inner.size.load(Ordering::Acquire),
            available: self.inner.idle().len(),
            waiting: self.inner.waiting.load(Ordering::Acquire),
        }
    }

    /// The manager, to reach its configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::Pool;
    ///
    /// let pool = Pool::from_fn(1, || async { Ok::<_, std::io::Error>(()) });
    /// let _manager = pool.manager();
    /// ```
    pub fn manager(&self) -> &M {
        &self.inner.manager
    }

    fn guard(&self, resource: M::Resource, permit: OwnedSemaphorePermit) -> PoolGuard<M::Resource> {
        PoolGuard {
            resource: Some(resource),
            home: self.inner.clone(),
            _permit: permit,
        }
    }
}

impl<F, Fut, R, E> Pool<FnManager<F>>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send,
    R: Send + 'static,
    E: Send + 'static,
{
    /// A pool of at most `max_size` resources made by `create`, handed out again without a
    /// check. Implement [`Manager`] for a health check.
    ///
    /// # Panics
    ///
    /// Panics if `max_size` is zero. Any other size is fine; `usize::MAX` means no limit (see
    /// [`Pool::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::Pool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::from_fn(10, || async { Ok::<_, std::io::Error>(String::from("session")) });
    /// assert_eq!(*pool.acquire().await?, "session");
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn from_fn(max_size: usize, create: F) -> Self {
        Pool::new(FnManager(create), max_size)
    }
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
        }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

/// Counts a task waiting for a permit, also when its `acquire` is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A resource being checked: if the check is abandoned (the acquire dropped, or `recycle`
/// panicked), the resource is in an unknown state (a check may be halfway through an
/// exchange with a server), so it is counted out and dropped, with no lock held.
struct Checking<'a, M: Manager> {
    resource: Option<M::Resource>,
    inner: &'a Inner<M>,
}

impl<M: Manager> Drop for Checking<'_, M> {
    fn drop(&mut self) {
        if let Some(resource) = self.resource.take() {
            self.inner.forget_one();
            drop(resource);
        }
    }
}

/// A resource being created: its slot is given back if the creation is abandoned.
struct Creating<'a, M: Manager>(&'a Inner<M>);

impl<M: Manager> Drop for Creating<'_, M> {
    fn drop(&mut self) {
        self.0.forget_one();
    }
}

/// A resource acquired from a [`Pool`]; derefs to it, and puts it back when dropped.
///
/// [`discard`](PoolGuard::discard) drops it instead (a connection known to be broken), and
/// [`detach`](PoolGuard::detach) takes it out of the pool for good; either frees its slot for
/// a new resource.
///
/// # Examples
///
/// ```
/// use corral::pool::Pool;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::from_fn(1, || async { Ok::<_, std::io::Error>(0_u32) });
/// let mut counter = pool.acquire().await?;
/// *counter += 1;
/// drop(counter);
/// assert_eq!(*pool.acquire().await?, 1);
/// # Ok(())
/// # }
/// ```
#[must_use = "the resource goes back to the pool as soon as the guard is dropped"]
pub struct PoolGuard<R> {
    resource: Option<R>,
    home: Arc<dyn Home<R>>,
    // Dropped after `drop` put the resource back, so the waiter it wakes finds it.
    _permit: OwnedSemaphorePermit,
}

impl<R> PoolGuard<R> {
    /// Drops the resource instead of returning it; the pool creates a new one when needed.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::Pool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::from_fn(1, || async { Ok::<_, std::io::Error>(()) });
    /// pool.acquire().await?.discard();
    /// assert_eq!(pool.status().size, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn discard(self) {
        drop(self.detach());
    }

    /// Takes the resource out of the pool and returns it; its slot is free for a new one.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::Pool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::from_fn(1, || async { Ok::<_, std::io::Error>(String::from("mine")) });
    /// let owned: String = pool.acquire().await?.detach();
    /// assert_eq!((owned.as_str(), pool.status().size), ("mine", 0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn detach(mut self) -> R {
        self.home.forget_one();
        match self.resource.take() {
            Some(resource) => resource,
            None => unreachable!("a guard holds its resource until it is dropped"),
        }
    }
}

impl<R> Deref for PoolGuard<R> {
    type Target = R;

    fn deref(&self) -> &R {
        match &self.resource {
            Some(resource) => resource,
            None => unreachable!("a guard holds its resource until it is dropped"),
        }
    }
}

impl<R> DerefMut for PoolGuard<R> {
    fn deref_mut(&mut self) -> &mut R {
        match &mut self.resource {
            Some(resource) => resource,
            None => unreachable!("a guard holds its resource until it is dropped"),
        }
    }
}

impl<R> Drop for PoolGuard<R> {
    fn drop(&mut self) {
        if let Some(resource) = self.resource.take() {
            self.home.put_back(resource);
        }
    }
}

impl<R: fmt::Debug> fmt::Debug for PoolGuard<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PoolGuard").field(&self.resource).finish()
    }
}

/// The error of [`Pool::acquire`] and [`Pool::acquire_timeout`].
///
/// # Examples
///
/// ```
/// use corral::pool::Pool;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::from_fn(1, || async { Err::<(), _>("connection refused") });
/// let Err(err) = pool.acquire().await else {
///     return Err("create fails, so acquire does".into());
/// };
/// assert_eq!(err.to_string(), "creating a pooled resource failed: connection refused");
/// assert_eq!(err.into_create_error(), Some("connection refused"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcquireError<E> {
    /// The pool had to create a resource, and the manager's `create` failed.
    Create(E),
    /// The timeout of [`Pool::acquire_timeout`] passed first.
    Timeout,
}

impl<E> AcquireError<E> {
    /// The error of `create`, if that is what failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::pool::AcquireError;
    ///
    /// assert_eq!(AcquireError::<&str>::Timeout.into_create_error(), None);
    /// ```
    pub fn into_create_error(self) -> Option<E> {
        match self {
            AcquireError::Create(error) => Some(error),
            AcquireError::Timeout => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for AcquireError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Create(error) => write!(f, "creating a pooled resource failed: {error}"),
            AcquireError::Timeout => f.write_str("timed out waiting for a pooled resource"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for AcquireError<E> {}

/// Loom models of the pool's own bookkeeping. What is modelled: the idle list
/// (`crate::loom::Mutex`) and the `size` and `waiting` counters, so loom explores every
/// interleaving of taking, returning, discarding and creating. What is not: the permits are
/// Tokio's `Semaphore`, which loom cannot see into (each of its calls is one step); a task
/// parked on it is woken through loom's `block_on` waker, so a lost wake-up is a deadlock
/// loom reports. Each `acquire` bumps `waiting` (a loom atomic) just before it asks for a
/// permit, so loom tries every order of the permit requests.
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize as Counter, Ordering::Relaxed};
    use std::sync::{Arc as StdArc, Mutex as StdMutex};

    use loom::future::block_on;
    use loom::thread;

    use super::*;

    /// Numbers its resources in creation order; with `break_first`, resource 0 fails its
    /// health check when it is taken again (and so is dropped, counted in `discarded`).
    struct Numbered {
        created: StdArc<Counter>,
        discarded: StdArc<Counter>,
        break_first: bool,
    }

    impl Manager for Numbered {
        type Resource = usize;
        type Error = ();

        fn create(&self) -> impl Future<Output = Result<usize, ()>> + Send {
            std::future::ready(Ok(self.created.fetch_add(1, Relaxed)))
        }

        fn recycle(&self, resource: &mut usize) -> impl Future<Output = Result<(), ()>> + Send {
            let broken = self.break_first && *resource == 0;
            if broken {
                self.discarded.fetch_add(1, Relaxed);
            }
            std::future::ready(if broken { Err(()) } else { Ok(()) })
        }
    }

    /// A pool whose resources are numbered in creation order, with the numbers currently
    /// checked out (plain std state: loom need not explore it, only the pool's).
    #[derive(Clone)]
    struct Model {
        pool: Pool<Numbered>,
        created: StdArc<Counter>,
        discarded: StdArc<Counter>,
        out: StdArc<StdMutex<HashSet<usize>>>,
    }

    impl Model {
        fn new(max_size: usize) -> Self {
            Self::with(max_size, false)
        }

        fn with(max_size: usize, break_first: bool) -> Self {
            let created = StdArc::new(Counter::new(0));
            let discarded = StdArc::new(Counter::new(0));
            let manager = Numbered {
                created: created.clone(),
                discarded: discarded.clone(),
                break_first,
            };
            Self {
                pool: Pool::new(manager, max_size),
                created,
                discarded,
                out: StdArc::default(),
            }
        }

        /// Acquires a resource and checks that nobody else holds it and that the pool never
        /// counts more resources than its maximum; the caller then gives it back or
        /// discards it.
        fn acquire(&self) -> PoolGuard<usize> {
            let guard = match block_on(self.pool.acquire()) {
                Ok(guard) => guard,
                Err(error) => panic!("creating never fails here: {error:?}"),
            };
            assert!(
                self.out.lock().unwrap().insert(*guard),
                "resource {} handed out twice",
                *guard
            );
            assert!(self.pool.status().size <= self.pool.status().max_size);
            guard
        }

        /// Another thread that acquires a resource and gives it back.
        fn take_and_give_back_elsewhere(&self) -> thread::JoinHandle<()> {
            let model = self.clone();
            thread::spawn(move || {
                let guard = model.acquire();
                model.give_back(guard);
            })
        }

        fn give_back(&self, guard: PoolGuard<usize>) {
            self.out.lock().unwrap().remove(&*guard);
            drop(guard);
        }

        fn discard(&self, guard: PoolGuard<usize>) {
            self.out.lock().unwrap().remove(&*guard);
            self.discarded.fetch_add(1, Relaxed);
            guard.discard();
        }

        /// Once every thread is done: `size` counts exactly the resources that exist (created
        /// and not discarded), all of them idle, never more than the maximum; nobody waits.
        fn assert_settled(&self) {
            let status = self.pool.status();
            let alive = self.created.load(Relaxed) - self.discarded.load(Relaxed);
            assert_eq!(status.size, alive, "size counts the resources that exist");
            assert_eq!(status.available, alive, "every resource came back");
            assert!(status.size <= status.max_size);
            assert_eq!(status.waiting, 0);
            assert!(self.out.lock().unwrap().is_empty());
        }
    }

    /// No resource lost or duplicated, `size` never above the maximum: two tasks share a pool
    /// of one, each taking the resource and giving it back. The second waits for the permit
    /// and then finds the resource idle (it never creates a second one), whichever order the
    /// give-back and the take interleave in.
    #[test]
    fn loom_pool_take_and_give_back_share_one_resource() {
        loom::model(|| {
            let model = Model::new(1);
            let other = model.take_and_give_back_elsewhere();
            let guard = model.acquire();
            model.give_back(guard);
            other.join().unwrap();
            model.assert_settled();
            assert_eq!(model.created.load(Relaxed), 1, "one resource served both");
        });
    }

    /// Count never negative, nothing lost: a task that discards its resource racing one
    /// that takes and gives back. `size` drops by exactly the discarded one, the taker gets
    /// the idle resource or creates a fresh one (never while one sits idle at its maximum),
    /// and the counts settle at what exists.
    #[test]
    fn loom_pool_discard_racing_take_keeps_size_exact() {
        loom::model(|| {
            let model = Model::new(1);
            let discarder = {
                let model = model.clone();
                thread::spawn(move || {
                    let guard = model.acquire();
                    model.discard(guard);
                })
            };
            let guard = model.acquire();
            model.give_back(guard);
            discarder.join().unwrap();
            model.assert_settled();
        });
    }

    /// With room for two: one task holds both resources and gives them back while another
    /// waits for one; `size` never passes 2 (the waiter, once let in, takes a returned
    /// resource, never creates a third) and every resource created is idle at the end.
    #[test]
    fn loom_pool_two_slots_never_exceed_max() {
        loom::model(|| {
            let model = Model::new(2);
            let other = model.take_and_give_back_elsewhere();
            let first = model.acquire();
            let second = model.acquire();
            model.give_back(first);
            model.give_back(second);
            other.join().unwrap();
            model.assert_settled();
            assert_eq!(model.created.load(Relaxed), 2, "never a third");
        });
    }

    /// Count never negative, never above the maximum, across a failed health check: resource
    /// 0 breaks when it is taken again. Two tasks each take and give back from a pool of one;
    /// whichever finds resource 0 idle drops it, counts it out and creates a fresh one, and
    /// `size` ends at exactly the resources that exist.
    #[test]
    fn loom_pool_a_broken_idle_resource_is_replaced_and_counted_out() {
        loom::model(|| {
            let model = Model::with(1, true);
            let other = model.take_and_give_back_elsewhere();
            let guard = model.acquire();
            model.give_back(guard);
            other.join().unwrap();
            model.assert_settled();
            assert_eq!(
                model.created.load(Relaxed),
                2,
                "resource 0 was replaced once"
            );
        });
    }
}
