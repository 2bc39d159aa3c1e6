//! `put` is not cancel safe for its item (a dropped `put` drops it), `reserve` is: it waits for
//! a slot without taking the item, and the permit it returns puts without waiting or failing.
//! Every claim is checked by dropping the future mid-wait, at the poll level.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use corral::queue::{Queue, TryGetError, TryPutError};
use tokio_test::{assert_pending, assert_ready, assert_ready_err, assert_ready_ok, task};

use crate::for_each_kind;
use crate::support::Tracked;

/// The documented loss: a `put` that loses a `select!` drops its item (it is not inserted).
#[tokio::test(start_paused = true)]
async fn a_put_that_loses_a_select_drops_its_item() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::bounded(1);
    q.try_put(Tracked::new(0, &drops)).unwrap();
    tokio::select! {
        _ = q.put(Tracked::new(1, &drops)) => panic!("the queue is full"),
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    assert_eq!(drops.load(SeqCst), 1, "item 1 was dropped with the put");
    assert_eq!(q.len(), 1, "and not inserted");
}

/// The safe form: `reserve` loses the `select!`, the item is still ours, and goes in later.
#[tokio::test(start_paused = true)]
async fn a_reserve_that_loses_a_select_keeps_the_item() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::bounded(1);
    q.try_put(Tracked::new(0, &drops)).unwrap();
    let item = Tracked::new(1, &drops);
    tokio::select! {
        _ = q.reserve() => panic!("the queue is full"),
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    assert_eq!(drops.load(SeqCst), 0, "nothing was dropped");
    assert_eq!(q.try_get().unwrap().id, 0);
    q.reserve().await.unwrap().put(item);
    assert_eq!(q.try_get().unwrap().id, 1);
}

for_each_kind! {
    fn reserve_waits_for_room_and_the_permit_puts<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut reserve = task::spawn(q.reserve());
        assert_pending!(reserve.poll());
        assert_eq!(q.try_get(), Ok(1));
        assert!(reserve.is_woken());
        let permit = assert_ready_ok!(reserve.poll());
        assert!(q.is_full(), "the permit holds the slot");
        assert!(matches!(q.try_put(2), Err(TryPutError::Full(2))));
        assert_eq!(q.try_get(), Err(TryGetError::Empty), "no item yet");
        permit.put(3);
        assert_eq!(q.try_get(), Ok(3));
    }
}

for_each_kind! {
    fn a_reserve_dropped_while_waiting_holds_nothing<Q>() {
        for owned in [false, true] {
            let q = Q::bounded(1);
            q.try_put(1).unwrap();
            let mut dropped = task::spawn(q.reserve_either(owned));
            let mut behind = task::spawn(q.put(2));
            assert_pending!(dropped.poll());
            assert_pending!(behind.poll());
            drop(dropped);
            assert_eq!(q.try_get(), Ok(1));
            assert!(behind.is_woken(), "the next putter is first in line now");
            assert_ready_ok!(behind.poll());
            assert_eq!(q.try_get(), Ok(2));
        }
    }
}

for_each_kind! {
    fn a_reserve_woken_then_dropped_passes_its_slot_on<Q>() {
        for owned in [false, true] {
            let q = Q::bounded(1);
            q.try_put(1).unwrap();
            let mut woken = task::spawn(q.reserve_either(owned));
            let mut next = task::spawn(q.reserve_either(owned));
            assert_pending!(woken.poll());
            assert_pending!(next.poll());
            assert_eq!(q.try_get(), Ok(1));
            assert!(woken.is_woken());
            assert!(!next.is_woken());
            drop(woken); // handed the slot, dropped before it ran

            assert!(next.is_woken(), "the wake-up was passed on");
            assert_ready_ok!(next.poll()).put(2);
            assert_eq!(q.try_get(), Ok(2));
        }
    }
}

for_each_kind! {
    fn an_unused_permit_gives_its_slot_to_the_first_waiter<Q>() {
        let q = Q::bounded(1);
        let permit = q.try_reserve().unwrap();
        let mut first = task::spawn(q.put(1));
        let mut second = task::spawn(q.reserve());
        assert_pending!(first.poll());
        assert_pending!(second.poll());

        drop(permit);
        assert!(first.is_woken(), "first come, first served");
        assert!(!second.is_woken());
        assert!(matches!(q.try_put(9), Err(TryPutError::Full(9))), "set aside for the woken put");
        assert!(q.is_full());
        assert_ready_ok!(first.poll());
        assert_eq!(q.try_get(), Ok(1));
        assert!(second.is_woken());
        assert_ready_ok!(second.poll());
    }
}

