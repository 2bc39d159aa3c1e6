//! [`Condition`]: a condition variable that owns the data it guards, asyncio's
//! `asyncio.Condition`.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::ops::{Deref, DerefMut};
use std::sync::PoisonError;
use std::task::{Poll, Waker};

use tokio::sync::{Mutex, MutexGuard, TryLockError};

use crate::loom::{Mutex as ListMutex, MutexGuard as ListGuard};
use crate::util::{Ticket, WaitList};

/// A condition variable that owns its data: asyncio's `Condition`, with the lock and the
/// state it protects in one value.
///
/// A task [`lock`](Condition::lock)s the condition, looks at the data through the returned
/// [`ConditionGuard`], and if it has to wait for another task to change it, calls
/// [`ConditionGuard::wait`] (or, better, [`ConditionGuard::wait_for`] with the predicate it
/// waits for). Waiting releases the lock and takes it again before returning. Another task
/// changes the data under the lock and then calls [`notify_one`](Condition::notify_one),
/// [`notify(n)`](Condition::notify) or [`notify_all`](Condition::notify_all).
///
/// # Notifications
///
/// - A notification reaches only tasks that are waiting when it is sent: `notify(n)` wakes
///   exactly `min(n, waiting)` waiters, and nothing is stored for a task that waits later
///   (unlike [`Notify::notify_one`](tokio::sync::Notify::notify_one), which keeps a permit).
/// - Waiters are woken first come, first served.
/// - A task is registered as a waiter *before* `wait` releases the lock. So a notifier that
///   changes the data under the lock, unlocks, and then notifies cannot miss a waiter that
///   checked the data under the lock: that waiter was already registered when the notifier
///   got the lock.
/// - A waiter woken by `notify(n)` or `notify_one` that is dropped before it has the lock
///   again passes its notification to the next waiter, so a cancelled waiter never swallows a
///   wake-up meant for someone. One woken by `notify_all` passes nothing on: that call reached
///   every task waiting then, and is not meant for a task that waits later. (Which call woke a
///   waiter is remembered for the last eight `notify_all` calls; a waiter woken by an older
///   one that gives up only then passes its wake-up on: spurious at worst, never lost.)
/// - `wait` never returns without a notification (no spurious wake-ups); all the same, the
///   data may have changed again by the time the waiter has the lock, so check the state in
///   a loop, which is what [`wait_for`](ConditionGuard::wait_for) does.
///
/// # Porting asyncio's wait loop
///
/// asyncio checks its predicate in a loop around `wait()`, inside `async with cond:`:
///
/// ```python
/// async with cond:
///     while not inbox:
///         await cond.wait()
///     message = inbox.pop()
/// ```
///
/// In corral the lock is the [`ConditionGuard`], and [`wait`](ConditionGuard::wait) takes it
/// by value (the lock is released while waiting) and gives it back locked, so the loop
/// reassigns it. [`wait_for`](ConditionGuard::wait_for) is the same loop, written once:
///
/// ```
/// use corral::sync::Condition;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cond = Condition::new(Vec::new());
///
/// let mut reader = tokio_test::task::spawn(async {
///     let mut inbox = cond.lock().await; // async with cond:
///     while inbox.is_empty() {
///         inbox = inbox.wait().await; //     while not inbox: await cond.wait()
///     }
///     inbox.pop() //                         message = inbox.pop()
/// });
/// assert!(reader.poll().is_pending()); // empty: it waits, and the lock is free
///
/// cond.lock().await.push("hello");
/// cond.notify_all();
/// assert_eq!(reader.await, Some("hello"));
///
/// // The same loop, with the predicate given once (asyncio's `cond.wait_for(pred)`):
/// cond.lock().await.push("again");
/// let mut inbox = cond.lock().await.wait_for(|inbox| !inbox.is_empty()).await;
/// assert_eq!(inbox.pop(), Some("again"));
/// # Ok(())
/// # }
/// ```
///
/// Where corral chooses differently from asyncio: `notify*` take `&self` and may be called
/// with or without the lock held (asyncio raises `RuntimeError` without it), and the data
/// lives inside the condition, so it cannot be touched without the lock.
///
/// Fairness of the lock itself is that of Tokio's [`Mutex`]: first come, first served.
///
/// # Examples
///
/// A task waits until a counter reaches 3:
///
/// ```
/// use std::sync::Arc;
/// use corral::sync::Condition;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let count = Arc::new(Condition::new(0_u32));
///
/// let watcher = tokio::spawn({
///     let count = Arc::clone(&count);
///     async move {
///         let guard = count.lock().await;
///         let guard = guard.wait_for(|n| *n >= 3).await;
///         *guard
///     }
/// });
///
/// for _ in 0..3 {
///     *count.lock().await += 1;
///     count.notify_all();
/// }
/// assert_eq!(watcher.await?, 3);
/// # Ok(())
/// # }
/// ```
pub struct Condition<T: ?Sized> {
    waiters: ListMutex<Waiters>,
    data: Mutex<T>,
}

