use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::Instant;
use super::elapsed::Elapsed;
use super::scope::{HORIZON, Timer, poll_scope_at};
use crate::loom::{Arc, AtomicBool, AtomicU64, AtomicWaker, Mutex, MutexGuard, Ordering};
use crate::util::{Ticket, WaitList};

/// One deadline over many operations: asyncio's `async with timeout(...) as cm` with
/// `cm.reschedule()`.
///
/// Create it once ([`after`](Deadline::after), [`at`](Deadline::at) or
/// [`never`](Deadline::never)), then [`run`](Deadline::run) each operation under it; they all
/// share the same end. The deadline can be moved, or removed, with
/// [`reschedule`](Deadline::reschedule) at any time, also while operations run under it, from
/// inside them or from another task: every run sees the new deadline at once, and a move
/// earlier wakes every run that waits.
///
/// A run that finishes or is dropped leaves the deadline at once: the deadline never keeps
/// (or wakes) the waker of a task that is gone.
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

/// A run's hot path takes no lock: it reads the deadline from `at_nanos`, and the one run at a
/// time that a deadline usually has (a loop of `deadline.run(step).await`) listens for moves in
/// `slot`, a lock-free waker slot. Only a second run waiting at the same time goes on the
/// locked list. (Measured: taking the lock to read, to join the list and to leave it cost a
/// run 1.12× Tokio's `timeout`.)
struct Inner {
    id: u64,
    /// Bumped, under `state`'s lock, each time the deadline is set: a run sees that the
    /// deadline moved with one atomic load.
    version: AtomicU64,
    /// The deadline in nanoseconds from `base`: [`NEVER`], or [`LOCKED`] when it does not fit
    /// (before `base`, or 584 years after it) and must be read from `state`. Stored before
    /// `version` is bumped, so a run that sees a version sees its deadline or a later one.
    at_nanos: AtomicU64,
    base: Instant,
    /// Taken by the run that listens in `slot`; the others listen on `state.runs`.
    slot_taken: AtomicBool,
    slot: AtomicWaker,
    state: Mutex<State>,
}

/// `at_nanos` for no deadline.
const NEVER: u64 = u64::MAX;
/// `at_nanos` for a deadline that only `state` holds exactly.
const LOCKED: u64 = u64::MAX - 1;
/// [`HORIZON`] in nanoseconds (about 9.5e17, well below [`LOCKED`]).
const HORIZON_NANOS: u64 = HORIZON.as_secs() * 1_000_000_000;

/// Where a run listens for the deadline moving earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listen {
    Nowhere,
    Slot,
    List(Ticket),
}

struct State {
    /// The deadline, stored as given; `None` is no deadline at all.
    at: Option<Instant>,
    /// The runs waiting under this deadline besides the one in the slot, woken when it moves
    /// earlier. A run listens from its first `Pending` until it finishes or is dropped, so
    /// neither the slot nor the list holds a waker of a task that is gone.
    runs: WaitList,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Deadline {
    /// A deadline `duration` from now.
    ///
    /// `Duration::MAX`, or any duration that reaches past the end of [`Instant`], means no
    /// limit: the same as [`never`](Deadline::never).
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
    /// assert_eq!(Deadline::after(Duration::MAX).instant(), None); // no limit
    /// # Ok(())
    /// # }
    /// ```
    pub fn after(duration: Duration) -> Self {
        Self::new(Instant::now().checked_add(duration))
    }

    /// A deadline at `instant`. One in the past has already expired.
    ///
    /// The instant is kept as given, however far in the past or the future it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::{Deadline, Instant};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let at = Instant::now() + Duration::from_secs(1);
    /// let deadline = Deadline::at(at);
    /// assert_eq!(deadline.instant(), Some(at));
    /// # Ok(())
    /// # }
    /// ```
    pub fn at(instant: Instant) -> Self {
        Self::new(Some(instant))
    }

    /// A deadline that never expires, until it is [rescheduled](Deadline::reschedule):
    /// asyncio's `timeout(None)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::{Deadline, Instant};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::time::pause();
    /// let deadline = Deadline::never();
    /// assert!(!deadline.expired());
    /// assert_eq!(deadline.remaining(), Duration::MAX);
    /// deadline.reschedule(Instant::now() + Duration::from_secs(1));
    /// assert_eq!(deadline.remaining(), Duration::from_secs(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn never() -> Self {
        Self::new(None)
    }

