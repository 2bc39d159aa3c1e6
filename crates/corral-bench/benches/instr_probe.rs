//! instr_probe: not a criterion bench. Runs one variant of a workload once on a
//! current-thread runtime, for counting instructions under callgrind, where the wall clock of
//! this shared VM is too noisy to resolve a 10% difference:
//!
//! ```text
//! cargo bench -p corral-bench --bench instr_probe --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instr_probe-* <variant> <n>
//! ```
//!
//! Instructions per task = (count at n) - (count at 0), divided by n. Variants:
//! `tokio_spawn`, `corral_taskgroup`, `tokio_joinset`, `await_handles_loop`,
//! `tokio_spawn_arc` (each task also holds a clone of one shared `Arc`: what any per-task
//! reference to a shared object costs; on two workers its count's cache line also moves
//! between the spawning and the finishing thread),
//! `tokio_tracker` (tokio-util's `TaskTracker`, the smallest group that counts its tasks),
//! `tokio_spawn_ok` (Tokio's spawn of the same fallible task `corral_taskgroup` spawns),
//! `tokio_tracker_ok`, `tokio_spawn_ok_abort` and `tokio_tracker_ok_abort` (that spawn counted
//! by a `TaskTracker` and waited for, with an abort handle kept per task, and both: what each
//! duty of a group costs by itself) and
//! `tokio_spawn_wrapped` (that task inside a one-line wrapper future: what any wrapper costs
//! in Tokio's task code, before the wrapper does anything),
//! `corral_gather_handles` (`gather_unpin`), `corral_gather_pinned_handles` (`gather` over the
//! same handles), `corral_gather`, `corral_gather_woken` (per wake-up of one future among
//! 1,000 idle ones, after the switch to polling by wake-up); of `semaphore_fanout`: `corral_map_concurrent`,
//! `futures_buffer_unordered`; of `rate_limiter_overhead` (per acquire): `corral_rate_limiter`
//! (the default clock), `corral_rate_limiter_tokio`, `corral_rate_limiter_fast`, `governor`; of `rate_limiter_build` (per limiter built, all
//! kept to the end): `corral_rate_limiter_build`, `governor_build` (one shared clock, cloned),
//! `governor_arc_build` (the same in an `Arc`);
//! of `timeout_overhead` (per op, a 10 s limit around one `yield_now`): `tokio_timeout`,
//! `corral_timeout`, `corral_deadline`; of `worker_pool` (per item; 100 clients, 4 workers,
//! capacity 100, each item doubled; timed from building the pool): `corral_worker_pool`,
//! `async_channel_actor`, `flume_actor`.
//!
//! Wall clock, paired: `PROBE_WORKERS=2` (a 2-worker runtime; default current-thread),
//! `PROBE_REPEAT=200` and `PROBE_PAIR=tokio_spawn` run `<variant>` and the pair alternately,
//! 200 rounds, and print both medians and the median per-round ratio (see `main`).
//!
//! Run by hand: under `cargo bench` (which passes `--bench`), or with no or an unknown
//! variant, it does nothing.

use corral::task::{BoxError, Task, TaskGroup, gather, gather_unpin};
use futures::StreamExt;
use tokio::task::{JoinHandle, JoinSet, yield_now};

async fn trivial(i: u64) -> u64 {
    yield_now().await;
    i
}

/// `trivial`, holding a reference to a shared object until it ends.
async fn trivial_holding(i: u64, held: std::sync::Arc<u64>) -> u64 {
    yield_now().await;
    drop(held);
    i
}

async fn trivial_ok(i: u64) -> Result<u64, BoxError> {
    yield_now().await;
    Ok(i)
}