/// The waiters of a [`Condition`], and what a waiter that gives up needs to know about how it
/// was notified.
///
/// A waiter notified by `notify_all` that gives up passes nothing on: the call reached every
/// task waiting then, and is not meant for later ones. One notified by `notify` or
/// `notify_one` (or handed a notification by a waiter that gave up) passes it on. The two are
/// told apart by number: waiters are numbered in the order they register (the wait list's own
/// order), notifying one always takes the lowest number still waiting, and `notify_all` takes
/// every number from the lowest still waiting up to the last registered. So the waiters a
/// `notify_all` woke are a range of numbers that holds no waiter woken one at a time, and the
/// last [`KEPT_RANGES`] ranges are kept (a range with no notify-one since the previous one
/// extends it: the numbers in between all left on their own).
#[derive(Debug)]
struct Waiters {
    list: WaitList,
    /// How many waiters ever registered: the next one's number.
    registered: u64,
    /// The numbers the latest `notify_all` calls woke, oldest first, `[from, to)` each.
    woken_by_all: VecDeque<(u64, u64)>,
    /// A waiter was woken one at a time since the latest range was recorded.
    one_since_all: bool,
}

/// How many `notify_all` ranges are remembered. A waiter of an older range that gives up
/// after this many more `notify_all` calls (each after a notify-one) passes its notification
/// on, as a notify-one's would be: a spurious wake-up at worst, never a lost one.
const KEPT_RANGES: usize = 8;

impl Waiters {
    const fn new() -> Self {
        Self {
            list: WaitList::new(),
            registered: 0,
            woken_by_all: VecDeque::new(),
            one_since_all: false,
        }
    }

    /// Notifies the waiter that has waited longest (a notification that passes on).
    fn notify_one(&mut self) -> Option<Waker> {
        let waker = self.list.notify_one()?;
        self.one_since_all = true;
        Some(waker)
    }

    /// Notifies every waiter, appending their wakers to `wakers`, and records their range.
    fn notify_all(&mut self, wakers: &mut Vec<Waker>) {
        let Some((from, first)) = self.list.notify_oldest() else {
            return;
        };
        wakers.push(first);
        while let Some(waker) = self.list.notify_one() {
            wakers.push(waker);
        }
        let to = self.registered;
        match self.woken_by_all.back_mut() {
            Some(last) if !self.one_since_all => last.1 = to,
            _ => {
                if self.woken_by_all.len() == KEPT_RANGES {
                    self.woken_by_all.pop_front();
                }
                self.woken_by_all.push_back((from, to));
            }
        }
        self.one_since_all = false;
    }

    /// Whether the notified waiter `number` was notified by a `notify_all`.
    fn woken_by_all(&self, number: u64) -> bool {
        self.woken_by_all
            .iter()
            .any(|&(from, to)| (from..to).contains(&number))
    }
}

impl<T> Condition<T> {
    /// Creates a condition that guards `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// let condition = Condition::new(Vec::<u32>::new());
    /// assert!(condition.into_inner().is_empty());
    /// ```
    pub fn new(value: T) -> Self {
        Self::const_new(value)
    }

