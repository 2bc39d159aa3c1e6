//! Stress: producers and consumers on a runtime with 2 worker threads, each `put` and `get`
//! (and a stream's `next()`) cancelled at random points, some rounds ended by
//! `shutdown_immediate`. Checked: every item accepted is delivered or returned by
//! `shutdown_immediate`, exactly once; `join` returns once every item taken is done; each
//! kind's order, as far as a consumer can observe it.
//!
//! Bounded: a fixed list of seeds (one round each), a fixed number of items, and a generous
//! time limit that turns a hang into a failure instead of a stuck test run. A failing round
//! prints its seed; `CORRAL_SEED=<seed>` runs that round alone (it replays the random choices;
//! the interleaving on two worker threads is the scheduler's).
//!
//! Nothing here orders tasks with `yield_now`: a call is cancelled either after a random number
//! of polls (so a `get` or `put` that was woken is dropped before it runs) or when another task
//! signals progress (so one is dropped while it is parked).

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::task::Poll;
use std::time::Duration;

use corral::queue::{LifoQueue, PriorityQueue, Queue};
use fastrand::Rng;
use futures::StreamExt;
use tokio::sync::Notify;

use crate::support::{Kind, SeedGuard, seeds};

/// The seeds CI runs, one round of each kind of test per seed.
const SEEDS: std::ops::Range<u64> = 0..20;
const PRODUCERS: u64 = 3;
const CONSUMERS: usize = 3;
const ITEMS_PER_PRODUCER: u64 = 400;
const LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq)]
enum Order {
    Fifo,
    Lifo,
    Priority,
}

/// Runs `fut`, or cancels it (`None`): half the time it is not cancelled at all; otherwise it
/// is dropped at its `k`-th poll for a random `k` (a poll after the first means it was woken,
/// so a woken `get` or `put` is dropped before it runs), or as soon as another task signals
/// `progress` (so a parked one is dropped).
async fn maybe_cancel<F: Future>(rng: &mut Rng, progress: &Notify, fut: F) -> Option<F::Output> {
    if rng.bool() {
        return Some(fut.await);
    }
    if rng.bool() {
        let mut polls_left = rng.u32(1..4);
        let mut fut = pin!(fut);
        std::future::poll_fn(|cx| {
            if polls_left == 0 {
                return Poll::Ready(None);
            }
            polls_left -= 1;
            fut.as_mut().poll(cx).map(Some)
        })
        .await
    } else {
        tokio::select! {
            out = fut => Some(out),
            () = progress.notified() => None,
        }
    }
}

fn item(producer: u64, seq: u64) -> u64 {
    (seq << 8) | producer
}

/// How a consumer treats its `get`s.
#[derive(Clone, Copy, PartialEq)]
enum Consumer {
    /// Never cancels.
    Steady,
    /// Cancels at random and tries again.
    Cancelling,
    /// Cancels at random, and sometimes quits for good right after: an item set aside for
    /// that `get` must reach the others.
    Retiring,
    /// Takes from a stream, whose `next()` is cancelled at random while the stream is kept:
    /// the stream sits idle meanwhile and must hold no item the others could take.
    Streaming,
}

/// Consumes until the queue is shut down and drained (or it retires), marking each item done;
/// returns the items in the order this consumer got them.
async fn consume<Q: Kind<u64>>(q: Q, progress: Arc<Notify>, seed: u64, kind: Consumer) -> Vec<u64> {
    let mut rng = Rng::with_seed(seed);
    let mut got = Vec::new();
    if kind == Consumer::Streaming {
        let mut stream = q.clone().into_stream();
        loop {
            match maybe_cancel(&mut rng, &progress, stream.next()).await {
                Some(Some(n)) => {
                    got.push(n);
                    progress.notify_waiters();
                    q.task_done().expect("one task_done per item taken");
                }
                Some(None) => return got,
                None => {} // `next()` dropped, the stream kept
            }
        }
    }
    loop {
        let result = if kind == Consumer::Steady {
            Some(q.get().await)
        } else {
            maybe_cancel(&mut rng, &progress, q.get()).await
        };
        match result {
            Some(Ok(n)) => {
                got.push(n);
                // Between the `get` and its `task_done`, let the tasks waiting for a signal go.
                progress.notify_waiters();
                q.task_done().expect("one task_done per item taken");
            }
            Some(Err(_)) => return got,
            None if kind == Consumer::Retiring && rng.u8(..10) == 0 => return got,
            None => {}
        }
    }
}

