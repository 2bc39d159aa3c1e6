//! paginate: `n` items read through a paginated source, 100 items per page, each page one
//! `yield_now` (the "request").
//!
//! - `corral_paginate`: `corral::stream::paginate(1, fetch)`.
//! - `futures_unfold`: the same loop written by hand with `futures::stream::unfold` over pages
//!   and `try_flatten` into items, a page's error handed on as an item (anchor): both sides
//!   yield `Result`s, as a paginator whose fetch can fail must.
//!
//! Timed: consuming the whole stream, as asyncio's `async for item in fetch_paginated(...)`.

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::{StreamExt, TryStreamExt};

const ITEMS: u64 = 100_000;
const PAGE: u64 = 100;

async fn fetch(page: u64, n: u64) -> Result<Vec<u64>, std::io::Error> {
    tokio::task::yield_now().await;
    let start = (page - 1) * PAGE;
    Ok((start..(start + PAGE).min(n)).collect())
}

async fn corral_paginate(n: u64) -> Duration {
    let start = Instant::now();
    let stream = corral::stream::paginate(1, |page| fetch(page, n));
    let sum = stream
        .fold(0, |acc, item| async move { acc + item.expect("no error") })
        .await;
    let elapsed = start.elapsed();
    assert_eq!(sum, common::tri(n));
    elapsed
}

async fn futures_unfold(n: u64) -> Duration {
    let start = Instant::now();
    // Each page's error goes on down the stream, as `paginate` hands it on (rather than the
    // loop panicking on it): items are `Result`s on both sides.
    let pages = futures::stream::unfold(Some(1), |page| async move {
        let page = page?;
        match fetch(page, n).await {
            Ok(items) if items.is_empty() => None,
            Ok(items) => Some((Ok(items), Some(page + 1))),
            Err(error) => Some((Err(error), None)),
        }
    });
    let sum = pages
        .map_ok(|items| futures::stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .fold(0, |acc, item: Result<u64, std::io::Error>| async move {
            acc + item.expect("no error")
        })
        .await;
    let elapsed = start.elapsed();
    assert_eq!(sum, common::tri(n));
    elapsed
}

fn paginate(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "paginate");
    common::fit(&mut group, ITEMS);
    for rt in &runtimes {
        common::bench(&mut group, "corral_paginate", rt, ITEMS, corral_paginate);
        common::bench(&mut group, "futures_unfold", rt, ITEMS, futures_unfold);
    }
    group.finish();
}

criterion_group!(benches, paginate);
criterion_main!(benches);
