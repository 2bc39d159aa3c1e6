//! `map_concurrent`, `map_concurrent_settled`, `map_concurrent_spawned`: input order, the limit,
//! the first error, lazy pulling, cancellation, and the starvation trap they avoid.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::flow::{Limiter, map_concurrent, map_concurrent_settled, map_concurrent_spawned};
use corral::task::gather;
use futures::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tokio_test::assert_pending;
use tokio_test::task::spawn;

use crate::support::{all_dropped, config, ms, paused_runtime};

const MS: Duration = Duration::from_millis(1);

/// Counts the futures in flight and remembers the most seen at once.
#[derive(Clone, Default)]
struct InFlight {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

impl InFlight {
    async fn run<T>(&self, work_ms: u64, value: T) -> T {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        sleep(Duration::from_millis(work_ms)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        value
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn results_come_in_input_order_with_exact_timing() {
    let start = Instant::now();
    let durations = [50u64, 10, 40, 20, 30];
    let out = map_concurrent(durations, 2, |d| async move {
        sleep(Duration::from_millis(d)).await;
        Ok::<_, ()>(d)
    })
    .await;
    assert_eq!(out, Ok(durations.to_vec()));
    // Slots: [50 | 10, 40 (10..50), 20 (50..70) | 30 (50..80)].
    assert_eq!(ms(start), 80);
}

#[tokio::test(start_paused = true)]
async fn the_first_error_cancels_the_rest_and_starts_nothing_more() {
    let started = Cell::new(0);
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let out = map_concurrent(0..100u64, 3, |i| {
        started.set(started.get() + 1);
        let alive = tx.clone();
        async move {
            let _alive = alive;
            sleep(Duration::from_millis(10 + i)).await;
            if i == 4 { Err(i) } else { Ok(i) }
        }
    })
    .await;
    assert_eq!(out, Err(4));
    drop(tx);
    assert!(
        rx.try_recv().is_err() && rx.is_closed(),
        "every running future was dropped"
    );
    assert_eq!(
        started.get(),
        7,
        "items 0..=6 were started, nothing after the error"
    );
}

#[tokio::test(start_paused = true)]
async fn settled_keeps_every_result() {
    let out = map_concurrent_settled(0..6u32, 2, |i| async move {
        sleep(Duration::from_millis(u64::from(6 - i))).await;
        if i % 2 == 0 { Ok(i) } else { Err(i) }
    })
    .await;
    assert_eq!(out, [Ok(0), Err(1), Ok(2), Err(3), Ok(4), Err(5)]);
}

#[tokio::test(start_paused = true)]
async fn empty_input_gives_an_empty_vec() {
    assert_eq!(
        map_concurrent(Vec::<u8>::new(), 4, |i| async move { Ok::<_, ()>(i) }).await,
        Ok(vec![])
    );
    assert!(
        map_concurrent_settled(0..0, 4, |i| async move { i })
            .await
            .is_empty()
    );
    assert_eq!(
        map_concurrent_spawned(0..0, 4, |i| async move { Ok::<u8, ()>(i) }).await,
        Ok(vec![])
    );
}

#[test]
fn a_zero_limit_panics_when_called() {
    assert!(
        std::panic::catch_unwind(|| map_concurrent(0..1, 0, |i| async move { Ok::<_, ()>(i) }))
            .is_err()
    );
    assert!(
        std::panic::catch_unwind(|| map_concurrent_settled(0..1, 0, |i| async move { i })).is_err()
    );
    assert!(
        std::panic::catch_unwind(|| map_concurrent_spawned(
            0..1,
            0,
            |i| async move { Ok::<_, ()>(i) }
        ))
        .is_err()
    );
}

/// Any non-zero limit is fine, `usize::MAX` (no limit) included: nothing takes a permit or
/// reserves room by the limit. Before, a limit above `Semaphore::MAX_PERMITS` panicked.
#[tokio::test(start_paused = true)]
async fn a_limit_of_usize_max_runs_every_item_at_once() {
    let in_flight = InFlight::default();
    let start = Instant::now();
    let out = map_concurrent(0..50u64, usize::MAX, |i| {
        let in_flight = in_flight.clone();
        async move { Ok::<_, ()>(in_flight.run(10, i).await) }
    })
    .await;
    assert_eq!(out, Ok((0..50).collect::<Vec<_>>()));
    assert_eq!(in_flight.max(), 50, "no limit: all at once");
    assert_eq!(ms(start), 10);

    let settled = map_concurrent_settled(0..5u64, usize::MAX, |i| async move {
        if i == 2 { Err(i) } else { Ok(i) }
    })
    .await;
    assert_eq!(settled, [Ok(0), Ok(1), Err(2), Ok(3), Ok(4)]);

    let in_flight = InFlight::default();
    let spawned = map_concurrent_spawned(0..50u64, usize::MAX, move |i| {
        let in_flight = in_flight.clone();
        async move { Ok::<_, ()>(in_flight.run(10, i).await) }
    })
    .await;
    assert_eq!(spawned, Ok((0..50).collect::<Vec<_>>()));

    // Just above the semaphore's bound, as the first limit that panicked.
    let above = (usize::MAX >> 3) + 1;
    assert_eq!(
        map_concurrent(0..3u8, above, |i| async move { Ok::<_, ()>(i) }).await,
        Ok(vec![0, 1, 2])
    );
}

#[tokio::test(start_paused = true)]
async fn items_are_pulled_lazily() {
    let pulled = Cell::new(0);
    let items = (0..1_000_000u64).inspect(|_| pulled.set(pulled.get() + 1));
    let mut all = spawn(map_concurrent(items, 3, |i| async move {
        sleep(MS).await;
        Ok::<_, ()>(i)
    }));
    assert_pending!(all.poll());
    assert_eq!(pulled.get(), 3, "only as many items as may run");
    drop(all);
    assert_eq!(pulled.get(), 3, "dropping starts nothing more");
}

#[tokio::test(start_paused = true)]
async fn dropping_map_concurrent_mid_flight_drops_the_running_futures() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let mut all = spawn(map_concurrent(0..10u64, 4, |_| {
        let alive = tx.clone();
        async move {
            let _alive = alive;
            std::future::pending::<Result<(), ()>>().await
        }
    }));
    assert_pending!(all.poll());
    drop(all);
    drop(tx);
    all_dropped(&mut rx, "nothing holds a sender any more").await;
}

#[tokio::test(start_paused = true)]
async fn dropping_map_concurrent_settled_mid_flight_drops_the_running_futures() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let pulled = Cell::new(0);
    let items = (0..10u64).inspect(|_| pulled.set(pulled.get() + 1));
    let mut all = spawn(map_concurrent_settled(items, 4, |_| {
        let alive = tx.clone();
        async move {
            let _alive = alive;
            std::future::pending::<Result<(), ()>>().await
        }
    }));
    assert_pending!(all.poll());
    drop(all);
    drop(tx);
    all_dropped(&mut rx, "nothing holds a sender any more").await;
    assert_eq!(pulled.get(), 4, "no item was started after the drop");
}

// ---- the spawning form

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_results_come_in_input_order() {
    let out = map_concurrent_spawned(0..10_000u64, 16, |i| async move { Ok::<_, ()>(i * 2) }).await;
    assert_eq!(out, Ok((0..10_000u64).map(|i| i * 2).collect::<Vec<_>>()));
}

#[tokio::test(start_paused = true)]
async fn spawned_keeps_at_most_limit_tasks_alive() {
    let flight = InFlight::default();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let items = (0..200u64).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let f = flight.clone();
    let out = map_concurrent_spawned(items, 5, move |i| {
        let f = f.clone();
        async move { Ok::<_, ()>(f.run(i % 7, i).await) }
    })
    .await;
    assert_eq!(out, Ok((0..200).collect::<Vec<_>>()));
    assert_eq!(flight.max(), 5);
    assert_eq!(pulled.load(Ordering::SeqCst), 200);
}

#[tokio::test(start_paused = true)]
async fn spawned_first_error_aborts_the_rest_before_returning() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let out = map_concurrent_spawned(0..100u64, 4, |i| {
        let alive = tx.clone();
        async move {
            let _alive = alive;
            if i == 2 {
                return Err("item 2 failed");
            }
            std::future::pending::<Result<(), &str>>().await
        }
    })
    .await;
    assert_eq!(out, Err("item 2 failed"));
    drop(tx);
    // No task outlives the call: by the time it returned, every task was gone.
    assert!(matches!(
        rx.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    ));
}

#[tokio::test(start_paused = true)]
async fn dropping_spawned_mid_flight_aborts_every_task() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let mut all = spawn(map_concurrent_spawned(0..100u64, 4, |_| {
        let alive = tx.clone();
        async move {
            let _alive = alive;
            std::future::pending::<Result<(), ()>>().await
        }
    }));
    assert_pending!(all.poll());
    drop(all);
    drop(tx);
    all_dropped(&mut rx, "every spawned task was aborted and dropped").await;
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "item 3 panicked")]
async fn spawned_panic_is_resumed_in_the_caller() {
    let _ = map_concurrent_spawned(0..10u64, 2, |i| async move {
        assert!(i != 3, "item 3 panicked");
        Ok::<_, ()>(i)
    })
    .await;
}