/// Puts its items, retrying a cancelled put with the same item (a cancelled put inserted
/// nothing, so a duplicate would show); returns the items accepted. Producers other than
/// the first sometimes quit for good right after a cancelled `put`: a slot set aside for it
/// must reach the other putters.
async fn produce<Q: Kind<u64>>(q: Q, progress: Arc<Notify>, producer: u64, seed: u64) -> Vec<u64> {
    let mut rng = Rng::with_seed(seed);
    let mut accepted = Vec::new();
    'items: for seq in 0..ITEMS_PER_PRODUCER {
        let n = item(producer, seq);
        loop {
            match maybe_cancel(&mut rng, &progress, q.put(n)).await {
                Some(Ok(())) => {
                    accepted.push(n);
                    progress.notify_waiters();
                    break;
                }
                Some(Err(err)) => {
                    assert_eq!(err.into_inner(), n);
                    break 'items;
                }
                None if producer > 0 && rng.u8(..10) == 0 => break 'items,
                None => {}
            }
        }
    }
    accepted
}

async fn mixed_round<Q: Kind<u64>>(order: Order, round: u64) {
    let mut rng = Rng::with_seed(round);
    let q = if rng.u8(..4) == 0 {
        Q::unbounded()
    } else {
        Q::bounded(rng.usize(1..8))
    };
    let immediate = round % 3 == 2;
    let progress = Arc::new(Notify::new());

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| {
            let kind = match c {
                0 => Consumer::Cancelling,
                1 if round.is_multiple_of(2) => Consumer::Streaming,
                _ => Consumer::Retiring,
            };
            tokio::spawn(consume(
                q.clone(),
                progress.clone(),
                round * 100 + c as u64,
                kind,
            ))
        })
        .collect();
    let finished = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (q, progress, finished) = (q.clone(), progress.clone(), finished.clone());
            tokio::spawn(async move {
                let accepted = produce(q, progress.clone(), p, round * 100 + 50 + p).await;
                finished.fetch_add(1, SeqCst);
                progress.notify_waiters();
                accepted
            })
        })
        .collect();

    let mut removed = Vec::new();
    if immediate {
        // Stop in the middle of the work: what is queued is removed, counted as done. Wait for
        // two items queued (or the producers done), re-checking at each signal of progress.
        loop {
            let mut signal = pin!(progress.notified());
            signal.as_mut().enable();
            if q.len() >= 2 || finished.load(SeqCst) == PRODUCERS {
                break;
            }
            signal.await;
        }
        removed = q.shutdown_immediate();
    }
    let mut accepted = Vec::new();
    for producer in producers {
        accepted.extend(producer.await.expect("producer"));
    }
    tokio::time::timeout(LIMIT, q.join())
        .await
        .expect("join returns once every item taken is done");
    assert!(q.is_empty());
    q.shutdown();

    let mut delivered = Vec::new();
    for consumer in consumers {
        let got = consumer.await.expect("consumer");
        if order == Order::Fifo {
            // One consumer's gets are ordered, so it sees each producer's items in order.
            for p in 0..PRODUCERS {
                let seqs: Vec<u64> = got.iter().filter(|&&n| n & 0xff == p).copied().collect();
                assert!(seqs.is_sorted(), "FIFO order broken for producer {p}");
            }
        }
        delivered.extend(got);
    }

    let delivered_set: HashSet<u64> = delivered.iter().copied().collect();
    assert_eq!(
        delivered_set.len(),
        delivered.len(),
        "an item was delivered twice"
    );
    let removed_set: HashSet<u64> = removed.iter().copied().collect();
    assert!(
        delivered_set.is_disjoint(&removed_set),
        "removed and delivered"
    );
    let out: HashSet<u64> = delivered_set.union(&removed_set).copied().collect();
    let accepted_set: HashSet<u64> = accepted.iter().copied().collect();
    assert_eq!(
        accepted_set.len(),
        accepted.len(),
        "a cancelled put inserted its item"
    );
    assert_eq!(out, accepted_set, "items lost or invented");
    if !immediate {
        let first = accepted.iter().filter(|&&n| n & 0xff == 0).count() as u64;
        assert_eq!(first, ITEMS_PER_PRODUCER, "the first producer never quits");
    }
}

