//! `len`, `is_empty` and `is_full` agree with what `try_get` and `try_put` do, at every moment,
//! including while an item or a slot is set aside for a woken task. No concurrency: each test
//! drives the futures by hand. (The property tests check the same after every random step.)

use corral::queue::{TryGetError, TryPutError};
use tokio_test::{assert_pending, assert_ready_ok, task};

use crate::for_each_kind;

for_each_kind! {
    fn an_item_set_aside_for_a_woken_get_is_not_counted<Q>() {
        let q = Q::unbounded();
        let mut waiting = task::spawn(q.get());
        assert_pending!(waiting.poll());
        q.try_put(1).unwrap();
        assert!(waiting.is_woken());

        assert!(q.is_empty(), "try_get finds nothing to take");
        assert_eq!(q.len(), 0);
        assert_eq!(q.try_get(), Err(TryGetError::Empty));

        q.try_put(2).unwrap();
        assert_eq!(q.len(), 1, "one item beyond the one set aside");
        assert!(!q.is_empty());
        assert!(q.try_get().is_ok());
        assert_ready_ok!(waiting.poll());
        assert!(q.is_empty());
    }
}

for_each_kind! {
    fn a_slot_set_aside_for_a_woken_put_is_not_free<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut waiting = task::spawn(q.put(2));
        assert_pending!(waiting.poll());
        assert_eq!(q.try_get(), Ok(1));
        assert!(waiting.is_woken());

        assert!(q.is_full(), "try_put finds no slot");
        assert!(matches!(q.try_put(3), Err(TryPutError::Full(3))));
        assert!(q.is_empty(), "and no item either");
        assert_ready_ok!(waiting.poll());
        assert!(q.is_full());
        assert_eq!(q.len(), 1);
    }
}

for_each_kind! {
    fn a_woken_get_dropped_gives_the_item_back_to_the_count<Q>() {
        let q = Q::unbounded();
        let mut waiting = task::spawn(q.get());
        assert_pending!(waiting.poll());
        q.try_put(1).unwrap();
        assert!(q.is_empty());
        drop(waiting);
        assert_eq!(q.len(), 1, "nobody waits: the item is free, and counted");
        assert_eq!(q.try_get(), Ok(1));
    }
}

#[test]
fn debug_formats_with_no_lock_held() {
    let queue = corral::queue::Queue::<u32>::bounded(4);
    let probed = queue.clone();
    // The probe takes the queue's lock.
    let probe = move || {
        let _ = probed.len();
    };
    assert!(!crate::lock_probe::debug_formats_under_lock(&queue, probe));
}
