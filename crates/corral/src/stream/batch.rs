//! `batches`: group a stream's items by count and by time.
use std::time::Duration;

use futures_core::Stream;
use tokio_stream::StreamExt as _;
use tokio_stream::adapters::ChunksTimeout;

/// Groups a stream's items into `Vec`s of at most `max_size`, handing a batch on as soon as it
/// is full or `max_wait` after its first item arrived, whichever comes first; the last,
/// shorter batch comes when the stream ends. A `max_size` of 0 is taken as 1 (Tokio's
/// `chunks_timeout`, which this wraps, panics on 0); `Duration::MAX` waits for a full batch.
///
/// This is the guides' `batch_insert` for items that arrive over time (from a queue, a poll,
/// a socket): a slow trickle still gets written every `max_wait`. For a `Vec` already in
/// memory, `items.chunks(batch_size)` is the whole answer.
///
/// # Cancel safety
///
/// Calling `next()` on the returned stream is cancel safe: if it is used in `select!` and
/// another branch completes first, no item was lost (the partial batch is kept).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::stream::{StreamExt, batches};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # tokio::time::pause();
/// let rows = tokio_stream::iter(1..=7);
/// let sizes: Vec<usize> = batches(rows, 3, Duration::from_millis(100)).map(|b| b.len()).collect().await;
/// assert_eq!(sizes, [3, 3, 1]);
/// # }
/// ```
pub fn batches<S: Stream>(stream: S, max_size: usize, max_wait: Duration) -> ChunksTimeout<S> {
    stream.chunks_timeout(max_size.max(1), max_wait)
}
