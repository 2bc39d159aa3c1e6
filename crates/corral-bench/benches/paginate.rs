//! paginate: `n` items read through a paginated source, 100 items per page, each page one
//! `yield_now` (the "request").
//!
//! - `corral_paginate`: `corral::stream::paginate(1, fetch)`.
//! - `futures_unfold`: the same loop written by hand with `futures::stream::unfold` over pages
//!   and `flat_map` into items (anchor).
//!
//! Timed: consuming the whole stream, as asyncio's `async for item in fetch_paginated(...)`.

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;

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
    let pages = futures::stream::unfold(Some(1), |page| async move {
        let page = page?;
        let items = fetch(page, n).await.expect("no error");
        if items.is_empty() {
            None
        } else {
            Some((items, Some(page + 1)))
        }
    });
    let sum = pages
        .flat_map(futures::stream::iter)
        .fold(0, |acc, item| async move { acc + item })
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
