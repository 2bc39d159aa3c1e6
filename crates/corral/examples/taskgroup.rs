//! The guides' TaskGroup patterns on `corral::task::TaskGroup`: `fetch_all` and `process_batch`,
//! `robust_processing` (`except ExceptionGroup as eg`, here an `ErrorGroup` inspected and split
//! by error type), and `fetch_with_errors` (each task keeps its own error, so the group never
//! fails).
//!
//! It runs on a current-thread runtime, as asyncio's loop does, so every task of a batch is
//! spawned before any of them runs. On a multi-thread runtime a task can fail while the loop is
//! still spawning; the group is cancelling by then, and refuses the rest (they are never
//! polled): gate the tasks on one start signal, as the tour does, to have every error of a
//! batch.
//!
//! Run: `cargo run --example taskgroup`

use std::collections::BTreeMap;
use std::fmt;
use std::num::ParseIntError;
use std::time::{Duration, Instant};

use corral::task::{BoxError, ErrorGroup, TaskGroup};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// Simulates a request: waits, then answers (or fails for hosts named "down...").
async fn fetch_url(url: String) -> Result<String, BoxError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    if url.starts_with("down") {
        return Err(format!("{url}: connection refused").into());
    }
    Ok(format!("Content from {url}"))
}

/// `async with TaskGroup() as tg: tasks = [tg.create_task(fetch_url(u)) for u in urls]`
/// `return [task.result() for task in tasks]`
async fn fetch_all(urls: &[&str]) -> Result<Vec<String>, BoxError> {
    let group = TaskGroup::new();
    let tasks: Vec<_> = urls
        .iter()
        .map(|url| group.spawn(fetch_url(url.to_string())))
        .collect();
    group.join().await?; // the ErrorGroup of every failure, if any
    let mut pages = Vec::with_capacity(tasks.len());
    for task in tasks {
        pages.push(task.await?); // all finished: this returns at once
    }
    Ok(pages)
}

/// The guides' `process_item`: an item that does not parse, or is rejected, fails at once;
/// a good one is processed for 20 ms.
async fn process_item(item: &str) -> Result<u32, BoxError> {
    let n: u32 = item.parse()?;
    if n == 13 {
        return Err(Box::new(Rejected(n)));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(n * 10)
}

/// An error of our own, to split on by type.
#[derive(Debug)]
struct Rejected(u32);

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {} rejected", self.0)
    }
}

impl std::error::Error for Rejected {}

/// `async with TaskGroup() as tg: tasks = [tg.create_task(process_item(i)) for i in items]`
/// `return [task.result() for task in tasks]`
async fn process_batch(items: &[&'static str]) -> Result<Vec<u32>, ErrorGroup<BoxError>> {
    let group = TaskGroup::new();
    let tasks: Vec<_> = items
        .iter()
        .map(|&item| group.spawn(process_item(item)))
        .collect();
    group.join().await?; // all tasks complete before this line
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        // Finished and succeeded: a task error here would be a bug, not an item's failure.
        results.push(task.await.map_err(|e| ErrorGroup::new(vec![e.into()]))?);
    }
    Ok(results)
}

