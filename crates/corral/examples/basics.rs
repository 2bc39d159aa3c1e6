//! The guides' "Basic Async/Await": `asyncio.run`, `gather` over one coroutine function and over
//! different ones, `return_exceptions=True`, and `create_task`.
//!
//! Python (basic guide):
//! ```python
//! async def fetch_data(url): await asyncio.sleep(1); return {"url": url, "status": "ok"}
//! asyncio.run(main())                                          # the entry point
//! await asyncio.gather(*[fetch_data(u) for u in urls])         # same function, many inputs
//! await asyncio.gather(fetch_user(1), fetch_orders(1))         # different coroutines
//! await asyncio.gather(*tasks, return_exceptions=True)         # keep the failures
//! task = asyncio.create_task(fetch_data(url)); ...; await task # start now, await later
//! ```
//!
//! In Rust, `#[tokio::main]` is `asyncio.run`; `corral::task::gather` takes any number of
//! futures of one type; `tokio::try_join!` takes a fixed set of futures of different types and,
//! like `gather`, fails on the first error and drops the rest (`tokio::join!` when the outputs
//! are not `Result`s). `tokio::spawn` is `create_task`, and a `TaskGroup` is the structured
//! form. The sleeps are 20 ms instead of 1 s so the program finishes at once.
//!
//! Run it with `cargo run --example basics`.

use std::time::{Duration, Instant};

use corral::task::{BoxError, TaskGroup, gather, gather_settled};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn fetch_data(url: &str) -> Result<String, BoxError> {
    tokio::time::sleep(Duration::from_millis(20)).await; // simulated I/O
    if url.contains("broken") {
        return Err(format!("{url}: connection refused").into());
    }
    Ok(format!("{{url: {url}, status: ok}}"))
}

async fn fetch_user(id: u32) -> Result<String, BoxError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(format!("user {id}"))
}

async fn fetch_orders(id: u32) -> Result<Vec<u32>, BoxError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(vec![id * 100, id * 100 + 1])
}

#[tokio::main] // asyncio.run(main())
async fn main() -> Result<(), BoxError> {
    let urls = ["a.example", "b.example", "c.example"];
    let start = Instant::now();
    let pages = gather(urls.iter().map(|u| fetch_data(u))).await?;
    let took = start.elapsed();
    ensure!(
        pages.len() == 3 && took < Duration::from_millis(3 * 20),
        "gather: {} pages took {took:?}",
        pages.len()
    );
    println!(
        "gather: {} pages in {} ms (concurrently, not 3 x 20 ms)",
        pages.len(),
        took.as_millis()
    );

    let (user, orders) = tokio::try_join!(fetch_user(1), fetch_orders(1))?;
    ensure!(
        user == "user 1" && orders == [100, 101],
        "try_join!: got {user:?} and {orders:?}"
    );
    println!("try_join!: two different calls together gave {user:?} and {orders:?}");

    let settled = gather_settled(["a.example", "broken.example"].map(fetch_data)).await;
    let kept: Vec<Option<String>> = settled.into_iter().map(Result::ok).collect();
    ensure!(
        matches!(kept.as_slice(), [Some(_), None]),
        "gather_settled: kept {kept:?}"
    );
    println!("gather_settled: {kept:?} (the failure became None, as in safe_fetch_all)");

    let task = tokio::spawn(async { fetch_data("d.example").await.map_err(|e| e.to_string()) });
    let other_work = fetch_user(2).await?; // the task runs meanwhile
    println!(
        "spawn (create_task): started, did {other_work:?} meanwhile, then awaited {:?}",
        task.await??
    );

    let group = TaskGroup::new();
    let handles: Vec<_> = urls.iter().map(|u| group.spawn(fetch_data(u))).collect();
    group.join().await?; // every task is done (or all were cancelled by the first failure)
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await?);
    }
    let in_spawn_order = results.len() == urls.len()
        && results
            .iter()
            .zip(urls)
            .all(|(page, url)| page.contains(url));
    ensure!(in_spawn_order, "TaskGroup: results {results:?}");
    println!(
        "TaskGroup: {} tasks joined; results kept in spawn order",
        results.len()
    );
    Ok(())
}
