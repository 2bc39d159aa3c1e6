use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use super::elapsed::Elapsed;
use super::scope::{Timer, poll_scope};

/// One deadline over many operations: asyncio's `async with timeout(...) as cm` with
/// `cm.reschedule()`.
///
/// Create it once ([`after`](Deadline::after) or [`at`](Deadline::at)), then
/// [`run`](Deadline::run) each operation under it; they all share the same end. The deadline
/// can be moved with [`reschedule`](Deadline::reschedule) at any time, also while operations
/// run under it, from inside them or from another task: every run sees the new deadline at
/// once.
///
/// `Deadline` is a cheap `Clone` handle (an `Arc`); clones are the same deadline.
///
/// Nested deadlines compose: the earliest one bounds the work, and when several expire
/// together the outermost one reports (see [`Elapsed::is_from`]). A deadline made with
/// [`after`](Deadline::after) counts from its creation, since it is shared by several
/// operations; [`timeout`](crate::time::timeout) counts from its first poll.
///
/// # Examples
///
/// The guides' `fetch_all_with_timeout`, one budget for several steps:
///
/// ```
/// use std::time::Duration;
/// use corral::time::Deadline;
///
/// async fn step(ms: u64) -> u64 {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     ms
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::time::pause();
/// let budget = Deadline::after(Duration::from_millis(250));
/// assert_eq!(budget.run(step(100)).await?, 100);
/// assert_eq!(budget.run(step(100)).await?, 100);
/// assert!(budget.run(step(100)).await.is_err()); // only 50 ms were left
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Deadline {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    /// The origin of `at`.
    base: Instant,
    /// Nanoseconds after `base`; before `base` is stored as 0 (already passed).
    at: AtomicU64,
    /// Woken when the deadline moves earlier, so running operations re-arm their timers. The
    /// common case, one operation at a time, takes this slot (lock-free); operations running
    /// while the slot is taken listen on `moved` instead.
    waker: AtomicWaker,
    waker_taken: AtomicBool,
    moved: Notify,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Deadline {
    /// A deadline `duration` from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let deadline = Deadline::after(Duration::from_secs(5));
    /// assert_eq!(deadline.remaining(), Duration::from_secs(5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn after(duration: Duration) -> Self {
        let now = Instant::now();
        Self::at(
            now.checked_add(duration)
                .unwrap_or(now + Duration::from_secs(86_400 * 365 * 30)),
        )
    }

    /// A deadline at `instant`. One in the past has already expired.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let at = Instant::now() + Duration::from_secs(1);
    /// let deadline = Deadline::at(at);
    /// assert_eq!(deadline.instant(), at);
    /// # Ok(())
    /// # }
    /// ```
    pub fn at(instant: Instant) -> Self {
        let base = Instant::now();
        let inner = Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            base,
            at: AtomicU64::new(0),
            waker: AtomicWaker::new(),
            waker_taken: AtomicBool::new(false),
            moved: Notify::new(),
        };
        inner.at.store(inner.offset(instant), Ordering::Release);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Runs `future` under this deadline.
    ///
    /// Returns the future's output, or [`Elapsed`] if the deadline passes first, in which case
    /// the future is dropped. The deadline is read at every poll, so a
    /// [`reschedule`](Deadline::reschedule) takes effect at once.
    ///
    /// # Cancel safety
    ///
    /// Only cancel safe if `future` is: dropping the `Run` drops `future`.
    ///
    /// # Panics
    ///
    /// Polling panics outside a Tokio runtime with the time driver enabled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// let slow = deadline.run(tokio::time::sleep(Duration::from_secs(2))).await;
    /// assert!(slow.expect_err("too slow").is_from(&deadline));
    /// # Ok(())
    /// # }
    /// ```
    pub fn run<F: Future>(&self, future: F) -> Run<'_, F> {
        Run {
            deadline: self,
            future,
            timer: Timer::Unarmed,
            armed: None,
            listen: Listen::Not,
            deferred: false,
        }
    }

    /// Moves the deadline to `instant`, for every operation running under it now or later.
    ///
    /// Moving it later lets running operations go on; moving it earlier (or into the past)
    /// makes them time out at the new instant, even if they are waiting.
    ///
    /// # Examples
    ///
    /// A deadline extended each time progress is made (a watchdog):
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let idle_limit = Duration::from_millis(100);
    /// let watchdog = Deadline::after(idle_limit);
    /// let pages = watchdog
    ///     .run(async {
    ///         let mut pages = 0;
    ///         for _ in 0..5 {
    ///             tokio::time::sleep(Duration::from_millis(80)).await; // each page takes 80 ms
    ///             pages += 1;
    ///             watchdog.reschedule(Instant::now() + idle_limit);
    ///         }
    ///         pages
    ///     })
    ///     .await?;
    /// assert_eq!(pages, 5); // 400 ms in all, but never 100 ms without progress
    /// # Ok(())
    /// # }
    /// ```
    pub fn reschedule(&self, instant: Instant) {
        let at = self.inner.offset(instant);
        let before = self.inner.at.swap(at, Ordering::AcqRel);
        if at < before {
            self.inner.waker.wake();
            self.inner.moved.notify_waiters();
        }
    }

    /// The instant the deadline is set for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// deadline.reschedule(deadline.instant() + Duration::from_secs(1));
    /// assert_eq!(deadline.remaining(), Duration::from_secs(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn instant(&self) -> Instant {
        self.inner.instant()
    }

    /// How long until the deadline; zero once it has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let deadline = Deadline::after(Duration::from_secs(3));
    /// tokio::time::advance(Duration::from_secs(1)).await;
    /// assert_eq!(deadline.remaining(), Duration::from_secs(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn remaining(&self) -> Duration {
        self.instant().saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::Deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// assert!(!deadline.expired());
    /// tokio::time::advance(Duration::from_secs(1)).await;
    /// assert!(deadline.expired());
    /// # Ok(())
    /// # }
    /// ```
    pub fn expired(&self) -> bool {
        Instant::now() >= self.instant()
    }

    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }
}