    fn new(at: Option<Instant>) -> Self {
        let now = Instant::now();
        let base = at.map_or(now, |at| at.min(now));
        Self {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                version: AtomicU64::new(0),
                at_nanos: AtomicU64::new(encode(base, at)),
                base,
                slot_taken: AtomicBool::new(false),
                slot: AtomicWaker::default(),
                state: Mutex::new(State {
                    at,
                    runs: WaitList::new(),
                }),
            }),
        }
    }

    /// Runs `future` under this deadline.
    ///
    /// Returns the future's output, or [`Elapsed`] if the deadline passes first, in which case
    /// the future is dropped. A [`reschedule`](Deadline::reschedule) takes effect at once,
    /// also while the future waits. A deadline that has already passed fires at the first
    /// await: a future that completes without waiting still completes.
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
            at: None,
            armed: None,
            listen: Listen::Nowhere,
            deferred: false,
        }
    }

    /// Moves the deadline to `at`, for every operation running under it now or later;
    /// `None` removes it (asyncio's `reschedule(None)`).
    ///
    /// Takes an [`Instant`] or an `Option<Instant>`. Moving it later (or removing it) lets
    /// running operations go on; moving it earlier (or into the past) makes them time out at
    /// the new instant, even if they are waiting.
    ///
    /// # Examples
    ///
    /// A deadline extended each time progress is made (a watchdog):
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::time::{Deadline, Instant};
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
    ///         watchdog.reschedule(None); // done with the pages: no limit from here on
    ///         tokio::time::sleep(Duration::from_secs(1)).await;
    ///         pages
    ///     })
    ///     .await?;
    /// assert_eq!(pages, 5); // never 100 ms without progress
    /// # Ok(())
    /// # }
    /// ```
    pub fn reschedule(&self, at: impl Into<Option<Instant>>) {
        let at = at.into();
        let inner = &*self.inner;
        let mut wakers = Vec::new();
        let earlier = {
            let mut state = inner.lock();
            let earlier = match (at, state.at) {
                (Some(new), Some(old)) => new < old,
                (Some(_), None) => true,
                (None, _) => false,
            };
            state.at = at;
            inner
                .at_nanos
                .store(encode(inner.base, at), Ordering::Relaxed);
            // Under the lock, after the instant: a run that reads the new version reads the
            // new instant.
            inner.version.fetch_add(1, Ordering::Release);
            if earlier {
                state.runs.notify_all(&mut wakers);
            }
            earlier
        };
        // The slot's run too, with the others: a waker that panics strands none of them.
        if earlier && let Some(waker) = inner.slot.take() {
            wakers.push(waker);
        }
        crate::util::wake_all("Deadline", wakers);
    }

    /// The instant the deadline is set for; `None` if it has none (asyncio's `when()`).
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
    /// let at = deadline.instant().ok_or("a deadline was set")?;
    /// deadline.reschedule(at + Duration::from_secs(1));
    /// assert_eq!(deadline.remaining(), Duration::from_secs(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn instant(&self) -> Option<Instant> {
        self.inner.read().1
    }

    /// How long until the deadline; zero once it has passed, `Duration::MAX` if there is
    /// none.
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
        self.instant().map_or(Duration::MAX, |at| {
            at.saturating_duration_since(Instant::now())
        })
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
        self.instant().is_some_and(|at| Instant::now() >= at)
    }

    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The deadline and a version it was set at (or an earlier one: then the caller sees the
    /// version move and reads again). Lock-free unless the instant does not fit `at_nanos`.
    fn read(&self) -> (u64, Option<Instant>) {
        let (version, at, _) = self.read_at(self.version.load(Ordering::Acquire));
        (version, at)
    }

    /// [`read`](Self::read) after loading `version` (with `Acquire`), and whether the deadline
    /// is at most [`HORIZON`] from now: it is if it is that close to `base`, which is not
    /// after now.
    #[inline]
    fn read_at(&self, version: u64) -> (u64, Option<Instant>, bool) {
        match self.at_nanos.load(Ordering::Relaxed) {
            NEVER => (version, None, true),
            LOCKED => self.read_locked(),
            nanos => match self.base.checked_add(Duration::from_nanos(nanos)) {
                Some(at) => (version, Some(at), nanos <= HORIZON_NANOS),
                None => self.read_locked(),
            },
        }
    }

    #[cold]
    fn read_locked(&self) -> (u64, Option<Instant>, bool) {
        let state = self.lock();
        (self.version.load(Ordering::Relaxed), state.at, false)
    }

    /// Listens for the deadline moving earlier, or updates the waker: in the slot if this run
    /// holds it or it is free, else on the list. A run that a move woke on the list has left
    /// it and joins again.
    #[inline]
    fn listen(&self, listen: &mut Listen, waker: &Waker) {
        if *listen == Listen::Nowhere
            && self
                .slot_taken
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            *listen = Listen::Slot;
        }
        if *listen == Listen::Slot {
            self.slot.register(waker);
            return;
        }
        self.listen_on_list(listen, waker);
    }

    /// [`listen`](Self::listen) for a run that did not get the slot: out of line, so the slot's
    /// path stays small enough to inline into the run's poll.
    #[inline(never)]
    fn listen_on_list(&self, listen: &mut Listen, waker: &Waker) {
        let mut state = self.lock();
        let replaced = match *listen {
            Listen::List(t) if state.runs.contains(t) => state.runs.replace_waker(t, waker),
            _ => {
                *listen = Listen::List(state.runs.push(waker));
                None
            }
        };
        drop(state);
        drop(replaced);
    }

    /// Listens for the deadline moving earlier than version `armed`, then checks it did not
    /// move meanwhile: a move either finds the run listening (the slot's own ordering, or the
    /// list's lock), or changed the version before the run listened, and the check sees it
    /// and wakes the run itself.
    #[inline]
    fn wait_for_move(&self, listen: &mut Listen, armed: u64, waker: &Waker) {
        self.listen(listen, waker);
        if self.version.load(Ordering::Acquire) != armed {
            waker.wake_by_ref();
        }
    }

    /// Stops listening; the waker is dropped after any lock is released.
    #[inline]
    fn leave(&self, listen: &mut Listen) {
        match std::mem::replace(listen, Listen::Nowhere) {
            Listen::Nowhere => {}
            Listen::Slot => {
                // Empty the slot before giving it up: a later move must find there only the
                // waker of the run that takes it next.
                let waker = self.slot.take();
                self.slot_taken.store(false, Ordering::Release);
                drop(waker);
            }
            Listen::List(t) => self.leave_list(t),
        }
    }

    #[inline(never)]
    fn leave_list(&self, ticket: Ticket) {
        let waker = self.lock().runs.take(ticket);
        drop(waker);
    }
}