for_each_kind! {
    fn an_unused_permit_frees_its_slot_when_nobody_waits<Q>() {
        let q = Q::bounded(1);
        let permit = q.try_reserve().unwrap();
        assert!(q.is_full());
        assert!(matches!(q.try_reserve(), Err(TryPutError::Full(()))));
        drop(permit);
        assert!(!q.is_full());
        q.try_put(1).unwrap();
    }
}

for_each_kind! {
    fn try_reserve_does_not_take_a_slot_set_aside_for_a_woken_putter<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut waiting = task::spawn(q.reserve());
        assert_pending!(waiting.poll());
        assert_eq!(q.try_get(), Ok(1));
        assert!(waiting.is_woken());
        assert!(matches!(q.try_reserve(), Err(TryPutError::Full(()))));
        assert_ready_ok!(waiting.poll()).put(2);
    }
}

for_each_kind! {
    fn reserve_fails_after_shutdown_including_while_it_waits<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut waiting = task::spawn(q.reserve());
        assert_pending!(waiting.poll());
        q.shutdown();
        assert!(waiting.is_woken());
        assert_ready_err!(waiting.poll());
        assert!(matches!(q.try_reserve(), Err(TryPutError::Shutdown(()))));
        let mut late = task::spawn(q.reserve());
        assert_ready_err!(late.poll());
    }
}

for_each_kind! {
    fn after_shutdown_the_getters_wait_for_a_permit_held_before_it<Q>() {
        let q = Q::unbounded();
        let permit = q.try_reserve().unwrap();
        q.shutdown();
        let mut get = task::spawn(q.get());
        assert_pending!(get.poll(), "an item may still come from the permit");
        assert_eq!(q.try_get(), Err(TryGetError::Empty));
        permit.put(5);
        assert!(get.is_woken());
        assert_eq!(assert_ready_ok!(get.poll()), 5);
        assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
    }
}

for_each_kind! {
    fn after_shutdown_the_last_permit_dropped_lets_the_getters_fail<Q>() {
        let q = Q::bounded(2);
        let permit = q.try_reserve().unwrap();
        q.shutdown();
        let mut get = task::spawn(q.get());
        assert_pending!(get.poll());
        drop(permit);
        assert!(get.is_woken());
        assert_ready_err!(get.poll());
    }
}

for_each_kind! {
    fn join_waits_for_an_item_put_with_a_permit<Q>() {
        let q = Q::unbounded();
        let permit = q.try_reserve().unwrap();
        let mut join = task::spawn(q.join());
        assert_ready!(join.poll(), "a permit is not an item yet");
        permit.put(1);
        let mut join = task::spawn(q.join());
        assert_pending!(join.poll());
        assert_eq!(q.try_get(), Ok(1));
        q.task_done().unwrap();
        assert!(join.is_woken());
        assert_ready!(join.poll());
    }
}

#[test]
fn after_shutdown_immediate_a_permit_drops_its_item() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::bounded(2);
    let permit = q.try_reserve().unwrap();
    let mut get = task::spawn(q.get());
    assert_pending!(get.poll());
    assert!(q.shutdown_immediate().is_empty());
    assert!(get.is_woken());
    assert_ready_err!(
        get.poll(),
        "nobody waits for a permit after shutdown_immediate"
    );
    permit.put(Tracked::new(1, &drops));
    assert_eq!(drops.load(SeqCst), 1, "the item was dropped");
    assert!(q.try_get().is_err());
}

#[tokio::test]
async fn an_owned_permit_moves_into_another_task() {
    let q = Queue::bounded(1);
    let permit = q.clone().reserve_owned().await.unwrap();
    assert!(q.is_full());
    let back = tokio::spawn(async move { permit.put(1) }).await.unwrap();
    assert_eq!(back.try_get(), Ok(1));
    let permit = q.clone().reserve_owned().await.unwrap();
    drop(permit);
    assert!(!q.is_full(), "an unused owned permit gives its slot back");
}

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync<T: Send + Sync>(_: &T) {}

/// The futures and permits move across threads, as `spawn` needs.
#[test]
fn reserve_futures_and_permits_are_send() {
    use corral::queue::{LifoQueue, PriorityQueue};
    let q = Queue::<String>::bounded(1);
    assert_send(&q.reserve());
    assert_send(&q.clone().reserve_owned());
    let permit = q.try_reserve().unwrap();
    assert_send_sync(&permit);
    drop(permit);
    let lifo = LifoQueue::<String>::unbounded();
    assert_send_sync(&lifo.try_reserve().unwrap());
    let prio = PriorityQueue::<String>::unbounded();
    assert_send(&prio.reserve());
    assert_send_sync(&prio.try_reserve().unwrap());
}
