//! `Pool`: reuse, the size limit, waiters in order, broken resources, failed creates, status,
//! and every cancel-safety claim of `acquire`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::pool::{AcquireError, Manager, Pool, PoolGuard, Status};
use tokio::sync::Semaphore;
use tokio_test::{assert_pending, assert_ready};

/// A connection that logs its drop.
#[derive(Debug)]
struct Conn {
    id: usize,
    dropped: Arc<Mutex<Vec<usize>>>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.dropped.lock().unwrap().push(self.id);
    }
}

/// A manager whose creates and checks can be made to fail or to wait.
struct Db {
    created: AtomicUsize,
    recycled: AtomicUsize,
    fail_creates: AtomicUsize,
    broken: Mutex<Vec<usize>>,
    dropped: Arc<Mutex<Vec<usize>>>,
    /// When set, create and recycle wait for a permit of `gate`.
    gated: AtomicBool,
    gate: Arc<Semaphore>,
}

impl Db {
    fn new() -> Self {
        Db {
            created: AtomicUsize::new(0),
            recycled: AtomicUsize::new(0),
            fail_creates: AtomicUsize::new(0),
            broken: Mutex::new(Vec::new()),
            dropped: Arc::default(),
            gated: AtomicBool::new(false),
            gate: Arc::new(Semaphore::new(0)),
        }
    }

    fn dropped(&self) -> Vec<usize> {
        self.dropped.lock().unwrap().clone()
    }
}

#[derive(Debug, PartialEq)]
struct Refused;

/// The manager: a handle on the shared `Db`.
struct Mgr(Arc<Db>);

impl std::ops::Deref for Mgr {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.0
    }
}

impl Manager for Mgr {
    type Resource = Conn;
    type Error = Refused;

    async fn create(&self) -> Result<Conn, Refused> {
        if self.gated.load(Ordering::SeqCst) {
            self.gate.acquire().await.map_err(|_| Refused)?.forget();
        }
        let fail = self
            .fail_creates
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(Refused);
        }
        let id = self.created.fetch_add(1, Ordering::SeqCst);
        Ok(Conn {
            id,
            dropped: self.dropped.clone(),
        })
    }

    async fn recycle(&self, conn: &mut Conn) -> Result<(), Refused> {
        if self.gated.load(Ordering::SeqCst) {
            self.gate.acquire().await.map_err(|_| Refused)?.forget();
        }
        self.recycled.fetch_add(1, Ordering::SeqCst);
        let broken = self.broken.lock().unwrap().clone();
        assert!(!broken.contains(&usize::MAX), "the check panicked");
        if broken.contains(&conn.id) {
            Err(Refused)
        } else {
            Ok(())
        }
    }
}

fn pool(max: usize) -> (Pool<Mgr>, Arc<Db>) {
    let db = Arc::new(Db::new());
    (Pool::new(Mgr(db.clone()), max), db)
}

fn numbers(pool: &Pool<Mgr>) -> (usize, usize, usize) {
    let Status {
        size,
        available,
        waiting,
        ..
    } = pool.status();
    (size, available, waiting)
}

#[tokio::test]
async fn a_returned_resource_is_checked_and_reused() {
    let (pool, db) = pool(4);
    let first = pool.acquire().await.unwrap();
    assert_eq!(first.id, 0);
    drop(first);
    assert_eq!(numbers(&pool), (1, 1, 0));
    let again = pool.acquire().await.unwrap();
    assert_eq!(again.id, 0);
    assert_eq!(db.created.load(Ordering::SeqCst), 1);
    assert_eq!(db.recycled.load(Ordering::SeqCst), 1);
    assert!(db.dropped().is_empty());
}

