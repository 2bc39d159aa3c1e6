//! Multi-threaded stress: each primitive on two worker threads, with waiters cancelled at
//! random (select!, timeout, abort), checking the invariants that must hold whatever the
//! interleaving. Bounded iterations; each test stops by itself in well under a few seconds.
//!
//! Each test runs once per seed of `support::SEEDS`; a failure prints its seed, and
//! `CORRAL_SEED=<seed>` replays that one seed alone: its random choices (which waiter is
//! cancelled, after how many polls, how long a timeout is), not the interleaving, which on two
//! worker threads and the real clock is the scheduler's. A failure that does not come back
//! under its seed is an interleaving: the loom models (`--cfg corral_loom`) are where those
//! are replayed.

use std::collections::{BTreeSet, VecDeque};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral::sync::{Barrier, BarrierWaitResult, Condition, Event, Semaphore};

use crate::support::{finishes, for_each_seed, polls};

const LIMIT: Duration = Duration::from_secs(10);

/// Races `fut` against a random cancellation: a few yields, a short real-time timeout, or
/// none at all. Returns `None` if `fut` was dropped unfinished.
async fn maybe_cancel<F: Future>(rng: &mut fastrand::Rng, fut: F) -> Option<F::Output> {
    match rng.u8(0..4) {
        0 => {
            let yields_first = rng.u32(1..6);
            tokio::select! {
                output = fut => Some(output),
                () = polls(yields_first) => None,
            }
        }
        1 => {
            let micros = rng.u64(0..200);
            tokio::time::timeout(Duration::from_micros(micros), fut)
                .await
                .ok()
        }
        _ => Some(fut.await),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_wakes_every_waiter_present_at_set() {
    for_each_seed("event", |mut rng| async move {
        for _round in 0..500 {
            let event = Arc::new(Event::new());
            let round_over = Arc::new(Event::new());
            let parked = Arc::new(Semaphore::new(0));
            let mut present = Vec::new();
            let mut bystanders = Vec::new();

            for _ in 0..rng.usize(1..16) {
                let (event, parked, round_over) =
                    (event.clone(), parked.clone(), round_over.clone());
                let mut task_rng = fastrand::Rng::with_seed(rng.u64(..));
                match rng.u8(0..4) {
                    // Parked in `wait` before the set, and never cancelled: must wake.
                    0 | 1 => present.push(tokio::spawn(async move {
                        let mut wait = pin!(event.wait());
                        assert!(futures::poll!(wait.as_mut()).is_pending(), "not set yet");
                        parked.add_permits(1);
                        wait.await;
                    })),
                    // Waits with random cancellation, racing the set; released at the latest
                    // when the round is over.
                    2 => bystanders.push(tokio::spawn(async move {
                        let _ = maybe_cancel(&mut task_rng, event.wait()).await;
                        tokio::select! {
                            () = event.wait() => {}
                            () = round_over.wait() => {}
                        }
                    })),
                    // Waits and is aborted at a random moment.
                    _ => bystanders.push(tokio::spawn(async move {
                        event.wait().await;
                        round_over.wait().await;
                    })),
                }
            }
            let present_count = u32::try_from(present.len()).expect("few");
            parked
                .acquire_many(present_count)
                .await
                .expect("open")
                .forget();
            for bystander in &bystanders {
                if rng.bool() {
                    bystander.abort();
                }
            }
            event.set();
            if rng.bool() {
                event.clear();
            }
            for waiter in present {
                finishes("a waiter present at set", LIMIT, waiter)
                    .await
                    .expect("no panic");
            }
            round_over.set();
            event.set();
            for bystander in bystanders {
                match finishes("a bystander", LIMIT, bystander).await {
                    Ok(()) => {}
                    Err(err) => assert!(err.is_cancelled(), "bystander panicked: {err}"),
                }
            }
        }
    })
    .await;
}

struct Buffer {
    items: VecDeque<u32>,
    producers_left: usize,
    most_ever: usize,
}

const CAPACITY: usize = 4;

async fn put(buffer: &Condition<Buffer>, item: u32) {
    let mut guard = buffer
        .lock()
        .await
        .wait_for(|b| b.items.len() < CAPACITY)
        .await;
    guard.items.push_back(item);
    guard.most_ever = guard.most_ever.max(guard.items.len());
    drop(guard);
    // Producers and consumers wait on the same condition, so wake them all.
    buffer.notify_all();
}

async fn get(buffer: &Condition<Buffer>) -> Option<u32> {
    let mut guard = buffer
        .lock()
        .await
        .wait_for(|b| !b.items.is_empty() || b.producers_left == 0)
        .await;
    let item = guard.items.pop_front();
    drop(guard);
    buffer.notify_all();
    item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_bounded_buffer_conserves_items() {
    for_each_seed("condition buffer", |mut rng| async move {
        const PRODUCERS: u32 = 2;
        const ITEMS: u32 = 1_000;
        let buffer = Arc::new(Condition::new(Buffer {
            items: VecDeque::new(),
            producers_left: PRODUCERS as usize,
            most_ever: 0,
        }));

        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let buffer = buffer.clone();
            let mut rng = fastrand::Rng::with_seed(rng.u64(..));
            producers.push(tokio::spawn(async move {
                let mut retries = 0;
                for item in (p * ITEMS)..((p + 1) * ITEMS) {
                    // A cancelled put never inserts: retry the same item until it goes in.
                    while maybe_cancel(&mut rng, put(&buffer, item)).await.is_none() {
                        retries += 1;
                    }
                }
                buffer.lock().await.producers_left -= 1;
                buffer.notify_all();
                retries
            }));
        }
        let mut consumers = Vec::new();
        for _ in 0..3 {
            let buffer = buffer.clone();
            let mut rng = fastrand::Rng::with_seed(rng.u64(..));
            consumers.push(tokio::spawn(async move {
                let mut taken = Vec::new();
                loop {
                    // A cancelled get never takes an item.
                    match maybe_cancel(&mut rng, get(&buffer)).await {
                        Some(Some(item)) => taken.push(item),
                        Some(None) => return taken,
                        None => {}
                    }
                }
            }));
        }

        let mut retries = 0;
        for producer in producers {
            retries += finishes("a producer", LIMIT, producer)
                .await
                .expect("no panic");
        }
        let mut taken = Vec::new();
        for consumer in consumers {
            taken.extend(
                finishes("a consumer", LIMIT, consumer)
                    .await
                    .expect("no panic"),
            );
        }
        taken.sort_unstable();
        let expected: Vec<u32> = (0..PRODUCERS * ITEMS).collect();
        assert_eq!(taken, expected, "every item taken exactly once");
        let buffer = Arc::into_inner(buffer).expect("tasks done").into_inner();
        assert!(buffer.items.is_empty());
        assert!(buffer.most_ever <= CAPACITY);
        eprintln!("condition buffer: {retries} cancelled puts retried");
    })
    .await;
}

/// Registers as a waiter for an item (the buffer must be empty), adds a permit to `parked`
/// once it surely is one, and returns the rest of the wait: a future that takes the item.
async fn park<'a>(
    buffer: &'a Condition<Buffer>,
    parked: &Semaphore,
) -> impl Future<Output = Option<u32>> + 'a {
    let guard = buffer.lock().await;
    // Its first poll checks the predicate under the lock, registers and unlocks.
    let mut wait = Box::pin(guard.wait_for(|b| !b.items.is_empty()));
    assert!(
        futures::poll!(wait.as_mut()).is_pending(),
        "buffer is empty"
    );
    parked.add_permits(1);
    async move { wait.await.items.pop_front() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_notify_one_hand_offs_survive_vanishing_waiters() {
    for_each_seed("condition notify_one", |mut rng| async move {
        const ROUNDS: u32 = 1_000;
        let buffer = Arc::new(Condition::new(Buffer {
            items: VecDeque::new(),
            producers_left: 1,
            most_ever: 0,
        }));
        let mut vanished_with_notification = 0;

        for round in 0..ROUNDS {
            // First in line: consumers that park in `get` and all leave when `gate` is set
            // (or are aborted), possibly right after one of them was notified and before it
            // took the lock back.
            let gate = Arc::new(Event::new());
            let parked = Arc::new(Semaphore::new(0));
            let mut vanishing = Vec::new();
            let count = rng.usize(1..4);
            for _ in 0..count {
                let (buffer, gate, parked) = (buffer.clone(), gate.clone(), parked.clone());
                let abort_instead = rng.u8(0..4) == 0;
                let handle = tokio::spawn(async move {
                    let get = pin!(park(&buffer, &parked).await);
                    if abort_instead {
                        return get.await;
                    }
                    tokio::select! {
                        biased;
                        () = gate.wait() => None,
                        item = get => item,
                    }
                });
                vanishing.push((abort_instead, handle));
            }
            let count = u32::try_from(count).expect("few");
            parked.acquire_many(count).await.expect("open").forget();

            // Last in line: a consumer that waits for good.
            let last = tokio::spawn({
                let (buffer, parked) = (buffer.clone(), parked.clone());
                async move { park(&buffer, &parked).await.await }
            });
            parked.acquire_many(1).await.expect("open").forget();

            // One item, one notification: it goes to the first vanishing consumer.
            buffer.lock().await.items.push_back(round);
            assert!(buffer.notify_one());
            polls(rng.u32(1..4)).await;
            gate.set();
            let mut taken_by_vanishing = false;
            for (abort_instead, handle) in &vanishing {
                if *abort_instead {
                    handle.abort();
                }
            }
            for (_, handle) in vanishing {
                match finishes("a vanishing consumer", LIMIT, handle).await {
                    Ok(Some(item)) => {
                        assert_eq!(item, round);
                        taken_by_vanishing = true;
                    }
                    Ok(None) => {}
                    Err(err) => assert!(err.is_cancelled(), "consumer panicked: {err}"),
                }
            }
            if taken_by_vanishing {
                // The last consumer was rightly not woken; give it something to take.
                buffer.lock().await.items.push_back(u32::MAX);
                assert!(buffer.notify_one());
                let item = finishes("the last consumer", LIMIT, last).await;
                assert_eq!(item.expect("no panic"), Some(u32::MAX));
            } else {
                // The notified consumer left without the item: its notification must have
                // passed on to the last one, with no further notify.
                vanished_with_notification += 1;
                let item = finishes("the last consumer (hand-off)", LIMIT, last).await;
                assert_eq!(item.expect("no panic"), Some(round));
            }
            assert!(buffer.lock().await.items.is_empty());
        }
        eprintln!("condition notify_one: {vanished_with_notification} notifications handed on");
        assert!(
            vanished_with_notification > 0,
            "the hand-off was never exercised"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_phases_release_exactly_parties_with_unique_indices_and_one_leader() {
    for_each_seed("barrier phases", |mut rng| async move {
        const PARTIES: usize = 4;
        const PHASES: usize = 1_000;
        let barrier = Arc::new(Barrier::new(PARTIES));
        let arrived = Arc::new(Semaphore::new(0));

        let mut tasks = Vec::new();
        for me in 0..PARTIES {
            let (barrier, arrived) = (barrier.clone(), arrived.clone());
            let mut rng = fastrand::Rng::with_seed(rng.u64(..));
            tasks.push(tokio::spawn(async move {
                let mut results: Vec<BarrierWaitResult> = Vec::with_capacity(PHASES);
                let mut cancelled = 0;
                for phase in 0..PHASES {
                    // The gatekeeper arrives last, once the others have settled in, so no
                    // phase can be released while waiters are being cancelled and replaced.
                    if phase % PARTIES == me {
                        arrived
                            .acquire_many(PARTIES as u32 - 1)
                            .await
                            .expect("open")
                            .forget();
                        let mut wait = pin!(barrier.wait());
                        let result = match futures::poll!(wait.as_mut()) {
                            std::task::Poll::Ready(result) => result.expect("not broken"),
                            std::task::Poll::Pending => panic!("the last arrival must not wait"),
                        };
                        results.push(result);
                        continue;
                    }
                    // Arrive and leave a few times (dropped mid-wait) ...
                    for _ in 0..rng.usize(0..3) {
                        let mut wait = pin!(barrier.wait());
                        assert!(futures::poll!(wait.as_mut()).is_pending());
                        assert!(barrier.n_waiting() < PARTIES);
                        let finished = cancel_soon(&mut rng, wait).await;
                        assert!(finished.is_none(), "released without the gatekeeper");
                        cancelled += 1;
                    }
                    // ... then arrive for good.
                    let mut wait = pin!(barrier.wait());
                    assert!(futures::poll!(wait.as_mut()).is_pending());
                    arrived.add_permits(1);
                    results.push(wait.await.expect("not broken"));
                }
                (results, cancelled)
            }));
        }

        let mut per_task = Vec::new();
        let mut cancelled = 0;
        for task in tasks {
            let (results, c) = finishes("a barrier task", LIMIT, task)
                .await
                .expect("no panic");
            per_task.push(results);
            cancelled += c;
        }
        for phase in 0..PHASES {
            let results: Vec<BarrierWaitResult> = per_task.iter().map(|r| r[phase]).collect();
            let indices: BTreeSet<usize> = results.iter().map(|r| r.index()).collect();
            assert_eq!(indices.len(), PARTIES, "phase {phase}: {results:?}");
            assert!(indices.iter().all(|&i| i < PARTIES));
            let leaders: Vec<usize> = (0..PARTIES).filter(|&t| results[t].is_leader()).collect();
            assert_eq!(
                leaders,
                [phase % PARTIES],
                "phase {phase}: one leader, the last in"
            );
            assert_eq!(results[phase % PARTIES].index(), PARTIES - 1);
        }
        assert_eq!(barrier.n_waiting(), 0);
        eprintln!("barrier phases: {cancelled} waiters dropped mid-wait");
    })
    .await;
}

/// Drops `fut` soon if it has not finished: after one poll, after a few yields, or after a
/// short real-time timeout.
async fn cancel_soon<F: Future>(rng: &mut fastrand::Rng, fut: F) -> Option<F::Output> {
    match rng.u8(0..3) {
        0 => match futures::poll!(pin!(fut)) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        },
        1 => {
            let yields_first = rng.u32(1..6);
            tokio::select! {
                output = fut => Some(output),
                () = polls(yields_first) => None,
            }
        }
        _ => tokio::time::timeout(Duration::from_micros(rng.u64(0..200)), fut)
            .await
            .ok(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_survives_random_cancellation_and_aborted_tasks_then_breaks_cleanly() {
    for_each_seed("barrier chaos", |mut rng| async move {
        const PARTIES: usize = 3;
        const TARGET_PHASES: usize = 1_000;
        let barrier = Arc::new(Barrier::new(PARTIES));
        let phases = Arc::new(AtomicUsize::new(0));
        let released = Arc::new(AtomicUsize::new(0));

        let worker = |seed: u64| {
            let (barrier, phases, released) = (barrier.clone(), phases.clone(), released.clone());
            async move {
                let mut rng = fastrand::Rng::with_seed(seed);
                loop {
                    match maybe_cancel(&mut rng, barrier.wait()).await {
                        None => {} // dropped mid-wait: un-counted, or released and ignored
                        Some(Err(_broken)) => return,
                        Some(Ok(result)) => {
                            assert!(result.index() < PARTIES);
                            released.fetch_add(1, Ordering::Relaxed);
                            if result.is_leader() {
                                assert_eq!(result.index(), PARTIES - 1);
                                if phases.fetch_add(1, Ordering::Relaxed) + 1 == TARGET_PHASES {
                                    barrier.abort();
                                }
                            } else {
                                assert!(result.index() < PARTIES - 1);
                            }
                        }
                    }
                }
            }
        };

        // More tasks than parties, so phases are made of different tasks each time.
        let mut tasks: Vec<_> = (0..PARTIES + 2)
            .map(|_| tokio::spawn(worker(rng.u64(..))))
            .collect();
        // Tourists join for a moment and are aborted from outside mid-wait.
        let mut tourists = Vec::new();
        while !barrier.is_broken() && tourists.len() < 200 {
            let tourist = tokio::spawn(worker(rng.u64(..)));
            polls(rng.u32(1..8)).await;
            tourist.abort();
            tourists.push(tourist);
        }
        for tourist in tourists {
            if let Err(err) = finishes("a tourist", LIMIT, tourist).await {
                assert!(err.is_cancelled(), "tourist panicked: {err}");
            }
        }
        for task in tasks.drain(..) {
            finishes("a worker", LIMIT, task).await.expect("no panic");
        }

        assert!(barrier.is_broken());
        assert_eq!(barrier.n_waiting(), 0);
        let phases = phases.load(Ordering::Relaxed);
        let released = released.load(Ordering::Relaxed);
        assert!(phases >= TARGET_PHASES);
        // Each phase released exactly PARTIES tasks; a few may have been dropped right after
        // their release, so at most that many results are seen.
        assert!(
            released <= phases * PARTIES,
            "{released} > {phases} x {PARTIES}"
        );
        eprintln!("barrier chaos: {phases} phases, {released} releases seen");
    })
    .await;
}
