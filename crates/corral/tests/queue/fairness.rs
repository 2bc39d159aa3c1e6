//! First come, first served: waiters are woken in arrival order, and nothing that did not wait
//! (`try_put`, `try_get`, a fresh `put` or `get`) takes a slot or an item freed for a woken
//! waiter.

use tokio_test::{assert_pending, assert_ready_ok, task};

use crate::for_each_kind;

for_each_kind! {
    fn getters_are_woken_in_arrival_order<Q>() {
        let q = Q::unbounded();
        let mut first = task::spawn(q.get());
        let mut second = task::spawn(q.get());
        assert_pending!(first.poll());
        assert_pending!(second.poll());

        q.try_put(1).unwrap();
        assert!(first.is_woken());
        assert!(!second.is_woken(), "one item wakes one getter");

        q.try_put(2).unwrap();
        assert!(second.is_woken());
        let mut got = [assert_ready_ok!(second.poll()), assert_ready_ok!(first.poll())];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    }
}

for_each_kind! {
    fn putters_are_woken_in_arrival_order<Q>() {
        let q = Q::bounded(1);
        q.try_put(0).unwrap();
        let mut first = task::spawn(q.put(1));
        let mut second = task::spawn(q.put(2));
        assert_pending!(first.poll());
        assert_pending!(second.poll());

        assert_eq!(q.try_get().unwrap(), 0);
        assert!(first.is_woken());
        assert!(!second.is_woken(), "one slot wakes one putter");
        assert_ready_ok!(first.poll());
        assert_pending!(second.poll());

        assert_eq!(q.try_get().unwrap(), 1);
        assert!(second.is_woken());
        assert_ready_ok!(second.poll());
        assert_eq!(q.try_get().unwrap(), 2);
    }
}

for_each_kind! {
    fn a_getter_polled_again_keeps_its_place<Q>() {
        let q = Q::unbounded();
        let mut first = task::spawn(q.get());
        let mut second = task::spawn(q.get());
        assert_pending!(first.poll());
        assert_pending!(second.poll());
        assert_pending!(first.poll(), "a spurious poll does not move it to the back");

        q.try_put(7).unwrap();
        assert!(first.is_woken());
        assert!(!second.is_woken());
        assert_eq!(assert_ready_ok!(first.poll()), 7);
    }
}

for_each_kind! {
    fn try_get_does_not_take_an_item_set_aside_for_a_woken_getter<Q>() {
        let q = Q::unbounded();
        let mut waiting = task::spawn(q.get());
        assert_pending!(waiting.poll());

        q.try_put(1).unwrap();
        assert!(waiting.is_woken());
        assert_eq!(q.try_get(), Err(corral::queue::TryGetError::Empty));
        assert!(q.is_empty(), "set aside: not counted, as try_get cannot take it");
        assert_eq!(assert_ready_ok!(waiting.poll()), 1);
    }
}

for_each_kind! {
    fn a_fresh_get_does_not_overtake_a_woken_getter<Q>() {
        let q = Q::unbounded();
        let mut waiting = task::spawn(q.get());
        assert_pending!(waiting.poll());
        q.try_put(1).unwrap();

        let mut fresh = task::spawn(q.get());
        assert_pending!(fresh.poll());
        assert_eq!(assert_ready_ok!(waiting.poll()), 1);

        q.try_put(2).unwrap();
        assert!(fresh.is_woken());
        assert_eq!(assert_ready_ok!(fresh.poll()), 2);
    }
}

for_each_kind! {
    fn try_get_takes_items_beyond_those_set_aside<Q>() {
        let q = Q::unbounded();
        let mut waiting = task::spawn(q.get());
        assert_pending!(waiting.poll());
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        // One item is set aside for the woken getter; the other is free.
        let mut got = [q.try_get().unwrap(), assert_ready_ok!(waiting.poll())];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    }
}

for_each_kind! {
    fn try_put_does_not_take_a_slot_freed_for_a_woken_putter<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut waiting = task::spawn(q.put(2));
        assert_pending!(waiting.poll());

        assert_eq!(q.try_get().unwrap(), 1);
        assert!(waiting.is_woken());
        assert!(q.try_put(3).unwrap_err().is_full(), "the slot is kept for the woken putter");
        assert_ready_ok!(waiting.poll());
        assert_eq!(q.try_get().unwrap(), 2);
    }
}

for_each_kind! {
    fn a_fresh_put_does_not_overtake_a_woken_putter<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut waiting = task::spawn(q.put(2));
        assert_pending!(waiting.poll());
        assert_eq!(q.try_get().unwrap(), 1);

        let mut fresh = task::spawn(q.put(3));
        assert_pending!(fresh.poll());
        assert_ready_ok!(waiting.poll());
        assert_eq!(q.try_get().unwrap(), 2);
        assert!(fresh.is_woken());
        assert_ready_ok!(fresh.poll());
        assert_eq!(q.try_get().unwrap(), 3);
    }
}