#[tokio::test]
async fn never_more_than_max_size_and_waiters_are_counted() {
    let (pool, db) = pool(2);
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    assert_eq!(numbers(&pool), (2, 0, 0));
    let mut c = tokio_test::task::spawn(pool.acquire());
    assert_pending!(c.poll());
    assert_eq!(numbers(&pool), (2, 0, 1));
    drop(a);
    assert!(c.is_woken());
    let c = assert_ready!(c.poll()).unwrap();
    assert_eq!(c.id, 0);
    assert_eq!(numbers(&pool), (2, 0, 0));
    assert_eq!(db.created.load(Ordering::SeqCst), 2);
    drop((b, c));
    assert_eq!(numbers(&pool), (2, 2, 0));
}

#[tokio::test]
async fn waiters_are_served_first_come_first_served() {
    let (pool, _db) = pool(1);
    let held = pool.acquire().await.unwrap();
    let mut waiters: Vec<_> = (0..3)
        .map(|_| tokio_test::task::spawn(pool.acquire()))
        .collect();
    for w in &mut waiters {
        assert_pending!(w.poll());
    }
    drop(held);
    let mut order = Vec::new();
    for _ in 0..3 {
        // exactly one waiter, the oldest still waiting, gets the resource
        let mut got = None;
        for (i, w) in waiters.iter_mut().enumerate() {
            if order.contains(&i) {
                continue;
            }
            if let std::task::Poll::Ready(guard) = w.poll() {
                assert!(got.is_none(), "two waiters served at once");
                got = Some((i, guard.unwrap()));
            }
        }
        let (i, guard) = got.expect("one waiter served");
        order.push(i);
        drop(guard);
    }
    assert_eq!(order, [0, 1, 2]);
}

#[tokio::test]
async fn a_dropped_waiter_leaks_nothing_and_passes_its_turn_on() {
    let (pool, _db) = pool(1);
    let held = pool.acquire().await.unwrap();
    let mut first = tokio_test::task::spawn(pool.acquire());
    let mut second = tokio_test::task::spawn(pool.acquire());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    assert_eq!(numbers(&pool), (1, 0, 2));
    drop(first);
    assert_eq!(numbers(&pool), (1, 0, 1));
    drop(held);
    let guard = assert_ready!(second.poll()).unwrap();
    assert_eq!(guard.id, 0);
    drop(guard);
    drop(second);
    assert_eq!(numbers(&pool), (1, 1, 0));
    // the single slot is free: a new acquire is ready at once
    let mut again = tokio_test::task::spawn(pool.acquire());
    let _guard = assert_ready!(again.poll()).unwrap();
}

#[tokio::test]
async fn a_dropped_woken_waiter_passes_the_resource_on() {
    let (pool, _db) = pool(1);
    let held = pool.acquire().await.unwrap();
    let mut first = tokio_test::task::spawn(pool.acquire());
    let mut second = tokio_test::task::spawn(pool.acquire());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    drop(held);
    assert!(first.is_woken());
    drop(first); // woken, never polled again
    assert!(second.is_woken());
    assert_eq!(assert_ready!(second.poll()).unwrap().id, 0);
}

#[tokio::test]
async fn dropping_acquire_during_the_check_discards_the_resource_and_frees_its_slot() {
    let (pool, db) = pool(1);
    drop(pool.acquire().await.unwrap());
    db.gated.store(true, Ordering::SeqCst);
    let mut checking = tokio_test::task::spawn(pool.acquire());
    assert_pending!(checking.poll()); // inside recycle
    assert_eq!(numbers(&pool), (1, 0, 0));
    drop(checking);
    // Halfway through its check, the resource is in an unknown state: never handed out.
    assert_eq!(numbers(&pool), (0, 0, 0));
    assert_eq!(db.dropped(), [0]);
    db.gated.store(false, Ordering::SeqCst);
    assert_eq!(pool.acquire().await.unwrap().id, 1, "a new one");
}

#[tokio::test]
async fn a_panicking_check_discards_the_resource_and_frees_its_slot() {
    use futures::FutureExt;

    let (pool, db) = pool(1);
    drop(pool.acquire().await.unwrap());
    db.broken.lock().unwrap().push(usize::MAX); // makes `recycle` panic
    let outcome = std::panic::AssertUnwindSafe(pool.acquire())
        .catch_unwind()
        .await;
    assert!(outcome.is_err(), "the check's panic reaches the caller");
    assert_eq!(numbers(&pool), (0, 0, 0));
    assert_eq!(db.dropped(), [0]);
    db.broken.lock().unwrap().clear();
    assert_eq!(pool.acquire().await.unwrap().id, 1, "a new one");
}

