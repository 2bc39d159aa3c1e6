//! Async generators, paginators, polling, batching and merging: the guides' streaming
//! patterns, as [`Stream`]s.
//!
//! # Coming from asyncio
//!
//! | asyncio | corral |
//! |---|---|
//! | `async def gen(): ... yield x` | [`stream!`] (from async-stream): `stream! { ... yield x; }` |
//! | an async generator that may raise | [`try_stream!`]: `?` inside, the error is the last item |
//! | `class AsyncRange: __aiter__/__anext__` | `impl Stream` by hand, or [`futures_util::stream::unfold`]; usually [`stream!`] is shorter |
//! | `async for x in gen:` | `while let Some(x) = gen.next().await` (with [`StreamExt`]) |
//! | `[x async for x in gen]` | `gen.collect::<Vec<_>>().await` |
//! | `[x async for x in gen if pred(x)]` | `gen.filter(pred).collect::<Vec<_>>().await` |
//! | `{x.id: x async for x in gen}` | `gen.map(\|x\| (x.id, x)).collect::<HashMap<_, _>>().await` |
//! | `fetch_paginated(url)` / `AsyncPaginator` (page numbers) | [`paginate`] |
//! | a cursor/`next` token API | [`paginate_cursor`] with [`Page`] |
//! | `stream_log_entries`: fetch after the last id, `sleep(1)`, repeat | [`poll`] |
//! | `batch_insert(items, batch_size)` | `items.chunks(n)` in memory; [`batches`] for items arriving over time |
//! | merging several async iterators (`aiostream.merge`) | [`select_all()`], [`StreamExt::merge`], [`StreamMap`] (keyed) |
//!
//! # Ported from the guides
//!
//! `async_range(n)` (sleep, then yield each number) and its comprehension:
//!
//! ```
//! use std::time::Duration;
//! use corral::stream::{Stream, StreamExt, stream};
//!
//! fn async_range(n: u32) -> impl Stream<Item = u32> {
//!     stream! {
//!         for i in 0..n {
//!             tokio::time::sleep(Duration::from_millis(100)).await;
//!             yield i;
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # tokio::time::pause();
//! // results = [x async for x in async_range(10)]
//! let results: Vec<u32> = async_range(10).collect().await;
//! assert_eq!(results, (0..10).collect::<Vec<_>>());
//! // [x async for x in async_range(10) if x % 2 == 0]
//! let evens: Vec<u32> = async_range(10).filter(|x| x % 2 == 0).collect().await;
//! assert_eq!(evens, [0, 2, 4, 6, 8]);
//! // async for i in AsyncRange(0, 5): print(i)
//! let mut numbers = std::pin::pin!(async_range(5));
//! while let Some(i) = numbers.next().await {
//!     println!("{i}");
//! }
//! # }
//! ```
//!
//! `read_lines(path)`: an async generator that opens a resource, yields from it, and closes it
//! when the consumer stops (dropping the stream drops the file: the `finally` of the guide):
//!
//! ```
//! use corral::stream::{Stream, StreamExt, try_stream};
//! use tokio::io::AsyncBufReadExt;
//!
//! fn read_lines(path: std::path::PathBuf) -> impl Stream<Item = std::io::Result<String>> {
//!     try_stream! {
//!         let file = tokio::fs::File::open(path).await?;
//!         let mut lines = tokio::io::BufReader::new(file).lines();
//!         while let Some(line) = lines.next_line().await? {
//!             yield line.trim().to_owned();
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let path = std::env::temp_dir().join(format!("corral-read-lines-{}.txt", std::process::id()));
//! tokio::fs::write(&path, "  alpha\nbeta  \n").await?;
//! let lines: Vec<String> = read_lines(path.clone()).collect::<std::io::Result<_>>().await?;
//! assert_eq!(lines, ["alpha", "beta"]);
//! tokio::fs::remove_file(path).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The guides' `AsyncPaginator` yields whole pages; with [`stream!`] it is a loop, and
//! [`paginate`] is the same thing flattened to items:
//!
//! ```
//! use corral::stream::{Stream, StreamExt, try_stream};
//!
//! async fn get(endpoint: &str, page: u32) -> Result<Vec<String>, std::io::Error> {
//!     Ok(if page < 2 { vec![format!("{endpoint}#{page}")] } else { vec![] })
//! }
//!
//! fn async_paginator(endpoint: String) -> impl Stream<Item = Result<Vec<String>, std::io::Error>> {
//!     try_stream! {
//!         let mut page = 0;
//!         loop {
//!             let items = get(&endpoint, page).await?;
//!             if items.is_empty() {
//!                 break;
//!             }
//!             page += 1;
//!             yield items;
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), std::io::Error> {
//! let pages: Vec<Vec<String>> = async_paginator("/users".into()).collect::<Result<_, _>>().await?;
//! assert_eq!(pages, [vec!["/users#0".to_owned()], vec!["/users#1".to_owned()]]);
//! # Ok(())
//! # }
//! ```
//!
//! # Composing with the rest of corral
//!
//! [`as_completed`](crate::task::as_completed) and the queues'
//! [`into_stream`](crate::queue::Queue::into_stream) are streams too, so they merge, batch and
//! filter like any other:
//!
//! ```
//! use std::time::Duration;
//! use corral::queue::Queue;
//! use corral::stream::{StreamExt, batches};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), corral::task::BoxError> {
//! # tokio::time::pause();
//! let fetched = corral::task::as_completed((1..=3_u32).map(|n| async move {
//!     tokio::time::sleep(Duration::from_millis(u64::from(10 * n))).await;
//!     n
//! }));
//! let queue = Queue::unbounded();
//! for n in [10, 20] {
//!     queue.put(n).await?;
//! }
//! queue.shutdown(); // the queue's stream ends once it is drained
//! let merged = fetched.merge(queue.clone().into_stream());
//! let mut all: Vec<u32> = batches(merged, 2, Duration::from_secs(1)).collect::<Vec<_>>().await.concat();
//! all.sort();
//! assert_eq!(all, [1, 2, 3, 10, 20]);
//! # Ok(())
//! # }
//! ```
//!
//! # Cancel safety
//!
//! Every stream here keeps its state in itself, so calling `next()` is cancel safe: if it is
//! used in `select!` and another branch completes first, no item was lost, and a fetch in
//! progress goes on at the next call. Dropping the stream itself drops the fetch in progress
//! and whatever the generator holds (its `finally` is its values' `Drop`).
//!
//! # What the crates lacked
//!
//! Generators come from [async-stream](https://docs.rs/async-stream), the adapters from
//! [tokio-stream](https://docs.rs/tokio-stream) and [futures](https://docs.rs/futures);
//! corral re-exports them and adds only the guides' patterns that no crate names:
//! pagination (by page and by cursor), polling after the last item, and a `max_size` of zero
//! that does not panic.
mod batch;
mod paginate;
mod poll;

pub use batch::{Batches, batches};
pub use paginate::{Page, Paginate, paginate, paginate_cursor};
pub use poll::poll;

pub use async_stream::{stream, try_stream};
pub use futures_core::Stream;
pub use futures_util::stream::{SelectAll, select_all};
pub use tokio_stream::adapters::ChunksTimeout;
pub use tokio_stream::{StreamExt, StreamMap};
