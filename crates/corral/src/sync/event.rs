//! [`Event`]: a flag that tasks wait on, asyncio's `asyncio.Event`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::loom::{AtomicUsize, Notified, Notify, Ordering};

/// The event is set (bit 0 of [`Event::state`]).
const SET: usize = 1;
/// One `set` that raised the flag (the rest of the word counts them, wrapping).
const RAISED: usize = 2;

/// A flag that tasks can wait on: asyncio's `Event`.
///
/// An `Event` is either set or clear; it starts clear. [`wait`](Event::wait) returns at once
/// while the event is set, and otherwise waits until [`set`](Event::set) is called.
/// [`clear`](Event::clear) makes later calls to `wait` wait again; it never takes back a
/// wake-up: a task that was waiting when `set` was called returns even if the event was
/// cleared again before that task ran (so `set(); clear();` releases every waiter, as in
/// asyncio). A task that only starts waiting after the `clear` waits for the next `set`:
/// "waiting" begins when [`wait`](Event::wait) is called, not when a task is spawned.
///
/// Unlike a [`Notify`](tokio::sync::Notify) permit, setting an event is not consumed by the
/// task it wakes: every waiter returns, and so does every `wait` that starts while the event
/// stays set.
///
/// Share an `Event` between tasks with an [`Arc`](std::sync::Arc), or borrow it from a scope
/// that outlives them.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use corral::sync::Event;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ready = Arc::new(Event::new());
///
/// let waiter = tokio::spawn({
///     let ready = Arc::clone(&ready);
///     async move {
///         ready.wait().await;
///         "went ahead"
///     }
/// });
///
/// ready.set();
/// assert_eq!(waiter.await?, "went ahead");
/// assert!(ready.is_set());
/// # Ok(())
/// # }
/// ```
pub struct Event {
    /// Bit 0: the event is set. Above it: how many times `set` raised the flag, so that a
    /// waiter woken by `notify_waiters` can tell a `set` made since its `wait` began from one
    /// made before it (whose wake-up came late, after a `clear` undid it).
    state: AtomicUsize,
    notify: Notify,
}

impl Event {
    /// Creates an event that is not set.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Event;
    ///
    /// let event = Event::new();
    /// assert!(!event.is_set());
    /// ```
    pub fn new() -> Self {
        Self::const_new()
    }

    /// Creates an event that is not set, in a `const` context (for a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Event;
    ///
    /// static SHUTDOWN: Event = Event::const_new();
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// SHUTDOWN.set();
    /// SHUTDOWN.wait().await;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(not(corral_loom))]
    pub const fn const_new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            notify: Notify::const_new(),
        }
    }

    /// Under the loom models the flag is loom's, which has no `const` constructor.
    #[cfg(corral_loom)]
    pub fn const_new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            notify: Notify::const_new(),
        }
    }

    /// Sets the event, waking every task that is waiting for it.
    ///
    /// Calls to [`wait`](Event::wait) return at once until [`clear`](Event::clear) is called.
    /// Setting an event that is already set does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Event;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let event = Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// event.wait().await; // returns at once
    /// # Ok(())
    /// # }
    /// ```
    pub fn set(&self) {
        // Only the call that turns the flag on wakes anyone: while it is on, no `wait` that
        // began after that call can be parked (it sees the flag), and every `wait` that began
        // before it is woken by that call's `notify_waiters`.
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if current & SET != 0 {
                return;
            }
            let raised = current.wrapping_add(RAISED) | SET;
            match self
                .state
                .compare_exchange(current, raised, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        self.notify.notify_waiters();
    }

    /// Clears the event, so that later calls to [`wait`](Event::wait) wait for the next
    /// [`set`](Event::set).
    ///
    /// Tasks already woken by an earlier `set` still return from their `wait`.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::AcqRel);
    }

    /// Whether the event is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::Event;
    ///
    /// let event = Event::new();
    /// assert!(!event.is_set());
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Waits until the event is set.
    ///
    /// Returns at once if the event is set. Otherwise the returned future completes after the
    /// next [`set`](Event::set), even if [`clear`](Event::clear) is called before it is polled
    /// again.
    ///
    /// The future watches for `set` from the moment `wait` is called, before it is first
    /// polled: a `set` (even one followed by a `clear`) between the call and the first poll
    /// is not missed.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: an event is not a permit, so a `wait` that is dropped
    /// before it completes takes nothing from other waiters, and the event stays as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::sync::Event;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let event = Event::new();
    ///
    /// // Not set yet: the wait times out, and gives up nothing.
    /// let early = tokio::time::timeout(Duration::from_secs(1), event.wait()).await;
    /// assert!(early.is_err());
    ///
    /// event.set();
    /// tokio::time::timeout(Duration::from_secs(1), event.wait()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        // Creating the `Notified` is the registration step: Tokio guarantees it observes every
        // `notify_waiters` made after this point, polled or not. The state is read after it.
        let notified = self.notify.notified();
        EventWait {
            event: self,
            began: self.state.load(Ordering::Acquire),
            registered: false,
            notified,
        }
    }
}

impl Default for Event {
    /// Creates an event that is not set, like [`Event::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`Event::wait`].
    ///
    /// It completes when the event is set; see [`Event::wait`].
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::sync::{Event, EventWait};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let event = Event::new();
    /// let wait: EventWait<'_> = event.wait();
    /// event.set();
    /// wait.await;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct EventWait<'a> {
        event: &'a Event,
        // The event's state when `wait` was called.
        began: usize,
        // The `Notified` has been polled, so it is in the waiter list.
        registered: bool,
        #[pin]
        notified: Notified<'a>,
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("event", self.event)
            .finish_non_exhaustive()
    }
}

