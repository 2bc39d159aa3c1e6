//! Tour of `corral::task`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use corral::sync::Event;
use corral::task::{
    BackgroundTasks, Failure, TaskGroup, WaitFor, as_completed, first_ok, gather, gather_settled,
    gather_unpin, race, wait,
};

use super::BoxError;

/// A simulated call that answers `outcome` after `ms`.
async fn call(ms: u64, outcome: Result<u64, &str>) -> Result<u64, BoxError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    outcome.map_err(|what| format!("{what} failed").into())
}

async fn io(ms: u64, value: u64) -> Result<u64, BoxError> {
    call(ms, Ok(value)).await
}

async fn failing(ms: u64, what: &str) -> Result<u64, BoxError> {
    call(ms, Err(what)).await
}

pub(crate) async fn run() -> Result<(), BoxError> {
    let start = Instant::now();
    let group = TaskGroup::new();
    let tasks: Vec<_> = (1..=5).map(|i| group.spawn(io(100, i))).collect();
    group.join().await?;
    let mut sum = 0;
    for task in tasks {
        sum += task.await?;
    }
    let took = start.elapsed();
    ensure!(
        sum == 15 && took < Duration::from_millis(5 * 100),
        "TaskGroup: 5 tasks of 100 ms summed to {sum} in {took:?}"
    );
    println!(
        "TaskGroup: 5 tasks joined in {} ms (sum of results {sum})",
        took.as_millis()
    );

    let start = Instant::now();
    let group: TaskGroup = TaskGroup::new();
    group.spawn(io(1_000, 0));
    group.spawn(failing(50, "request 2"));
    let errors = group.join().await.err().ok_or("the group should fail")?;
    let took = start.elapsed();
    ensure!(
        errors.len() == 1 && took < Duration::from_millis(1_000),
        "TaskGroup: {errors} after {took:?}: the 1 s sibling was not cancelled"
    );
    println!(
        "TaskGroup: first error cancelled the sibling at {} ms: {errors}",
        took.as_millis()
    );

    let start = Instant::now();
    let values = gather([io(30, 1), io(10, 2), io(20, 3)]).await?;
    ensure!(values == [1, 2, 3], "gather gave {values:?}");
    println!(
        "gather: {} results in input order {values:?} in {} ms",
        values.len(),
        start.elapsed().as_millis()
    );

    // Tasks already running (`create_task`, then `gather(*tasks)`): their handles.
    let start = Instant::now();
    let group: TaskGroup = TaskGroup::new();
    let tasks: Vec<_> = [(30, 1), (10, 2), (20, 3)]
        .into_iter()
        .map(|(ms, value)| group.spawn(io(ms, value)))
        .collect();
    let values = gather_unpin(tasks).await?;
    group.join().await?;
    ensure!(values == [1, 2, 3], "gather_unpin gave {values:?}");
    println!(
        "gather_unpin: 3 running tasks' results in input order {values:?} in {} ms",
        start.elapsed().as_millis()
    );

    let settled = gather_settled([call(10, Ok(1)), call(5, Err("item 2")), call(5, Ok(3))]).await;
    let oks = settled.iter().filter(|r| r.is_ok()).count();
    ensure!(
        matches!(settled.as_slice(), [Ok(1), Err(_), Ok(3)]),
        "gather_settled gave {settled:?}"
    );
    println!(
        "gather_settled: {oks} ok and {} error kept in place",
        settled.len() - oks
    );

    let mut stream = as_completed([io(30, 30), io(10, 10), io(20, 20)]);
    let mut order = Vec::new();
    while let Some(value) = stream.next().await {
        order.push(value?);
    }
    ensure!(order == [10, 20, 30], "as_completed gave {order:?}");
    println!("as_completed: results in completion order {order:?}");

    // Each request counts itself finished; `race` returns only once the loser is dropped.
    let start = Instant::now();
    let finished = AtomicU32::new(0);
    let finished = &finished;
    let request = |ms| async move {
        let value = io(ms, ms).await;
        finished.fetch_add(1, Ordering::SeqCst);
        value
    };
    let winner = race([request(80), request(20)]).await.ok_or("no input")??;
    let took = start.elapsed();
    ensure!(
        winner == 20 && finished.load(Ordering::SeqCst) == 1 && took < Duration::from_millis(80),
        "race: {winner} won at {took:?}, {} requests finished",
        finished.load(Ordering::SeqCst)
    );
    println!(
        "race: {winner} ms request won at {} ms, the other was cancelled",
        took.as_millis()
    );

    let ok = first_ok([call(5, Err("mirror 1")), call(25, Ok(2)), call(60, Ok(3))]).await;
    let mirror = ok.map_err(|e| e.to_string())?;
    ensure!(mirror == 2, "first_ok: mirror {mirror} answered first");
    println!("first_ok: mirror {mirror} answered after mirror 1 failed");

    let (done, pending) = wait(
        [io(10, 1), io(200, 2), io(300, 3)],
        WaitFor::FirstCompleted,
        None,
    )
    .await;
    ensure!(
        done.len() == 1 && pending.len() == 2,
        "wait(FirstCompleted): {} done, {} pending",
        done.len(),
        pending.len()
    );
    println!(
        "wait(FirstCompleted): {} done, {} still running (dropped: aborted)",
        done.len(),
        pending.len()
    );
    drop(pending);

    // Several errors at once, handled except*-style by error type. The three tasks wait for
    // one start signal, so all are admitted before any fails (once a group is cancelling it
    // admits nothing new), and the group's grace lets the others finish after the first
    // failure instead of aborting them: each error is kept.
    let go = Arc::new(Event::new());
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(5))
        .build();
    let gated = |fail: fn() -> Result<(), BoxError>| {
        let go = Arc::clone(&go);
        async move {
            go.wait().await;
            fail()
        }
    };
    group.spawn(gated(|| Err(std::io::Error::other("disk full").into())));
    group.spawn(gated(|| {
        let _port: u16 = "eighty".parse()?;
        Ok(())
    }));
    group.spawn(gated(|| {
        Err(std::io::Error::other("no route to host").into())
    }));
    go.set();
    let errors = group.join().await.err().ok_or("the group should fail")?;
    let kept = errors.len();
    let (io_errors, rest) = errors.split_type::<std::io::Error>();
    ensure!(
        kept == 3 && io_errors.len() == 2 && rest.len() == 1,
        "ErrorGroup: kept {kept}, {} io::Error, {} other",
        io_errors.len(),
        rest.len()
    );
    println!(
        "ErrorGroup: 3 failing tasks, admitted before any ran and given a grace to finish, \
         left {kept} errors; except* io::Error took {}, {} other passed on",
        io_errors.len(),
        rest.len()
    );

    wait_with_timeout().await?;
    done_callbacks().await?;
    cancellation().await?;

    let reported = Arc::new(AtomicU32::new(0));
    let reports = Arc::clone(&reported);
    let background = BackgroundTasks::<BoxError>::with_hook(move |failure: Failure<BoxError>| {
        reports.fetch_add(1, Ordering::SeqCst);
        println!("BackgroundTasks: hook reported \"{failure}\"");
    });
    background.spawn(failing(5, "cache refresh"));
    background.spawn(io(10_000, 0));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let grace = Duration::from_millis(30);
    let start = Instant::now();
    background.shutdown(grace).await;
    let took = start.elapsed();
    ensure!(
        reported.load(Ordering::SeqCst) == 1
            && background.is_empty()
            && took >= grace
            && took < Duration::from_secs(10),
        "BackgroundTasks: {} failures reported, {} left, shutdown took {took:?}",
        reported.load(Ordering::SeqCst),
        background.len()
    );
    println!(
        "BackgroundTasks: shutdown gave the stuck task a {} ms grace, aborted it, and returned after {} ms; {} left",
        grace.as_millis(),
        took.as_millis(),
        background.len()
    );
    Ok(())
}

