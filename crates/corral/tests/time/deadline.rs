//! Deadline: one deadline over many operations, rescheduled from inside and from outside.

use std::future::{Future, pending};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use corral::time::Deadline;
use tokio::time::{Instant, advance, sleep};
use tokio_test::{assert_pending, assert_ready, task};

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn one_deadline_bounds_several_operations() {
    let budget = Deadline::after(250 * MS);
    assert_eq!(budget.run(sleep(100 * MS)).await, Ok(()));
    assert_eq!(budget.remaining(), 150 * MS);
    assert_eq!(budget.run(sleep(100 * MS)).await, Ok(()));
    let start = Instant::now();
    let err = budget.run(sleep(100 * MS)).await.unwrap_err();
    assert_eq!(start.elapsed(), 50 * MS);
    assert!(err.is_from(&budget));
    assert!(budget.expired());
    assert_eq!(budget.remaining(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn an_expired_deadline_fires_at_the_first_await_of_every_later_run() {
    let deadline = Deadline::after(Duration::ZERO);
    assert_eq!(deadline.run(async { 1 }).await, Ok(1));
    let mut run = task::spawn(deadline.run(pending::<()>()));
    assert!(assert_ready!(run.poll()).is_err());
}

#[tokio::test(start_paused = true)]
async fn rescheduling_later_from_inside_extends_the_running_operation() {
    let watchdog = Deadline::after(100 * MS);
    let pages = watchdog
        .run(async {
            for page in 1..=5 {
                sleep(80 * MS).await;
                watchdog.reschedule(Instant::now() + 100 * MS);
                if page == 5 {
                    return page;
                }
            }
            0
        })
        .await;
    assert_eq!(pages, Ok(5));
}

#[tokio::test(start_paused = true)]
async fn rescheduling_earlier_from_another_task_wakes_a_waiting_operation() {
    let deadline = Deadline::after(Duration::from_secs(3600));
    let remote = deadline.clone();
    tokio::spawn(async move {
        sleep(10 * MS).await;
        remote.reschedule(Instant::now() + 5 * MS);
    });
    let start = Instant::now();
    let err = deadline.run(pending::<()>()).await.unwrap_err();
    assert_eq!(
        start.elapsed(),
        15 * MS,
        "fired at the new, earlier deadline"
    );
    assert_eq!(err.deadline(), start + 15 * MS);
}

#[tokio::test(start_paused = true)]
async fn rescheduling_into_the_past_fires_at_once() {
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut run = task::spawn(deadline.run(pending::<()>()));
    assert_pending!(run.poll());
    deadline.reschedule(Instant::now() - 5 * MS);
    assert!(run.is_woken(), "the waiting run was woken");
    assert!(assert_ready!(run.poll()).is_err());
}

#[tokio::test(start_paused = true)]
async fn rescheduling_later_from_outside_lets_a_run_continue() {
    let deadline = Deadline::after(10 * MS);
    let mut run = task::spawn(deadline.run(sleep(30 * MS)));
    assert_pending!(run.poll());
    deadline.reschedule(Instant::now() + 50 * MS);
    advance(20 * MS).await; // the old deadline passes
    assert_pending!(run.poll());
    advance(10 * MS).await;
    assert_eq!(assert_ready!(run.poll()), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn clones_are_the_same_deadline() {
    let a = Deadline::after(10 * MS);
    let b = a.clone();
    b.reschedule(a.instant().unwrap() + 10 * MS);
    assert_eq!(a.remaining(), 20 * MS);
    let err = a.run(pending::<()>()).await.unwrap_err();
    assert!(err.is_from(&b));
    assert!(!err.is_from(&Deadline::after(MS)));
}

#[tokio::test(start_paused = true)]
async fn runs_in_separate_tasks_all_fire() {
    let deadline = Deadline::after(20 * MS);
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let d = deadline.clone();
            tokio::spawn(async move { d.run(pending::<()>()).await.is_err() })
        })
        .collect();
    sleep(5 * MS).await;
    deadline.reschedule(Instant::now() + 5 * MS);
    let start = Instant::now();
    for handle in handles {
        assert!(handle.await.unwrap());
    }
    assert_eq!(start.elapsed(), 5 * MS);
}

#[tokio::test]
async fn an_expired_deadline_fires_at_the_first_await_on_a_real_clock() {
    let deadline = Deadline::after(Duration::ZERO);
    for _ in 0..100 {
        assert_eq!(deadline.run(async { 1 }).await, Ok(1));
        let mut run = task::spawn(deadline.run(pending::<()>()));
        assert!(assert_ready!(run.poll()).unwrap_err().is_from(&deadline));
    }
}

#[tokio::test]
async fn rescheduling_into_the_past_fires_at_the_next_poll_on_a_real_clock() {
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut run = task::spawn(deadline.run(pending::<()>()));
    assert_pending!(run.poll());
    deadline.reschedule(Instant::now());
    assert!(run.is_woken(), "the waiting run was woken");
    assert!(assert_ready!(run.poll()).is_err(), "no timer tick needed");
}

/// A waker that counts its wakes; its `Arc`'s strong count says who still holds it.
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker(0.into()));
    (counter.clone(), Waker::from(counter))
}

fn wakes(counter: &CountingWaker) -> usize {
    counter.0.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn a_dropped_run_lets_go_of_its_waker_and_is_not_woken_later() {
    let deadline = Deadline::after(Duration::from_secs(60));
    let (counter, waker) = counting_waker();
    let mut run = Box::pin(deadline.run(pending::<()>()));
    assert!(
        run.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(waker);
    drop(run);
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "the deadline still holds the dropped run's waker"
    );
    deadline.reschedule(Instant::now());
    assert_eq!(wakes(&counter), 0, "a run that is gone was woken");
    // Dropping a run mid-wait took nothing from the deadline: the next run sees it.
    let err = deadline.run(pending::<()>()).await.unwrap_err();
    assert!(err.is_from(&deadline));
}

#[tokio::test(start_paused = true)]
async fn a_finished_run_lets_go_of_its_waker_and_is_not_woken_later() {
    // No timer (the deadline is `never`) and a body that keeps no waker: only the deadline's
    // own list could hold the waker.
    let deadline = Deadline::never();
    let (counter, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut first = true;
    let mut run = Box::pin(deadline.run(std::future::poll_fn(|_| {
        if std::mem::take(&mut first) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })));
    assert!(run.as_mut().poll(&mut cx).is_pending());
    assert_eq!(run.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    drop(waker);
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "the deadline still holds the finished run's waker"
    );
    deadline.reschedule(Instant::now());
    assert_eq!(wakes(&counter), 0, "a finished run was woken");
    drop(run);
}

#[tokio::test(start_paused = true)]
async fn moving_a_shared_deadline_earlier_wakes_every_waiting_run() {
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut runs: Vec<_> = (0..3)
        .map(|_| task::spawn(deadline.run(pending::<()>())))
        .collect();
    for run in &mut runs {
        assert_pending!(run.poll());
    }
    deadline.reschedule(Instant::now() + 10 * MS);
    for run in &mut runs {
        assert!(run.is_woken(), "every run hears the move");
        assert_pending!(run.poll());
    }
    // They listen again after being woken: a second move reaches them all too.
    deadline.reschedule(Instant::now());
    for run in &mut runs {
        assert!(run.is_woken(), "every run hears the second move");
        assert!(assert_ready!(run.poll()).is_err());
    }
}

#[tokio::test(start_paused = true)]
async fn instant_returns_the_instant_given_however_far_or_past() {
    let now = Instant::now();
    let past = now.checked_sub(Duration::from_secs(5)).unwrap_or(now);
    assert_eq!(Deadline::at(past).instant(), Some(past));
    assert!(Deadline::at(past).expired());
    let far = now + Duration::from_secs(86_400 * 365 * 1000);
    assert_eq!(Deadline::at(far).instant(), Some(far));
    let moved = Deadline::after(MS);
    moved.reschedule(far);
    assert_eq!(moved.instant(), Some(far));
    moved.reschedule(past);
    assert_eq!(moved.instant(), Some(past));
}

#[tokio::test(start_paused = true)]
async fn duration_max_and_reschedule_none_mean_no_limit() {
    let unlimited = Deadline::after(Duration::MAX);
    assert_eq!(unlimited.instant(), None);
    assert_eq!(unlimited.remaining(), Duration::MAX);
    assert!(!unlimited.expired());
    // No timer at all: forty years pass on the paused clock and the run still waits.
    let mut run = task::spawn(unlimited.run(pending::<()>()));
    assert_pending!(run.poll());
    advance(Duration::from_secs(86_400 * 365 * 40)).await;
    assert_pending!(run.poll());
    drop(run);

    let deadline = Deadline::after(10 * MS);
    let mut run = task::spawn(deadline.run(sleep(Duration::from_secs(1))));
    assert_pending!(run.poll());
    deadline.reschedule(None);
    advance(Duration::from_secs(1)).await;
    assert_eq!(assert_ready!(run.poll()), Ok(()));

    let never = Deadline::never();
    let mut run = task::spawn(never.run(pending::<()>()));
    assert_pending!(run.poll());
    never.reschedule(Instant::now());
    assert!(
        run.is_woken(),
        "from no deadline to one in the past is a move earlier"
    );
    assert!(assert_ready!(run.poll()).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_past_tokios_horizon_still_fires_when_reached() {
    // Tokio's timers reach about 30 years; a deadline beyond is waited for in steps.
    let at = Instant::now() + Duration::from_secs(86_400 * 365 * 70);
    let deadline = Deadline::at(at);
    let err = deadline.run(pending::<()>()).await.unwrap_err();
    assert_eq!(err.deadline(), at);
    assert_eq!(Instant::now(), at, "fired at its instant, not at a horizon");
}

/// The first waiting run listens in the deadline's slot, later ones on its list; a run that
/// leaves frees the slot for the next. A move reaches every run still waiting, wherever it
/// listens, and none that has left.
#[tokio::test(start_paused = true)]
async fn a_move_reaches_runs_in_the_slot_and_on_the_list_across_a_handoff() {
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut first = task::spawn(deadline.run(pending::<()>()));
    let mut second = task::spawn(deadline.run(pending::<()>()));
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    drop(first);
    let mut third = task::spawn(deadline.run(pending::<()>()));
    assert_pending!(third.poll());
    deadline.reschedule(Instant::now() + 10 * MS);
    assert!(second.is_woken() && third.is_woken());
    assert_pending!(second.poll());
    assert_pending!(third.poll());
    drop(second);
    deadline.reschedule(Instant::now());
    assert!(third.is_woken(), "the run left alone still hears a move");
    assert!(assert_ready!(third.poll()).is_err());
}

/// A waker whose `wake` panics: user code that the deadline calls, and must survive.
fn panicky_waker() -> Waker {
    struct Panicky;
    impl std::task::Wake for Panicky {
        fn wake(self: Arc<Self>) {
            panic!("a user waker panicked in wake");
        }
    }
    Waker::from(Arc::new(Panicky))
}

/// Old code: a move earlier woke the run in the slot, then those in the list, outside the lock
/// but not under a catch: a waker that panicked left the loop, and the runs after it were never
/// told their deadline moved (they hung until their old instant). Now every run is woken, then
/// the panic goes on to the caller. The panicking run is in the slot, then in the list.
#[tokio::test(start_paused = true)]
async fn a_panicking_waker_strands_no_other_run_when_the_deadline_moves_earlier() {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    for panicky_at in 0..2 {
        let deadline = Deadline::after(Duration::from_secs(3600));
        let panicky = panicky_waker();
        let mut runs = Vec::new();
        let mut bad = Box::pin(deadline.run(pending::<()>()));
        for at in 0..3 {
            if at == panicky_at {
                let mut cx = Context::from_waker(&panicky);
                assert!(bad.as_mut().poll(&mut cx).is_pending());
            } else {
                let mut run = task::spawn(deadline.run(pending::<()>()));
                assert_pending!(run.poll());
                runs.push(run);
            }
        }
        let moved = catch_unwind(AssertUnwindSafe(|| {
            deadline.reschedule(Instant::now() + 5 * MS);
        }));
        assert!(moved.is_err(), "the waker's panic goes on to the caller");
        for run in &mut runs {
            assert!(
                run.is_woken(),
                "panicky at {panicky_at}: a run was not woken"
            );
            assert_pending!(run.poll());
        }
        drop(bad); // before the clock moves: its timer would wake the panicking waker
        advance(5 * MS).await;
        for run in &mut runs {
            assert!(assert_ready!(run.poll()).is_err(), "the run saw the move");
        }
    }
}
