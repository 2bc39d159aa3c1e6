//! `Debouncer`: trailing-edge debounce of async calls.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::loom::{Mutex, MutexGuard};
use crate::task::{BoxError, Failure};

type Call<E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send>>;
type Hook<E> = Box<dyn Fn(Failure<E>) + Send + Sync>;

/// Runs only the last of a burst of calls: each [`call`](Self::call) replaces the pending one
/// and restarts the delay, and the pending call runs once `delay` has passed with no new call
/// (the trailing edge). Saving a document after the user stops typing, re-indexing after a
/// burst of file events.
///
/// - The calls run one at a time, in a task the debouncer spawns; a call that arrives while
///   another runs waits for the delay and for the running one to finish.
/// - [`flush`](Self::flush) runs the pending call now (once a running call finished), on the
///   caller's task, and returns its result.
/// - Dropping the debouncer drops the pending call unrun and aborts the debouncer's task. A
///   call running there is dropped, with everything it owns, by the runtime at the task's
///   next turn, not before `drop` returns (on a multi-thread runtime, a call in the middle of
///   a poll on another thread finishes that poll first). To wait instead, await
///   [`flush`](Self::flush) before dropping: it waits for the running call to end (and be
///   dropped, and its failure, if any, to reach the hook) and runs the pending one.
/// - A call's error or panic has nobody to return to, so it is never lost: it goes to the
///   hook given to [`with_hook`](Self::with_hook), or else is [reported](crate::report).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use corral::flow::Debouncer;
/// use tokio::sync::Mutex;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let saved = Arc::new(Mutex::new(Vec::new()));
/// let debouncer = Debouncer::new(Duration::from_millis(300));
/// for text in ["h", "he", "hel", "hello"] {
///     let saved = Arc::clone(&saved);
///     debouncer.call(async move {
///         saved.lock().await.push(text); // save the document
///         Ok(())
///     });
///     tokio::time::sleep(Duration::from_millis(100)).await; // typing
/// }
/// tokio::time::sleep(Duration::from_millis(300)).await;
/// assert_eq!(*saved.lock().await, ["hello"]); // only the last one ran
/// # }
/// ```
pub struct Debouncer<E = BoxError> {
    shared: Arc<Shared<E>>,
}

struct Shared<E> {
    delay: Duration,
    hook: Option<Hook<E>>,
    state: Mutex<State<E>>,
    /// Held while a call runs, by the timer or by `flush`: calls run one at a time. Tokio's
    /// async mutex (a queue of waiting tasks), held across the call: no corral lock is.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// The debouncer's state; `H` is the timer task's handle (a plain number in the loom models,
/// which cannot spawn Tokio tasks).
struct State<E, H = AbortHandle> {
    pending: Option<Call<E>>,
    /// When the pending call is due; `None` when the delay is too long to ever end.
    due: Option<Instant>,
    /// Whether the timer task is alive (it exits when nothing is pending).
    timer: bool,
    /// The timer task, to abort on drop.
    abort: Option<H>,
    /// How many timer tasks were started; the latest is the one `abort` must hold.
    timers: u64,
}

impl<E, H> State<E, H> {
    /// A call's bookkeeping: `call` replaces the pending call (returned, to be dropped
    /// unlocked) and is due at `due`. If no timer is alive, one must start: its number is
    /// returned too.
    fn schedule(&mut self, call: Call<E>, due: Option<Instant>) -> (Option<Call<E>>, Option<u64>) {
        let replaced = self.pending.replace(call);
        self.due = due;
        let start_timer = !self.timer && self.due.is_some();
        self.timer |= start_timer;
        let timer = start_timer.then(|| {
            self.timers += 1;
            self.timers
        });
        (replaced, timer)
    }

    /// Keeps the handle of timer number `timer`, to abort on drop, unless a newer timer has
    /// started since (then this one has already stopped: `call` spawns it, and only then
    /// takes the lock to hand its handle in, by which time it may have run its call and
    /// stopped, and another `call` started the next). Returns the handle it did not keep, to
    /// be dropped unlocked.
    fn adopt(&mut self, timer: u64, handle: H) -> Option<H> {
        if self.timers == timer {
            self.abort.replace(handle)
        } else {
            Some(handle)
        }
    }