impl EventWait<'_> {
    /// Whether the event was set when `wait` was called, or has been set since (even if
    /// cleared again): the wait is over.
    fn over(&self, now: usize) -> bool {
        self.began & SET != 0 || now & SET != 0 || (now ^ self.began) & !SET != 0
    }
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let this = self.as_mut().project();
            if *this.registered {
                // In the waiter list: take the wake-up from the `Notified` first. A `Notified`
                // that completes leaves the list without a lock; one dropped while still
                // registered (because the flag was checked first) takes the `Notify`'s lock in
                // its destructor, which `notify_waiters` holds while it wakes: 10k waiters
                // woken at once then contend for it.
                let woken = this.notified.poll(cx).is_ready();
                let now = this.event.state.load(Ordering::Acquire);
                if self.over(now) {
                    return Poll::Ready(());
                }
                if !woken {
                    return Poll::Pending;
                }
                // Woken by a `set` made before this wait began (its `notify_waiters` came
                // after the registration, and a `clear` undid it): wait for the next one.
                let mut this = self.as_mut().project();
                this.notified.set(this.event.notify.notified());
                *this.registered = false;
                continue;
            }
            // Not in the list yet. Check. The `Notified` was created (registered) before this
            // load, so a `set` that this load misses is seen by the `Notified` below: that
            // `set` either raised the flag after the `Notified` was created, and so calls
            // `notify_waiters` after it too, or its `notify_waiters` happened before, and then
            // the acquire in `Notify::notified` makes this load see the flag.
            let now = this.event.state.load(Ordering::Acquire);
            if self.over(now) {
                return Poll::Ready(());
            }
            let this = self.as_mut().project();
            *this.registered = true;
            if this.notified.poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Notified at once: loop to tell a fresh `set` from a late one.
        }
    }
}

/// Loom models of the flag's protocol with the `Notify`. What is modelled: the flag
/// (`crate::loom::AtomicBool`) and the order of the `Notify`'s two steps, `notified` (the
/// registration, made when the `EventWait` is created) and `notify_waiters`, through
/// `crate::loom::Notify`, which shows loom the happens-before Tokio promises for them. What is
/// not: the inside of Tokio's `Notify`, taken as one step per call. The waiters run on loom's
/// `block_on`, whose wakers are loom's, so a lost wake-up is a deadlock loom reports.
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use loom::future::block_on;
    use loom::thread;

    use super::*;
    use crate::loom::Arc;

    /// No lost wake-up: a `wait` racing a `set` on another thread always returns, whether it
    /// registered before the set (woken by its `notify_waiters`) or after (it sees the flag).
    #[test]
    fn loom_event_set_racing_wait_never_loses_the_wake_up() {
        loom::model(|| {
            let event = Arc::new(Event::new());
            let waiter = {
                let event = event.clone();
                thread::spawn(move || block_on(event.wait()))
            };
            event.set();
            waiter.join().unwrap();
            assert!(event.is_set());
        });
    }

    /// `clear` never takes a wake-up back: a `wait` that began before a `set(); clear();` on
    /// another thread returns, whether it is first polled before the set, between the set and
    /// the clear, or after both (when the flag is down again and only the `Notified` knows).
    #[test]
    fn loom_event_set_then_clear_still_releases_an_earlier_wait() {
        loom::model(|| {
            let event = Arc::new(Event::new());
            let wait = event.wait();
            let pulser = {
                let event = event.clone();
                thread::spawn(move || {
                    event.set();
                    event.clear();
                })
            };
            block_on(wait);
            pulser.join().unwrap();
            assert!(!event.is_set());
        });
    }

    /// A wait that begins after a `clear` is not released by a `set` made before that
    /// clear, even when that set's `notify_waiters` comes after the wait registered (the set
    /// raised the flag, then the clear and the wait ran, then the set woke the waiters). The
    /// wait is released only if the set came after the clear (the flag is up at the end).
    #[test]
    fn loom_event_a_wait_begun_after_a_clear_is_not_released_by_the_set_before_it() {
        use std::pin::pin;
        use std::task::{Context, Waker};

        loom::model(|| {
            let event = Arc::new(Event::new());
            let setter = {
                let event = event.clone();
                thread::spawn(move || event.set())
            };
            event.clear();
            let mut wait = pin!(event.wait());
            let mut cx = Context::from_waker(Waker::noop());
            let first = wait.as_mut().poll(&mut cx);
            setter.join().unwrap();
            let second = wait.as_mut().poll(&mut cx);
            if event.is_set() {
                assert!(second.is_ready(), "a set after the clear releases the wait");
            } else {
                assert!(
                    first.is_pending() && second.is_pending(),
                    "the set before the clear does not"
                );
            }
        });
    }

    /// Clear then set wakes again: with the event set, one thread clears and sets it again
    /// while a waiter starts waiting. The waiter returns whichever it saw: the flag up (before
    /// the clear or after the second set), or the flag down and then the second set's
    /// `notify_waiters`, which a set that finds the flag down always sends.
    #[test]
    fn loom_event_clear_then_set_wakes_a_waiter_that_saw_it_cleared() {
        loom::model(|| {
            let event = Arc::new(Event::new());
            event.set();
            let waiter = {
                let event = event.clone();
                thread::spawn(move || block_on(event.wait()))
            };
            event.clear();
            event.set();
            waiter.join().unwrap();
            assert!(event.is_set());
        });
    }
}