    /// Creates a condition that guards `value`, in a `const` context (for a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// static JOBS: Condition<u32> = Condition::const_new(0);
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// *JOBS.lock().await += 1;
    /// assert_eq!(*JOBS.lock().await, 1);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(not(corral_loom))]
    pub const fn const_new(value: T) -> Self {
        Self {
            waiters: ListMutex::new(Waiters::new()),
            data: Mutex::const_new(value),
        }
    }

    /// Under the loom models the wait list's lock is loom's, which has no `const`
    /// constructor.
    #[cfg(corral_loom)]
    pub fn const_new(value: T) -> Self {
        Self {
            waiters: ListMutex::new(Waiters::new()),
            data: Mutex::new(value),
        }
    }

    /// Consumes the condition and returns the data.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// let condition = Condition::new(7);
    /// assert_eq!(condition.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Condition<T> {
    /// Locks the condition, waiting until the lock is free.
    ///
    /// The lock is released when the returned guard is dropped; the guard is also how a task
    /// waits for a notification ([`ConditionGuard::wait`]).
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue for fairness (it is Tokio's [`Mutex::lock`]): cancelling loses
    /// your place in the queue, and nothing else.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let condition = Condition::new(String::from("hello"));
    /// condition.lock().await.push_str(", world");
    /// assert_eq!(*condition.lock().await, "hello, world");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn lock(&self) -> ConditionGuard<'_, T> {
        ConditionGuard {
            condition: self,
            guard: self.data.lock().await,
        }
    }

    /// Locks the condition if the lock is free, without waiting.
    ///
    /// # Errors
    ///
    /// Returns [`TryLockError`] if the lock is held, which includes the moment after it was
    /// released to a task queued in [`lock`](Condition::lock): a `try_lock` does not jump
    /// ahead of tasks already waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let condition = Condition::new(0);
    /// let guard = condition.try_lock()?;
    /// assert!(condition.try_lock().is_err());
    /// drop(guard);
    /// assert!(condition.try_lock().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_lock(&self) -> Result<ConditionGuard<'_, T>, TryLockError> {
        Ok(ConditionGuard {
            condition: self,
            guard: self.data.try_lock()?,
        })
    }

    /// Returns a mutable reference to the data; no lock is needed, since the borrow is
    /// exclusive.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// let mut condition = Condition::new(1);
    /// *condition.get_mut() += 1;
    /// assert_eq!(condition.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Wakes up to `n` of the tasks waiting on this condition, longest waiting first, and
    /// returns how many it woke.
    ///
    /// Exactly `min(n, waiting)` waiters are woken. If fewer than `n` tasks are waiting the
    /// rest of the notification is dropped: nothing is stored for a task that waits later.
    /// A woken task gets the lock back before its `wait` returns, so it sees every change
    /// made under the lock before the notification.
    ///
    /// The lock need not be held (asyncio requires it); see the type's docs for why no waiter
    /// can be missed either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let condition = Condition::new(());
    /// let mut waiters: Vec<_> = (0..3)
    ///     .map(|_| Box::pin(async { drop(condition.lock().await.wait().await) }))
    ///     .collect();
    /// for waiter in &mut waiters {
    ///     assert!(futures::poll!(waiter.as_mut()).is_pending()); // now waiting
    /// }
    ///
    /// assert_eq!(condition.notify(2), 2);
    /// assert_eq!(condition.notify(5), 1); // only one task was still waiting
    /// assert_eq!(condition.notify(1), 0); // and nothing is kept for later
    /// for waiter in waiters {
    ///     waiter.await;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let mut wakers = Vec::new();
        {
            let mut waiters = lock_waiters(&self.waiters);
            while wakers.len() < n {
                match waiters.notify_one() {
                    Some(waker) => wakers.push(waker),
                    None => break,
                }
            }
        }
        let woken = wakers.len();
        crate::util::wake_all("Condition", wakers);
        woken
    }

    /// Wakes the task that has waited longest, if any; returns whether there was one.
    ///
    /// The same as [`notify(1)`](Condition::notify): with nobody waiting, the notification is
    /// dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corral::sync::Condition;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = Arc::new(Condition::new(Vec::new()));
    ///
    /// let mut consumer = tokio_test::task::spawn({
    ///     let queue = Arc::clone(&queue);
    ///     async move {
    ///         let mut items = queue.lock().await.wait_for(|items| !items.is_empty()).await;
    ///         items.pop()
    ///     }
    /// });
    /// assert!(consumer.poll().is_pending()); // the queue is empty: it waits
    ///
    /// queue.lock().await.push("job");
    /// assert!(queue.notify_one());
    /// assert_eq!(consumer.await, Some("job"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn notify_one(&self) -> bool {
        let waker = lock_waiters(&self.waiters).notify_one();
        waker.map(Waker::wake).is_some()
    }

    /// Wakes every task that is waiting now; returns how many it woke.
    ///
    /// Tasks that start waiting after the call are not woken by it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corral::sync::Condition;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let open = Arc::new(Condition::new(false));
    /// let mut visitors = Vec::new();
    /// for _ in 0..4 {
    ///     let open = Arc::clone(&open);
    ///     let mut visitor = tokio_test::task::spawn(async move {
    ///         drop(open.lock().await.wait_for(|open| *open).await);
    ///     });
    ///     assert!(visitor.poll().is_pending()); // closed: it waits
    ///     visitors.push(visitor);
    /// }
    ///
    /// *open.lock().await = true;
    /// assert_eq!(open.notify_all(), 4);
    /// for visitor in visitors {
    ///     visitor.await;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn notify_all(&self) -> usize {
        let mut wakers = Vec::new();
        {
            let mut waiters = lock_waiters(&self.waiters);
            waiters.notify_all(&mut wakers);
        }
        let woken = wakers.len();
        crate::util::wake_all("Condition", wakers);
        woken
    }

    /// Parks the current task as a waiter. Called while the data lock is held.
    fn register(&self, waker: &Waker) -> Registration<'_> {
        let mut waiters = lock_waiters(&self.waiters);
        let ticket = waiters.list.push(waker);
        let number = waiters.registered;
        waiters.registered += 1;
        drop(waiters);
        Registration {
            waiters: &self.waiters,
            ticket,
            number,
            owes_notification: true,
        }
    }
}