    /// The timer's check before it sleeps: when the pending call is due, or `None` (nothing
    /// pending, or never due) and the timer stops, saying so in the same critical section.
    fn next_due(&mut self) -> Option<Instant> {
        match (self.pending.is_some(), self.due) {
            (true, Some(due)) => Some(due),
            _ => {
                self.timer = false;
                None
            }
        }
    }

    /// Timer number `timer` stopped without saying so through [`next_due`](Self::next_due):
    /// its runtime shut down, or it was aborted. If it was the latest, no timer is alive, and
    /// the next `call` starts one (else a pending call would wait forever).
    fn timer_gone(&mut self, timer: u64) {
        if self.timers == timer {
            self.timer = false;
        }
    }

    /// The timer's check after it slept: the pending call, if it is due at `now` (a newer
    /// call may have moved the deadline, or `flush` taken the call).
    fn take_due(&mut self, now: Instant) -> Option<Call<E>> {
        if self.due.is_some_and(|due| due > now) {
            return None;
        }
        self.pending.take()
    }
}

impl Debouncer {
    /// A debouncer whose calls run `delay` after the last of a burst; failures are
    /// [reported](crate::report).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let debouncer = corral::flow::Debouncer::new(Duration::from_millis(250));
    /// assert_eq!(debouncer.delay(), Duration::from_millis(250));
    /// ```
    pub fn new(delay: Duration) -> Self {
        Self::build(delay, None)
    }
}

impl<E: Send + fmt::Debug + 'static> Debouncer<E> {
    /// A debouncer whose failed calls (errors and panics) go to `hook` instead of the report.
    ///
    /// The hook runs on the debouncer's task, outside every lock, under `catch_unwind` (a
    /// hook that panics is reported).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use corral::flow::Debouncer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (sink, failures) = mpsc::channel();
    /// let debouncer = Debouncer::with_hook(Duration::from_millis(10), move |failure| {
    ///     let _ = sink.send(failure.to_string()); // fails only once nobody reads
    /// });
    /// debouncer.call(async { Err("disk full") });
    /// tokio::time::sleep(Duration::from_millis(20)).await;
    /// assert_eq!(failures.try_iter().collect::<Vec<_>>(), ["task failed: disk full"]);
    /// # }
    /// ```
    pub fn with_hook<H>(delay: Duration, hook: H) -> Self
    where
        H: Fn(Failure<E>) + Send + Sync + 'static,
    {
        Self::build(delay, Some(Box::new(hook)))
    }
}

