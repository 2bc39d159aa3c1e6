//! Every `# Cancel safety` claim: a `get`, `put` or `join` dropped mid-wait, including after it
//! was woken and before it ran, loses no item, inserts no item and leaves no waiter behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use corral::queue::{Queue, TryGetError};
use tokio_test::{assert_pending, assert_ready, assert_ready_ok, task};

use crate::for_each_kind;
use crate::support::Tracked;

for_each_kind! {
    fn a_get_dropped_while_waiting_takes_nothing<Q>() {
        let q = Q::unbounded();
        let mut dropped = task::spawn(q.get());
        let mut behind = task::spawn(q.get());
        assert_pending!(dropped.poll());
        assert_pending!(behind.poll());
        drop(dropped);

        q.try_put(1).unwrap();
        assert!(behind.is_woken(), "the next getter is first in line now");
        assert_eq!(assert_ready_ok!(behind.poll()), 1);
        assert!(q.try_get().is_err());
    }
}

for_each_kind! {
    fn a_get_woken_then_dropped_passes_its_item_to_the_next_getter<Q>() {
        let q = Q::unbounded();
        let mut woken = task::spawn(q.get());
        let mut next = task::spawn(q.get());
        assert_pending!(woken.poll());
        assert_pending!(next.poll());

        q.try_put(1).unwrap();
        assert!(woken.is_woken());
        assert!(!next.is_woken());
        drop(woken); // woken for the item, dropped before it ran

        assert!(next.is_woken(), "the wake-up was passed on");
        assert_eq!(assert_ready_ok!(next.poll()), 1);
        assert!(q.is_empty());
    }
}

for_each_kind! {
    fn a_get_woken_then_dropped_leaves_its_item_free<Q>() {
        let q = Q::unbounded();
        let mut woken = task::spawn(q.get());
        assert_pending!(woken.poll());
        q.try_put(1).unwrap();
        assert_eq!(q.try_get(), Err(TryGetError::Empty), "set aside for the woken getter");
        drop(woken);
        assert_eq!(q.try_get(), Ok(1), "nobody waits: the item is free again");
    }
}

for_each_kind! {
    fn a_put_dropped_while_waiting_inserts_nothing<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut dropped = task::spawn(q.put(2));
        let mut behind = task::spawn(q.put(3));
        assert_pending!(dropped.poll());
        assert_pending!(behind.poll());
        drop(dropped);

        assert_eq!(q.try_get(), Ok(1));
        assert!(behind.is_woken(), "the next putter is first in line now");
        assert_ready_ok!(behind.poll());
        assert_eq!(q.try_get(), Ok(3));
        assert!(q.try_get().is_err(), "the dropped put's item never went in");
    }
}

for_each_kind! {
    fn a_put_woken_then_dropped_passes_its_slot_to_the_next_putter<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut woken = task::spawn(q.put(2));
        let mut next = task::spawn(q.put(3));
        assert_pending!(woken.poll());
        assert_pending!(next.poll());

        assert_eq!(q.try_get(), Ok(1));
        assert!(woken.is_woken());
        assert!(!next.is_woken());
        drop(woken); // given the slot, dropped before it ran

        assert!(next.is_woken(), "the slot was passed on");
        assert_ready_ok!(next.poll());
        assert_eq!(q.try_get(), Ok(3));
        assert!(q.is_empty());
    }
}

for_each_kind! {
    fn a_put_woken_then_dropped_leaves_its_slot_free<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut woken = task::spawn(q.put(2));
        assert_pending!(woken.poll());
        assert_eq!(q.try_get(), Ok(1));
        assert!(q.try_put(9).is_err(), "the slot is kept for the woken putter");
        drop(woken);
        q.try_put(3).unwrap();
        assert_eq!(q.try_get(), Ok(3));
    }
}

for_each_kind! {
    fn a_join_dropped_while_waiting_leaves_no_trace<Q>() {
        let q = Q::unbounded();
        q.try_put(1).unwrap();
        let mut dropped = task::spawn(q.join());
        assert_pending!(dropped.poll());
        drop(dropped);

        let mut join = task::spawn(q.join());
        assert_pending!(join.poll());
        q.try_get().unwrap();
        q.task_done().unwrap();
        assert!(join.is_woken());
        assert_ready!(join.poll());
    }
}

#[test]
fn a_dropped_put_drops_its_item_and_only_then() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::bounded(1);
    q.try_put(Tracked::new(1, &drops)).unwrap();
    let mut waiting = task::spawn(q.put(Tracked::new(2, &drops)));
    assert_pending!(waiting.poll());
    assert_eq!(drops.load(SeqCst), 0);
    drop(waiting);
    assert_eq!(drops.load(SeqCst), 1, "the item went down with the future");
    assert_eq!(q.len(), 1);
    assert_eq!(q.try_get().map(|item| item.id), Ok(1));
}

#[tokio::test(start_paused = true)]
async fn a_get_that_times_out_loses_no_item() {
    let q = Queue::unbounded();
    let timed_out = tokio::time::timeout(Duration::from_millis(10), q.get()).await;
    assert!(timed_out.is_err());

    q.put(1).await.unwrap();
    let lucky = tokio::select! {
        item = q.get() => item.unwrap(),
        () = tokio::time::sleep(Duration::from_millis(10)) => unreachable!("an item was there"),
    };
    assert_eq!(lucky, 1);
}

#[tokio::test(start_paused = true)]
async fn a_put_that_times_out_inserts_nothing() {
    let q = Queue::bounded(1);
    q.put("kept").await.unwrap();
    let timed_out = tokio::time::timeout(Duration::from_millis(10), q.put("dropped")).await;
    assert!(timed_out.is_err());
    assert_eq!(q.len(), 1);
    assert_eq!(q.get().await, Ok("kept"));
    assert!(q.try_get().is_err());
}

#[tokio::test(start_paused = true)]
async fn select_over_get_with_a_racing_producer_loses_nothing() {
    // A consumer that gives up on `get` after 2 ms while a producer puts every 3 ms: many gets
    // are cancelled mid-wait, and every item still arrives, once, in order.
    let q = Queue::unbounded();
    let producer = tokio::spawn({
        let q = q.clone();
        async move {
            for n in 0..50 {
                tokio::time::sleep(Duration::from_millis(3)).await;
                q.put(n).await.unwrap();
            }
            q.shutdown();
        }
    });
    let mut got = Vec::new();
    let mut timeouts = 0;
    loop {
        tokio::select! {
            item = q.get() => match item {
                Ok(n) => got.push(n),
                Err(_) => break,
            },
            () = tokio::time::sleep(Duration::from_millis(2)) => timeouts += 1,
        }
    }
    producer.await.unwrap();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    assert!(timeouts >= 25, "gets were cancelled mid-wait: {timeouts}");
}

/// A waiting `get`'s old waker, replaced by a new one or left behind when the `get` is
/// dropped, is dropped after the queue's lock is released: dropping a waker may free a task,
/// whose destructor may use the queue. The probe takes the lock (`try_get`).
#[tokio::test]
async fn a_waiting_gets_old_waker_is_dropped_after_the_queue_is_unlocked() {
    let queue: corral::queue::Queue<u32> = corral::queue::Queue::bounded(1);
    let probe_queue = queue.clone();
    crate::lock_probe::assert_wakers_let_go_unlocked(queue.get(), move || {
        let _ = probe_queue.try_get();
    });
}
