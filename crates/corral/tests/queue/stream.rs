//! The queues as `Stream`s of their items.

use corral::queue::{LifoQueue, PriorityQueue, Queue};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Wake, Waker};

use futures::stream::FusedStream;
use futures::{Stream, StreamExt};
use tokio_test::{assert_pending, assert_ready_eq, assert_ready_ok, task};

#[tokio::test]
async fn a_stream_yields_the_items_and_ends_after_shutdown() {
    let q = Queue::unbounded();
    for n in 0..5 {
        q.put(n).await.unwrap();
    }
    q.shutdown();
    let mut items = q.clone().into_stream();
    let mut got = Vec::new();
    while let Some(n) = items.next().await {
        got.push(n);
        q.task_done().unwrap();
    }
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert!(items.is_terminated());
    assert_eq!(items.next().await, None, "fused");
    q.join().await;
}

#[tokio::test]
async fn lifo_and_priority_streams_keep_their_order() {
    let lifo = LifoQueue::unbounded();
    let prio = PriorityQueue::unbounded();
    for n in [2, 0, 1] {
        lifo.put(n).await.unwrap();
        prio.put(n).await.unwrap();
    }
    lifo.shutdown();
    prio.shutdown();
    assert_eq!(lifo.into_stream().collect::<Vec<_>>().await, [1, 0, 2]);
    assert_eq!(prio.into_stream().collect::<Vec<_>>().await, [0, 1, 2]);
}

#[test]
fn a_stream_waits_for_items_like_get() {
    let q = Queue::unbounded();
    let mut items = task::spawn(q.clone().into_stream());
    assert_pending!(items.poll_next());
    q.try_put(1).unwrap();
    assert!(items.is_woken());
    assert_ready_eq!(items.poll_next(), Some(1));
    assert_pending!(items.poll_next());
    q.shutdown();
    assert!(items.is_woken());
    assert_ready_eq!(items.poll_next(), None);
}

/// A waker that counts its wakes; its `Arc`'s strong count says who still holds it.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    (counter.clone(), Waker::from(counter))
}

fn wakes(counter: &CountingWaker) -> usize {
    counter.0.load(SeqCst)
}

/// Two consumers wait: the stream, then a `get`. The stream is woken for the item, loses it to
/// the `get`, waits again, and is dropped while it waits: it leaves the line (its waker goes
/// with it), so the next item goes to the next consumer and the gone stream is not woken.
#[test]
fn a_stream_dropped_after_it_was_woken_passes_the_item_on() {
    let q = Queue::unbounded();
    let (counter, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut items = Box::pin(q.clone().into_stream());
    let mut first = task::spawn(q.get());
    assert!(items.as_mut().poll_next(&mut cx).is_pending());
    assert_pending!(first.poll());
    q.try_put(1).unwrap();
    assert_eq!(wakes(&counter), 1, "the stream is woken for the item");
    assert!(first.is_woken(), "and so is the get behind it");
    assert_eq!(assert_ready_ok!(first.poll()), 1, "the get takes it");
    assert!(
        items.as_mut().poll_next(&mut cx).is_pending(),
        "nothing left: the stream waits again"
    );

    drop(items);
    drop(waker);
    let mut second = task::spawn(q.get());
    assert_pending!(second.poll());
    q.try_put(2).unwrap();
    assert!(
        second.is_woken(),
        "the item is passed on to the next consumer"
    );
    assert_eq!(assert_ready_ok!(second.poll()), 2);
    assert_eq!(wakes(&counter), 1, "the dropped stream was woken again");
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "the queue still holds the dropped stream's waker"
    );
    assert!(q.is_empty());
}

/// A stream is never counted among the getters an item is kept for: dropped after it was woken
/// and before it looked, it leaves the count of the `get` woken with it intact.
#[test]
fn a_stream_dropped_woken_and_unpolled_leaves_the_get_behind_it_its_item() {
    let q = Queue::unbounded();
    let mut items = task::spawn(q.clone().into_stream());
    let mut first = task::spawn(q.get());
    assert_pending!(items.poll_next());
    assert_pending!(first.poll());
    q.try_put(1).unwrap();
    assert!(items.is_woken() && first.is_woken());
    drop(items); // woken, never polled again
    assert_eq!(assert_ready_ok!(first.poll()), 1);
    assert!(q.try_get().is_err(), "nothing is left");
    q.try_put(2).unwrap();
    assert_eq!(q.try_get(), Ok(2), "and the next item is free");
}

