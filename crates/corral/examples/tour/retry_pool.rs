//! Tour of `corral::retry` and `corral::pool`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use corral::pool::{Pool, SubmitError, WorkerPool};
use corral::retry::{GiveUp, Retry};

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
    let (calls, took) = (calls.load(Ordering::SeqCst), start.elapsed());
    ensure!(
        answer == 42 && calls == 3 && took >= Duration::from_millis(30),
        "Retry: {calls} calls returned {answer} after {took:?}"
    );
    println!(
        "Retry: the call failed twice, then returned {answer}; the waits of 10 and 20 ms took {} ms in all",
        took.as_millis()
    );

    let start = Instant::now();
    let err = Retry::exponential(Duration::from_millis(10))
        .max_attempts(10)
        .max_elapsed(Duration::from_millis(50))
        .run(|| async { Err::<(), _>("down") })
        .await
        .err()
        .ok_or("a service that is always down succeeded")?;
    let took = start.elapsed();
    // Waits of 10, 20 and 40 ms: the third would pass the budget, so it stops after 3 attempts
    // (fewer if this thread was held up).
    ensure!(
        err.reason() == GiveUp::Elapsed && err.attempts() <= 3,
        "Retry: gave up after {} attempts ({:?}), not at its 50 ms budget",
        err.attempts(),
        err.reason()
    );
    println!(
        "Retry: a service that stays down, with a 50 ms budget: gave up after {} attempts at {} ms, before a wait that would pass the budget",
        err.attempts(),
        took.as_millis()
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
    let took = start.elapsed();
    ensure!(
        ok == 7 && matches!(results[3], Err(SubmitError::Failed(_))),
        "WorkerPool: {ok} of 8 jobs succeeded and job 3 ended {:?}",
        results[3]
    );
    ensure!(
        took < Duration::from_millis(8 * 20),
        "WorkerPool: 8 jobs of 20 ms on 4 workers took {took:?}, as long as one after another"
    );
    println!(
        "WorkerPool: 8 jobs of 20 ms on 4 workers took {} ms; {ok} succeeded, {failed} failed on its own",
        took.as_millis()
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
    let opened = opened.load(Ordering::SeqCst);
    ensure!(
        opened == 2,
        "Pool: 10 queries opened {opened} connections, not 2"
    );
    println!(
        "Pool: 10 queries of 5 ms shared {opened} connections (opened once each) in {} ms",
        start.elapsed().as_millis()
    );
    Ok(())
}