#[tokio::test]
async fn dropping_acquire_during_create_frees_the_slot() {
    let (pool, db) = pool(1);
    db.gated.store(true, Ordering::SeqCst);
    let mut creating = tokio_test::task::spawn(pool.acquire());
    assert_pending!(creating.poll());
    assert_eq!(numbers(&pool), (1, 0, 0));
    drop(creating);
    assert_eq!(numbers(&pool), (0, 0, 0));
    db.gated.store(false, Ordering::SeqCst);
    let conn = pool.acquire().await.unwrap();
    assert_eq!(conn.id, 0);
    assert_eq!(numbers(&pool), (1, 0, 0));
}

#[tokio::test]
async fn a_broken_resource_is_replaced_never_handed_out() {
    let (pool, db) = pool(2);
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    drop((a, b)); // idle: 0, 1
    db.broken.lock().unwrap().extend([0, 1]);
    let fresh = pool.acquire().await.unwrap();
    assert_eq!(fresh.id, 2);
    assert_eq!(db.dropped(), [0, 1]);
    assert_eq!(numbers(&pool), (1, 0, 0));
}

#[tokio::test]
async fn a_failed_create_is_reported_and_gives_its_slot_back() {
    let (pool, db) = pool(1);
    db.fail_creates.store(1, Ordering::SeqCst);
    assert!(matches!(
        pool.acquire().await,
        Err(AcquireError::Create(Refused))
    ));
    assert_eq!(numbers(&pool), (0, 0, 0));
    assert_eq!(pool.acquire().await.unwrap().id, 0);
}

#[tokio::test]
async fn a_waiter_behind_a_failed_create_gets_the_slot() {
    let (pool, db) = pool(1);
    db.gated.store(true, Ordering::SeqCst);
    db.fail_creates.store(1, Ordering::SeqCst);
    let mut failing = tokio_test::task::spawn(pool.acquire());
    let mut next = tokio_test::task::spawn(pool.acquire());
    assert_pending!(failing.poll());
    assert_pending!(next.poll());
    db.gate.add_permits(2);
    assert!(matches!(failing.await, Err(AcquireError::Create(Refused))));
    assert_eq!(next.await.unwrap().id, 0);
}

#[tokio::test(start_paused = true)]
async fn acquire_timeout_gives_up_and_leaves_no_waiter() {
    let (pool, _db) = pool(1);
    let held = pool.acquire().await.unwrap();
    let start = tokio::time::Instant::now();
    let late = pool.acquire_timeout(Duration::from_millis(100)).await;
    assert!(matches!(late, Err(AcquireError::Timeout)));
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(numbers(&pool), (1, 0, 0));
    drop(held);
    let conn = pool
        .acquire_timeout(Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(conn.id, 0);
}

#[tokio::test]
async fn discard_and_detach_free_the_slot() {
    let (pool, db) = pool(1);
    pool.acquire().await.unwrap().discard();
    assert_eq!(db.dropped(), [0]);
    assert_eq!(numbers(&pool), (0, 0, 0));
    let kept = pool.acquire().await.unwrap().detach();
    assert_eq!(kept.id, 1);
    assert_eq!(numbers(&pool), (0, 0, 0));
    // the slot is free although `kept` lives on
    assert_eq!(pool.acquire().await.unwrap().id, 2);
    assert_eq!(db.dropped(), [0]);
}

#[tokio::test]
async fn a_guard_works_across_tasks() {
    let pool = Pool::from_fn(3, || async { Ok::<_, Refused>(0_u64) });
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut n = pool.acquire().await?;
                *n += 1;
                Ok::<_, AcquireError<Refused>>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let status = pool.status();
    assert!(status.size <= 3);
    let mut total = 0;
    let guards: Vec<_> = futures::future::join_all((0..status.size).map(|_| pool.acquire()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for g in &guards {
        total += **g;
    }
    assert_eq!(total, 30);
}

/// Compiles only if a task may hold a guard across an await with a closure manager and boxed
/// errors (a `PoolGuard` that named its manager failed rustc's `Send` check there).
#[tokio::test(start_paused = true)]
async fn a_spawned_task_may_hold_a_guard_across_an_await() {
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    let pool = Pool::from_fn(1, || async { Ok::<_, BoxError>(5_u32) });
    let task = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let conn = pool.acquire().await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, BoxError>(*conn)
        })
    };
    assert_eq!(task.await.unwrap().unwrap(), 5);
    assert_eq!(pool.status().available, 1);
}