/// `done, pending = await asyncio.wait(tasks, timeout=...)`, then `task.cancel()` for each
/// pending one.
async fn wait_with_timeout() -> Result<(), BoxError> {
    let start = Instant::now();
    let (done, pending) = wait(
        [io(10, 1), io(20, 2), io(10_000, 3)],
        WaitFor::AllCompleted,
        Some(Duration::from_millis(100)),
    )
    .await;
    let timed_out_at = start.elapsed().as_millis();
    let still_running = pending.len();
    ensure!(
        done.len() == 2 && still_running == 1 && timed_out_at >= 100,
        "wait(timeout=100 ms): {} done and {still_running} pending at {timed_out_at} ms",
        done.len()
    );
    for task in pending {
        task.abort();
    }
    println!(
        "wait(timeout=100 ms): returned at {timed_out_at} ms with {} done and {still_running} \
         pending, then aborted the pending",
        done.len()
    );
    Ok(())
}

/// `task.add_done_callback(cb)`: each callback gets its task's outcome, and nobody awaits the
/// tasks.
async fn done_callbacks() -> Result<(), BoxError> {
    // The failure itself goes to the manager's hook (silent here); the callback sees how the
    // task ended.
    let background = BackgroundTasks::<BoxError>::with_hook(|_| {});
    let (tell, mut told) = tokio::sync::mpsc::unbounded_channel();
    let jobs = [
        background.spawn(io(10, 42)),
        background.spawn(failing(5, "job 2")),
        background.spawn(io(10_000, 0)),
    ];
    for (n, job) in jobs.into_iter().enumerate() {
        let tell = tell.clone();
        job.on_done(move |outcome| {
            let _ = tell.send((n, outcome.map_err(|e| e.to_string())));
        });
    }
    drop(tell);
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        outcomes.push(told.recv().await.ok_or("a callback did not run")?);
    }
    background.shutdown(Duration::ZERO).await;
    while let Some(outcome) = told.recv().await {
        outcomes.push(outcome);
    }
    outcomes.sort_by_key(|(n, _)| *n);
    let outcomes: Vec<_> = outcomes.into_iter().map(|(_, outcome)| outcome).collect();
    let as_expected = matches!(
        outcomes.as_slice(),
        [Ok(42), Err(failed), Err(cancelled)]
            if failed == "task failed" && cancelled == "task was cancelled"
    );
    ensure!(as_expected, "Task::on_done: the callbacks saw {outcomes:?}");
    println!(
        "Task::on_done: {} callbacks ran, once each, with their tasks' outcomes (the third at \
         shutdown): {outcomes:?}",
        outcomes.len()
    );
    Ok(())
}

