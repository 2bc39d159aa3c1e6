//! Tour step: `corral::sync` — an event, the guides' coordinator on events, a bounded buffer on a
//! condition, a barrier, and the lock that keeps a read-modify-write across an `await` whole.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral::sync::{Barrier, Condition, Event, Mutex};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) async fn run() -> Result<(), BoxError> {
    event().await?;
    coordinator().await?;
    condition_buffer().await?;
    barrier().await?;
    shared_state_lock().await?;
    Ok(())
}

/// Three waits are released by one `set`, even though a `clear` follows at once.
async fn event() -> Result<(), BoxError> {
    let ready = Event::new();
    let start = Instant::now();
    // Each `wait` watches for `set` from the moment it is created, so all three are
    // released; a `wait` begun after the `clear` would wait for the next `set`.
    tokio::join!(ready.wait(), ready.wait(), ready.wait(), async {
        ready.set();
        ready.clear();
    });
    println!(
        "event: 3 waiters released by one set (cleared at once) in {} ms",
        start.elapsed().as_millis()
    );
    Ok(())
}

/// The guides' `Coordinator`: a worker signals `ready` after initialising, watchers wait for it,
/// and a `shutdown` event stops the worker's loop.
async fn coordinator() -> Result<(), BoxError> {
    let ready = Arc::new(Event::new());
    let shutdown = Arc::new(Event::new());
    let start = Instant::now();
    let worker = tokio::spawn({
        let (ready, shutdown) = (Arc::clone(&ready), Arc::clone(&shutdown));
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await; // initialise
            ready.set();
            let mut ticks = 0_u32;
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            loop {
                tokio::select! {
                    () = shutdown.wait() => return ticks,
                    _ = tick.tick() => ticks += 1,
                }
            }
        }
    });
    let watchers: Vec<_> = (0..3)
        .map(|_| {
            let ready = Arc::clone(&ready);
            tokio::spawn(async move { ready.wait().await })
        })
        .collect();
    for watcher in watchers {
        watcher.await?;
    }
    let ready_after = start.elapsed().as_millis();
    tokio::time::sleep(Duration::from_millis(30)).await;
    shutdown.set();
    let ticks = worker.await?;
    ensure!(
        ready_after >= 20 && ticks > 0,
        "coordinator: `ready` seen at {ready_after} ms (set at 20 ms), {ticks} ticks"
    );
    println!(
        "coordinator: 3 watchers saw `ready` at {ready_after} ms; `shutdown` stopped the worker after {ticks} ticks"
    );
    Ok(())
}

/// One producer, two consumers, a buffer of two slots guarded by a `Condition`.
async fn condition_buffer() -> Result<(), BoxError> {
    const ITEMS: u32 = 10;
    const SLOTS: usize = 2;
    // (queue, producer finished)
    let buffer = Arc::new(Condition::new((VecDeque::new(), false)));

    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let buffer = Arc::clone(&buffer);
            tokio::spawn(async move {
                let mut taken = 0_u32;
                loop {
                    let mut guard = buffer
                        .lock()
                        .await
                        .wait_for(|(queue, done)| !queue.is_empty() || *done)
                        .await;
                    let item = guard.0.pop_front();
                    drop(guard);
                    buffer.notify_all();
                    match item {
                        Some(_) => taken += 1,
                        None => return taken,
                    }
                }
            })
        })
        .collect();

    for item in 0..ITEMS {
        let mut guard = buffer
            .lock()
            .await
            .wait_for(|(queue, _)| queue.len() < SLOTS)
            .await;
        guard.0.push_back(item);
        drop(guard);
        buffer.notify_all();
    }
    buffer.lock().await.1 = true;
    buffer.notify_all();

    let mut counts = Vec::new();
    for consumer in consumers {
        counts.push(consumer.await?);
    }
    let total: u32 = counts.iter().sum();
    ensure!(
        total == ITEMS,
        "condition: {total} of {ITEMS} items reached a consumer"
    );
    println!(
        "condition: {ITEMS} items through a {SLOTS}-slot buffer to 2 consumers ({} + {}), {} lost",
        counts[0],
        counts[1],
        ITEMS - total
    );
    Ok(())
}

/// Three workers go through three phases in step; each phase has exactly one leader.
async fn barrier() -> Result<(), BoxError> {
    const PHASES: usize = 3;
    let barrier = Arc::new(Barrier::new(3));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let mut led = 0;
                for _ in 0..PHASES {
                    tokio::task::yield_now().await; // this phase's work
                    if barrier.wait().await?.is_leader() {
                        led += 1;
                    }
                }
                Ok::<_, corral::sync::BrokenBarrier>(led)
            })
        })
        .collect();
    let mut leaders = 0;
    for worker in workers {
        leaders += worker.await??;
    }
    ensure!(
        leaders == PHASES,
        "barrier: {leaders} leaders over {PHASES} phases"
    );
    println!("barrier: 3 workers x {PHASES} phases in step, {leaders} leaders (one per phase)");
    Ok(())
}

/// The guides' `SharedResource.update`: read, `await`, write. Without a lock the updates
/// overlap and overwrite each other; `async with self._lock:` is `corral::sync::Mutex`.
async fn shared_state_lock() -> Result<(), BoxError> {
    const UPDATES: u32 = 10;
    let step = Duration::from_millis(5);

    // No lock: every update reads before any writes back.
    let racy = std::sync::Mutex::new(0_u32);
    let update = || async {
        let current = *racy.lock().map_err(|_| "poisoned")?;
        tokio::time::sleep(step).await; // simulated processing
        *racy.lock().map_err(|_| "poisoned")? = current + 1;
        Ok::<_, BoxError>(())
    };
    corral::task::gather((0..UPDATES).map(|_| update())).await?;
    let without = *racy.lock().map_err(|_| "poisoned")?;

    // The lock is held across the `await`: one update at a time, none lost.
    let locked = Mutex::new(0_u32);
    let start = Instant::now();
    let update = || async {
        let mut value = locked.lock().await;
        let current = *value;
        tokio::time::sleep(step).await; // simulated processing, under the lock
        *value = current + 1;
    };
    corral::task::gather((0..UPDATES).map(|_| async {
        update().await;
        Ok::<_, BoxError>(())
    }))
    .await?;
    let with = *locked.lock().await;
    let took = start.elapsed();
    ensure!(
        without < UPDATES && with == UPDATES && took >= step * UPDATES,
        "Mutex: without a lock {without} survived, with it {with}, in {took:?}"
    );
    println!(
        "Mutex: {UPDATES} read-await-write updates of a counter: without a lock {without} \
         survived; under corral::sync::Mutex {with}, one at a time, in {} ms",
        took.as_millis()
    );
    Ok(())
}