#[test]
fn a_stream_dropped_while_waiting_takes_nothing() {
    let q = LifoQueue::unbounded();
    let (counter, waker) = counting_waker();
    let mut items = Box::pin(q.clone().into_stream());
    assert!(
        items
            .as_mut()
            .poll_next(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(waker);
    assert_eq!(Arc::strong_count(&counter), 2, "the queue holds the waker");
    drop(items);
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "the dropped stream's waker is let go at the drop"
    );
    q.try_put(1).unwrap();
    assert_eq!(wakes(&counter), 0, "a stream that is gone was woken");
    assert_eq!(q.try_get(), Ok(1), "the item is left for others");
}

#[test]
fn a_priority_stream_ends_at_once_after_shutdown_immediate() {
    let q = PriorityQueue::unbounded();
    q.try_put(1).unwrap();
    let mut items = task::spawn(q.clone().into_stream());
    assert_eq!(q.shutdown_immediate(), [1]);
    assert_ready_eq!(items.poll_next(), None);
}

/// A stream whose `next()` lost a `select!` sits idle: it must not hold the next item while a
/// `get` waits for one.
#[test]
fn an_idle_stream_does_not_hold_an_item_a_waiting_get_could_take() {
    let q = Queue::unbounded();
    let mut items = q.clone().into_stream();
    {
        let mut next = task::spawn(items.next());
        assert_pending!(next.poll());
    } // `next()` lost the race and was dropped; the stream is kept, and idle
    let mut get = task::spawn(q.get());
    assert_pending!(get.poll());

    q.try_put(1).unwrap();
    assert!(get.is_woken(), "the waiting get is woken for the item");
    assert_eq!(assert_ready_ok!(get.poll()), 1);
}

#[test]
fn an_idle_stream_does_not_hold_an_item_try_get_could_take() {
    let q = LifoQueue::unbounded();
    let mut items = q.clone().into_stream();
    {
        let mut next = task::spawn(items.next());
        assert_pending!(next.poll());
    }
    q.try_put(1).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        q.try_get(),
        Ok(1),
        "the item is free while the stream is idle"
    );
    let mut fresh = task::spawn(q.get());
    q.try_put(2).unwrap();
    assert_eq!(
        assert_ready_ok!(fresh.poll()),
        2,
        "a fresh get takes it too"
    );
}

#[test]
fn a_woken_stream_takes_the_item_if_it_is_still_free() {
    let q = PriorityQueue::unbounded();
    let mut items = task::spawn(q.clone().into_stream());
    assert_pending!(items.poll_next());
    q.try_put(1).unwrap();
    assert!(items.is_woken(), "no lost wake-up: the stream is told");
    assert_ready_eq!(items.poll_next(), Some(1));
}

#[test]
fn a_woken_stream_that_lost_the_item_waits_again() {
    let q = Queue::unbounded();
    let mut items = task::spawn(q.clone().into_stream());
    assert_pending!(items.poll_next());
    q.try_put(1).unwrap();
    assert!(items.is_woken());
    assert_eq!(
        q.try_get(),
        Ok(1),
        "a stream holds nothing, even when woken"
    );
    assert_pending!(items.poll_next(), "it waits again");
    q.try_put(2).unwrap();
    assert!(items.is_woken());
    assert_ready_eq!(items.poll_next(), Some(2));
}

#[test]
fn a_waiting_stream_after_shutdown_ends_once_drained() {
    let q = Queue::unbounded();
    let mut items = task::spawn(q.clone().into_stream());
    let mut get = task::spawn(q.get());
    assert_pending!(items.poll_next());
    assert_pending!(get.poll());
    q.try_put(1).unwrap();
    q.shutdown();
    assert_eq!(
        assert_ready_ok!(get.poll()),
        1,
        "the get in line behind it takes the item"
    );
    assert!(items.is_woken());
    assert_ready_eq!(items.poll_next(), None);
}
