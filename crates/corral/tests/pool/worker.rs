//! `WorkerPool`: results per submission, isolation of failures, backpressure, cancel safety,
//! shutdown and drop.

use std::sync::Arc;

use corral::pool::{SubmitError, WorkerPool};
use corral::task::BoxError;
use tokio::sync::{Semaphore, mpsc};
use tokio_test::{assert_pending, assert_ready};

use crate::support::{Captured, paused_runtime};

/// A pool whose jobs announce their item on `started`, then wait for a permit of `gate`
/// before returning it doubled.
struct Gated {
    pool: WorkerPool<u32, u32>,
    gate: Arc<Semaphore>,
    started: mpsc::UnboundedReceiver<u32>,
}

fn gated(workers: usize, capacity: usize) -> Gated {
    let gate = Arc::new(Semaphore::new(0));
    let (tx, started) = mpsc::unbounded_channel();
    let g = gate.clone();
    let pool = WorkerPool::builder(workers)
        .capacity(capacity)
        .build(move |n: u32| {
            let (gate, tx) = (g.clone(), tx.clone());
            async move {
                tx.send(n)?;
                gate.acquire().await?.forget();
                Ok::<_, BoxError>(n * 2)
            }
        });
    Gated {
        pool,
        gate,
        started,
    }
}

#[tokio::test]
async fn each_submission_gets_its_own_result() {
    let pool = WorkerPool::new(4, |n: u64| async move { Ok::<_, BoxError>(n * n) });
    let results = corral::task::gather((0..20).map(|n| pool.submit(n)))
        .await
        .unwrap();
    assert_eq!(results, (0..20).map(|n| n * n).collect::<Vec<_>>());
    pool.shutdown().await;
}

#[tokio::test]
async fn a_failing_or_panicking_job_fails_only_its_own_submission() {
    let pool = WorkerPool::new(1, |n: i32| async move {
        match n {
            0 => Err("zero"),
            1 => panic!("one is not allowed"),
            n => Ok(n),
        }
    });
    assert!(matches!(
        pool.submit(0).await,
        Err(SubmitError::Failed("zero"))
    ));
    match pool.submit(1).await {
        Err(SubmitError::Panicked(panic)) => {
            assert_eq!(panic.message(), Some("one is not allowed"));
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    // the single worker carried on
    assert_eq!(pool.submit(2).await.unwrap(), 2);
    assert_eq!(pool.submit(3).await.unwrap(), 3);
}

#[tokio::test]
async fn a_handler_that_panics_before_its_future_is_isolated_too() {
    let pool = WorkerPool::new(1, |n: u8| {
        assert!(n != 0, "synchronous panic");
        async move { Ok::<_, BoxError>(n) }
    });
    assert!(matches!(
        pool.submit(0).await,
        Err(SubmitError::Panicked(_))
    ));
    assert_eq!(pool.submit(1).await.unwrap(), 1);
}

#[tokio::test]
async fn submit_waits_for_space_and_a_dropped_wait_queues_nothing() {
    let mut t = gated(1, 1);
    let mut a = tokio_test::task::spawn(t.pool.submit(1));
    assert_pending!(a.poll());
    assert_eq!(t.started.recv().await, Some(1)); // the worker runs 1
    let mut b = tokio_test::task::spawn(t.pool.submit(2));
    assert_pending!(b.poll()); // queued
    assert_eq!(t.pool.queued(), 1);
    let mut c = tokio_test::task::spawn(t.pool.submit(3));
    assert_pending!(c.poll()); // the queue is full: waiting for space
    assert_eq!(t.pool.queued(), 1);
    drop(c);
    t.gate.add_permits(3);
    assert_eq!(a.await.unwrap(), 2);
    assert_eq!(b.await.unwrap(), 4);
    assert_eq!(t.pool.submit(4).await.unwrap(), 8);
    t.pool.shutdown().await;
    t.started.close();
    let mut rest = Vec::new();
    while let Some(n) = t.started.recv().await {
        rest.push(n);
    }
    assert_eq!(rest, [2, 4], "3 was never queued");
}

#[tokio::test]
async fn a_submission_dropped_after_queueing_is_skipped() {
    let mut t = gated(1, 4);
    let mut a = tokio_test::task::spawn(t.pool.submit(1));
    assert_pending!(a.poll());
    assert_eq!(t.started.recv().await, Some(1));
    let mut b = tokio_test::task::spawn(t.pool.submit(2));
    assert_pending!(b.poll());
    assert_eq!(t.pool.queued(), 1);
    drop(b); // withdrawn while queued
    t.gate.add_permits(2);
    assert_eq!(a.await.unwrap(), 2);
    assert_eq!(t.pool.submit(3).await.unwrap(), 6);
    assert_eq!(t.started.recv().await, Some(3), "2 was skipped");
}

#[test]
fn a_job_whose_submitter_left_while_it_ran_reports_its_failure() {
    let events = reported(async {
        let gate = Arc::new(Semaphore::new(0));
        let (tx, mut started) = mpsc::unbounded_channel();
        let g = gate.clone();
        let pool = WorkerPool::new(1, move |_: ()| {
            let (gate, tx) = (g.clone(), tx.clone());
            async move {
                tx.send(()).ok();
                gate.acquire().await.ok();
                Err::<(), _>("failed after its submitter left")
            }
        });
        let mut a = tokio_test::task::spawn(pool.submit(()));
        assert_pending!(a.poll());
        started.recv().await;
        drop(a);
        gate.add_permits(1);
        pool.shutdown().await;
    });
    assert_one_report(&events, &["WorkerPool", "failed after its submitter left"]);
}

#[tokio::test]
async fn shutdown_finishes_queued_work_then_refuses_more() {
    let mut t = gated(1, 4);
    let pool = Arc::new(t.pool);
    let submissions: Vec<_> = (1..=3)
        .map(|n| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.submit(n).await })
        })
        .collect();
    assert_eq!(t.started.recv().await, Some(1));
    let mut shutdown = tokio_test::task::spawn(pool.shutdown());
    assert_pending!(shutdown.poll());
    assert!(pool.is_shutdown());
    assert!(matches!(pool.submit(9).await, Err(SubmitError::Closed)));
    t.gate.add_permits(3);
    shutdown.await;
    for (n, submission) in (1..=3).zip(submissions) {
        assert_eq!(submission.await.unwrap().unwrap(), n * 2);
    }
}

