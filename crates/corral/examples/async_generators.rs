//! The guides' "Async Generators", "Async Iteration Protocol" and "Async Comprehensions":
//! `async_range`, `AsyncRange`, `read_lines`, and `[x async for x in gen if ...]`.
//!
//! Run: `cargo run --example async_generators`
//!
//! The sleeps are 10 ms instead of the guides' 100 ms, to finish fast.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use corral::stream::{Stream, StreamExt, stream, try_stream};
use corral::task::BoxError;
use tokio::io::AsyncBufReadExt;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// `async def async_range(n): for i in range(n): await asyncio.sleep(0.1); yield i`
fn async_range(n: u32) -> impl Stream<Item = u32> {
    stream! {
        for i in 0..n {
            tokio::time::sleep(Duration::from_millis(10)).await;
            yield i;
        }
    }
}

/// `class AsyncRange` with `__aiter__`/`__anext__`, by hand: a `Stream` impl. The generator
/// above is the shorter way; this is what it saves you from writing.
struct AsyncRange {
    current: u32,
    end: u32,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl AsyncRange {
    fn new(start: u32, end: u32) -> Self {
        Self {
            current: start,
            end,
            sleep: Box::pin(tokio::time::sleep(Duration::from_millis(10))),
        }
    }
}

impl Stream for AsyncRange {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.current >= self.end {
            return Poll::Ready(None); // raise StopAsyncIteration
        }
        std::task::ready!(self.sleep.as_mut().poll(cx));
        let value = self.current;
        self.current += 1;
        let next = tokio::time::Instant::now() + Duration::from_millis(10);
        self.sleep.as_mut().reset(next);
        Poll::Ready(Some(value))
    }
}

/// `async def read_lines(path): async with aiofiles.open(path) as f: async for line in f: yield line.strip()`
fn read_lines(path: std::path::PathBuf) -> impl Stream<Item = std::io::Result<String>> {
    try_stream! {
        let file = tokio::fs::File::open(path).await?;
        let mut lines = tokio::io::BufReader::new(file).lines();
        while let Some(line) = lines.next_line().await? {
            yield line.trim().to_owned();
        }
    }
}

#[derive(Debug, Clone)]
struct User {
    id: u32,
    active: bool,
}

/// `fetch_users(user_ids)`: one user per id, as they arrive.
fn fetch_users(ids: Vec<u32>) -> impl Stream<Item = User> {
    stream! {
        for id in ids {
            tokio::time::sleep(Duration::from_millis(1)).await;
            yield User { id, active: id % 2 == 1 };
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // results = [x async for x in async_range(10)]
    let results: Vec<u32> = async_range(10).collect().await;
    ensure!(
        results == (0..10).collect::<Vec<_>>(),
        "async_range(10) gave {results:?}"
    );
    println!("async_generators: [x async for x in async_range(10)] = {results:?}");

    // async for i in AsyncRange(0, 5): print(i)
    let mut range = AsyncRange::new(0, 5);
    let mut seen = Vec::new();
    while let Some(i) = range.next().await {
        seen.push(i);
    }
    ensure!(seen == [0, 1, 2, 3, 4], "AsyncRange(0, 5) gave {seen:?}");
    println!("async_generators: async for i in AsyncRange(0, 5) gave {seen:?}");

    // process_file(path): count the lines of a file, read lazily
    let path = std::env::temp_dir().join(format!("corral-example-{}.txt", std::process::id()));
    tokio::fs::write(&path, "  first line\nsecond line  \n third \n").await?;
    let mut lines = std::pin::pin!(read_lines(path.clone()));
    let mut read = Vec::new();
    while let Some(line) = lines.next().await {
        let line = line?;
        println!("async_generators: read_lines yielded {line:?}");
        read.push(line);
    }
    tokio::fs::remove_file(&path).await?;
    ensure!(
        read == ["first line", "second line", "third"],
        "read_lines yielded {read:?}"
    );
    let count = read.len();
    println!("async_generators: process_file counted {count} lines");

    // Async comprehensions over fetch_users: list, dict, and with a condition.
    let ids = vec![1, 2, 3, 4, 5];
    let users: Vec<User> = fetch_users(ids.clone()).collect().await;
    let by_id: HashMap<u32, User> = fetch_users(ids.clone()).map(|u| (u.id, u)).collect().await;
    let active: Vec<u32> = fetch_users(ids)
        .filter(|u| u.active)
        .map(|u| u.id)
        .collect()
        .await;
    ensure!(
        users.len() == 5 && by_id.len() == 5 && active == [1, 3, 5],
        "{} users, {} by id, active {active:?}",
        users.len(),
        by_id.len()
    );
    println!(
        "async_generators: {} users, a map of {} by id, active ids {active:?}",
        users.len(),
        by_id.len()
    );
    Ok(())
}
