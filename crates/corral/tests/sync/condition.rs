//! `Condition<T>`: lock, wait, wait_for, notify(n) semantics, FIFO order, and what happens
//! to a notification when its waiter is dropped.

use std::cell::Cell;
use std::time::Duration;

use corral::sync::{Condition, ConditionGuard, Event};

use crate::lock_probe::LockProbe;
use tokio_test::task::{self, Spawn};
use tokio_test::{assert_pending, assert_ready, assert_ready_eq};

/// A waiter that locks `condition` and waits once, returning the value it then sees.
fn waiter(condition: &Condition<u32>) -> Spawn<impl Future<Output = u32> + '_> {
    task::spawn(async move { *condition.lock().await.wait().await })
}

/// Polls every waiter once and says which are pending (in order).
fn pending<F: Future>(waiters: &mut [Spawn<F>]) -> Vec<bool> {
    waiters.iter_mut().map(|w| w.poll().is_pending()).collect()
}

#[tokio::test(start_paused = true)]
async fn lock_is_exclusive_and_released_on_drop() {
    let condition = Condition::new(0_u32);
    let mut guard = condition.lock().await;
    *guard += 1;
    assert!(condition.try_lock().is_err());

    let mut second = task::spawn(condition.lock());
    assert_pending!(second.poll());
    drop(guard);
    assert!(second.is_woken());
    let guard = assert_ready!(second.poll());
    assert_eq!(*guard, 1);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_lock_future_gives_up_its_place_only() {
    let condition = Condition::new(0_u32);
    let guard = condition.lock().await;
    let mut queued = task::spawn(condition.lock());
    assert_pending!(queued.poll());
    drop(queued);
    drop(guard);
    assert!(condition.try_lock().is_ok(), "nobody holds the lock");
}

#[tokio::test(start_paused = true)]
async fn wait_releases_the_lock_and_takes_it_back_before_returning() {
    let condition = Condition::new(0_u32);
    let mut w = waiter(&condition);
    assert_pending!(w.poll());

    // The waiter let go of the lock.
    let mut guard = condition.try_lock().expect("released while waiting");
    *guard = 5;
    assert!(condition.notify_one());
    assert!(w.is_woken());
    // Notified, but the lock is still ours.
    assert_pending!(w.poll());
    drop(guard);
    assert!(w.is_woken());
    assert_ready_eq!(w.poll(), 5);
}

#[tokio::test(start_paused = true)]
async fn wait_for_returns_at_once_when_the_predicate_already_holds() {
    let condition = Condition::new(3_u32);
    let calls = Cell::new(0);
    let mut w = task::spawn(async {
        let guard = condition
            .lock()
            .await
            .wait_for(|v| {
                calls.set(calls.get() + 1);
                *v == 3
            })
            .await;
        *guard
    });
    assert_ready_eq!(w.poll(), 3);
    assert_eq!(calls.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn wait_for_rechecks_the_predicate_under_the_lock_on_every_wake() {
    let condition = Condition::new(0_u32);
    let calls = Cell::new(0);
    let mut w = task::spawn(async {
        let guard = condition
            .lock()
            .await
            .wait_for(|v| {
                calls.set(calls.get() + 1);
                *v >= 2
            })
            .await;
        *guard
    });
    assert_pending!(w.poll());
    assert_eq!(calls.get(), 1);

    for value in 1..=2 {
        *condition.lock().await = value;
        assert_eq!(condition.notify_all(), 1);
        assert!(w.is_woken());
        if value < 2 {
            assert_pending!(w.poll(), "predicate still false: waits again");
        } else {
            assert_ready_eq!(w.poll(), 2);
        }
        assert_eq!(calls.get(), 1 + value);
    }
}

#[tokio::test(start_paused = true)]
async fn notify_n_wakes_exactly_min_n_waiting_first_come_first_served() {
    let condition = Condition::new(0_u32);
    let mut waiters: Vec<_> = (0..5).map(|_| waiter(&condition)).collect();
    assert_eq!(pending(&mut waiters), [true; 5]);

    assert_eq!(condition.notify(0), 0);
    assert_eq!(condition.notify(2), 2);
    let woken: Vec<bool> = waiters.iter().map(Spawn::is_woken).collect();
    assert_eq!(woken, [true, true, false, false, false]);
    assert_eq!(pending(&mut waiters[..2]), [false, false]);
    assert_eq!(pending(&mut waiters[2..]), [true, true, true]);

    assert_eq!(condition.notify(10), 3, "only three were still waiting");
    assert_eq!(pending(&mut waiters[2..]), [false, false, false]);
    assert_eq!(condition.notify(10), 0);
}

#[tokio::test(start_paused = true)]
async fn notify_one_serves_waiters_in_arrival_order() {
    let condition = Condition::new(0_u32);
    let mut waiters: Vec<_> = (0..3).map(|_| waiter(&condition)).collect();
    assert_eq!(pending(&mut waiters), [true; 3]);
    for next in 0..3 {
        assert!(condition.notify_one());
        for (i, w) in waiters.iter().enumerate() {
            assert_eq!(
                w.is_woken(),
                i == next,
                "notification {next} went to waiter {i}"
            );
        }
        assert_ready!(waiters[next].poll());
    }
    assert!(!condition.notify_one());
}

#[tokio::test(start_paused = true)]
async fn a_notify_with_nobody_waiting_wakes_no_later_waiter() {
    let condition = Condition::new(0_u32);
    assert!(!condition.notify_one());
    assert_eq!(condition.notify(3), 0);
    assert_eq!(condition.notify_all(), 0);

    let mut late = waiter(&condition);
    assert_pending!(late.poll());
    assert!(!late.is_woken());
    assert_pending!(late.poll());
    assert!(condition.notify_one(), "the late waiter is waiting now");
    assert_ready!(late.poll());
}

#[tokio::test(start_paused = true)]
async fn notify_all_wakes_only_those_waiting_at_the_call() {
    let condition = Condition::new(0_u32);
    let mut early: Vec<_> = (0..3).map(|_| waiter(&condition)).collect();
    assert_eq!(pending(&mut early), [true; 3]);
    assert_eq!(condition.notify_all(), 3);
    let mut late = waiter(&condition);
    assert_pending!(late.poll());
    assert_eq!(pending(&mut early), [false; 3]);
    assert!(!late.is_woken());
    assert_pending!(late.poll());
}

#[tokio::test(start_paused = true)]
async fn a_notify_after_unlocking_reaches_a_waiter_that_checked_under_the_lock() {
    let condition = Condition::new(false);
    // The waiter takes the lock and holds it until the test opens the gate...
    let gate = Event::new();
    let mut w = task::spawn(async {
        let mut guard = condition.lock().await;
        gate.wait().await;
        while !*guard {
            guard = guard.wait().await;
        }
    });
    assert_pending!(w.poll());
    // ...so the notifier queues for the lock.
    let mut notifier = task::spawn(async {
        let mut guard = condition.lock().await;
        *guard = true;
        drop(guard);
        // Unlocked, then notifies.
        condition.notify_one()
    });
    assert_pending!(notifier.poll());
    // The waiter sees `false` under the lock, registers, and only then unlocks.
    gate.set();
    assert!(w.is_woken());
    assert_pending!(w.poll());
    assert!(notifier.is_woken());
    assert_ready_eq!(notifier.poll(), true, "the notification found the waiter");
    assert!(w.is_woken());
    assert_ready!(w.poll());
}

#[tokio::test(start_paused = true)]
async fn a_notified_waiter_dropped_before_it_runs_passes_the_notification_on() {
    let condition = Condition::new(0_u32);
    let mut first = waiter(&condition);
    let mut second = waiter(&condition);
    assert_pending!(first.poll());
    assert_pending!(second.poll());

    assert!(condition.notify_one());
    assert!(first.is_woken());
    assert!(!second.is_woken());
    drop(first);
    assert!(second.is_woken(), "the notification passed on");
    assert_ready!(second.poll());
    assert!(!condition.notify_one(), "and nobody is left waiting");
}

#[tokio::test(start_paused = true)]
async fn a_waiter_woken_by_notify_all_and_dropped_passes_nothing_to_a_later_waiter() {
    let condition = Condition::new(0_u32);
    let mut early = waiter(&condition);
    assert_pending!(early.poll());
    assert_eq!(condition.notify_all(), 1);
    let mut late = waiter(&condition);
    assert_pending!(late.poll()); // starts waiting after the notify_all
    drop(early); // woken by it, and gone before it had the lock again
    assert!(
        !late.is_woken(),
        "a notify_all reaches only the tasks waiting at the call"
    );
    assert_pending!(late.poll());
    assert!(condition.notify_one(), "the late waiter still waits");
    assert_ready!(late.poll());
}

#[tokio::test(start_paused = true)]
async fn after_a_notify_all_a_dropped_notified_waiter_still_passes_a_notify_one_on() {
    let condition = Condition::new(0_u32);
    let mut before = waiter(&condition);
    assert_pending!(before.poll());
    assert_eq!(condition.notify_all(), 1);
    assert_ready!(before.poll());
    let mut first = waiter(&condition);
    let mut second = waiter(&condition);
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    assert!(condition.notify_one());
    drop(first);
    assert!(second.is_woken(), "the notify_one passed on");
    assert_ready!(second.poll());
}

#[tokio::test(start_paused = true)]
async fn a_notified_waiter_dropped_while_taking_the_lock_back_passes_the_notification_on() {
    let condition = Condition::new(0_u32);
    let mut first = waiter(&condition);
    let mut second = waiter(&condition);
    assert_pending!(first.poll());
    assert_pending!(second.poll());

    let guard = condition.lock().await;
    assert!(condition.notify_one());
    assert_pending!(first.poll(), "notified, queued for the lock");
    drop(first);
    assert!(second.is_woken());
    drop(guard);
    assert_ready!(second.poll());
}

#[tokio::test(start_paused = true)]
async fn a_waiter_that_was_not_notified_takes_nothing_when_dropped() {
    let condition = Condition::new(0_u32);
    let mut first = waiter(&condition);
    let mut second = waiter(&condition);
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    drop(first);
    assert!(!second.is_woken(), "no spurious wake-up");
    assert_eq!(condition.notify(2), 1, "only the second is still waiting");
    assert_ready!(second.poll());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_notified_waiter_with_nobody_behind_stores_nothing() {
    let condition = Condition::new(0_u32);
    let mut first = waiter(&condition);
    assert_pending!(first.poll());
    assert!(condition.notify_one());
    drop(first);

    let mut late = waiter(&condition);
    assert_pending!(late.poll());
    assert!(!late.is_woken());
    assert_pending!(late.poll());
}

#[tokio::test(start_paused = true)]
async fn a_waiter_that_got_the_lock_back_has_spent_its_notification() {
    let condition = Condition::new(0_u32);
    let mut first = task::spawn(async { condition.lock().await.wait().await });
    let mut second = waiter(&condition);
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    assert!(condition.notify_one());
    let guard: ConditionGuard<'_, u32> = assert_ready!(first.poll());
    drop(guard);
    drop(first);
    assert!(!second.is_woken());
    assert_pending!(second.poll());
}

#[tokio::test(start_paused = true)]
async fn a_wait_for_cancelled_by_a_timeout_leaves_no_waiter_behind() {
    let condition = Condition::new(0_u32);
    let result = tokio::time::timeout(Duration::from_secs(1), async {
        drop(condition.lock().await.wait_for(|v| *v > 0).await);
    })
    .await;
    assert!(result.is_err());
    assert_eq!(
        condition.notify_all(),
        0,
        "the cancelled waiter left the list"
    );
    assert!(condition.try_lock().is_ok(), "and does not hold the lock");
}

#[tokio::test(start_paused = true)]
async fn a_wait_future_dropped_before_its_first_poll_releases_the_lock() {
    let condition = Condition::new(0_u32);
    let guard = condition.lock().await;
    let wait = guard.wait();
    assert!(
        condition.try_lock().is_err(),
        "the unpolled future holds the lock"
    );
    drop(wait);
    assert!(condition.try_lock().is_ok());
    assert_eq!(condition.notify_all(), 0);
}

#[tokio::test(start_paused = true)]
async fn data_accessors() {
    static STATIC: Condition<u32> = Condition::const_new(1);
    *STATIC.lock().await += 1;
    assert_eq!(*STATIC.lock().await, 2);

    let mut condition = Condition::from(vec![1]);
    condition.get_mut().push(2);
    condition.lock().await.push(3);
    assert_eq!(condition.into_inner(), [1, 2, 3]);

    let condition: Condition<String> = Condition::default();
    assert_eq!(
        format!("{condition:?}"),
        r#"Condition { data: "", waiting: 0 }"#
    );
    let guard = condition.lock().await;
    assert_eq!(format!("{guard:?}"), r#""""#);
    assert_eq!(
        format!("{condition:?}"),
        "Condition { data: <locked>, waiting: 0 }"
    );
}

#[tokio::test(start_paused = true)]
async fn unsized_data() {
    let condition: Box<Condition<[u32]>> = Box::new(Condition::new([1, 2, 3]));
    condition.lock().await[0] = 9;
    let guard = condition.lock().await.wait_for(|s| s.len() == 3).await;
    assert_eq!(&*guard, &[9, 2, 3]);
}

#[test]
fn a_dropped_waiter_lets_go_of_its_waker_outside_the_lock() {
    let condition = std::sync::Arc::new(Condition::new(0_u32));
    let probed = condition.clone();
    let (waker, dropped_under_lock) = LockProbe::waker(move || {
        probed.notify_all();
    });
    let mut wait = Box::pin(async { drop(condition.lock().await.wait().await) });
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    drop(waker); // the wait list holds the last clone
    drop(wait);
    assert!(
        !dropped_under_lock.load(std::sync::atomic::Ordering::SeqCst),
        "the waker was dropped while the wait list was locked"
    );
}

#[test]
fn a_waiter_polled_with_a_new_waker_drops_the_old_one_outside_the_lock() {
    let condition = std::sync::Arc::new(Condition::new(0_u32));
    let probed = condition.clone();
    let (waker, dropped_under_lock) = LockProbe::waker(move || {
        probed.notify_all();
    });
    let mut wait = Box::pin(async { drop(condition.lock().await.wait().await) });
    assert!(
        wait.as_mut()
            .poll(&mut std::task::Context::from_waker(&waker))
            .is_pending()
    );
    drop(waker);
    let other = std::task::Waker::noop();
    assert!(
        wait.as_mut()
            .poll(&mut std::task::Context::from_waker(other))
            .is_pending()
    );
    assert!(
        !dropped_under_lock.load(std::sync::atomic::Ordering::SeqCst),
        "the replaced waker was dropped while the wait list was locked"
    );
}

#[test]
fn debug_formats_with_the_wait_list_unlocked() {
    let condition = std::sync::Arc::new(Condition::new(7_u32));
    let probed = condition.clone();
    // The probe takes the wait list's lock.
    let probe = move || {
        let _ = probed.notify_one();
    };
    assert!(!crate::lock_probe::debug_formats_under_lock(
        &*condition,
        probe
    ));
}

/// A review found a `notify_one` wake-up swallowed once a later `notify_all` had run (even one
/// that woke nobody): waiters were taken as woken by `notify_all` by their number alone.
#[tokio::test(start_paused = true)]
async fn a_notify_one_wake_up_is_passed_on_after_a_later_notify_all() {
    let condition = Condition::new(0_u32);
    let mut first = waiter(&condition);
    assert_pending!(first.poll());
    assert!(condition.notify_one()); // `first`, one at a time
    assert_eq!(condition.notify_all(), 0); // nobody else waits
    let mut later = waiter(&condition);
    assert_pending!(later.poll());
    drop(first); // gone before it had the lock: its notification passes on
    assert!(later.is_woken(), "the notify_one wake-up was swallowed");
}

#[tokio::test(start_paused = true)]
async fn a_passed_on_wake_up_is_passed_on_again_after_a_later_notify_all() {
    let condition = Condition::new(0_u32);
    let mut a = waiter(&condition);
    let mut b = waiter(&condition);
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    assert!(condition.notify_one()); // a
    drop(a); // passes it to b
    assert!(b.is_woken());
    assert_eq!(condition.notify_all(), 0);
    let mut c = waiter(&condition);
    assert_pending!(c.poll());
    drop(b);
    assert!(c.is_woken(), "the passed-on wake-up was swallowed");
}

#[tokio::test(start_paused = true)]
async fn each_waiter_that_gives_up_passes_on_only_what_it_got_one_at_a_time() {
    let condition = Condition::new(0_u32);
    let mut by_one = waiter(&condition);
    let mut by_all = waiter(&condition);
    assert_pending!(by_one.poll());
    assert_pending!(by_all.poll());
    assert!(condition.notify_one()); // by_one
    assert_eq!(condition.notify_all(), 1); // by_all
    let mut later = waiter(&condition);
    assert_pending!(later.poll());
    drop(by_all); // notify_all's: meant for the tasks waiting then, not passed on
    assert!(
        !later.is_woken(),
        "a notify_all wake-up reached a later waiter"
    );
    drop(by_one); // notify_one's: passed on
    assert!(later.is_woken(), "the notify_one wake-up was swallowed");
}

/// Old code: `notify` and `notify_all` took the waiters off the list, then woke them outside
/// the lock but not under a catch: a waker that panicked left the loop, and the waiters after
/// it, notified yet never woken, hung. Now all are woken, then the panic goes on to the caller.
#[test]
fn a_panicking_waker_strands_no_other_notified_waiter() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::pin::pin;
    use std::task::Context;

    let notify_all = |condition: &Condition<u32>| {
        condition.notify_all();
    };
    let notify_two = |condition: &Condition<u32>| {
        condition.notify(2);
    };
    for notify in [&notify_all as &dyn Fn(&Condition<u32>), &notify_two] {
        let condition = Condition::new(0_u32);
        let mut first = pin!(async { *condition.lock().await.wait().await });
        let panicky = crate::support::panicky_waker();
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&panicky))
                .is_pending()
        );
        let mut second = waiter(&condition);
        assert_pending!(second.poll());
        let notified = catch_unwind(AssertUnwindSafe(|| notify(&condition)));
        let payload = notified.expect_err("the waker's panic goes on to the notifier");
        assert_eq!(
            crate::support::panic_message(payload.as_ref()),
            "a user waker panicked in wake"
        );
        assert!(second.is_woken(), "notified, and woken all the same");
        assert_ready_eq!(second.poll(), 0);
    }
}

/// A waiter dropped after it was notified passes the notification on from its destructor: a
/// panic of the next waiter's waker there is reported, never let out of the destructor (which
/// may run during unwinding, where a second panic aborts).
#[test]
fn a_notification_passed_on_to_a_panicking_waker_does_not_panic_out_of_drop() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::pin::pin;
    use std::task::Context;

    let reports = crate::reports::Reports::collect();
    let condition = Condition::new(0_u32);
    let mut first = waiter(&condition);
    assert_pending!(first.poll());
    let mut second = pin!(async { *condition.lock().await.wait().await });
    let panicky = crate::support::panicky_waker();
    assert!(
        second
            .as_mut()
            .poll(&mut Context::from_waker(&panicky))
            .is_pending()
    );
    assert_eq!(condition.notify(1), 1);
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(first)));
    assert!(dropped.is_ok(), "the waker's panic left the destructor");
    reports.assert_any("a user waker panicked in wake");
}