#[tokio::test]
async fn shutdown_dropped_mid_wait_still_drains_the_queue() {
    let mut t = gated(1, 4);
    let mut a = tokio_test::task::spawn(t.pool.submit(1));
    let mut b = tokio_test::task::spawn(t.pool.submit(2));
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    assert_eq!(t.started.recv().await, Some(1));
    let mut shutdown = tokio_test::task::spawn(t.pool.shutdown());
    assert_pending!(shutdown.poll());
    drop(shutdown);
    t.gate.add_permits(2);
    assert_eq!(a.await.unwrap(), 2);
    assert_eq!(b.await.unwrap(), 4);
    t.pool.shutdown().await;
}

#[tokio::test]
async fn shutdown_immediate_hands_back_what_never_ran() {
    let mut t = gated(1, 4);
    let mut subs: Vec<_> = (1..=3)
        .map(|n| tokio_test::task::spawn(t.pool.submit(n)))
        .collect();
    for sub in &mut subs {
        assert_pending!(sub.poll());
    }
    assert_eq!(t.started.recv().await, Some(1));
    let items = t.pool.shutdown_immediate();
    assert_eq!(items, [2, 3]);
    // 2 and 3 fail at once
    assert!(matches!(
        assert_ready!(subs[1].poll()),
        Err(SubmitError::Closed)
    ));
    assert!(matches!(
        assert_ready!(subs[2].poll()),
        Err(SubmitError::Closed)
    ));
    // and 1, whose job was running, once the stopped worker drops it
    let first = subs.swap_remove(0);
    assert!(matches!(first.await, Err(SubmitError::Closed)));
    t.pool.shutdown().await; // the workers have stopped
    assert!(matches!(t.pool.submit(4).await, Err(SubmitError::Closed)));
}

#[tokio::test]
async fn dropping_the_pool_stops_every_worker() {
    let (alive, mut gone) = mpsc::channel::<()>(1);
    let (tx, mut started) = mpsc::unbounded_channel();
    let pool = WorkerPool::new(3, move |_: ()| {
        let (alive, tx) = (alive.clone(), tx.clone());
        async move {
            tx.send(()).ok();
            std::future::pending::<()>().await;
            drop(alive);
            Ok::<_, BoxError>(())
        }
    });
    let mut busy = tokio_test::task::spawn(pool.submit(()));
    assert_pending!(busy.poll());
    started.recv().await;
    drop(busy);
    drop(pool);
    // every clone of `alive` (in the handler, held by the workers, and in the running job) is
    // dropped once the workers are gone
    assert_eq!(gone.recv().await, None);
}