async fn run(variant: &str, n: u64) -> u64 {
    match variant {
        "tokio_spawn" | "await_handles_loop" => {
            let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.expect("no task panics");
            }
            sum
        }
        "tokio_spawn_ok" => {
            let handles: Vec<JoinHandle<Result<u64, BoxError>>> =
                (0..n).map(|i| tokio::spawn(trivial_ok(i))).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle
                    .await
                    .expect("no task panics")
                    .expect("no task fails");
            }
            sum
        }
        "tokio_spawn_wrapped" => {
            let handles: Vec<JoinHandle<Option<u64>>> = (0..n)
                .map(|i| tokio::spawn(async move { trivial_ok(i).await.ok() }))
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle
                    .await
                    .expect("no task panics")
                    .expect("no task fails");
            }
            sum
        }
        "corral_taskgroup" => {
            let group: TaskGroup<BoxError> = TaskGroup::new();
            let tasks: Vec<Task<u64>> = (0..n).map(|i| group.spawn(trivial_ok(i))).collect();
            group.join().await.expect("no task fails");
            let mut sum = 0;
            for task in tasks {
                sum += task.await.expect("no task fails");
            }
            sum
        }
        // What a group's two duties cost on their own, each against `tokio_spawn_ok`: counting
        // its tasks to wait for them (tokio-util's `TaskTracker`), and keeping an abort handle
        // per task to abort them (dropped once they are done), then both.
        "tokio_tracker_ok" | "tokio_tracker_ok_abort" => {
            let keep = variant == "tokio_tracker_ok_abort";
            let tracker = tokio_util::task::TaskTracker::new();
            let mut aborts = Vec::new();
            let handles: Vec<JoinHandle<Result<u64, BoxError>>> = (0..n)
                .map(|i| {
                    let handle = tracker.spawn(trivial_ok(i));
                    if keep {
                        aborts.push(handle.abort_handle());
                    }
                    handle
                })
                .collect();
            tracker.close();
            tracker.wait().await;
            drop(aborts);
            let mut sum = 0;
            for handle in handles {
                sum += handle
                    .await
                    .expect("no task panics")
                    .expect("no task fails");
            }
            sum
        }
        "tokio_spawn_ok_abort" => {
            let mut aborts = Vec::new();
            let handles: Vec<JoinHandle<Result<u64, BoxError>>> = (0..n)
                .map(|i| {
                    let handle = tokio::spawn(trivial_ok(i));
                    aborts.push(handle.abort_handle());
                    handle
                })
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle
                    .await
                    .expect("no task panics")
                    .expect("no task fails");
            }
            drop(aborts);
            sum
        }
        "tokio_spawn_arc" => {
            let shared = std::sync::Arc::new(0_u64);
            let handles: Vec<JoinHandle<u64>> = (0..n)
                .map(|i| tokio::spawn(trivial_holding(i, std::sync::Arc::clone(&shared))))
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.expect("no task panics");
            }
            sum
        }
        "tokio_tracker" => {
            let tracker = tokio_util::task::TaskTracker::new();
            let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tracker.spawn(trivial(i))).collect();
            tracker.close();
            tracker.wait().await;
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.expect("no task panics");
            }
            sum
        }
        "tokio_joinset" => {
            let mut set = JoinSet::new();
            for i in 0..n {
                set.spawn(trivial(i));
            }
            let mut sum = 0;
            while let Some(result) = set.join_next().await {
                sum += result.expect("no task panics");
            }
            sum
        }
        "corral_gather_handles" => {
            let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
            gather_unpin(handles)
                .await
                .expect("no task panics")
                .iter()
                .sum()
        }
        "corral_gather_pinned_handles" => {
            let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(trivial(i))).collect();
            gather(handles).await.expect("no task panics").iter().sum()
        }
        "corral_gather" => gather((0..n).map(trivial_ok))
            .await
            .expect("no task fails")
            .iter()
            .sum(),
        "corral_gather_woken" => gather_woken(n).await,
        // semaphore_fanout: limit 100, results in input order for corral.
        "corral_map_concurrent" => corral::flow::map_concurrent(0..n, 100, trivial_ok)
            .await
            .expect("no item fails")
            .iter()
            .sum(),
        "futures_buffer_unordered" => {
            let out: Vec<u64> = futures::stream::iter(0..n)
                .map(trivial)
                .buffer_unordered(100)
                .collect()
                .await;
            out.iter().sum()
        }
        // rate_limiter_overhead: a limit that never binds (10^9 a second, burst 1,000).
        "corral_rate_limiter" => rate_limited(n, corral::flow::Clock::default()).await,
        "corral_rate_limiter_tokio" => rate_limited(n, corral::flow::Clock::Tokio).await,
        "corral_rate_limiter_fast" => rate_limited(n, corral::flow::Clock::Fast).await,
        "governor" => {
            let rate = std::num::NonZeroU32::new(1_000_000_000).expect("non-zero");
            let burst = std::num::NonZeroU32::new(1_000).expect("non-zero");
            let limiter =
                governor::RateLimiter::direct(governor::Quota::per_second(rate).allow_burst(burst));
            let mut sum = 0;
            for i in 0..n {
                limiter.until_ready().await;
                sum += i;
            }
            sum
        }
        // rate_limiter_build (per limiter; each kept until the end, as in the criterion bench).
        "corral_rate_limiter_build" => {
            let limiters: Vec<_> = (0..n)
                .map(|_| {
                    corral::flow::RateLimiter::builder()
                        .rate(1_000_000_000, std::time::Duration::from_secs(1))
                        .burst(1_000)
                        .build()
                })
                .collect();
            std::hint::black_box(&limiters);
            (0..limiters.len() as u64).sum()
        }
        "governor_build" | "governor_arc_build" => {
            let rate = std::num::NonZeroU32::new(1_000_000_000).expect("non-zero");
            let burst = std::num::NonZeroU32::new(1_000).expect("non-zero");
            let clock = governor::clock::DefaultClock::default();
            let build = || {
                governor::RateLimiter::direct_with_clock(
                    governor::Quota::per_second(rate).allow_burst(burst),
                    clock.clone(),
                )
            };
            if variant == "governor_build" {
                let limiters: Vec<_> = (0..n).map(|_| build()).collect();
                std::hint::black_box(&limiters);
                (0..limiters.len() as u64).sum()
            } else {
                let limiters: Vec<_> = (0..n).map(|_| std::sync::Arc::new(build())).collect();
                std::hint::black_box(&limiters);
                (0..limiters.len() as u64).sum()
            }
        }
        // timeout_overhead: a limit that never fires.
        "tokio_timeout" => {
            let mut sum = 0;
            for i in 0..n {
                sum += tokio::time::timeout(LIMIT, trivial(i))
                    .await
                    .expect("never fires");
            }
            sum
        }
        "corral_timeout" => {
            let mut sum = 0;
            for i in 0..n {
                sum += corral::time::timeout(LIMIT, trivial(i))
                    .await
                    .expect("never fires");
            }
            sum
        }
        "corral_queue" => {
            let queue = corral::queue::Queue::unbounded();
            for i in 0..n {
                queue.put(i).await.expect("open");
            }
            let mut sum = 0;
            for _ in 0..n {
                sum += queue.get().await.expect("an item");
            }
            sum
        }
        "corral_priority_queue" => {
            let queue = corral::queue::PriorityQueue::unbounded();
            for i in 0..n {
                queue.put(n - i).await.expect("open");
            }
            let mut sum = 0;
            for _ in 0..n {
                sum += queue.get().await.expect("an item");
            }
            sum
        }
        "corral_event" => {
            // One waiter at a time: registers (first poll pending), is released by `set`.
            let event = corral::sync::Event::new();
            for _ in 0..n {
                let mut wait = std::pin::pin!(event.wait());
                assert!(pending_once(wait.as_mut()));
                event.set();
                wait.await;
                event.clear();
            }
            n
        }
        "corral_deadline" => {
            let deadline = corral::time::Deadline::after(DEADLINE_LIMIT);
            let mut sum = 0;
            for i in 0..n {
                sum += deadline.run(trivial(i)).await.expect("never fires");
            }
            sum
        }
        "corral_worker_pool" => worker_pool(n, WorkerKind::Corral).await,
        "async_channel_actor" => worker_pool(n, WorkerKind::AsyncChannel).await,
        "flume_actor" => worker_pool(n, WorkerKind::Flume).await,
        other => panic!("unknown variant {other}"),
    }
}

