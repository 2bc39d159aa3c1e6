//! Tour of `corral::retry` and `corral::pool`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use corral::pool::{Pool, SubmitError, WorkerPool};
use corral::retry::Retry;

use super::BoxError;

pub(crate) async fn run() -> Result<(), BoxError> {
    // retry: a call that fails twice, under exponential backoff from 10 ms.
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let answer = Retry::exponential(Duration::from_millis(10))
        .run(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err("busy")
            } else {
                Ok(42)
            }
        })
        .await?;
    println!(
        "Retry: the call failed twice, then returned {answer}; the waits of 10 and 20 ms took {} ms in all",
        start.elapsed().as_millis()
    );

    let start = Instant::now();
    let err = Retry::exponential(Duration::from_millis(10))
        .max_attempts(10)
        .max_elapsed(Duration::from_millis(50))
        .run(|| async { Err::<(), _>("down") })
        .await
        .err()
        .ok_or("a service that is always down succeeded")?;
    println!(
        "Retry: a service that stays down, with a 50 ms budget: gave up after {} attempts at {} ms, before a wait that would pass the budget",
        err.attempts(),
        start.elapsed().as_millis()
    );

    // WorkerPool: 8 jobs of 20 ms on 4 workers; one job fails without harming the others.
    let pool = WorkerPool::new(4, |n: u64| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if n == 3 {
            Err("job 3 failed")
        } else {
            Ok(n * 10)
        }
    });
    let start = Instant::now();
    let results = corral::task::gather_settled((0..8).map(|n| pool.submit(n))).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let failed = results
        .iter()
        .filter(|r| matches!(r, Err(SubmitError::Failed(_))))
        .count();
    println!(
        "WorkerPool: 8 jobs of 20 ms on 4 workers took {} ms; {ok} succeeded, {failed} failed on its own",
        start.elapsed().as_millis()
    );
    pool.shutdown().await;

    // Pool: 10 tasks share 2 connections that take 10 ms to open.
    let opened = Arc::new(AtomicU32::new(0));
    let counter = opened.clone();
    let connections = Pool::from_fn(2, move || {
        let counter = counter.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, BoxError>(counter.fetch_add(1, Ordering::SeqCst))
        }
    });
    let start = Instant::now();
    let group = corral::task::TaskGroup::new();
    for _ in 0..10 {
        let connections = connections.clone();
        group.spawn(async move {
            let _conn = connections.acquire().await?;
            tokio::time::sleep(Duration::from_millis(5)).await; // the query
            Ok(())
        });
    }
    group.join().await?;
    println!(
        "Pool: 10 queries of 5 ms shared {} connections (opened once each) in {} ms",
        opened.load(Ordering::SeqCst),
        start.elapsed().as_millis()
    );
    Ok(())
}