#[test]
fn a_pool_whose_workers_died_with_their_runtime_closes_instead_of_hanging() {
    // Reported on this thread (where the first runtime drops its workers): captured by a
    // thread-local subscriber, as the other report tests here do.
    let captured = Captured::default();
    captured.run(|| {
        let first = paused_runtime();
        let pool = first
            .block_on(async { WorkerPool::new(2, |n: u32| async move { Ok::<_, BoxError>(n) }) });
        drop(first); // the workers are dropped with their runtime; the pool lives on
        paused_runtime().block_on(async {
            let submitted =
                tokio::time::timeout(std::time::Duration::from_secs(60), pool.submit(1)).await;
            assert!(
                matches!(submitted, Ok(Err(SubmitError::Closed))),
                "fails instead of waiting for a worker forever: {submitted:?}"
            );
        });
    });
    let events = captured.events();
    assert_one_report(&events, &["every worker stopped"]);
}

/// A job future that completes at once and panics when it is dropped.
struct ReadyThenPanicsOnDrop(u32);

impl std::future::Future for ReadyThenPanicsOnDrop {
    type Output = Result<u32, BoxError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(self.0))
    }
}

impl Drop for ReadyThenPanicsOnDrop {
    fn drop(&mut self) {
        if self.0 == 0 {
            panic!("job 0's destructor panicked");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_job_whose_future_panics_as_it_is_dropped_fails_only_its_submission() {
    let pool = WorkerPool::new(1, ReadyThenPanicsOnDrop);
    assert!(matches!(
        pool.submit(0).await,
        Err(SubmitError::Panicked(_))
    ));
    let next = tokio::time::timeout(std::time::Duration::from_secs(60), pool.submit(1)).await;
    assert!(matches!(next, Ok(Ok(1))), "the worker carried on: {next:?}");
}

#[test]
fn a_pool_whose_workers_died_during_a_graceful_shutdown_fails_the_jobs_left() {
    let captured = Captured::default();
    captured.run(|| {
        let first = paused_runtime();
        let Gated {
            pool,
            gate: _gate,
            mut started,
        } = first.block_on(async { gated(1, 2) });
        let mut queued = tokio_test::task::spawn(pool.submit(2));
        first.block_on(async {
            let mut busy = tokio_test::task::spawn(pool.submit(1));
            assert_pending!(busy.poll());
            assert_eq!(started.recv().await, Some(1), "the worker took job 1");
            assert_pending!(queued.poll()); // job 2 waits in the queue
            let mut shutting = tokio_test::task::spawn(pool.shutdown());
            assert_pending!(shutting.poll()); // shut down, draining: job 2 is still to run
        });
        drop(first); // the worker dies mid job 1, with job 2 queued
        assert!(queued.is_woken(), "job 2's submitter is told");
        assert!(matches!(
            assert_ready!(queued.poll()),
            Err(SubmitError::Closed)
        ));
    });
    let events = captured.events();
    assert_one_report(&events, &["1 queued jobs"]);
}

/// Runs `test` on a paused runtime with the reports captured (on this thread); returns them.
fn reported(test: impl std::future::Future<Output = ()>) -> Vec<String> {
    let captured = Captured::default();
    captured.run(|| paused_runtime().block_on(test));
    captured.events()
}

/// Asserts that exactly one report was made, and that it holds every one of `parts`.
fn assert_one_report(events: &[String], parts: &[&str]) {
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        parts.iter().all(|part| events[0].contains(part)),
        "{events:?}"
    );
}

/// A value whose destructor panics (with its message) when it is armed.
#[derive(Debug)]
struct Bomb(Option<&'static str>);

impl Drop for Bomb {
    fn drop(&mut self) {
        if let Some(message) = self.0 {
            panic!("{message}");
        }
    }
}

#[test]
fn a_result_nobody_receives_whose_drop_panics_is_reported_and_the_worker_goes_on() {
    let events = reported(async {
        let gate = Arc::new(Semaphore::new(0));
        let (tx, mut started) = mpsc::unbounded_channel();
        let g = gate.clone();
        let pool = WorkerPool::new(1, move |armed: bool| {
            let (gate, tx) = (g.clone(), tx.clone());
            async move {
                if !armed {
                    return Ok::<_, BoxError>(Bomb(None));
                }
                tx.send(())?;
                gate.acquire().await?.forget();
                Ok(Bomb(Some("the unreceived result's destructor panicked")))
            }
        });
        let mut withdrawn = tokio_test::task::spawn(pool.submit(true));
        assert_pending!(withdrawn.poll());
        started.recv().await;
        drop(withdrawn); // the submitter goes away while its job runs
        gate.add_permits(1);
        let next = pool.submit(false).await;
        assert!(
            matches!(next, Ok(Bomb(None))),
            "the only worker went on: {next:?}"
        );
        pool.shutdown().await;
    });
    assert_one_report(
        &events,
        &[
            "WorkerPool",
            "dropping the result of a withdrawn submission panicked",
            "the unreceived result's destructor panicked",
        ],
    );
}

#[test]
fn a_skipped_item_whose_drop_panics_is_reported_and_the_worker_goes_on() {
    let events = reported(async {
        let gate = Arc::new(Semaphore::new(0));
        let (tx, mut started) = mpsc::unbounded_channel();
        let g = gate.clone();
        let pool = WorkerPool::builder(1)
            .capacity(4)
            .build(move |(n, _bomb): (u32, Bomb)| {
                let (gate, tx) = (g.clone(), tx.clone());
                async move {
                    tx.send(n)?;
                    if n == 1 {
                        gate.acquire().await?.forget();
                    }
                    Ok::<_, BoxError>(n)
                }
            });
        let mut busy = tokio_test::task::spawn(pool.submit((1, Bomb(None))));
        assert_pending!(busy.poll());
        assert_eq!(started.recv().await, Some(1));
        let armed = Bomb(Some("the skipped item's destructor panicked"));
        let mut withdrawn = tokio_test::task::spawn(pool.submit((2, armed)));
        assert_pending!(withdrawn.poll()); // queued
        drop(withdrawn); // and withdrawn: the worker skips it, dropping the item
        gate.add_permits(1);
        assert_eq!(busy.await.unwrap(), 1);
        let next = pool.submit((3, Bomb(None))).await;
        assert!(matches!(next, Ok(3)), "the only worker went on: {next:?}");
        pool.shutdown().await;
        started.close();
        assert_eq!(started.recv().await, Some(3), "2 was skipped");
    });
    assert_one_report(
        &events,
        &[
            "WorkerPool",
            "dropping the item of a withdrawn submission panicked",
            "the skipped item's destructor panicked",
        ],
    );
}

/// `shutdown_immediate` and the pool's drop stop a running job by dropping it: a job whose
/// destructor panics there is reported (Tokio would keep the panic in a `JoinError` nobody
/// holds).
#[test]
fn a_job_dropped_by_shutdown_immediate_that_panics_as_it_is_dropped_is_reported() {
    let events = reported(async {
        let (tx, mut started) = mpsc::unbounded_channel();
        let pool = WorkerPool::new(1, move |_: ()| {
            let tx = tx.clone();
            async move {
                let _bomb = Bomb(Some("the aborted job's destructor panicked"));
                tx.send(())?;
                std::future::pending::<()>().await;
                Ok::<_, BoxError>(())
            }
        });
        let mut running = tokio_test::task::spawn(pool.submit(()));
        assert_pending!(running.poll());
        started.recv().await;
        assert!(pool.shutdown_immediate().is_empty());
        pool.shutdown().await; // the worker has stopped, and reported
        assert!(matches!(
            assert_ready!(running.poll()),
            Err(SubmitError::Closed)
        ));
    });
    assert_one_report(
        &events,
        &[
            "WorkerPool",
            "dropping the job of a stopped worker panicked",
            "the aborted job's destructor panicked",
        ],
    );
}

#[test]
fn a_job_dropped_with_its_pool_that_panics_as_it_is_dropped_is_reported() {
    let events = reported(async {
        let (alive, mut gone) = mpsc::channel::<()>(1);
        let (tx, mut started) = mpsc::unbounded_channel();
        let pool = WorkerPool::new(1, move |_: ()| {
            let (alive, tx) = (alive.clone(), tx.clone());
            async move {
                let _bomb = Bomb(Some("the dropped job's destructor panicked"));
                let _alive = alive;
                tx.send(())?;
                std::future::pending::<()>().await;
                Ok::<_, BoxError>(())
            }
        });
        let mut running = tokio_test::task::spawn(pool.submit(()));
        assert_pending!(running.poll());
        started.recv().await;
        drop(running);
        drop(pool);
        // Every clone of `alive` is gone once the worker (and its job) was dropped.
        assert_eq!(gone.recv().await, None);
    });
    assert_one_report(
        &events,
        &[
            "WorkerPool",
            "dropping the job of a stopped worker panicked",
            "the dropped job's destructor panicked",
        ],
    );
}

/// A one-worker pool (room for four queued jobs) whose jobs say their number on the returned
/// receiver and then never finish, each holding a clone of `alive`; an item's [`Bomb`] goes
/// with it.
fn parked_pool(
    alive: mpsc::Sender<()>,
) -> (
    WorkerPool<(u32, Bomb), u32, BoxError>,
    mpsc::UnboundedReceiver<u32>,
) {
    let (tx, started) = mpsc::unbounded_channel();
    let pool = WorkerPool::builder(1)
        .capacity(4)
        .build(move |(n, _bomb): (u32, Bomb)| {
            let (tx, alive) = (tx.clone(), alive.clone());
            async move {
                let _alive = alive;
                tx.send(n)?;
                std::future::pending::<()>().await;
                Ok::<_, BoxError>(n)
            }
        });
    (pool, started)
}

/// A review found the pool's drop dropping its queued items before aborting its workers, with
/// no catch: an item whose destructor panicked left the running job to outlive its pool.
#[test]
fn a_pool_dropped_with_a_queued_item_whose_drop_panics_still_stops_its_worker() {
    let events = reported(async {
        let (alive, mut gone) = mpsc::channel::<()>(1);
        let (pool, mut started) = parked_pool(alive);
        let mut running = tokio_test::task::spawn(pool.submit((1, Bomb(None))));
        assert_pending!(running.poll());
        assert_eq!(started.recv().await, Some(1));
        let mut queued = tokio_test::task::spawn(pool.submit((2, Bomb(Some("the queued item")))));
        assert_pending!(queued.poll());
        drop((running, queued));
        drop(pool); // no panic comes out of it
        // The running job (and its clone of `alive`) is gone with its worker.
        assert_eq!(gone.recv().await, None);
    });
    assert_one_report(&events, &["WorkerPool", "the queued item"]);
}

/// A review found `shutdown_immediate` dropping withdrawn items in the caller's frame: one
/// whose destructor panicked made it panic and lose the items it should have returned.
#[test]
fn shutdown_immediate_returns_the_live_items_when_a_withdrawn_ones_drop_panics() {
    let events = reported(async {
        let (alive, _gone) = mpsc::channel::<()>(1);
        let (pool, mut started) = parked_pool(alive);
        let mut running = tokio_test::task::spawn(pool.submit((1, Bomb(None))));
        assert_pending!(running.poll());
        assert_eq!(started.recv().await, Some(1));
        let mut withdrawn =
            tokio_test::task::spawn(pool.submit((2, Bomb(Some("the withdrawn item")))));
        assert_pending!(withdrawn.poll());
        drop(withdrawn);
        let mut live = tokio_test::task::spawn(pool.submit((3, Bomb(None))));
        assert_pending!(live.poll());
        let left: Vec<u32> = pool
            .shutdown_immediate()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(left, [3], "the item that never ran is returned");
    });
    assert_one_report(&events, &["WorkerPool", "the withdrawn item"]);
}

/// Sets its flag when dropped: what a job owns.
struct DropFlag(Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `shutdown_immediate` does not wait for the workers (a job in the middle of a poll on
/// another thread cannot be dropped before that poll ends), and `shutdown` awaited after it
/// returns only once they are gone: the running job, and what it owns, has been dropped.
#[test]
fn shutdown_after_shutdown_immediate_returns_once_the_running_job_is_dropped() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (in_poll, polling) = tokio::sync::oneshot::channel::<()>();
        let in_poll = Arc::new(std::sync::Mutex::new(Some(in_poll)));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(std::sync::Mutex::new(released));
        let flag = dropped.clone();
        let pool = WorkerPool::new(1, move |_: ()| {
            let (guard, in_poll, released) =
                (DropFlag(flag.clone()), in_poll.clone(), released.clone());
            async move {
                let _guard = guard;
                if let Some(in_poll) = in_poll.lock().unwrap().take() {
                    in_poll.send(()).ok();
                }
                // Stays in this poll, on its worker thread, until the test lets it go.
                released.lock().unwrap().recv().ok();
                std::future::pending::<()>().await;
                Ok::<_, BoxError>(())
            }
        });
        let pool = Arc::new(pool);
        let submitter = tokio::spawn({
            let pool = pool.clone();
            async move { pool.submit(()).await }
        });
        polling.await.unwrap();
        assert!(pool.shutdown_immediate().is_empty());
        assert!(
            !dropped.load(std::sync::atomic::Ordering::SeqCst),
            "the job is in the middle of a poll: it cannot be dropped yet"
        );
        release.send(()).unwrap();
        pool.shutdown().await;
        assert!(
            dropped.load(std::sync::atomic::Ordering::SeqCst),
            "shutdown returned before the running job was dropped"
        );
        assert!(matches!(submitter.await.unwrap(), Err(SubmitError::Closed)));
    });
}