/// `try: async with TaskGroup() as tg: ... except ExceptionGroup as eg: errors = eg.exceptions`
/// The results of the tasks that finished before the first failure cancelled the rest, every
/// error, and how many tasks were cancelled.
async fn robust_processing(items: &[&'static str]) -> (Vec<u32>, Vec<BoxError>, usize) {
    let group = TaskGroup::new();
    let tasks: Vec<_> = items
        .iter()
        .map(|&item| group.spawn(process_item(item)))
        .collect();
    let errors = match group.join().await {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_errors(),
    };
    let (mut results, mut cancelled) = (Vec::new(), 0);
    for task in tasks {
        match task.await {
            Ok(value) => results.push(value),
            Err(e) if e.is_cancelled() => cancelled += 1,
            Err(_) => {} // failed: its error is in `errors`
        }
    }
    (results, errors, cancelled)
}

/// 002's `fetch_with_errors`: each task catches its own error into the result map, so one
/// dead host cancels nothing.
async fn fetch_with_errors(
    urls: &[&str],
) -> Result<BTreeMap<String, Result<String, String>>, BoxError> {
    let group = TaskGroup::new();
    let tasks: Vec<_> = urls
        .iter()
        .map(|url| {
            let url = url.to_string();
            group.spawn(async move {
                let result = fetch_url(url.clone()).await.map_err(|e| e.to_string());
                Ok::<_, BoxError>((url, result))
            })
        })
        .collect();
    group.join().await?;
    let mut results = BTreeMap::new();
    for task in tasks {
        let (url, result) = task.await?;
        results.insert(url, result);
    }
    Ok(results)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let start = Instant::now();
    let pages = fetch_all(&["a.example", "b.example", "c.example"]).await?;
    let took = start.elapsed();
    ensure!(
        pages.len() == 3 && took < Duration::from_millis(3 * 100),
        "fetch_all: {} pages in {took:?}",
        pages.len()
    );
    println!(
        "fetch_all: {} pages, concurrently, in {} ms",
        pages.len(),
        took.as_millis()
    );

    // The first failure cancels the siblings; every error is kept.
    let start = Instant::now();
    let Err(error) = fetch_all(&["a.example", "down.example", "c.example"]).await else {
        return Err("fetch_all with a dead host succeeded".into());
    };
    println!(
        "fetch_all with a dead host: failed after {} ms: {error}",
        start.elapsed().as_millis()
    );

    let start = Instant::now();
    let results = process_batch(&["1", "2", "3", "4"]).await?;
    ensure!(
        results == [10, 20, 30, 40],
        "process_batch gave {results:?}"
    );
    println!(
        "process_batch: {results:?}, 4 items concurrently in {} ms",
        start.elapsed().as_millis()
    );

    // Two bad items fail in the same tick as each other: both errors are kept, and the first
    // failure cancels the good items still being processed.
    let (results, errors, cancelled) = robust_processing(&["1", "x", "3", "13", "5"]).await;
    println!(
        "robust_processing: {} results, {cancelled} good items cancelled, {} errors: {}",
        results.len(),
        errors.len(),
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    ensure!(
        errors.len() == 2 && results.len() + cancelled == 3,
        "robust_processing: {} errors, {} results and {cancelled} cancelled of 3 good items",
        errors.len(),
        results.len()
    );

    // `except* ValueError` / `except* Rejected`: split the ErrorGroup by error type.
    let Err(errors) = process_batch(&["7", "oops", "13", "8"]).await else {
        return Err("process_batch with a bad and a rejected item succeeded".into());
    };
    let (parse, rest) = errors.split_type::<ParseIntError>();
    let (rejected, rest) = rest.split_type::<Rejected>();
    let list =
        |group: &ErrorGroup<BoxError>| group.iter().map(ToString::to_string).collect::<Vec<_>>();
    ensure!(
        parse.len() == 1 && list(&rejected) == ["item 13 rejected"],
        "split into {:?} and {:?}",
        list(&parse),
        list(&rejected)
    );
    println!(
        "ErrorGroup: split by type into parse errors {:?}, rejections {:?}, and {} other",
        list(&parse),
        list(&rejected),
        rest.len()
    );
    rest.into_result()?; // nothing else: the rest would propagate

    let results = fetch_with_errors(&["a.example", "down.example", "c.example"]).await?;
    let outcomes: Vec<bool> = results.values().map(Result::is_ok).collect();
    ensure!(
        outcomes == [true, true, false],
        "fetch_with_errors: {results:?}"
    );
    println!("fetch_with_errors: the group succeeded; each url has its own outcome: {results:?}");

    // `run` is the body of the `async with` block: a failing child cancels the body's wait.
    let group: TaskGroup = TaskGroup::new();
    let outcome = group
        .run(async {
            group.spawn(fetch_url("down.example".to_string()));
            tokio::time::sleep(Duration::from_secs(60)).await; // cancelled at 100 ms
            Ok("the body finished")
        })
        .await;
    let Err(error) = outcome else {
        return Err("run: the body finished despite its failing child".into());
    };
    println!("run: body cancelled by a failing child: {error}");
    Ok(())
}