impl Inner {
    fn offset(&self, instant: Instant) -> u64 {
        let nanos = instant.saturating_duration_since(self.base).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    fn instant(&self) -> Instant {
        self.instant_at(self.at.load(Ordering::Acquire))
    }

    fn instant_at(&self, at: u64) -> Instant {
        self.base + Duration::from_nanos(at)
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline")
            .field("instant", &self.instant())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`Deadline::run`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::{Deadline, Run};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let deadline = Deadline::after(Duration::from_secs(1));
    /// let run: Run<'_, _> = deadline.run(async { 1 });
    /// assert_eq!(run.await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct Run<'a, F> {
        deadline: &'a Deadline,
        #[pin]
        future: F,
        #[pin]
        timer: Timer,
        // The raw deadline the timer is armed for, to notice moves without converting.
        armed: Option<u64>,
        listen: Listen<'a>,
        deferred: bool,
    }

    impl<F> PinnedDrop for Run<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Listen::Slot = this.listen {
                this.deadline.inner.waker_taken.store(false, Ordering::Release);
            }
        }
    }
}

/// How a running operation hears that its deadline moved earlier.
enum Listen<'a> {
    Not,
    /// Through the deadline's single waker slot (lock-free; the common case).
    Slot,
    /// Through the deadline's `Notify`, because another operation holds the slot. Boxed so the
    /// common case does not carry it.
    Notify(Pin<Box<Notified<'a>>>),
}

impl<F: Future> Future for Run<'_, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = &*this.deadline.inner;
        let at = inner.at.load(Ordering::Acquire);
        let mut timer = this.timer;
        let expired = if *this.armed == Some(at) {
            false
        } else {
            *this.armed = Some(at);
            *this.deferred = false;
            timer.as_mut().arm_at(Some(inner.instant_at(at)))
        };
        let mut future = this.future;
        let poll = poll_scope(timer, expired, this.deferred, cx, |cx| {
            future.as_mut().poll(cx)
        });
        match poll {
            Poll::Ready(Ok(output)) => Poll::Ready(Ok(output)),
            Poll::Ready(Err(deadline)) => Poll::Ready(Err(Elapsed::new(deadline, inner.id))),
            Poll::Pending => {
                // Listen for the deadline moving earlier, then check it did not move meanwhile.
                listen(this.listen, inner, cx);
                if inner.at.load(Ordering::Acquire) != at {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
        }
    }
}

fn listen<'a>(listen: &mut Listen<'a>, inner: &'a Inner, cx: &mut Context<'_>) {
    if let Listen::Not = listen {
        *listen = if inner
            .waker_taken
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Listen::Slot
        } else {
            Listen::Notify(Box::pin(inner.moved.notified()))
        };
    }
    match listen {
        Listen::Slot => inner.waker.register(cx.waker()),
        Listen::Notify(notified) => {
            while notified.as_mut().poll(cx).is_ready() {
                notified.set(inner.moved.notified());
            }
        }
        Listen::Not => {}
    }
}

impl<F: fmt::Debug> fmt::Debug for Run<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("deadline", self.deadline)
            .field("future", &self.future)
            .finish()
    }
}