// ---- the starvation trap of buffer_unordered

/// A request to a server that gives up on a client that does not read its answer within 50 ms
/// of it being ready: it fails if the future is not polled soon after its 10 ms of I/O.
async fn request(i: u64) -> Result<u64, String> {
    let sent = Instant::now();
    sleep(10 * MS).await;
    let read_after = sent.elapsed();
    if read_after > 60 * MS {
        Err(format!(
            "request {i}: answer read after {read_after:?}, the server timed out"
        ))
    } else {
        Ok(i)
    }
}

#[tokio::test(start_paused = true)]
async fn buffer_unordered_starves_in_flight_futures_map_concurrent_does_not() {
    // The anchor: slow work between `next()` calls leaves the buffered requests unpolled.
    let mut buffered = futures::stream::iter(0..10)
        .map(request)
        .buffer_unordered(5);
    let mut failures = 0;
    while let Some(result) = buffered.next().await {
        failures += usize::from(result.is_err());
        sleep(100 * MS).await; // processing one answer
    }
    assert!(failures > 0, "the trap is real: some requests timed out");

    // corral: the processing is part of each item's future, so every in-flight request is
    // polled as soon as its answer is ready.
    let start = Instant::now();
    let out = map_concurrent(0..10, 5, |i| async move {
        let answer = request(i).await?;
        sleep(100 * MS).await;
        Ok::<_, String>(answer)
    })
    .await;
    assert_eq!(out, Ok((0..10).collect::<Vec<_>>()));
    assert_eq!(ms(start), 220, "two rounds of five: 2 x (10 + 100) ms");

    // The spawning form: results are collected after, yet nothing starves.
    let out = map_concurrent_spawned(0..10, 5, |i| async move {
        let answer = request(i).await?;
        sleep(100 * MS).await;
        Ok::<_, String>(answer)
    })
    .await;
    assert_eq!(out, Ok((0..10).collect::<Vec<_>>()));
}

