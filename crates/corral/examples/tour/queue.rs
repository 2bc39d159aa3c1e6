//! The queue section of the tour: `Queue`, `PriorityQueue`, `LifoQueue`, `reserve`.

use std::time::{Duration, Instant};

use corral::queue::{LifoQueue, PriorityQueue, Queue};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) async fn run() -> Result<(), BoxError> {
    producer_consumer().await?;
    cancelled_gets().await?;
    reserve().await?;
    orders().await?;
    shutdowns().await?;
    Ok(())
}

/// The guides' producer/consumer: bounded queue, workers, `task_done`/`join`, then `shutdown`
/// instead of a sentinel per worker.
async fn producer_consumer() -> Result<(), BoxError> {
    let started = Instant::now();
    let queue = Queue::bounded(10);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut handled = 0_u32;
                while let Ok(_item) = queue.get().await {
                    tokio::task::yield_now().await; // the "work"
                    handled += 1;
                    queue.task_done()?;
                }
                Ok::<_, BoxError>(handled)
            })
        })
        .collect();
    for item in 0..1_000_u32 {
        queue.put(item).await?;
    }
    queue.join().await;
    queue.shutdown();
    let mut total = 0;
    for worker in workers {
        total += worker.await??;
    }
    println!(
        "queue: 4 workers processed {total} items through a queue of 10, \
         join then shutdown in {} ms",
        started.elapsed().as_millis()
    );
    Ok(())
}

/// A `get` cancelled by a timeout loses nothing.
async fn cancelled_gets() -> Result<(), BoxError> {
    let queue = Queue::unbounded();
    let producer = tokio::spawn({
        let queue = queue.clone();
        async move {
            for item in 0..10 {
                tokio::time::sleep(Duration::from_millis(3)).await;
                queue.put(item).await?;
            }
            queue.shutdown();
            Ok::<_, BoxError>(())
        }
    });
    let (mut got, mut timeouts) = (Vec::new(), 0);
    loop {
        match tokio::time::timeout(Duration::from_millis(1), queue.get()).await {
            Ok(Ok(item)) => got.push(item),
            Ok(Err(_shut_down)) => break,
            Err(_elapsed) => timeouts += 1,
        }
    }
    producer.await??;
    let in_order = got.windows(2).all(|w| w[0] < w[1]);
    println!(
        "queue: {timeouts} gets timed out mid-wait, yet {} of 10 items arrived, {}",
        got.len(),
        if in_order {
            "in the order they were put"
        } else {
            "out of order (wrong)"
        }
    );
    Ok(())
}

/// A put under a timeout that keeps its item: wait for room with `reserve` (cancel safe), then
/// put through the permit, which never waits.
async fn reserve() -> Result<(), BoxError> {
    let queue = Queue::bounded(1);
    queue.put("first").await?;
    let item = "second";
    let kept = tokio::select! {
        permit = queue.reserve() => {
            permit?.put(item);
            None
        }
        () = tokio::time::sleep(Duration::from_millis(10)) => Some(item),
    };
    let kept = kept.ok_or("the full queue had room (wrong)")?;
    let got = queue.get().await?;
    queue.reserve().await?.put(kept);
    println!(
        "queue: a reserve on a full queue gave up after 10 ms and the caller still held \
         {kept:?}; after a get took {got:?}, a permit put it: the queue holds [{:?}]",
        queue.try_get()?
    );
    Ok(())
}

/// The three orders.
async fn orders() -> Result<(), BoxError> {
    let fifo = Queue::unbounded();
    let lifo = LifoQueue::unbounded();
    let prio = PriorityQueue::unbounded();
    for n in [3, 1, 4, 1, 5] {
        fifo.try_put(n)?;
        lifo.try_put(n)?;
        prio.try_put(n)?;
    }
    // `shutdown_immediate` hands back what was queued, in the order `get` would have.
    println!(
        "queue: put [3, 1, 4, 1, 5]; Queue gives {:?}, LifoQueue {:?}, PriorityQueue {:?}",
        fifo.shutdown_immediate(),
        lifo.shutdown_immediate(),
        prio.shutdown_immediate(),
    );
    Ok(())
}

/// `shutdown` drains, `shutdown_immediate` removes and releases `join`.
async fn shutdowns() -> Result<(), BoxError> {
    let queue = Queue::unbounded();
    queue.put("a").await?;
    queue.put("b").await?;
    queue.shutdown();
    let refused = match queue.put("c").await {
        Ok(()) => "was accepted (wrong)".to_string(),
        Err(err) => format!("was refused (\"{err}\")"),
    };
    let drained = [queue.get().await?, queue.get().await?];
    let end = match queue.get().await {
        Ok(item) => format!("unexpected {item}"),
        Err(err) => err.to_string(),
    };
    println!("queue: after shutdown a put {refused}, get drained {drained:?}, then said \"{end}\"");

    let queue = Queue::unbounded();
    for n in 0..3 {
        queue.put(n).await?;
    }
    let joiner = tokio::spawn({
        let queue = queue.clone();
        async move { queue.join().await }
    });
    let removed = queue.shutdown_immediate();
    joiner.await?;
    println!("queue: shutdown_immediate removed {removed:?}, counted them done, and join returned");
    Ok(())
}