/// Polls `future` once with a waker that does nothing; whether it is pending.
fn pending_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> bool {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    future.poll(&mut cx).is_pending()
}

/// `gather` after its switch to polling by wake-up: 1,000 futures wait on a channel while one
/// more wakes itself `n` times, then sends to all of them. Per `n`: one wake of one future
/// among many idle ones.
async fn gather_woken(n: u64) -> u64 {
    type Boxed = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, BoxError>> + Send>>;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..1_000)
        .map(|_| tokio::sync::oneshot::channel::<u64>())
        .unzip();
    let mut futures: Vec<Boxed> = receivers
        .into_iter()
        .map(|receiver| Box::pin(async move { Ok(receiver.await?) }) as Boxed)
        .collect();
    futures.push(Box::pin(async move {
        for _ in 0..n {
            let mut woke = false;
            std::future::poll_fn(|cx| {
                if std::mem::replace(&mut woke, true) {
                    std::task::Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            })
            .await;
        }
        for sender in senders {
            let _ = sender.send(0);
        }
        // The sum the probe checks.
        Ok(n * n.saturating_sub(1) / 2)
    }));
    gather(futures).await.expect("no future fails").iter().sum()
}

/// The limit of the `timeout_overhead` variants.
const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
/// The limit of `corral_deadline`, which counts from the deadline's creation for the whole
/// run rather than per op: 10 s fired under callgrind on a loaded machine (100k ops took 40 s),
/// and the panic's backtrace then made up most of the count.
const DEADLINE_LIMIT: std::time::Duration = std::time::Duration::from_secs(3600);