impl<E: Send + fmt::Debug + 'static> Debouncer<E> {
    fn build(delay: Duration, hook: Option<Hook<E>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                delay,
                hook,
                state: Mutex::new(State {
                    pending: None,
                    due: None,
                    timer: false,
                    abort: None,
                    timers: 0,
                }),
                turn: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }

    /// The delay after the last call before it runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::Debouncer;
    ///
    /// let debouncer = Debouncer::new(Duration::from_secs(2));
    /// assert_eq!(debouncer.delay(), Duration::from_secs(2));
    /// ```
    pub fn delay(&self) -> Duration {
        self.shared.delay
    }

    /// Schedules `call` to run `delay` from now, replacing (and dropping unrun) the call that
    /// was pending.
    ///
    /// A delay too long to ever end (`Duration::MAX`) means the call runs only when
    /// [`flush`](Self::flush)ed.
    ///
    /// # Panics
    ///
    /// Panics if called outside a Tokio runtime (it may spawn the debouncer's timer task).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    /// use corral::flow::Debouncer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let saved = Arc::new(AtomicU32::new(0));
    /// let debouncer = Debouncer::new(Duration::from_millis(100));
    /// for version in 1..=3 {
    ///     let saved = Arc::clone(&saved);
    ///     debouncer.call(async move {
    ///         saved.store(version, Ordering::SeqCst);
    ///         Ok(())
    ///     }); // replaces the call before it
    /// }
    /// tokio::time::sleep(Duration::from_millis(150)).await; // past the delay
    /// assert_eq!(saved.load(Ordering::SeqCst), 3); // only the last call ran
    /// # }
    /// ```
    #[track_caller]
    pub fn call<F>(&self, call: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let due = crate::time::timer_after(self.shared.delay);
        let (replaced, start_timer) = self.shared.lock().schedule(Box::pin(call), due);
        drop(replaced);
        if let Some(number) = start_timer {
            let shared = Arc::downgrade(&self.shared);
            let gone = TimerGone {
                shared: Weak::clone(&shared),
                number,
            };
            // Watched in debug mode: the calls it runs are the caller's code. Named for the
            // debouncer, not for this call: later calls of the burst run in it too.
            let task = crate::debug::spawn(
                timer(shared, gone),
                0,
                TIMER_TASK_NAME,
                std::panic::Location::caller(),
            );
            let dropped = self.shared.lock().adopt(number, task.abort_handle());
            drop(dropped);
        }
    }

    /// Whether a call is waiting for its delay to pass.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let debouncer = corral::flow::Debouncer::new(std::time::Duration::from_secs(1));
    /// debouncer.call(async { Ok(()) });
    /// assert!(debouncer.is_pending());
    /// # }
    /// ```
    pub fn is_pending(&self) -> bool {
        self.shared.lock().pending.is_some()
    }

    /// Runs the pending call now, on this task, and returns its result; `None` if no call was
    /// pending. The call no longer runs when its delay passes.
    ///
    /// A call that is running (in the debouncer's task, or in another `flush`) finishes first,
    /// and its failure, if any, reaches the hook (or the report) before this call starts:
    /// calls never overlap. So a call, or the hook, must not flush its own debouncer: it would
    /// wait for itself.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while it waits for a running call loses nothing: the pending call
    /// stays pending. Once the pending call is taken, dropping the future mid-run drops the
    /// call (it will not run again).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral::flow::Debouncer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), corral::task::BoxError> {
    /// let debouncer = Debouncer::new(Duration::from_secs(60));
    /// debouncer.call(async { Ok(()) });
    /// debouncer.flush().await.transpose()?; // shutting down: save now
    /// assert!(!debouncer.is_pending());
    /// assert!(debouncer.flush().await.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn flush(&self) -> Option<Result<(), E>> {
        // After the call that is running, if any: calls never overlap.
        let _turn = self.shared.turn.lock().await;
        let pending = self.shared.lock().pending.take();
        match pending {
            Some(call) => Some(call.await),
            None => None,
        }
    }
}

impl<E> Shared<E> {
    fn lock(&self) -> MutexGuard<'_, State<E>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The timer task's name in debug mode's reports.
const TIMER_TASK_NAME: &str = "corral::flow::Debouncer's calls";

/// The timer task: sleeps until the pending call is due, runs it, and goes on while calls come;
/// holds the debouncer only weakly, so dropping the debouncer ends it.
///
/// `_gone` is an argument, not a local, so that it is dropped with the task even if the task
/// never ran (its runtime shut down first).
async fn timer<E: Send + fmt::Debug + 'static>(shared: Weak<Shared<E>>, _gone: TimerGone<E>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let Some(due) = strong.lock().next_due() else {
            return;
        };
        let turn = Arc::clone(&strong.turn);
        drop(strong);
        tokio::time::sleep_until(due).await;
        // After a call that `flush` is running, if any.
        let turn = turn.lock_owned().await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        // Nothing due: a newer call moved the deadline, or `flush` took the call.
        let Some(call) = strong.lock().take_due(Instant::now()) else {
            continue;
        };
        // A destructor that panics is the call's panic, not the timer's end. The debouncer is
        // held while the call runs (dropping it aborts this task, which lets it go), so that
        // a failure reaches its hook even if the debouncer is dropped right as the call ends.
        let outcome = crate::util::catch_unwind_whole(call).await;
        let failure = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => Failure::Error(error),
            Err(payload) => Failure::Panic(payload),
        };
        match &strong.hook {
            Some(hook) => {
                if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| hook(failure))) {
                    crate::report::report_failure::<E>("Debouncer hook", Failure::Panic(panic));
                }
            }
            None => crate::report::report_failure("Debouncer", failure),
        }
        drop(strong);
        // Only now may `flush` go on: it returns once the running call ended and its failure
        // was delivered.
        drop(turn);
    }
}

