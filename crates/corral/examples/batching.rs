//! The guides' "Batch Operations" (`batch_insert` in slices of `batch_size`), and the same for
//! rows that arrive over time: batch by size *and* by time, so a slow trickle still gets
//! written promptly. Also merging several sources into one stream.
//!
//! Run: `cargo run --example batching`

use std::time::{Duration, Instant};

use corral::queue::Queue;
use corral::stream::{StreamExt, batches, select_all};
use corral::task::BoxError;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn insert_many(batch: &[u32]) -> Result<(), BoxError> {
    tokio::time::sleep(Duration::from_millis(2)).await; // one round trip per batch
    let _ = batch;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // for i in range(0, len(items), batch_size): await db.insert_many(items[i:i + batch_size])
    let items: Vec<u32> = (1..=250).collect();
    let mut round_trips = 0;
    for batch in items.chunks(100) {
        insert_many(batch).await?;
        round_trips += 1;
    }
    ensure!(round_trips == 3, "250 rows took {round_trips} round trips");
    println!("batching: 250 rows in memory written in {round_trips} round trips (chunks of 100)");

    // Rows arriving over time on a queue: a batch is written when 100 are ready or 20 ms
    // after its first row, whichever comes first.
    let start = Instant::now();
    let rows = Queue::bounded(1000);
    let producer = {
        let rows = rows.clone();
        tokio::spawn(async move {
            for n in 0..150_u32 {
                rows.put(n).await?; // a burst of 150 rows
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            for n in 150..153_u32 {
                rows.put(n).await?; // then a trickle of 3
            }
            rows.shutdown(); // no more rows: the stream ends after the last batch
            Ok::<_, BoxError>(())
        })
    };
    let mut batched = std::pin::pin!(batches(
        rows.clone().into_stream(),
        100,
        Duration::from_millis(20)
    ));
    let mut sizes = Vec::new();
    while let Some(batch) = batched.next().await {
        insert_many(&batch).await?;
        sizes.push(batch.len());
        println!(
            "batching: wrote a batch of {:>3} rows at {:>2} ms (full at 100, or 20 ms after its first row)",
            batch.len(),
            start.elapsed().as_millis()
        );
    }
    producer.await??;
    // The burst fills one batch and leaves 50 for the timer; the trickle comes 50 ms later.
    ensure!(
        sizes == [100, 50, 3],
        "the 153 rows were written in batches of {sizes:?}, not [100, 50, 3]"
    );

    // Merge sources into one stream: `merge` for two of any kind, `select_all` for many of one.
    let pages = corral::stream::paginate(1, |page| async move {
        Ok::<_, BoxError>(if page < 3 { vec![page] } else { vec![] })
    });
    let merged = pages.merge(tokio_stream::iter([Ok(10), Ok(20)]));
    let mut all: Vec<u64> = merged.collect::<Result<_, _>>().await?;
    let many = select_all((0..3_u64).map(|n| tokio_stream::iter([n * 100, n * 100 + 1])));
    all.extend(many.collect::<Vec<_>>().await);
    all.sort_unstable(); // merged streams interleave as items become ready
    ensure!(
        all == [0, 1, 1, 2, 10, 20, 100, 101, 200, 201],
        "the merged streams gave {all:?}"
    );
    println!("batching: merged two streams, then three more, into {all:?}");
    Ok(())
}
