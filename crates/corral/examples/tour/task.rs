//! Tour of `corral::task`.

use std::sync::Arc;
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
    println!(
        "TaskGroup: 5 tasks joined in {} ms (sum of results {sum})",
        start.elapsed().as_millis()
    );

    let start = Instant::now();
    let group: TaskGroup = TaskGroup::new();
    group.spawn(io(1_000, 0));
    group.spawn(failing(50, "request 2"));
    let errors = group.join().await.err().ok_or("the group should fail")?;
    println!(
        "TaskGroup: first error cancelled the sibling at {} ms: {errors}",
        start.elapsed().as_millis()
    );

    let start = Instant::now();
    let values = gather([io(30, 1), io(10, 2), io(20, 3)]).await?;
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
    println!(
        "gather_unpin: 3 running tasks' results in input order {values:?} in {} ms",
        start.elapsed().as_millis()
    );

    let settled = gather_settled([call(10, Ok(1)), call(5, Err("item 2")), call(5, Ok(3))]).await;
    let oks = settled.iter().filter(|r| r.is_ok()).count();
    println!(
        "gather_settled: {oks} ok and {} error kept in place",
        settled.len() - oks
    );

    let mut stream = as_completed([io(30, 30), io(10, 10), io(20, 20)]);
    let mut order = Vec::new();
    while let Some(value) = stream.next().await {
        order.push(value?);
    }
    println!("as_completed: results in completion order {order:?}");

    let start = Instant::now();
    let winner = race([io(80, 80), io(20, 20)]).await.ok_or("no input")??;
    println!(
        "race: {winner} ms request won at {} ms, the other was cancelled",
        start.elapsed().as_millis()
    );

    let ok = first_ok([call(5, Err("mirror 1")), call(25, Ok(2)), call(60, Ok(3))]).await;
    println!(
        "first_ok: mirror {} answered after mirror 1 failed",
        ok.map_err(|e| e.to_string())?
    );

    let (done, pending) = wait(
        [io(10, 1), io(200, 2), io(300, 3)],
        WaitFor::FirstCompleted,
        None,
    )
    .await;
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
    println!(
        "ErrorGroup: 3 failing tasks, admitted before any ran and given a grace to finish, \
         left {kept} errors; except* io::Error took {}, {} other passed on",
        io_errors.len(),
        rest.len()
    );

    wait_with_timeout().await?;
    done_callbacks().await?;
    cancellation().await?;

    let background = BackgroundTasks::<BoxError>::with_hook(|failure: Failure<BoxError>| {
        println!("BackgroundTasks: hook reported \"{failure}\"");
    });
    background.spawn(failing(5, "cache refresh"));
    background.spawn(io(10_000, 0));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let grace = Duration::from_millis(30);
    let start = Instant::now();
    background.shutdown(grace).await;
    println!(
        "BackgroundTasks: shutdown gave the stuck task a {} ms grace, aborted it, and returned after {} ms; {} left",
        grace.as_millis(),
        start.elapsed().as_millis(),
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
    println!(
        "cancel_grace(100 ms): after \"{errors}\" the task watching the token {}, the one \
         ignoring it: {}; join returned at {} ms",
        outcome(tidy.await),
        outcome(stubborn.await),
        start.elapsed().as_millis()
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
    println!(
        "shutdown(50 ms): returned Ok after {} ms; the task watching the token {}, the one \
         ignoring it: {}",
        start.elapsed().as_millis(),
        outcome(tidy.await),
        outcome(stubborn.await)
    );
    Ok(())
}
