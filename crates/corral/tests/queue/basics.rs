//! Construction, sizes, handles, errors, and the plain waits of `put` and `get`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use corral::queue::{
    GetError, LifoQueue, PriorityQueue, PutError, Queue, TaskDoneError, TryGetError, TryPutError,
    ZeroCapacityError,
};
use tokio_test::{assert_pending, assert_ready_ok, task};

use crate::for_each_kind;
use crate::support::Tracked;

#[test]
#[should_panic(expected = "queue capacity must be at least 1")]
fn bounded_zero_panics() {
    let _ = Queue::<u8>::bounded(0);
}

#[test]
#[should_panic(expected = "queue capacity must be at least 1")]
fn priority_bounded_zero_panics() {
    let _ = PriorityQueue::<u8>::bounded(0);
}

#[test]
#[should_panic(expected = "queue capacity must be at least 1")]
fn lifo_bounded_zero_panics() {
    let _ = LifoQueue::<u8>::bounded(0);
}

#[test]
fn try_bounded_refuses_zero_and_accepts_the_rest() {
    assert!(Queue::<u8>::try_bounded(0).is_err());
    assert!(LifoQueue::<u8>::try_bounded(0).is_err());
    assert!(PriorityQueue::<u8>::try_bounded(0).is_err());
    assert_eq!(
        Queue::<u8>::try_bounded(1).map(|q| q.capacity()),
        Ok(Some(1))
    );
    assert_eq!(
        Queue::<u8>::try_bounded(usize::MAX).map(|q| q.capacity()),
        Ok(Some(usize::MAX)),
        "a huge bound reserves no huge buffer"
    );
}

#[test]
fn sizes_follow_the_items() {
    let q = Queue::bounded(2);
    assert_eq!(
        (q.len(), q.is_empty(), q.is_full(), q.capacity()),
        (0, true, false, Some(2))
    );
    q.try_put('a').unwrap();
    assert_eq!((q.len(), q.is_empty(), q.is_full()), (1, false, false));
    q.try_put('b').unwrap();
    assert_eq!((q.len(), q.is_empty(), q.is_full()), (2, false, true));
    assert!(q.try_put('c').unwrap_err().is_full());
    q.try_get().unwrap();
    assert!(!q.is_full());
}

#[test]
fn an_unbounded_queue_is_never_full() {
    let q = Queue::default();
    for n in 0..10_000 {
        q.try_put(n).unwrap();
    }
    assert_eq!((q.len(), q.is_full(), q.capacity()), (10_000, false, None));
    assert_eq!(PriorityQueue::<u8>::default().capacity(), None);
    assert_eq!(LifoQueue::<u8>::default().capacity(), None);
}

for_each_kind! {
    fn put_waits_for_room_and_is_woken_by_get<Q>() {
        let q = Q::bounded(1);
        q.try_put(1).unwrap();
        let mut put = task::spawn(q.put(2));
        assert_pending!(put.poll());
        assert!(q.is_full());
        assert_eq!(q.try_get(), Ok(1));
        assert!(put.is_woken());
        assert_ready_ok!(put.poll());
        assert_eq!(q.try_get(), Ok(2));
    }
}

for_each_kind! {
    fn get_waits_for_an_item_and_is_woken_by_put<Q>() {
        let q = Q::unbounded();
        let mut get = task::spawn(q.get());
        assert_pending!(get.poll());
        let mut put = task::spawn(q.put(5));
        assert_ready_ok!(put.poll());
        assert!(get.is_woken());
        assert_eq!(assert_ready_ok!(get.poll()), 5);
    }
}

for_each_kind! {
    fn clones_are_handles_to_one_queue<Q>() {
        let q = Q::bounded(2);
        let other = q.clone();
        q.try_put(1).unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other.try_get(), Ok(1));
        other.shutdown();
        assert!(q.try_put(2).unwrap_err().is_shutdown());
    }
}

#[test]
fn dropping_a_handle_does_nothing_and_the_last_drops_the_items() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::unbounded();
    let other = q.clone();
    q.try_put(Tracked::new(1, &drops)).unwrap();
    q.try_put(Tracked::new(2, &drops)).unwrap();
    drop(q);
    assert_eq!(drops.load(SeqCst), 0);
    assert!(
        !other.is_shutdown(),
        "dropping a handle does not close the queue"
    );
    assert_eq!(other.try_get().map(|item| item.id), Ok(1));
    assert_eq!(drops.load(SeqCst), 1);
    drop(other);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn queues_are_send_and_sync_handles_and_their_futures_are_send() {
    fn is_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    fn is_send<T: Send>(_: &T) {}
    fn is_unpin<T: Unpin>(_: &T) {}
    is_send_sync_clone::<Queue<String>>();
    is_send_sync_clone::<LifoQueue<String>>();
    is_send_sync_clone::<PriorityQueue<String>>();

    let q = Queue::<String>::bounded(1);
    is_send(&q.put(String::new()));
    is_send(&q.get());
    is_send(&q.join());
    let stream = q.clone().into_stream();
    is_send(&stream);
    is_unpin(&stream);
    let prio = PriorityQueue::<String>::unbounded();
    is_send(&prio.put(String::new()));
    is_send(&prio.get());
    is_unpin(&prio.into_stream());
    let lifo = LifoQueue::<String>::unbounded();
    is_send(&lifo.get());
    is_unpin(&lifo.into_stream());
}

#[test]
fn debug_shows_the_state_without_needing_item_debug() {
    struct Opaque;
    let q = Queue::bounded(1);
    q.try_put(Opaque).unwrap();
    let text = format!("{q:?}");
    assert!(text.contains("len: 1"), "{text}");
    assert!(text.contains("capacity: Some(1)"), "{text}");
    assert!(text.contains("unfinished: 1"), "{text}");
    assert!(text.contains("shutdown: false"), "{text}");

    let err = q.try_put(Opaque).unwrap_err();
    assert_eq!(format!("{err:?}"), "Full(..)");
    q.shutdown();
    let mut put = task::spawn(q.put(Opaque));
    let put_err: PutError<Opaque> = tokio_test::assert_ready_err!(put.poll());
    assert_eq!(format!("{put_err:?}"), "PutError(..)");
    assert_eq!(
        format!("{:?}", TryPutError::Shutdown(Opaque)),
        "Shutdown(..)"
    );
}

#[test]
fn errors_are_small_terse_and_thread_safe() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<PutError<String>>();
    is_error::<TryPutError<String>>();
    is_error::<GetError>();
    is_error::<TryGetError>();
    is_error::<TaskDoneError>();
    is_error::<ZeroCapacityError>();

    assert_eq!(TryPutError::Full(()).to_string(), "queue is full");
    assert_eq!(TryPutError::Shutdown(()).to_string(), "queue is shut down");
    assert_eq!(TryGetError::Empty.to_string(), "queue is empty");
    assert_eq!(
        TryGetError::Shutdown.to_string(),
        "queue is shut down and empty"
    );
    assert!(TryPutError::Full(1).is_full() && !TryPutError::Full(1).is_shutdown());
    assert_eq!(TryPutError::Shutdown(4).into_inner(), 4);
}
