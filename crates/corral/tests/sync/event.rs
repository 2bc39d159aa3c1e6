//! `Event`: set/clear/is_set/wait, set-then-clear, many waiters, cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::sync::{Event, Semaphore};
use tokio_test::{assert_pending, assert_ready, task};

#[test]
fn starts_clear_and_follows_set_and_clear() {
    let event = Event::new();
    assert!(!event.is_set());
    event.set();
    assert!(event.is_set());
    event.set();
    assert!(event.is_set(), "setting twice keeps it set");
    event.clear();
    assert!(!event.is_set());
    event.clear();
    assert!(!event.is_set(), "clearing twice keeps it clear");
}

#[tokio::test(start_paused = true)]
async fn wait_after_set_returns_at_once() {
    let event = Event::new();
    event.set();
    let mut wait = task::spawn(event.wait());
    assert_ready!(wait.poll());
    // And again: a set event is not consumed by a waiter.
    let mut again = task::spawn(event.wait());
    assert_ready!(again.poll());
}

#[tokio::test(start_paused = true)]
async fn wait_pends_until_set() {
    let event = Event::new();
    let mut wait = task::spawn(event.wait());
    assert_pending!(wait.poll());
    assert_pending!(wait.poll());
    assert!(!wait.is_woken());
    event.set();
    assert!(wait.is_woken());
    assert_ready!(wait.poll());
}

#[tokio::test(start_paused = true)]
async fn set_then_clear_wakes_every_waiter() {
    let event = Event::new();
    let mut waits: Vec<_> = (0..3).map(|_| task::spawn(event.wait())).collect();
    for wait in &mut waits {
        assert_pending!(wait.poll());
    }
    event.set();
    event.clear();
    for wait in &mut waits {
        assert!(wait.is_woken());
        assert_ready!(wait.poll());
    }
    // A wait that starts after the clear waits for the next set.
    let mut late = task::spawn(event.wait());
    assert_pending!(late.poll());
}

#[tokio::test(start_paused = true)]
async fn a_wait_created_before_set_and_clear_is_released_even_if_not_yet_polled() {
    let event = Event::new();
    let mut wait = task::spawn(event.wait());
    event.set();
    event.clear();
    assert_ready!(wait.poll());
}

#[tokio::test(start_paused = true)]
async fn a_second_set_while_set_wakes_nobody_new_and_a_set_after_clear_does() {
    let event = Event::new();
    event.set();
    event.clear();
    let mut wait = task::spawn(event.wait());
    assert_pending!(wait.poll());
    event.set();
    event.set();
    assert!(wait.is_woken());
    assert_ready!(wait.poll());
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_waiters_all_wake_on_one_set() {
    const WAITERS: usize = 10_000;
    let event = Arc::new(Event::new());
    let parked = Arc::new(Semaphore::new(0));
    let woken = Arc::new(AtomicUsize::new(0));

    let mut tasks = Vec::with_capacity(WAITERS);
    for _ in 0..WAITERS {
        let (event, parked, woken) = (event.clone(), parked.clone(), woken.clone());
        tasks.push(tokio::spawn(async move {
            let mut wait = std::pin::pin!(event.wait());
            assert!(futures::poll!(wait.as_mut()).is_pending());
            parked.add_permits(1);
            wait.await;
            woken.fetch_add(1, Ordering::Relaxed);
        }));
    }
    // Every task is parked in `wait` before the one `set`.
    parked
        .acquire_many(WAITERS as u32)
        .await
        .expect("open")
        .forget();
    event.set();
    event.clear();
    for task in tasks {
        task.await.expect("waiter");
    }
    assert_eq!(woken.load(Ordering::Relaxed), WAITERS);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_wait_loses_nothing() {
    let event = Event::new();
    let mut dropped = task::spawn(event.wait());
    let mut kept = task::spawn(event.wait());
    assert_pending!(dropped.poll());
    assert_pending!(kept.poll());
    drop(dropped);

    event.set();
    assert!(kept.is_woken());
    assert_ready!(kept.poll());
    assert!(event.is_set(), "the waiters did not consume the event");
    assert_ready!(task::spawn(event.wait()).poll());
}

#[tokio::test(start_paused = true)]
async fn a_wait_cancelled_by_a_timeout_leaves_the_event_usable() {
    let event = Arc::new(Event::new());
    let timed_out = tokio::time::timeout(Duration::from_secs(1), event.wait()).await;
    assert!(timed_out.is_err());
    assert!(!event.is_set());

    let waiter = tokio::spawn({
        let event = event.clone();
        async move { event.wait().await }
    });
    tokio::time::advance(Duration::from_millis(10)).await;
    assert!(!waiter.is_finished());
    event.set();
    tokio::time::timeout(Duration::from_secs(1), waiter)
        .await
        .expect("woken")
        .expect("no panic");
}

#[tokio::test(start_paused = true)]
async fn a_wait_in_select_loses_nothing_when_the_other_branch_wins() {
    let event = Event::new();
    for _ in 0..3 {
        tokio::select! {
            biased;
            () = event.wait() => panic!("the event is not set"),
            () = std::future::ready(()) => {}
        }
    }
    event.set();
    tokio::select! {
        biased;
        () = event.wait() => {}
        () = std::future::ready(()) => panic!("the event is set"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_static_event_works() {
    static EVENT: Event = Event::const_new();
    let mut wait = task::spawn(EVENT.wait());
    assert_pending!(wait.poll());
    EVENT.set();
    assert_ready!(wait.poll());
}

#[test]
fn default_and_debug() {
    let event = Event::default();
    assert!(!event.is_set());
    assert_eq!(format!("{event:?}"), "Event { is_set: false }");
    event.set();
    assert_eq!(format!("{event:?}"), "Event { is_set: true }");
    let wait = event.wait();
    assert!(format!("{wait:?}").starts_with("EventWait { event: Event { is_set: true }"));
}

#[test]
fn a_wait_called_while_set_returns_even_if_cleared_before_its_first_poll() {
    let event = Event::new();
    event.set();
    let mut wait = task::spawn(event.wait()); // "waiting" begins here, with the event set
    event.clear();
    assert_ready!(wait.poll());
}

#[test]
fn a_set_clear_pulse_releases_the_waits_that_began_before_it_only() {
    // (The stale wake-up of a wait that began after such a pulse, from a `set` whose
    // `notify_waiters` came late, needs two threads: see the loom model
    // `loom_event_a_wait_begun_after_a_clear_is_not_released_by_the_set_before_it`.)
    let event = Event::new();
    let mut first = task::spawn(event.wait());
    assert_pending!(first.poll());
    event.set();
    event.clear();
    let mut second = task::spawn(event.wait()); // begins after the pulse
    assert_ready!(first.poll(), "the pulse released the wait that was waiting");
    assert_pending!(second.poll(), "and not one that began after it");
    event.set();
    assert!(second.is_woken());
    assert_ready!(second.poll());
}
