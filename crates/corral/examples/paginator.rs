//! The guides' `fetch_paginated` / `AsyncPaginator` / `fetch_pages`: a stream over every item
//! of a paginated API that stops at the first empty page and fetches a page only when it is
//! needed.
//!
//! Run: `cargo run --example paginator`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral::stream::{Page, StreamExt, paginate, paginate_cursor};
use corral::task::BoxError;

static REQUESTS: AtomicU32 = AtomicU32::new(0);

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// A pretend `GET /users?page=N`: 3 users per page, 8 users in all.
async fn get_users(page: u64) -> Result<Vec<String>, BoxError> {
    REQUESTS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let first = (page - 1) * 3 + 1;
    Ok((first..=(first + 2).min(8))
        .filter(|n| *n <= 8)
        .map(|n| format!("user{n}"))
        .collect())
}

/// A pretend cursor API: each page says where the next one starts.
async fn get_events(cursor: Option<u32>) -> Result<Page<u32, u32>, BoxError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let start = cursor.unwrap_or(100);
    let items: Vec<u32> = (start..start + 4).filter(|n| *n < 110).collect();
    let next = (start + 4 < 110).then_some(start + 4);
    Ok(Page { items, next })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // async for user in fetch_paginated("/users"): ...
    let users: Vec<String> = paginate(1, get_users).collect::<Result<_, _>>().await?;
    let requests = REQUESTS.load(Ordering::SeqCst);
    ensure!(
        users.len() == 8 && requests == 4,
        "{} users in {requests} requests, not 8 in 4",
        users.len()
    );
    println!(
        "paginator: {} users in {requests} requests (the 4th page was empty, so it stopped)",
        users.len()
    );

    REQUESTS.store(0, Ordering::SeqCst);
    let first_four: Vec<_> = paginate(1, get_users).take(4).collect().await;
    let requests = REQUESTS.load(Ordering::SeqCst);
    ensure!(
        first_four.len() == 4 && requests == 2,
        "took {} users with {requests} page fetches, not 4 with 2",
        first_four.len()
    );
    println!(
        "paginator: took the first {} users and only {requests} pages were fetched (pages are \
         lazy)",
        first_four.len()
    );

    let events: Vec<u32> = paginate_cursor(get_events)
        .collect::<Result<_, _>>()
        .await?;
    ensure!(
        events == (100..110).collect::<Vec<_>>(),
        "the cursor API gave {events:?}"
    );
    println!(
        "paginator: cursor API gave events {events:?} and stopped at the page without a cursor"
    );
    Ok(())
}
