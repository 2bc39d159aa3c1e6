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
    ensure!(total == 1_000, "the workers handled {total} of 1000 items");
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
    ensure!(
        got == (0..10).collect::<Vec<_>>() && timeouts > 0,
        "after {timeouts} cancelled gets the items arrived as {got:?}, not 0 to 9 in order"
    );
    println!(
        "queue: {timeouts} gets timed out mid-wait, yet {} of 10 items arrived, in the order \
         they were put",
        got.len()
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
    let held = queue.try_get()?;
    ensure!(
        got == "first" && held == "second" && queue.is_empty(),
        "after the reserve the queue gave {got:?} then {held:?}"
    );
    println!(
        "queue: a reserve on a full queue gave up after 10 ms and the caller still held \
         {kept:?}; after a get took {got:?}, a permit put it: the queue holds [{held:?}]"
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
    let (fifo, lifo, prio) = (
        fifo.shutdown_immediate(),
        lifo.shutdown_immediate(),
        prio.shutdown_immediate(),
    );
    ensure!(
        fifo == [3, 1, 4, 1, 5] && lifo == [5, 1, 4, 1, 3] && prio == [1, 1, 3, 4, 5],
        "the orders came out as {fifo:?}, {lifo:?}, {prio:?}"
    );
    println!(
        "queue: put [3, 1, 4, 1, 5]; Queue gives {fifo:?}, LifoQueue {lifo:?}, PriorityQueue {prio:?}"
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
        Ok(()) => return Err("a put after shutdown was accepted".into()),
        Err(err) => format!("was refused (\"{err}\")"),
    };
    let drained = [queue.get().await?, queue.get().await?];
    ensure!(drained == ["a", "b"], "shutdown drained {drained:?}");
    let end = match queue.get().await {
        Ok(item) => return Err(format!("a drained queue still gave {item:?}").into()),
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
    ensure!(
        removed == [0, 1, 2],
        "shutdown_immediate removed {removed:?}"
    );
    tokio::time::timeout(Duration::from_secs(5), joiner)
        .await
        .map_err(|_| "join did not return after shutdown_immediate")??;
    println!("queue: shutdown_immediate removed {removed:?}, counted them done, and join returned");
    Ok(())
}