// ---- never more than `limit` in flight

#[test]
fn never_more_than_limit_in_flight() {
    let mut runner = TestRunner::new(config("never_more_than_limit_in_flight", 100));
    let strategy = (1..8usize, prop::collection::vec(0..20u64, 0..40));
    runner
        .run(&strategy, |(limit, works)| {
            let n = works.len();
            let expected: Vec<usize> = (0..n).collect();
            let busiest = limit.min(n);
            paused_runtime().block_on(async {
                let flight = InFlight::default();
                let items = works.iter().copied().enumerate();
                let out = map_concurrent(items.clone(), limit, |(i, w)| {
                    let f = flight.clone();
                    async move { Ok::<_, ()>(f.run(w, i).await) }
                })
                .await;
                assert_eq!(out.as_deref(), Ok(&expected[..]));
                assert!(
                    flight.max() <= limit,
                    "map_concurrent: {} > {limit}",
                    flight.max()
                );
                assert!(works.iter().all(|&w| w == 0) || n == 0 || flight.max() >= 1);

                let flight = InFlight::default();
                let out = map_concurrent_settled(items.clone(), limit, |(i, w)| {
                    let f = flight.clone();
                    async move { f.run(w, i).await }
                })
                .await;
                assert_eq!(out, expected);
                assert!(flight.max() <= limit, "settled: {} > {limit}", flight.max());

                let flight = InFlight::default();
                let out = map_concurrent_spawned(items.clone(), limit, |(i, w)| {
                    let f = flight.clone();
                    async move { Ok::<_, ()>(f.run(w, i).await) }
                })
                .await;
                assert_eq!(out.as_deref(), Ok(&expected[..]));
                assert!(flight.max() <= limit, "spawned: {} > {limit}", flight.max());
                assert!(
                    n == 0 || flight.max() == busiest,
                    "spawned fills every slot"
                );

                let flight = InFlight::default();
                let limiter = Limiter::new(limit);
                let out = gather(items.map(|(i, w)| {
                    let (f, limiter) = (flight.clone(), &limiter);
                    limiter.run(async move { Ok::<_, ()>(f.run(w, i).await) })
                }))
                .await;
                assert_eq!(out.as_deref(), Ok(&expected[..]));
                assert!(flight.max() <= limit, "Limiter: {} > {limit}", flight.max());
            });
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn map_concurrent_spawned_reports_the_failures_that_came_after_the_first() {
    use futures::FutureExt;

    let reports = crate::reports::Reports::collect();
    // Three tasks that end in the same tick: two errors and a panic.
    let outcome =
        std::panic::AssertUnwindSafe(map_concurrent_spawned(0..3u32, 3, |n| async move {
            assert!(n != 2, "task 2 panicked");
            Err::<(), String>(format!("error {n}"))
        }))
        .catch_unwind()
        .await;
    let first = match outcome {
        Ok(result) => result.expect_err("every task failed"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    };
    let mut seen: Vec<String> = reports.lines();
    seen.push(first);
    let all = seen.join(" | ");
    for failure in ["error 0", "error 1", "task 2 panicked"] {
        assert_eq!(
            seen.iter().filter(|line| line.contains(failure)).count(),
            1,
            "{failure} is returned or reported, once: {all}"
        );
    }
}

/// A multi-thread runtime of two workers; `block_on` runs the caller on the test's thread, so
/// spawned tasks run on the workers while the caller's code blocks.
fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a runtime")
}

/// The caller drops the call (a timeout, a `select!`) after one task failed and one
/// panicked: nobody can receive those any more, so they are reported, as a dropped
/// `TaskGroup` reports its own. Before, they were dropped silently with the `JoinSet`.
#[tokio::test(start_paused = true)]
async fn dropping_spawned_reports_the_failures_of_finished_tasks() {
    let reports = crate::reports::Reports::collect();
    let (ended_0, ended) = tokio::sync::oneshot::channel::<()>();
    let (ended_1, ended_too) = tokio::sync::oneshot::channel::<()>();
    let mut ended_senders = [Some(ended_0), Some(ended_1), None];
    let mut all = spawn(map_concurrent_spawned(0..3usize, 3, move |i| {
        // Dropped when the task's future is: once its output is in the `JoinSet`.
        let ended = ended_senders[i].take();
        async move {
            let _ended = ended;
            match i {
                0 => Err::<(), _>("disk full"),
                1 => panic!("task 1 panicked"),
                _ => std::future::pending().await,
            }
        }
    }));
    assert_pending!(all.poll());
    let _ = ended.await;
    let _ = ended_too.await;
    drop(all);
    let lines = reports.lines();
    for failure in ["disk full", "task 1 panicked"] {
        assert_eq!(
            lines.iter().filter(|line| line.contains(failure)).count(),
            1,
            "{failure} reported once: {lines:?}"
        );
    }
}

/// Dropped while a task is in the middle of a poll on another worker, the call cannot wait
/// for it; the error it ends with after the drop is still reported.
#[test]
fn dropping_spawned_reports_a_failure_that_ends_after_the_drop() {
    let reports = crate::reports::Reports::collect();
    let runtime = two_workers();
    let (started_tx, started) = std::sync::mpsc::channel::<()>();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let mut release_rx = Some(release_rx);
    runtime.block_on(async {
        let mut all = spawn(map_concurrent_spawned(0..1u32, 1, move |_| {
            let (started, release) = (started_tx.clone(), release_rx.take());
            async move {
                let _ = started.send(());
                // Blocks its worker: an abort cannot stop it.
                if let Some(release) = release {
                    let _ = release.recv();
                }
                Err::<(), _>("late failure")
            }
        }));
        assert_pending!(all.poll());
        started.recv().expect("the task started");
        drop(all);
        release.send(()).expect("the task waits");
    });
    let reported = reports.wait_for(Duration::from_secs(10), |line| {
        line.contains("late failure")
    });
    assert!(reported.is_some(), "{:?}", reports.lines());
}

/// `f` (the caller's code) panics after a task already failed: the other tasks are aborted
/// and joined, the failure is reported, then the panic is resumed. Before, the unwinding
/// dropped the `JoinSet` and the failure with it.
#[test]
fn a_panic_in_f_reports_a_sibling_failure_then_resumes() {
    let reports = crate::reports::Reports::collect();
    let runtime = two_workers();
    let (failing_tx, failing) = std::sync::mpsc::channel::<()>();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(map_concurrent_spawned(0..2u32, 2, |i| {
            if i == 1 {
                // Task 0 runs on a worker meanwhile; wait until it is failing.
                failing.recv().expect("task 0 runs");
                panic!("f panicked");
            }
            let failing = failing_tx.clone();
            async move {
                let _ = failing.send(());
                Err::<u32, _>("disk full")
            }
        }))
    }));
    let payload = outcome.expect_err("the panic of f is resumed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"f panicked"));
    let lines = reports.lines();
    assert!(
        lines.iter().any(|line| line.contains("disk full")),
        "reported before the panic was resumed: {lines:?}"
    );
}
