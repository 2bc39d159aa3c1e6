//! The order each kind hands out its items in.

use std::cmp::Reverse;
use std::sync::{Arc, OnceLock};

use corral::queue::{LifoQueue, PriorityQueue, Queue};

use crate::reports::Reports;
use crate::support::Item;

#[test]
fn queue_is_first_in_first_out() {
    let q = Queue::unbounded();
    for n in 0..10 {
        q.try_put(n).unwrap();
    }
    let got: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn lifo_queue_is_last_in_first_out() {
    let q = LifoQueue::unbounded();
    for n in 0..10 {
        q.try_put(n).unwrap();
    }
    let got: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).collect();
    assert_eq!(got, (0..10).rev().collect::<Vec<_>>());
}

#[test]
fn priority_queue_gives_the_smallest_first() {
    let q = PriorityQueue::unbounded();
    for n in [5, 1, 4, 2, 3, 0] {
        q.try_put(n).unwrap();
    }
    let got: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).collect();
    assert_eq!(got, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn priority_queue_gives_equal_items_in_the_order_they_were_put() {
    let q = PriorityQueue::unbounded();
    let keys = [2, 1, 2, 0, 1, 2, 0];
    for (id, key) in (0..).zip(keys) {
        q.try_put(Item { key, id }).unwrap();
    }
    let got: Vec<_> = std::iter::from_fn(|| q.try_get().ok())
        .map(|item| (item.key, item.id))
        .collect();
    assert_eq!(
        got,
        [(0, 3), (0, 6), (1, 1), (1, 4), (2, 0), (2, 2), (2, 5)]
    );
}

#[test]
fn priority_queue_with_reverse_gives_the_largest_first() {
    let q = PriorityQueue::unbounded();
    for n in [3, 9, 1] {
        q.try_put(Reverse(n)).unwrap();
    }
    assert_eq!(q.try_get(), Ok(Reverse(9)));
}

#[test]
fn an_item_put_later_does_not_overtake_one_already_taken() {
    // "Priority order for items present at the same time": 5 is taken before 1 arrives.
    let q = PriorityQueue::unbounded();
    q.try_put(5).unwrap();
    assert_eq!(q.try_get(), Ok(5));
    q.try_put(1).unwrap();
    q.try_put(3).unwrap();
    assert_eq!(q.try_get(), Ok(1));
}

#[test]
fn shutdown_immediate_returns_the_items_in_get_order() {
    let fifo = Queue::unbounded();
    let lifo = LifoQueue::unbounded();
    let prio = PriorityQueue::unbounded();
    for n in [2, 0, 3, 1] {
        fifo.try_put(n).unwrap();
        lifo.try_put(n).unwrap();
        prio.try_put(n).unwrap();
    }
    assert_eq!(fifo.shutdown_immediate(), [2, 0, 3, 1]);
    assert_eq!(lifo.shutdown_immediate(), [1, 3, 0, 2]);
    assert_eq!(prio.shutdown_immediate(), [0, 1, 2, 3]);

    let ties = PriorityQueue::unbounded();
    for (id, key) in (0..).zip([1, 0, 1, 0]) {
        ties.try_put(Item { key, id }).unwrap();
    }
    let ids: Vec<_> = ties
        .shutdown_immediate()
        .iter()
        .map(|item| item.id)
        .collect();
    assert_eq!(ids, [1, 3, 0, 2]);
}

#[test]
fn order_holds_across_wrap_around_of_a_bounded_queue() {
    let q = Queue::bounded(3);
    let mut next = 0;
    let mut expected = 0;
    for _ in 0..20 {
        while q.try_put(next).is_ok() {
            next += 1;
        }
        for _ in 0..2 {
            assert_eq!(q.try_get(), Ok(expected));
            expected += 1;
        }
    }
}

/// An item whose `Ord` panics whenever it meets the number 13.
#[derive(Debug, PartialEq, Eq)]
struct Touchy(u32);

impl Ord for Touchy {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        assert!(self.0 != 13 && other.0 != 13, "cannot compare 13");
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Touchy {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[tokio::test]
async fn a_panicking_ord_loses_no_item_lets_join_return_and_is_reported() {
    use futures::FutureExt;

    let reports = Reports::collect();
    let q = PriorityQueue::unbounded();
    // Both `put` (sifting up) and `get` (sifting down) meet 13 here.
    for n in [5, 13, 3, 8, 1, 21, 2, 34] {
        q.put(Touchy(n)).await.unwrap();
    }
    let mut got = Vec::new();
    while let Ok(item) = q.try_get() {
        got.push(item.0);
        q.task_done().unwrap();
    }
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 5, 8, 13, 21, 34], "every item came out once");
    assert!(q.join().now_or_never().is_some(), "join returns");
    let reports = reports.lines();
    assert!(!reports.is_empty());
    assert!(
        reports
            .iter()
            .all(|line| line.contains("cannot compare 13")),
        "{reports:?}"
    );
}

/// An item whose `Ord` looks at the queue it is in (through `queue`, set once the queue is
/// made).
struct Nosy {
    n: u32,
    queue: Arc<OnceLock<PriorityQueue<Nosy>>>,
}

impl Ord for Nosy {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if let Some(queue) = self.queue.get() {
            let _ = queue.len(); // the queue's lock: held by the put or get comparing us
        }
        self.n.cmp(&other.n)
    }
}