async fn rate_limited(n: u64, clock: corral::flow::Clock) -> u64 {
    let limiter = corral::flow::RateLimiter::builder()
        .rate(1_000_000_000, std::time::Duration::from_secs(1))
        .burst(1_000)
        .clock(clock)
        .build();
    let mut sum = 0;
    for i in 0..n {
        limiter.acquire().await;
        sum += i;
    }
    sum
}

#[derive(Clone, Copy)]
enum WorkerKind {
    Corral,
    AsyncChannel,
    Flume,
}

/// A request to the hand-written actors: the item and where its result goes.
type Request = (u64, tokio::sync::oneshot::Sender<u64>);

/// A client's handle on a worker pool: submits one item and awaits its result.
trait Submit: Clone + Send + Sync + 'static {
    fn submit(&self, x: u64) -> impl std::future::Future<Output = u64> + Send + '_;
}

impl Submit for std::sync::Arc<corral::pool::WorkerPool<u64, u64>> {
    async fn submit(&self, x: u64) -> u64 {
        corral::pool::WorkerPool::submit(self, x)
            .await
            .expect("never fails")
    }
}

impl Submit for async_channel::Sender<Request> {
    async fn submit(&self, x: u64) -> u64 {
        let (reply, result) = tokio::sync::oneshot::channel();
        self.send((x, reply)).await.expect("workers alive");
        result.await.expect("a reply")
    }
}

impl Submit for flume::Sender<Request> {
    async fn submit(&self, x: u64) -> u64 {
        let (reply, result) = tokio::sync::oneshot::channel();
        self.send_async((x, reply)).await.expect("workers alive");
        result.await.expect("a reply")
    }
}

/// Workers in `worker_pool`, and the capacity of its queue.
const WORKERS: usize = 4;
const CAPACITY: usize = 100;

/// `benches/pool.rs`'s worker_pool: 4 workers behind a queue of 100, 100 clients submitting
/// `n / 100` items each (`0..n` in all) and awaiting each result (the item doubled). Returns
/// the sum of the items, from the results.
async fn worker_pool(n: u64, kind: WorkerKind) -> u64 {
    match kind {
        WorkerKind::Corral => {
            let pool = corral::pool::WorkerPool::builder(WORKERS)
                .capacity(CAPACITY)
                .build(|x: u64| async move { Ok::<_, BoxError>(x * 2) });
            clients(n, std::sync::Arc::new(pool)).await
        }
        WorkerKind::AsyncChannel => {
            let (tx, rx) = async_channel::bounded::<Request>(CAPACITY);
            for _ in 0..WORKERS {
                let rx = rx.clone();
                tokio::spawn(async move {
                    while let Ok((x, reply)) = rx.recv().await {
                        reply.send(x * 2).ok();
                    }
                });
            }
            clients(n, tx).await
        }
        WorkerKind::Flume => {
            let (tx, rx) = flume::bounded::<Request>(CAPACITY);
            for _ in 0..WORKERS {
                let rx = rx.clone();
                tokio::spawn(async move {
                    while let Ok((x, reply)) = rx.recv_async().await {
                        reply.send(x * 2).ok();
                    }
                });
            }
            clients(n, tx).await
        }
    }
}