impl<T: Default> Default for Condition<T> {
    /// Creates a condition that guards `T::default()`.
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Condition<T> {
    /// Creates a condition that guards `value`, like [`Condition::new`].
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wait list's lock is released before anything is formatted (the formatter is the
        // caller's code). The data is formatted under its own lock, as `Mutex`'s `Debug` does.
        let waiting = lock_waiters(&self.waiters).list.len();
        let mut d = f.debug_struct("Condition");
        match self.data.try_lock() {
            Ok(data) => d.field("data", &&*data),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.field("waiting", &waiting).finish()
    }
}

/// The lock on a [`Condition`], giving access to its data; also the way to
/// [`wait`](ConditionGuard::wait) for a notification.
///
/// Dropping the guard releases the lock.
///
/// # Examples
///
/// ```
/// use corral::sync::{Condition, ConditionGuard};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let condition = Condition::new(vec![1, 2]);
/// let mut guard: ConditionGuard<'_, Vec<i32>> = condition.lock().await;
/// guard.push(3);
/// assert_eq!(guard.len(), 3);
/// # Ok(())
/// # }
/// ```
#[must_use = "if unused the lock is released at once"]
pub struct ConditionGuard<'a, T: ?Sized> {
    condition: &'a Condition<T>,
    guard: MutexGuard<'a, T>,
}