/// Dropped with the timer task however it ends: an end that [`State::next_due`] did not
/// record (the runtime shut down, the task was aborted) frees the way for the next timer.
struct TimerGone<E> {
    shared: Weak<Shared<E>>,
    number: u64,
}

impl<E> Drop for TimerGone<E> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.lock().timer_gone(self.number);
        }
    }
}

impl<E> Drop for Debouncer<E> {
    fn drop(&mut self) {
        let (pending, abort) = {
            let mut state = self.shared.lock();
            (state.pending.take(), state.abort.take())
        };
        if let Some(abort) = abort {
            abort.abort();
        }
        drop(pending);
    }
}

impl<E> fmt::Debug for Debouncer<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Read under the lock, formatted after it (the formatter is the caller's code).
        let pending = self.shared.lock().pending.is_some();
        f.debug_struct("Debouncer")
            .field("delay", &self.shared.delay)
            .field("pending", &pending)
            .finish()
    }
}

/// Loom model of the debouncer's timer bookkeeping. What is modelled: the state lock
/// (`crate::loom::Mutex`) and the steps `call` and the timer task take under it (`schedule`,
/// `adopt`, `next_due`, `take_due`). What is not: Tokio's spawn and sleep, which loom cannot
/// run: a timer task is a loom thread that finds its call due at once (the delay is zero),
/// and its handle is its number.
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::sync::PoisonError;

    use loom::thread;

    use super::*;
    use crate::loom::Arc;

    type Model = Mutex<State<(), u64>>;

    fn lock(state: &Model) -> MutexGuard<'_, State<(), u64>> {
        state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The timer task's loop: runs (here: takes) the pending call while there is one due,
    /// and stops when nothing is pending.
    fn run_timer(state: &Model) {
        while lock(state).next_due().is_some() {
            drop(lock(state).take_due(Instant::now()));
        }
    }

    /// `Debouncer::call`: schedules a call, and if it must start a timer, starts one (a
    /// thread) and adopts its handle. Returns the timer thread, to be joined.
    fn call(state: &Arc<Model>) -> Option<thread::JoinHandle<()>> {
        let (replaced, start) =
            lock(state).schedule(Box::pin(async { Ok(()) }), Some(Instant::now()));
        drop(replaced);
        let number = start?;
        let timer = {
            let state = state.clone();
            thread::spawn(move || {
                run_timer(&state);
                // The timer task's `TimerGone`, dropped as it ends.
                lock(&state).timer_gone(number);
            })
        };
        let _not_kept = lock(state).adopt(number, number);
        Some(timer)
    }

    /// Drop aborts the timer that can still run: whatever order two racing calls and the
    /// timers they start interleave in, the handle kept to abort on drop is the latest timer's
    /// (the only one that can still be running), never that of one which already stopped; and the
    /// timers leave nothing pending with no timer alive. A timer's end (`timer_gone`) never
    /// marks a newer timer as gone.
    #[test]
    fn loom_debouncer_keeps_the_latest_timers_handle() {
        loom::model(|| {
            let state = Arc::new(Mutex::new(State {
                pending: None,
                due: None,
                timer: false,
                abort: None,
                timers: 0,
            }));
            let other = {
                let state = state.clone();
                thread::spawn(move || call(&state))
            };
            let mine = call(&state);
            let theirs = other.join().unwrap();
            for timer in mine.into_iter().chain(theirs) {
                timer.join().unwrap();
            }
            let state = lock(&state);
            assert_eq!(
                state.abort,
                Some(state.timers),
                "a stale timer handle was kept"
            );
            assert!(state.pending.is_none() && !state.timer);
        });
    }
}