/// 100 clients, each with a clone of `pool`, submitting `n / 100` items one after the other.
async fn clients<S: Submit>(n: u64, pool: S) -> u64 {
    const CLIENTS: u64 = 100;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                for i in 0..n / CLIENTS {
                    sum += pool.submit(i * CLIENTS + c).await;
                }
                sum
            })
        })
        .collect();
    let mut sum = 0;
    for client in clients {
        sum += client.await.expect("no panic");
    }
    sum / 2
}

/// The variants `run` knows.
const VARIANTS: [&str; 33] = [
    "tokio_tracker_ok",
    "tokio_tracker_ok_abort",
    "tokio_spawn_ok_abort",
    "tokio_spawn",
    "tokio_spawn_arc",
    "tokio_tracker",
    "tokio_spawn_wrapped",
    "tokio_spawn_ok",
    "await_handles_loop",
    "corral_taskgroup",
    "tokio_joinset",
    "corral_gather_handles",
    "corral_gather_pinned_handles",
    "corral_gather",
    "corral_gather_woken",
    "corral_map_concurrent",
    "futures_buffer_unordered",
    "corral_rate_limiter",
    "corral_rate_limiter_tokio",
    "corral_rate_limiter_fast",
    "governor",
    "corral_rate_limiter_build",
    "governor_build",
    "governor_arc_build",
    "tokio_timeout",
    "corral_timeout",
    "corral_deadline",
    "corral_queue",
    "corral_priority_queue",
    "corral_event",
    "corral_worker_pool",
    "async_channel_actor",
    "flume_actor",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` (and `bench/compare.sh`, with or without a filter) passes `--bench`;
    // `cargo test --benches` passes filters. Only a direct run with a known variant runs.
    if args.iter().any(|arg| arg.starts_with('-')) {
        return;
    }
    let Some(variant) = args.first().filter(|v| VARIANTS.contains(&v.as_str())) else {
        eprintln!("usage: instr_probe <{}> [n]", VARIANTS.join("|"));
        return;
    };
    let n: u64 = args
        .get(1)
        .map_or(100_000, |n| n.parse().expect("n is a number"));
    // For sampling profiles (`perf record`) rather than instruction counts: `PROBE_WORKERS=2`
    // runs on a 2-worker runtime, `PROBE_REPEAT=k` runs the workload k times. With
    // `PROBE_PAIR=<variant>`, each round runs that variant too, right after this one, and the
    // medians of both and of the per-round ratio are printed: pairing each run with one of the
    // anchor taken a moment later cancels the drift of a shared VM's speed, which criterion's
    // one-function-after-another runs cannot.
    let workers: usize = env_number("PROBE_WORKERS", 0);
    let repeat: usize = env_number("PROBE_REPEAT", 1);
    let pair = std::env::var("PROBE_PAIR").ok();
    let runtime = match workers {
        0 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        workers => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build(),
    }
    .expect("build a runtime");
    let timed = |variant: &str| {
        let variant = variant.to_owned();
        let (sum, elapsed) = runtime.block_on(async move {
            tokio::spawn(async move {
                let start = std::time::Instant::now();
                let sum = run(&variant, n).await;
                (sum, start.elapsed())
            })
            .await
            .expect("the workload does not panic")
        });
        assert_eq!(sum, n * n.saturating_sub(1) / 2);
        elapsed.as_secs_f64()
    };
    let mut rounds = Vec::with_capacity(repeat);
    for round in 0..repeat {
        // Which of the two goes first alternates, so that neither always runs on the heap and
        // caches the other left behind.
        let (this, other) = if round % 2 == 0 {
            let this = timed(variant);
            (this, pair.as_deref().map(&timed))
        } else {
            let other = pair.as_deref().map(&timed);
            (timed(variant), other)
        };
        rounds.push((this, other));
    }
    if let Some(pair) = pair {
        let median = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let this = median(rounds.iter().map(|round| round.0).collect());
        let other = median(rounds.iter().filter_map(|round| round.1).collect());
        let ratio = median(
            rounds
                .iter()
                .filter_map(|round| round.1.map(|other| round.0 / other))
                .collect(),
        );
        println!(
            "{variant} {:.3} ms, {pair} {:.3} ms, median ratio {ratio:.3} over {repeat} rounds",
            this * 1e3,
            other * 1e3
        );
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |value| {
        value.parse().expect("the variable is a number")
    })
}