impl<'a, T: ?Sized> ConditionGuard<'a, T> {
    /// Releases the lock, waits for a notification, and takes the lock again.
    ///
    /// The task is registered as a waiter before the lock is released, so a notification
    /// sent by a task that takes the lock after this one lets go of it cannot be missed.
    /// `wait` returns only after a notification; but another task may have changed the data
    /// between the notification and this task getting the lock, so check the state again:
    /// prefer [`wait_for`](ConditionGuard::wait_for), which does that.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue for fairness: cancelling loses your place in the queue of
    /// waiters, and the guard that was passed in (the lock was released when the wait began;
    /// it is not taken again). No notification is lost: if this waiter had been notified
    /// (by `notify` or `notify_one`) and is dropped before it had the lock again, its
    /// notification passes to the next waiter in line. A `notify_all` is not passed on: it
    /// reached every task waiting when it was sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corral::sync::Condition;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let inbox = Arc::new(Condition::new(None::<String>));
    ///
    /// let mut reader = tokio_test::task::spawn({
    ///     let inbox = Arc::clone(&inbox);
    ///     async move {
    ///         let mut guard = inbox.lock().await;
    ///         while guard.is_none() {
    ///             guard = guard.wait().await; // the guard goes in, and comes back locked
    ///         }
    ///         guard.take()
    ///     }
    /// });
    /// assert!(reader.poll().is_pending()); // nothing yet: it waits
    ///
    /// *inbox.lock().await = Some("hi".to_string());
    /// inbox.notify_one();
    /// assert_eq!(reader.await.as_deref(), Some("hi"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(self) -> ConditionGuard<'a, T> {
        let ConditionGuard { condition, guard } = self;
        // Register while the lock is still held, then let go of it.
        let mut registration = poll_fn(|cx| Poll::Ready(condition.register(cx.waker()))).await;
        drop(guard);
        poll_fn(|cx| registration.poll_notified(cx.waker())).await;
        // Notified. If this future is dropped while it waits for the lock, `registration`
        // passes the notification on.
        let guard = condition.data.lock().await;
        registration.owes_notification = false;
        ConditionGuard { condition, guard }
    }

    /// Waits until `predicate` returns `true` for the data, and returns the lock.
    ///
    /// The predicate is called under the lock: once at the start (if it holds, `wait_for`
    /// returns at once without waiting) and again each time the task is notified and has
    /// the lock back. It is asyncio's `wait_for`.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue for fairness: cancelling loses your place, and the guard that
    /// was passed in. No notification is lost: one from `notify` or `notify_one` that this
    /// waiter received and had not yet acted on passes to the next waiter (one from
    /// `notify_all` reached every task waiting then, and is not passed on). See
    /// [`wait`](ConditionGuard::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Condition;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let progress = Condition::new(0_u8);
    ///
    /// let mut waiter =
    ///     tokio_test::task::spawn(async { *progress.lock().await.wait_for(|p| *p >= 100).await });
    ///
    /// for step in [30, 60, 100] {
    ///     assert!(waiter.poll().is_pending()); // not there yet: it (still) waits
    ///     *progress.lock().await = step;
    ///     progress.notify_all();
    /// }
    /// assert_eq!(waiter.await, 100);
    ///
    /// // Already true: returns without waiting.
    /// let guard = progress.lock().await.wait_for(|p| *p == 100).await;
    /// assert_eq!(*guard, 100);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for<F>(self, mut predicate: F) -> ConditionGuard<'a, T>
    where
        F: FnMut(&T) -> bool,
    {
        let mut guard = self;
        while !predicate(&guard) {
            guard = guard.wait().await;
        }
        guard
    }
}

impl<T: ?Sized> Deref for ConditionGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for ConditionGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ConditionGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.guard, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for ConditionGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.guard, f)
    }
}

/// One waiter's place in the condition's wait list, from the moment it registers until its
/// `wait` returns with the lock.
///
/// Whether a waiter was notified is decided under the wait-list lock: `notify*` take its
/// ticket off the list, and a waiter that gives up tries to take the ticket off itself. So
/// "notified" and "dropped" cannot both win: either the waiter leaves unnoticed, or it finds
/// it was notified and hands the notification to the next waiter (unless `notify_all`
/// notified it, which was meant for the tasks waiting then, and reached them all).
struct Registration<'a> {
    waiters: &'a ListMutex<Waiters>,
    ticket: Ticket,
    /// This waiter's number, in the order of registering (see [`Waiters`]).
    number: u64,
    /// Cleared once the waiter has the lock again: from then on, the notification is spent.
    owes_notification: bool,
}