/// Every item is present before the consumers start, so each consumer must see them in the
/// kind's order.
async fn drain_round<Q: Kind<u64>>(order: Order, round: u64) {
    let mut rng = Rng::with_seed(round + 7_000);
    let q = Q::unbounded();
    let mut values: Vec<u64> = (0..600).collect();
    rng.shuffle(&mut values);
    if order != Order::Priority {
        values.sort_unstable(); // put in increasing order: FIFO sees increasing, LIFO decreasing
    }
    for &n in &values {
        q.try_put(n).expect("unbounded");
    }
    q.shutdown();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| {
            tokio::spawn(consume(
                q.clone(),
                Arc::new(Notify::new()),
                round * 10 + c as u64,
                Consumer::Cancelling,
            ))
        })
        .collect();
    let mut all = Vec::new();
    for consumer in consumers {
        let got = consumer.await.expect("consumer");
        let ordered = match order {
            Order::Fifo | Order::Priority => got.is_sorted(),
            Order::Lifo => got.iter().rev().is_sorted(),
        };
        assert!(ordered, "a consumer saw the items out of order");
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..600).collect::<Vec<_>>());
    q.join().await;
}

/// One item at a time, each put only once the last was taken, so that the consumers are
/// parked when it arrives: a woken `get` dropped before it runs (and never retried) must pass
/// the item to the steady consumer, or the round stalls.
async fn trickle_round<Q: Kind<u64>>(round: u64) {
    let q = if round.is_multiple_of(2) {
        Q::unbounded()
    } else {
        Q::bounded(1)
    };
    let progress = Arc::new(Notify::new());
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| {
            let kind = match c {
                0 => Consumer::Steady,
                1 if round.is_multiple_of(2) => Consumer::Streaming,
                _ => Consumer::Retiring,
            };
            tokio::spawn(consume(
                q.clone(),
                progress.clone(),
                round * 1_000 + c as u64,
                kind,
            ))
        })
        .collect();
    for n in 0..100 {
        q.put(n).await.expect("open");
        q.join().await; // taken and done: the consumers are parked again
    }
    q.shutdown();
    let mut all = Vec::new();
    for consumer in consumers {
        all.extend(consumer.await.expect("consumer"));
    }
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}

async fn stress<Q: Kind<u64>>(test: &'static str, order: Order) {
    for seed in seeds(SEEDS) {
        let _seed = SeedGuard::new(test, seed);
        let run = async {
            mixed_round::<Q>(order, seed).await;
            drain_round::<Q>(order, seed).await;
            trickle_round::<Q>(seed).await;
        };
        tokio::time::timeout(LIMIT, run)
            .await
            .expect("the stress test finishes in time");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_queue() {
    stress::<Queue<u64>>("stress_queue", Order::Fifo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_lifo_queue() {
    stress::<LifoQueue<u64>>("stress_lifo_queue", Order::Lifo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_priority_queue() {
    stress::<PriorityQueue<u64>>("stress_priority_queue", Order::Priority).await;
}
