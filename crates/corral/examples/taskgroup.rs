//! The guides' TaskGroup patterns: `fetch_all`, `process_batch`, and error handling with an
//! `ExceptionGroup`, on `corral::task::TaskGroup`.
//!
//! Run: `cargo run --example taskgroup`

use std::time::{Duration, Instant};

use corral::task::{BoxError, TaskGroup};

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

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let start = Instant::now();
    let pages = fetch_all(&["a.example", "b.example", "c.example"]).await?;
    println!(
        "fetch_all: {} pages, concurrently, in {} ms",
        pages.len(),
        start.elapsed().as_millis()
    );

    // The first failure cancels the siblings; every error is kept.
    let start = Instant::now();
    match fetch_all(&["a.example", "down.example", "c.example"]).await {
        Ok(_) => println!("unexpected success"),
        Err(error) => println!(
            "fetch_all with a dead host: failed after {} ms: {error}",
            start.elapsed().as_millis()
        ),
    }

    // `run` is the body of the `async with` block: a failing child cancels the body's wait.
    let group: TaskGroup = TaskGroup::new();
    let outcome = group
        .run(async {
            group.spawn(fetch_url("down.example".to_string()));
            tokio::time::sleep(Duration::from_secs(60)).await; // cancelled at 100 ms
            Ok("the body finished")
        })
        .await;
    println!(
        "run: body cancelled by a failing child: {}",
        outcome.map_or_else(|e| e.to_string(), |v| v.to_string())
    );
    Ok(())
}