impl Registration<'_> {
    fn poll_notified(&mut self, waker: &Waker) -> Poll<()> {
        let mut waiters = lock_waiters(self.waiters);
        if waiters.list.contains(self.ticket) {
            let replaced = waiters.list.replace_waker(self.ticket, waker);
            drop(waiters);
            drop(replaced);
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if !self.owes_notification {
            return;
        }
        // Either this waiter's own waker (never notified: it leaves quietly) or the next
        // waiter's (notified by `notify` or `notify_one`, but gone before acting on it: the
        // notification passes on). Both are dropped or woken only after the lock is released.
        let (own, next) = {
            let mut waiters = lock_waiters(self.waiters);
            match waiters.list.take(self.ticket) {
                Some(own) => (Some(own), None),
                None if waiters.woken_by_all(self.number) => (None, None),
                None => (None, waiters.notify_one()),
            }
        };
        drop(own);
        if let Some(waker) = next {
            // In a destructor, maybe while unwinding: a waker's panic is reported, not let out.
            crate::report::contain("Condition", "waking the next waiter", || waker.wake());
        }
    }
}

/// Locks the wait list. Nothing panics while it is held in a way that leaves it
/// inconsistent, so a poisoned lock is used as is.
fn lock_waiters(waiters: &ListMutex<Waiters>) -> ListGuard<'_, Waiters> {
    waiters.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Loom models of the condition's wait list. What is modelled: the wait-list lock
