//! Tour of `corral::task`.

use std::time::{Duration, Instant};

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

    // Several errors at once, handled except*-style by error type.
    let group = TaskGroup::new();
    group.spawn(async { Err::<(), BoxError>(std::io::Error::other("disk full").into()) });
    group.spawn(async {
        let _port: u16 = "eighty".parse()?;
        Ok::<(), BoxError>(())
    });
    group.spawn(async { Err::<(), BoxError>(std::io::Error::other("no route to host").into()) });
    if let Err(errors) = group.join().await {
        let (io_errors, rest) = errors.split_type::<std::io::Error>();
        println!(
            "ErrorGroup: 3 tasks failed in the same tick and all {} errors were kept; \
             except* io::Error took {}, {} other passed on",
            io_errors.len() + rest.len(),
            io_errors.len(),
            rest.len()
        );
    }

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
