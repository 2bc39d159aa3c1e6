//! `task_done` and `join`: `join` returns exactly when every item put has been marked done, and
//! `task_done` beyond the items taken is an error.

use std::time::Duration;

use corral::queue::Queue;
use tokio_test::{assert_pending, assert_ready, task};

use crate::for_each_kind;

for_each_kind! {
    fn join_is_ready_at_once_when_nothing_is_unfinished<Q>() {
        let q = Q::unbounded();
        let mut join = task::spawn(q.join());
        assert_ready!(join.poll());
    }
}

for_each_kind! {
    fn join_waits_until_every_item_is_marked_done<Q>() {
        let q = Q::unbounded();
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        let mut join = task::spawn(q.join());
        assert_pending!(join.poll());

        q.try_get().unwrap();
        q.try_get().unwrap();
        assert_pending!(join.poll(), "taken is not done");
        q.task_done().unwrap();
        assert!(!join.is_woken());
        assert_pending!(join.poll());
        q.task_done().unwrap();
        assert!(join.is_woken());
        assert_ready!(join.poll());
    }
}

for_each_kind! {
    fn task_done_beyond_the_items_taken_is_an_error<Q>() {
        let q = Q::unbounded();
        assert!(q.task_done().is_err(), "nothing taken");
        q.try_put(1).unwrap();
        assert!(q.task_done().is_err(), "put, but not taken");
        q.try_get().unwrap();
        q.task_done().unwrap();
        assert!(q.task_done().is_err(), "one taken, one done");

        // The error changed nothing: the queue still counts correctly.
        q.try_put(2).unwrap();
        let mut join = task::spawn(q.join());
        assert_pending!(join.poll());
        q.try_get().unwrap();
        q.task_done().unwrap();
        assert_ready!(join.poll());
    }
}

for_each_kind! {
    fn join_also_waits_for_items_put_while_it_waits<Q>() {
        let q = Q::unbounded();
        q.try_put(1).unwrap();
        let mut join = task::spawn(q.join());
        assert_pending!(join.poll());
        q.try_get().unwrap();
        q.try_put(2).unwrap();
        q.task_done().unwrap();
        assert_pending!(join.poll());
        q.try_get().unwrap();
        q.task_done().unwrap();
        assert_ready!(join.poll());
    }
}

for_each_kind! {
    fn every_joiner_is_released<Q>() {
        let q = Q::unbounded();
        q.try_put(1).unwrap();
        let mut joins: Vec<_> = (0..3).map(|_| task::spawn(q.join())).collect();
        for join in &mut joins {
            assert_pending!(join.poll());
        }
        q.try_get().unwrap();
        q.task_done().unwrap();
        for join in &mut joins {
            assert!(join.is_woken());
            assert_ready!(join.poll());
        }
    }
}

for_each_kind! {
    fn join_after_all_done_is_ready_again<Q>() {
        let q = Q::unbounded();
        for round in 0..3 {
            q.try_put(round).unwrap();
            let mut join = task::spawn(q.join());
            assert_pending!(join.poll());
            q.try_get().unwrap();
            q.task_done().unwrap();
            assert_ready!(join.poll());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn join_returns_once_the_workers_have_processed_everything() {
    let q = Queue::bounded(4);
    let processed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..3 {
        let q = q.clone();
        let processed = processed.clone();
        workers.push(tokio::spawn(async move {
            while let Ok(ms) = q.get().await {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                processed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                q.task_done().unwrap();
            }
        }));
    }
    for ms in [5, 1, 8, 2, 7, 3, 9, 4, 6, 10] {
        q.put(ms).await.unwrap();
    }
    q.join().await;
    assert_eq!(processed.load(std::sync::atomic::Ordering::SeqCst), 10);
    q.shutdown();
    for worker in workers {
        worker.await.unwrap();
    }
}