/// (`crate::loom::Mutex`), so loom explores every interleaving of registering, notifying and
/// giving up. The data lock is Tokio's `Mutex`, which loom cannot see into: each of its
/// operations is one step (loom runs one thread at a time), and a task parked on it is woken
/// through loom's `block_on` waker, so a lost wake-up anywhere is a deadlock loom reports.
///
/// Loom only reorders accesses it sees conflict, so the model makes the data lock's part
/// visible: each thread passes a loom atomic (`turnstile`) just before it asks for the lock,
/// so loom tries every order of lock attempts, and the guarded data is a loom `AtomicBool`,
/// so it sees the waiter's check and the notifier's change conflict. The flag is read and
/// written with read-modify-writes, which always see the latest value, as the Tokio lock
/// guarantees for real (plain loads and stores would let loom read a stale value: it does not
/// see the lock's happens-before).
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::Context;

    use loom::future::block_on;
    use loom::thread;

    use super::*;
    use crate::loom::Ordering::{AcqRel, Relaxed};
    use crate::loom::{Arc, AtomicBool, AtomicUsize};

    #[derive(Default)]
    struct Flag {
        cond: Condition<AtomicBool>,
        turnstile: AtomicUsize,
    }

    impl Flag {
        fn lock(&self) -> ConditionGuard<'_, AtomicBool> {
            self.turnstile.fetch_add(1, Relaxed);
            block_on(self.cond.lock())
        }

        /// Waits under the lock until the flag is up, as asyncio's `wait_for` loop.
        fn wait_until_set(&self) {
            let guard = self.lock();
            drop(block_on(guard.wait_for(|set| set.fetch_or(false, AcqRel))));
        }

        /// Raises the flag under the lock, then notifies after unlocking.
        fn set(&self, notify: impl FnOnce(&Condition<AtomicBool>)) {
            self.lock().swap(true, AcqRel);
            notify(&self.cond);
        }

        fn nobody_waits(&self) -> bool {
            lock_waiters(&self.cond.waiters).list.is_empty()
        }
    }

    /// No lost wake-up: a waiter that checks the flag under the lock and registers before
    /// unlocking is always woken by a `notify_one` sent after the flag was raised on another
    /// thread (loom reports a deadlock otherwise), and the wait list ends empty.
    #[test]
    fn loom_condition_notify_one_never_misses_a_registering_waiter() {
        loom::model(|| {
            let flag = Arc::new(Flag::default());
            let waiter = {
                let flag = flag.clone();
                thread::spawn(move || flag.wait_until_set())
            };
            flag.set(|cond| {
                cond.notify_one();
            });
            waiter.join().unwrap();
            assert!(flag.nobody_waits());
        });
    }

    /// No lost wake-up with several waiters: one `notify_all` after the flag was raised wakes
    /// every waiter that saw it down, whichever point of registering each had reached.
    #[test]
    fn loom_condition_notify_all_wakes_every_waiter() {
        loom::model(|| {
            let flag = Arc::new(Flag::default());
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let flag = flag.clone();
                    thread::spawn(move || flag.wait_until_set())
                })
                .collect();
            flag.set(|cond| {
                cond.notify_all();
            });
            for waiter in waiters {
                waiter.join().unwrap();
            }
            assert!(flag.nobody_waits());
        });
    }

    /// A cancelled waiter never swallows a notification (the promise of `wait`'s cancel
    /// safety): one waiter waits for the flag for good while another registers, is polled
    /// once and dropped, racing a single `notify_one`. If the dropped one had been notified
    /// (it was first in line) and had not got the lock back, the notification passes to the
    /// one that stays; only if it returned, having spent the notification, is a second one
    /// sent. Either way the one that stays is woken and nothing is left on the list.
    #[test]
    fn loom_condition_a_dropped_notified_waiter_passes_the_notification_on() {
        loom::model(|| {
            let flag = Arc::new(Flag::default());
            let stayer = {
                let flag = flag.clone();
                thread::spawn(move || flag.wait_until_set())
            };
            let quitter = {
                let flag = flag.clone();
                thread::spawn(move || {
                    let mut wait = pin!(flag.lock().wait());
                    let mut cx = Context::from_waker(Waker::noop());
                    // Ready only if it was notified and got the lock back: then it spent the
                    // notification. Otherwise it is dropped here, registered or notified.
                    wait.as_mut().poll(&mut cx).is_ready()
                })
            };
            flag.set(|cond| {
                cond.notify_one();
            });
            if quitter.join().unwrap() {
                flag.cond.notify_one();
            }
            stayer.join().unwrap();
            assert!(flag.nobody_waits());
        });
    }

    /// Counts the wakes of a waker.
    struct Wakes(AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, AcqRel);
        }
    }

    /// A `notify_all` reaches only the tasks waiting at the call, and nothing more: one waiter
    /// is registered before the threads start; a `notify_all` on one thread races a second
    /// waiter that registers, and the first one giving up, on the other. Every wake-up either
    /// waiter gets is one the `notify_all` counted (a first waiter woken by it and dropped
    /// passes nothing on to the second), and the list ends empty once the second gives up.
    #[test]
    fn loom_condition_notify_all_is_not_passed_on_to_a_later_waiter() {
        loom::model(|| {
            let cond = Arc::new(Condition::new(()));
            let wakes = std::sync::Arc::new(Wakes(AtomicUsize::new(0)));
            let waker = Waker::from(wakes.clone());
            let mut cx = Context::from_waker(&waker);
            let mut early = Box::pin(async { drop(cond.lock().await.wait().await) });
            assert!(early.as_mut().poll(&mut cx).is_pending(), "registered");
            let notifier = {
                let cond = cond.clone();
                thread::spawn(move || cond.notify_all())
            };
            // The lock is free: it registers, and waits unless the notify_all came in between.
            let mut late = Box::pin(async { drop(cond.lock().await.wait().await) });
            let _ = late.as_mut().poll(&mut cx);
            drop(early);
            let woken = notifier.join().unwrap();
            assert_eq!(
                wakes.0.fetch_add(0, AcqRel),
                woken,
                "every wake-up is one the notify_all counted"
            );
            drop(late);
            assert!(lock_waiters(&cond.waiters).list.is_empty());
        });
    }
}
