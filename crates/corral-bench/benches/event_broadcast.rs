//! event_broadcast: 10k waiting tasks released by one `set`.
//!
//! - `corral_event`: `corral::sync::Event::wait` in each waiter, one `Event::set`.
//! - `tokio_notify`: `Notify::notified` + `enable()` in each waiter (registered before the
//!   main task goes on, so no waiter can miss the wake-up), one `notify_waiters` (anchor).
//!
//! Timed: from `set` until the last waiter has run, as the asyncio version; spawning the
//! waiters and waiting until each has registered happen before the clock starts.

mod common;

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::EVENT_WAITERS;
use corral::sync::Event;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, yield_now};

/// What the waiters and the main task share, apart from the primitive under test.
#[derive(Default)]
struct Counts {
    registered: AtomicU64,
    woke: AtomicU64,
    /// Notified (with a permit) by the last waiter to wake.
    finished: Notify,
}

impl Counts {
    /// Called by a waiter once it is registered.
    fn registered(&self) {
        self.registered.fetch_add(1, Ordering::Relaxed);
    }

    /// Called by a waiter once it has been woken.
    fn woke(&self, n: u64) {
        if self.woke.fetch_add(1, Ordering::Relaxed) + 1 == n {
            self.finished.notify_one();
        }
    }

    /// Yields until `n` waiters have registered.
    async fn all_registered(&self, n: u64) {
        while self.registered.load(Ordering::Relaxed) < n {
            yield_now().await;
        }
    }
}

/// Times `release` up to the moment the last of `n` waiters has run, then reaps them.
async fn timed(counts: &Counts, waiters: Vec<JoinHandle<()>>, release: impl FnOnce()) -> Duration {
    let n = waiters.len() as u64;
    counts.all_registered(n).await;
    let start = Instant::now();
    release();
    counts.finished.notified().await;
    let elapsed = start.elapsed();
    for waiter in waiters {
        waiter.await.expect("no waiter panics");
    }
    assert_eq!(counts.woke.load(Ordering::Relaxed), n);
    elapsed
}

async fn corral_event(n: u64) -> Duration {
    let event = Arc::new(Event::new());
    let counts = Arc::new(Counts::default());
    let waiters = (0..n)
        .map(|_| {
            let (event, counts) = (Arc::clone(&event), Arc::clone(&counts));
            tokio::spawn(async move {
                let wait = event.wait();
                counts.registered();
                wait.await;
                counts.woke(n);
            })
        })
        .collect();
    timed(&counts, waiters, || event.set()).await
}

async fn tokio_notify(n: u64) -> Duration {
    let notify = Arc::new(Notify::new());
    let counts = Arc::new(Counts::default());
    let waiters = (0..n)
        .map(|_| {
            let (notify, counts) = (Arc::clone(&notify), Arc::clone(&counts));
            tokio::spawn(async move {
                let mut notified = pin!(notify.notified());
                notified.as_mut().enable();
                counts.registered();
                notified.await;
                counts.woke(n);
            })
        })
        .collect();
    timed(&counts, waiters, || notify.notify_waiters()).await
}

fn event_broadcast(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "event_broadcast");
    common::fit(&mut group, EVENT_WAITERS);
    for rt in &runtimes {
        common::bench(&mut group, "corral_event", rt, EVENT_WAITERS, corral_event);
        common::bench(&mut group, "tokio_notify", rt, EVENT_WAITERS, tokio_notify);
    }
    group.finish();
}

criterion_group!(benches, event_broadcast);
criterion_main!(benches);