/// `at` as nanoseconds from `base`, for [`Inner::at_nanos`].
fn encode(base: Instant, at: Option<Instant>) -> u64 {
    let Some(at) = at else {
        return NEVER;
    };
    at.checked_duration_since(base)
        .and_then(|since| u64::try_from(since.as_nanos()).ok())
        .filter(|&nanos| nanos < LOCKED)
        .unwrap_or(LOCKED)
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
        // The deadline the timer is armed for (the timer's own, kept at hand).
        at: Option<Instant>,
        // The version of the deadline the timer is armed for.
        armed: Option<u64>,
        // Where this run listens for the deadline moving earlier.
        listen: Listen,
        deferred: bool,
    }

    impl<F> PinnedDrop for Run<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.deadline.inner.leave(this.listen);
        }
    }
}

impl<F: Future> Future for Run<'_, F> {
    type Output = Result<F::Output, Elapsed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = &*this.deadline.inner;
        let mut timer = this.timer;
        let mut expired = false;
        let version = inner.version.load(Ordering::Acquire);
        if *this.armed != Some(version) {
            let (version, at, within_horizon) = inner.read_at(version);
            *this.armed = Some(version);
            *this.at = at;
            *this.deferred = false;
            expired = timer.as_mut().arm_at_within_horizon(at, within_horizon);
        }
        let mut future = this.future;
        let poll = poll_scope_at(timer, *this.at, expired, this.deferred, cx, |cx| {
            future.as_mut().poll(cx)
        });
        match poll {
            Poll::Ready(result) => {
                inner.leave(this.listen);
                Poll::Ready(result.map_err(|deadline| Elapsed::new(deadline, inner.id)))
            }
            Poll::Pending => {
                if let Some(armed) = *this.armed {
                    inner.wait_for_move(this.listen, armed, cx.waker());
                }
                Poll::Pending
            }
        }
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

