//! The guides' gather patterns: `fetch_all_users` (gather), `safe_fetch_all`
//! (`return_exceptions=True`) and `process_as_completed`, all polled in place; and gathering
//! tasks already created (`create_task`, then `gather(*tasks)`), over their handles.
//!
//! Run: `cargo run --example gather`

use std::time::{Duration, Instant};

use corral::task::{BoxError, TaskGroup, as_completed, gather, gather_settled, gather_unpin};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

#[derive(Debug)]
struct User {
    id: u32,
    name: String,
}

/// Simulates a database call whose latency depends on the id; id 13 does not exist.
async fn fetch_user(id: u32) -> Result<User, BoxError> {
    tokio::time::sleep(Duration::from_millis(20 * u64::from(6 - id % 6))).await;
    if id == 13 {
        return Err(format!("user {id} not found").into());
    }
    Ok(User {
        id,
        name: format!("user-{id}"),
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // await asyncio.gather(*[fetch_user(id) for id in ids])
    let start = Instant::now();
    let users = gather([1, 2, 3, 4, 5].map(fetch_user)).await?;
    let ids: Vec<u32> = users.iter().map(|u| u.id).collect();
    let took = start.elapsed();
    // The slowest takes 100 ms; one after another they would take 300.
    ensure!(
        ids == [1, 2, 3, 4, 5] && took < Duration::from_millis(300),
        "gather: users {ids:?} in {took:?}"
    );
    println!(
        "gather: {} users in input order {ids:?} in {} ms",
        users.len(),
        took.as_millis()
    );

    // gather(*tasks, return_exceptions=True)
    let results = gather_settled([11, 12, 13, 14].map(fetch_user)).await;
    let names: Vec<Option<String>> = results
        .into_iter()
        .map(|r| r.ok().map(|u| u.name))
        .collect();
    let expected = [Some("user-11"), Some("user-12"), None, Some("user-14")];
    ensure!(
        names.iter().map(Option::as_deref).eq(expected),
        "gather_settled: {names:?}"
    );
    println!("gather_settled: {names:?} (the missing user is None, the others are kept)");

    // tasks = [asyncio.create_task(fetch_user(id)) for id in ids]; await asyncio.gather(*tasks)
    // The tasks run from the moment they are spawned; `gather_unpin` collects their handles in
    // input order without boxing each one (task handles are `Unpin`).
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let tasks: Vec<_> = [6, 7, 8].map(|id| group.spawn(fetch_user(id))).into();
    let users = gather_unpin(tasks).await?;
    group.join().await?;
    let ids: Vec<u32> = users.iter().map(|u| u.id).collect();
    ensure!(ids == [6, 7, 8], "gather_unpin: {ids:?}");
    println!("gather_unpin: tasks already running, gathered in input order {ids:?}");

    // for coro in asyncio.as_completed(tasks): process(await coro)
    let mut arriving = as_completed([1, 2, 3, 4, 5].map(fetch_user));
    let mut order = Vec::new();
    while let Some(user) = arriving.next().await {
        order.push(user?.id);
    }
    // Lower ids are slower: user 5 answers first, user 1 last.
    ensure!(order == [5, 4, 3, 2, 1], "as_completed: {order:?}");
    println!("as_completed: processed as they arrived: {order:?}");
    Ok(())
}
