//! `shutdown` (put fails, get drains then fails) and `shutdown_immediate` (Python 3.13's
//! `shutdown(immediate=True)`).

use corral::queue::{Queue, TryGetError};
use tokio_test::{assert_pending, assert_ready, assert_ready_err, assert_ready_ok, task};

use crate::for_each_kind;

for_each_kind! {
    fn after_shutdown_put_fails_and_gives_the_item_back<Q>() {
        let q = Q::unbounded();
        q.shutdown();
        assert_eq!(q.try_put(1).unwrap_err().into_inner(), 1);
        let mut put = task::spawn(q.put(2));
        assert_eq!(assert_ready_err!(put.poll()).into_inner(), 2);
        assert!(q.is_empty());
    }
}

for_each_kind! {
    fn after_shutdown_get_drains_what_is_left_then_fails<Q>() {
        let q = Q::unbounded();
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        q.shutdown();
        let mut got = [q.try_get().unwrap(), 0];
        let mut get = task::spawn(q.get());
        got[1] = assert_ready_ok!(get.poll());
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
        let mut get = task::spawn(q.get());
        assert_ready_err!(get.poll());
    }
}

for_each_kind! {
    fn shutdown_fails_waiting_putters_with_their_items<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut a = task::spawn(q.put(2));
        let mut b = task::spawn(q.put(3));
        assert_pending!(a.poll());
        assert_pending!(b.poll());
        q.shutdown();
        assert!(a.is_woken() && b.is_woken());
        assert_eq!(assert_ready_err!(a.poll()).into_inner(), 2);
        assert_eq!(assert_ready_err!(b.poll()).into_inner(), 3);
        assert_eq!(q.try_get(), Ok(1), "what was queued is still delivered");
    }
}

for_each_kind! {
    fn shutdown_fails_getters_waiting_on_an_empty_queue<Q>() {
        let q = Q::unbounded();
        let mut a = task::spawn(q.get());
        let mut b = task::spawn(q.get());
        assert_pending!(a.poll());
        assert_pending!(b.poll());
        q.shutdown();
        assert!(a.is_woken() && b.is_woken());
        assert_ready_err!(a.poll());
        assert_ready_err!(b.poll());
    }
}

for_each_kind! {
    fn a_woken_getter_still_gets_its_item_after_shutdown<Q>() {
        let q = Q::unbounded();
        let mut woken = task::spawn(q.get());
        assert_pending!(woken.poll());
        q.try_put(1).unwrap();
        q.shutdown();
        assert_eq!(q.try_get(), Err(TryGetError::Empty), "the item is set aside, not gone");
        assert_eq!(assert_ready_ok!(woken.poll()), 1);
        assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
    }
}

for_each_kind! {
    fn after_shutdown_a_getter_waits_for_an_item_that_may_be_passed_on<Q>() {
        let q = Q::unbounded();
        let mut woken = task::spawn(q.get());
        assert_pending!(woken.poll());
        q.try_put(1).unwrap();
        q.shutdown();

        let mut later = task::spawn(q.get());
        assert_pending!(later.poll(), "an item is left, set aside for a getter that may drop it");
        drop(woken);
        assert!(later.is_woken());
        assert_eq!(assert_ready_ok!(later.poll()), 1);
    }
}

for_each_kind! {
    fn after_shutdown_the_last_item_taken_fails_the_getters_left<Q>() {
        let q = Q::unbounded();
        let mut woken = task::spawn(q.get());
        assert_pending!(woken.poll());
        q.try_put(1).unwrap();
        q.shutdown();

        let mut later = task::spawn(q.get());
        assert_pending!(later.poll());
        assert_eq!(assert_ready_ok!(woken.poll()), 1);
        assert!(later.is_woken(), "nothing is left for it");
        assert_ready_err!(later.poll());
    }
}

for_each_kind! {
    fn shutdown_twice_is_harmless<Q>() {
        let q = Q::unbounded();
        q.try_put(1).unwrap();
        q.shutdown();
        q.shutdown();
        assert_eq!(q.try_get(), Ok(1));
        assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
    }
}

for_each_kind! {
    fn shutdown_immediate_removes_every_item_and_fails_everyone<Q>() {
        let q = Q::bounded(2);
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        let mut putter = task::spawn(q.put(3));
        assert_pending!(putter.poll());

        let mut removed = q.shutdown_immediate();
        removed.sort_unstable();
        assert_eq!(removed, [1, 2]);
        assert!(q.is_empty());
        assert!(putter.is_woken());
        assert_eq!(assert_ready_err!(putter.poll()).into_inner(), 3);
        assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
        assert!(q.shutdown_immediate().is_empty(), "a second call finds nothing");
    }
}

for_each_kind! {
    fn shutdown_immediate_fails_waiting_getters<Q>() {
        let q = Q::unbounded();
        let mut waiting = task::spawn(q.get());
        assert_pending!(waiting.poll());
        assert!(q.shutdown_immediate().is_empty());
        assert!(waiting.is_woken());
        assert_ready_err!(waiting.poll());
    }
}