#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::future::poll_fn;
    use std::task::Poll;
    use std::time::Duration;

    use loom::thread;

    use super::*;

    /// Neither the slot nor the list holds a waker.
    fn nobody_listens(deadline: &Deadline) -> bool {
        let inner = &*deadline.inner;
        inner.lock().runs.is_empty()
            && !inner.slot_taken.load(Ordering::Acquire)
            && inner.slot.take().is_none()
    }

    /// Waits, as a `Run` does after its body returned `Pending` and its timer did not fire,
    /// until the deadline moves from the version the run armed its timer for: 0, the
    /// deadline as created. Returns the version seen.
    fn wait_for_a_move(deadline: &Deadline) -> u64 {
        let inner = &*deadline.inner;
        let armed = 0;
        let mut listen = Listen::Nowhere;
        let seen = loom::future::block_on(poll_fn(|cx| {
            let version = inner.version.load(Ordering::Acquire);
            if version != armed {
                return Poll::Ready(version);
            }
            inner.wait_for_move(&mut listen, armed, cx.waker());
            Poll::Pending
        }));
        inner.leave(&mut listen);
        seen
    }

    /// Reads the deadline as a run does once it saw the move to version 1, to `at`: the
    /// lock-free read must give that instant, not the one before (the instant is stored before
    /// the version is bumped, which publishes it).
    fn assert_reads_the_move(deadline: &Deadline, at: Instant) {
        assert_eq!(deadline.inner.read(), (1, Some(at)));
    }

    /// No lost wake-up: a run waiting under a deadline that another thread moves earlier is
    /// always woken (loom reports a deadlock otherwise), and it leaves the list empty. No
    /// stale read: the run that sees the new version reads the new instant.
    #[test]
    fn loom_deadline_moved_earlier_wakes_the_waiting_run() {
        loom::model(|| {
            let deadline = Deadline::after(Duration::from_secs(60));
            let earlier = Instant::now();
            let mover = {
                let deadline = deadline.clone();
                thread::spawn(move || deadline.reschedule(earlier))
            };
            assert_eq!(wait_for_a_move(&deadline), 1);
            assert_reads_the_move(&deadline, earlier);
            mover.join().unwrap();
            assert!(nobody_listens(&deadline));
        });
    }

    /// No lost wake-up with several runs: one move earlier wakes every run waiting under the
    /// deadline, not only the first to listen; and each reads the new instant.
    #[test]
    fn loom_deadline_moved_earlier_wakes_every_run() {
        loom::model(|| {
            let deadline = Deadline::never();
            let earlier = Instant::now();
            let runs: Vec<_> = (0..2)
                .map(|_| {
                    let deadline = deadline.clone();
                    thread::spawn(move || {
                        let seen = wait_for_a_move(&deadline);
                        assert_reads_the_move(&deadline, earlier);
                        seen
                    })
                })
                .collect();
            deadline.reschedule(earlier);
            for run in runs {
                assert_eq!(run.join().unwrap(), 1);
            }
            assert!(nobody_listens(&deadline));
        });
    }

    /// No waker kept: a run that listens and leaves while the deadline moves leaves nothing
    /// on the list, whichever comes first.
    #[test]
    fn loom_deadline_a_run_that_leaves_keeps_no_place() {
        loom::model(|| {
            let deadline = Deadline::after(Duration::from_secs(60));
            let leaver = {
                let deadline = deadline.clone();
                thread::spawn(move || {
                    let inner = &*deadline.inner;
                    let mut listen = Listen::Nowhere;
                    inner.wait_for_move(&mut listen, 0, Waker::noop());
                    inner.leave(&mut listen);
                })
            };
            deadline.reschedule(Instant::now());
            leaver.join().unwrap();
            assert!(nobody_listens(&deadline));
        });
    }

    /// No lost wake-up across a handoff of the slot: one run leaves the slot while another
    /// starts listening and a third thread moves the deadline earlier; the listening run is
    /// woken whether it got the slot or the list, reads the new instant, and nothing is left
    /// listening.
    #[test]
    fn loom_deadline_slot_handoff_loses_no_wake_up() {
        loom::model(|| {
            let deadline = Deadline::after(Duration::from_secs(60));
            let inner = &*deadline.inner;
            let mut first = Listen::Nowhere;
            inner.wait_for_move(&mut first, 0, Waker::noop());
            assert_eq!(first, Listen::Slot);
            let leaver = {
                let deadline = deadline.clone();
                thread::spawn(move || deadline.inner.leave(&mut first))
            };
            let earlier = Instant::now();
            let mover = {
                let deadline = deadline.clone();
                thread::spawn(move || deadline.reschedule(earlier))
            };
            assert_eq!(wait_for_a_move(&deadline), 1);
            assert_reads_the_move(&deadline, earlier);
            leaver.join().unwrap();
            mover.join().unwrap();
            assert!(nobody_listens(&deadline));
        });
    }
}