/// The same with `acquire_timeout`.
#[tokio::test(start_paused = true)]
async fn a_spawned_task_may_hold_a_timed_guard_across_an_await() {
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    let pool = Pool::from_fn(1, || async { Ok::<_, BoxError>(5_u32) });
    let task = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let conn = pool.acquire_timeout(Duration::from_secs(1)).await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, BoxError>(*conn)
        })
    };
    assert_eq!(task.await.unwrap().unwrap(), 5);
}

// `acquire_timeout`'s cancel safety ("as `acquire`: cancelling loses your place in the queue
// and leaks nothing"): dropped from outside, before its limit, at each point it can wait.

/// What `acquire_timeout` gives.
type Acquired = Result<PoolGuard<Conn>, AcquireError<Refused>>;

/// An `acquire_timeout` with a limit the test never reaches, polled once: waiting.
fn waiting(pool: &Pool<Mgr>) -> tokio_test::task::Spawn<impl Future<Output = Acquired> + '_> {
    let mut acquiring = tokio_test::task::spawn(pool.acquire_timeout(Duration::from_secs(60)));
    assert_pending!(acquiring.poll());
    acquiring
}

#[tokio::test(start_paused = true)]
async fn acquire_timeout_dropped_while_waiting_leaks_nothing_and_passes_its_turn_on() {
    let (pool, db) = pool(1);
    let held = pool.acquire().await.unwrap();
    let first = waiting(&pool);
    let mut second = waiting(&pool);
    assert_eq!(numbers(&pool), (1, 0, 2));
    drop(first);
    assert_eq!(
        numbers(&pool),
        (1, 0, 1),
        "the dropped waiter left the line"
    );
    drop(held);
    assert!(second.is_woken(), "the turn passed to the next waiter");
    let conn = assert_ready!(second.poll()).unwrap();
    assert_eq!(conn.id, 0, "the same resource");
    // The size limit still holds: a third acquire waits for the one resource.
    let mut third = tokio_test::task::spawn(pool.acquire_timeout(Duration::from_secs(60)));
    assert_pending!(third.poll());
    drop(conn);
    assert_eq!(assert_ready!(third.poll()).unwrap().id, 0);
    assert_eq!(db.created.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn acquire_timeout_dropped_after_it_was_woken_passes_the_resource_on() {
    let (pool, db) = pool(1);
    let held = pool.acquire().await.unwrap();
    let first = waiting(&pool);
    let mut second = waiting(&pool);
    drop(held);
    assert!(first.is_woken());
    assert!(!second.is_woken(), "one resource, one waiter woken");
    drop(first); // woken, never polled again
    assert!(
        second.is_woken(),
        "the dropped waiter passed the resource on"
    );
    assert_eq!(assert_ready!(second.poll()).unwrap().id, 0);
    assert_eq!(numbers(&pool), (1, 1, 0));
    assert_eq!(db.created.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn acquire_timeout_dropped_during_the_check_frees_its_slot() {
    let (pool, db) = pool(1);
    drop(pool.acquire().await.unwrap());
    db.gated.store(true, Ordering::SeqCst);
    let mut checking = tokio_test::task::spawn(pool.acquire_timeout(Duration::from_secs(60)));
    assert_pending!(checking.poll()); // inside recycle
    assert_eq!(numbers(&pool), (1, 0, 0));
    drop(checking);
    assert_eq!(numbers(&pool), (0, 0, 0), "the slot is free again");
    assert_eq!(db.dropped(), [0], "the half-checked resource is discarded");
    db.gated.store(false, Ordering::SeqCst);
    let conn = pool.acquire_timeout(Duration::from_secs(60)).await.unwrap();
    assert_eq!(conn.id, 1, "a new one");
    let mut over = tokio_test::task::spawn(pool.acquire_timeout(Duration::from_secs(60)));
    assert_pending!(over.poll(), "the size limit still holds");
    assert_eq!(numbers(&pool), (1, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn acquire_timeout_dropped_during_create_frees_the_slot() {
    let (pool, db) = pool(1);
    db.gated.store(true, Ordering::SeqCst);
    let mut creating = tokio_test::task::spawn(pool.acquire_timeout(Duration::from_secs(60)));
    assert_pending!(creating.poll());
    assert_eq!(numbers(&pool), (1, 0, 0));
    drop(creating);
    assert_eq!(numbers(&pool), (0, 0, 0), "the slot is free again");
    db.gated.store(false, Ordering::SeqCst);
    let conn = pool.acquire_timeout(Duration::from_secs(60)).await.unwrap();
    assert_eq!(conn.id, 0);
    let mut over = tokio_test::task::spawn(pool.acquire_timeout(Duration::from_secs(60)));
    assert_pending!(over.poll(), "the size limit still holds");
    assert_eq!(numbers(&pool), (1, 0, 1));
}

/// Any non-zero size is a pool, `usize::MAX` (no limit) included; only zero panics, as the
/// constructors document. Before, a size above `Semaphore::MAX_PERMITS` panicked.
#[tokio::test]
async fn a_pool_of_usize_max_has_no_limit() {
    let unlimited = Pool::from_fn(usize::MAX, || async { Ok::<_, std::io::Error>(7_u8) });
    let held: Vec<_> = {
        let mut held = Vec::new();
        for _ in 0..100 {
            held.push(unlimited.acquire().await.unwrap());
        }
        held
    };
    let status = unlimited.status();
    assert_eq!((status.max_size, status.size), (usize::MAX, 100));
    drop(held);
    assert_eq!(unlimited.status().available, 100);

    let (above, _db) = pool(Semaphore::MAX_PERMITS + 1);
    assert_eq!(above.acquire().await.unwrap().id, 0);
    assert_eq!(above.status().max_size, Semaphore::MAX_PERMITS + 1);

    let zero = std::panic::catch_unwind(|| Pool::from_fn(0, || async { Ok::<_, ()>(()) }));
    assert!(zero.is_err(), "zero is the one size refused");
}

/// `Manager::create`'s cancel safety: a create cut short by `acquire_timeout` is dropped with
/// what it owned (a half-open connection), at once, and its slot is free for the next acquire.
#[tokio::test(start_paused = true)]
async fn a_create_cut_short_by_a_timeout_is_dropped_with_what_it_owned() {
    let half_open = Arc::new(AtomicBool::new(false));
    let dropped = half_open.clone();
    let slow_first = Arc::new(AtomicUsize::new(0));
    let pool = Pool::from_fn(1, move || {
        let guard = DropGuard(dropped.clone());
        let first = slow_first.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            let _connection = guard;
            if first {
                std::future::pending::<()>().await;
            }
            Ok::<_, std::io::Error>(7_u8)
        }
    });
    let timed_out = pool.acquire_timeout(Duration::from_millis(10)).await;
    assert!(matches!(timed_out, Err(AcquireError::Timeout)));
    assert!(
        half_open.load(Ordering::SeqCst),
        "the unfinished create was dropped"
    );
    assert_eq!(pool.status().size, 0, "its slot is free");
    assert_eq!(*pool.acquire().await.unwrap(), 7);
}

/// Sets its flag when dropped.
struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