for_each_kind! {
    fn shutdown_immediate_takes_the_item_of_a_woken_getter<Q>() {
        let q = Q::unbounded();
        let mut woken = task::spawn(q.get());
        assert_pending!(woken.poll());
        q.try_put(1).unwrap();
        assert_eq!(q.shutdown_immediate(), [1]);
        assert_ready_err!(woken.poll());
    }
}

for_each_kind! {
    fn shutdown_immediate_after_shutdown_removes_the_rest<Q>() {
        let q = Q::unbounded();
        q.try_put(1).unwrap();
        q.shutdown();
        assert_eq!(q.shutdown_immediate(), [1]);
        assert_eq!(q.try_get(), Err(TryGetError::Shutdown));
    }
}

for_each_kind! {
    fn shutdown_immediate_counts_removed_items_as_done<Q>() {
        let q = Q::unbounded();
        for n in 0..3 {
            q.try_put(n).unwrap();
        }
        q.try_get().unwrap(); // taken, not yet done
        let mut join = task::spawn(q.join());
        assert_pending!(join.poll());
        assert_eq!(q.shutdown_immediate().len(), 2);
        assert_pending!(join.poll(), "the item taken is not done yet");
        q.task_done().unwrap();
        assert!(join.is_woken());
        assert_ready!(join.poll());
        assert!(q.task_done().is_err(), "removed items cannot be marked done");
    }
}

#[test]
fn is_shutdown_says_whether_either_shutdown_was_called() {
    let a = Queue::<u8>::unbounded();
    let b = Queue::<u8>::unbounded();
    assert!(!a.is_shutdown());
    a.shutdown();
    b.shutdown_immediate();
    assert!(a.is_shutdown() && b.is_shutdown());
}

#[test]
fn shutdown_immediate_releases_join_when_only_queued_items_were_unfinished() {
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    let mut join = task::spawn(q.join());
    assert_pending!(join.poll());
    q.shutdown_immediate();
    assert!(join.is_woken());
    assert_ready!(join.poll());
}

/// A getter's waker that panics when woken.
fn panicking_waker() -> std::task::Waker {
    struct Panicking;
    impl std::task::Wake for Panicking {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("a user waker panicked in wake");
        }
    }
    std::task::Waker::from(std::sync::Arc::new(Panicking))
}

/// `shutdown` wakes every getter after unlocking; one whose waker panics must not strand the
/// getters after it (they were taken off the wait list: nobody would wake them again). The
/// waker is another task's: its panic is reported, not passed to the caller of `shutdown`.
#[test]
fn a_panicking_waker_strands_no_other_getter_at_shutdown() {
    let reports = crate::reports::Reports::collect();
    let q: Queue<u32> = Queue::unbounded();
    let mut first = Box::pin(q.get());
    let waker = panicking_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(first.as_mut().poll(&mut cx).is_pending());
    let mut second = task::spawn(q.get());
    assert_pending!(second.poll());
    q.shutdown();
    assert!(
        second.is_woken(),
        "the getter after the panicking waker was stranded"
    );
    assert!(
        assert_ready!(second.poll()).is_err(),
        "it sees the shutdown"
    );
    reports.assert_any("a waiting task's waker");
}

/// A `get` taken off the wait list (notified) and then dropped before it ran passes its item on
/// to the next getter, from its destructor: a panic of that getter's waker is reported, not let
/// out of `Drop` (where, during an unwind, it would abort the process).
#[test]
fn a_panicking_waker_does_not_escape_a_dropped_gets_destructor() {
    let reports = crate::reports::Reports::collect();
    let q: Queue<u32> = Queue::unbounded();
    let mut notified = task::spawn(q.get());
    assert_pending!(notified.poll());
    let mut next = Box::pin(q.get());
    let waker = panicking_waker();
    assert!(
        next.as_mut()
            .poll(&mut std::task::Context::from_waker(&waker))
            .is_pending()
    );
    q.try_put(1).unwrap();
    assert!(notified.is_woken());
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(notified)));
    assert!(
        dropped.is_ok(),
        "the next getter's waker panic escaped the dropped get's Drop"
    );
    reports.assert_any("a waiting task's waker");
    drop(next);
    assert_eq!(q.try_get().unwrap(), 1, "the item is still there");
}

/// `try_get` takes an item and then wakes a waiting putter: a panic of that putter's waker is
/// reported, and the item is still returned (not dropped with the unwinding frame, while the
/// queue counts it as taken).
#[test]
fn a_panicking_putters_waker_does_not_lose_the_item_try_get_took() {
    let reports = crate::reports::Reports::collect();
    let q: Queue<u32> = Queue::bounded(1);
    q.try_put(1).unwrap();
    let mut put = Box::pin(q.put(2));
    let waker = panicking_waker();
    assert!(
        put.as_mut()
            .poll(&mut std::task::Context::from_waker(&waker))
            .is_pending()
    );
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.try_get()));
    assert_eq!(got.ok().and_then(Result::ok), Some(1), "the item was lost");
    reports.assert_any("a waiting task's waker");
}