/// `except CancelledError: await cleanup(); raise`: children watch the group's token and
/// clean up within a grace; Rust has no async drop, so a child that ignores the token is
/// aborted when the grace ends.
async fn cancellation() -> Result<(), BoxError> {
    let outcome = |result: Result<&str, corral::task::TaskError>| {
        result.map_or_else(|e| e.to_string(), |v| format!("returned {v:?}"))
    };

    // A failure cancels the group; the siblings get `cancel_grace` before they are aborted.
    let start = Instant::now();
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_millis(100))
        .build();
    let token = group.token();
    let tidy = group.spawn(async move {
        token.cancelled().await;
        tokio::time::sleep(Duration::from_millis(10)).await; // async cleanup
        Ok("flushed")
    });
    let stubborn = group.spawn(async {
        io(10_000, 0).await?; // never looks at the token
        Ok("finished")
    });
    group.spawn(failing(10, "upstream")); // spawned last: the others are already admitted
    let errors = group.join().await.err().ok_or("the group should fail")?;
    let took = start.elapsed();
    let (tidy, stubborn) = (tidy.await, stubborn.await);
    ensure!(
        tidy == Ok("flushed")
            && stubborn.is_err_and(|e| e.is_cancelled())
            && took >= Duration::from_millis(10 + 100),
        "cancel_grace(100 ms): {tidy:?} and {stubborn:?}, join returned after {took:?}"
    );
    println!(
        "cancel_grace(100 ms): after \"{errors}\" the task watching the token {}, the one \
         ignoring it: {}; join returned at {} ms",
        outcome(tidy),
        outcome(stubborn),
        took.as_millis()
    );

    // `shutdown(grace)` cancels from outside; it is not a failure.
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    let tidy = group.spawn(async move {
        token.cancelled().await;
        tokio::time::sleep(Duration::from_millis(10)).await; // async cleanup
        Ok("cleaned up")
    });
    let stubborn = group.spawn(async {
        io(10_000, 0).await?;
        Ok("finished")
    });
    let start = Instant::now();
    group.shutdown(Duration::from_millis(50)).await?;
    let took = start.elapsed();
    let (tidy, stubborn) = (tidy.await, stubborn.await);
    ensure!(
        tidy == Ok("cleaned up")
            && stubborn.is_err_and(|e| e.is_cancelled())
            && took >= Duration::from_millis(50),
        "shutdown(50 ms): {tidy:?} and {stubborn:?}, returned after {took:?}"
    );
    println!(
        "shutdown(50 ms): returned Ok after {} ms; the task watching the token {}, the one \
         ignoring it: {}",
        took.as_millis(),
        outcome(tidy),
        outcome(stubborn)
    );
    Ok(())
}