impl PartialOrd for Nosy {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Nosy {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n
    }
}

impl Eq for Nosy {}

#[test]
fn an_ord_that_uses_its_own_queue_is_reported_instead_of_deadlocking() {
    let reports = Reports::collect();
    // On a thread of its own, so that a deadlock fails the test instead of hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let cell = Arc::new(OnceLock::new());
        let queue = PriorityQueue::unbounded();
        let _ = cell.set(queue.clone());
        for n in [3, 1, 2] {
            let nosy = Nosy {
                n,
                queue: cell.clone(),
            };
            queue.try_put(nosy).unwrap_or_else(|_| panic!("unbounded"));
        }
        let got: Vec<u32> =
            std::iter::from_fn(|| queue.try_get().ok().map(|item| item.n)).collect();
        let _ = done.send(got);
    });
    let got = finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("no deadlock");
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [1, 2, 3], "every item came out once");
    let reports = reports.lines();
    assert!(!reports.is_empty());
    assert!(
        reports
            .iter()
            .all(|line| line.contains("used from inside its items' Ord")),
        "{reports:?}"
    );
}

/// Queue A's items: once `ARMED`, the next comparison panics and every later one uses B.
#[derive(PartialEq, Eq)]
struct Layered(u32);

static A: OnceLock<PriorityQueue<Layered>> = OnceLock::new();
static B: OnceLock<PriorityQueue<u32>> = OnceLock::new();
/// 0: plain comparisons; 1: the next one panics; 2: each uses queue B.
static ARMED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

impl Ord for Layered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::sync::atomic::Ordering::SeqCst;
        match ARMED.load(SeqCst) {
            0 => {}
            1 => {
                ARMED.store(2, SeqCst);
                panic!("the armed comparison panics");
            }
            _ => {
                if let Some(b) = B.get() {
                    b.try_put(self.0).unwrap_or_else(|_| panic!("unbounded"));
                    let _ = b.try_get();
                }
            }
        }
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Layered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[test]
fn a_queue_used_inside_another_queues_ord_does_not_report_the_outer_queues_panic_under_its_lock() {
    // The hook touches queue A: under A's lock this would panic (refused re-entry).
    let reports = Reports::collect_with(|| format!(" with A at {:?}", A.get().map(|a| a.len())));
    let _ = B.set(PriorityQueue::unbounded());
    let a = A.get_or_init(PriorityQueue::unbounded);
    for n in 0..8 {
        a.try_put(Layered(n))
            .unwrap_or_else(|_| panic!("unbounded"));
    }
    // One `get` makes several comparisons: the first panics, the later ones use queue B.
    ARMED.store(1, std::sync::atomic::Ordering::SeqCst);
    assert!(a.try_get().is_ok());
    reports.assert_only("the armed comparison panics");
    assert_eq!(a.len(), 7);
}

/// Set in the child process of `a_priority_queue_used_from_a_thread_local_destructor_works`.
const CHILD: &str = "CORRAL_QUEUE_CHILD";

/// A thread-local whose destructor uses a priority queue (after the queue's own thread-local
/// storage may be gone).
struct LateUser(std::cell::RefCell<Option<PriorityQueue<Touchy>>>);

static LATE_ITEMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for LateUser {
    fn drop(&mut self) {
        if let Some(queue) = self.0.borrow_mut().take() {
            for n in [13, 1] {
                queue
                    .try_put(Touchy(n))
                    .unwrap_or_else(|_| panic!("unbounded"));
            }
            while queue.try_get().is_ok() {
                LATE_ITEMS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }
}

thread_local! {
    static LATE_USER: LateUser = const { LateUser(std::cell::RefCell::new(None)) };
}

#[test]
fn child_a_priority_queue_used_from_a_thread_local_destructor() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    std::thread::spawn(|| {
        // Registered first, so destroyed after the queue's thread-locals, which the
        // comparisons below register.
        LATE_USER.with(|user| *user.0.borrow_mut() = Some(PriorityQueue::unbounded()));
        let warm = PriorityQueue::unbounded();
        warm.try_put(Touchy(13))
            .unwrap_or_else(|_| panic!("unbounded"));
        warm.try_put(Touchy(2))
            .unwrap_or_else(|_| panic!("unbounded"));
    })
    .join()
    .expect("the thread exits cleanly");
    assert_eq!(LATE_ITEMS.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn a_priority_queue_used_from_a_thread_local_destructor_works() {
    // In a child process: on failure the process aborts (a panic in a thread-local's
    // destructor), which must not take the other tests with it.
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "order::child_a_priority_queue_used_from_a_thread_local_destructor",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs");
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{output:?}"
    );
}
