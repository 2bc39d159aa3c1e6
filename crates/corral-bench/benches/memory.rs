//! memory: bytes per live task for `TaskGroup`, `JoinSet` and `tokio::spawn`, counted by the
//! global allocator of `corral-alloc-count`.
//!
//! Each variant spawns 100k tasks on a fresh current-thread runtime; every task runs the same
//! body (count itself as parked, wait on one shared `Notify`, return `Ok(())`). Once all of
//! them are parked the probe reads the heap (`live`) and the number of allocations so far,
//! then releases them with `notify_waiters`, waits for every task, drops the group / set /
//! handles and reads the heap again (`after`: 64 bytes for every variant, the runtime's).
//! `peak` is the high-water mark over the whole run. Every figure is relative to the heap just before the first spawn
//! and counts everything the variant allocates: the task cells (Tokio aligns each to 128
//! bytes on x86_64), the handles, and the group's or set's own bookkeeping. The runtime's run
//! queue, the same for every variant, is grown beforehand and not counted.
//!
//! Run: `cargo bench -p corral-bench --bench memory` (a plain `main`, not criterion). Prints a table and writes
//! `<target>/criterion/memory.json` for `bench/compare.sh`. Without `--bench` (as under
//! `cargo test --benches`) it runs 1,000 tasks and writes nothing.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use corral::task::{BoxError, Task, TaskGroup};
use tokio::runtime::Builder;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet, yield_now};

/// Live tasks per variant.
const TASKS: usize = 100_000;
/// Live tasks in the quick run (`cargo test --benches`).
const QUICK_TASKS: usize = 1_000;

#[global_allocator]
static ALLOCATOR: corral_alloc_count::Counting = corral_alloc_count::Counting;

/// One variant's figures, in bytes relative to the heap before its first spawn.
#[derive(Debug)]
struct Measured {
    name: &'static str,
    tasks: usize,
    live: usize,
    /// Allocations made from the first spawn until every task was parked.
    allocs: usize,
    peak: usize,
    after: isize,
}

impl Measured {
    fn live_per_task(&self) -> f64 {
        self.live as f64 / self.tasks as f64
    }

    fn peak_per_task(&self) -> f64 {
        self.peak as f64 / self.tasks as f64
    }

    fn allocs_per_task(&self) -> f64 {
        self.allocs as f64 / self.tasks as f64
    }
}

/// The heap readings of one variant, and the `Notify` its tasks block on.
struct Probe {
    base: usize,
    base_allocs: usize,
    notify: Arc<Notify>,
    parked: Arc<AtomicUsize>,
}

impl Probe {
    fn start() -> Self {
        let notify = Arc::new(Notify::new());
        let parked = Arc::new(AtomicUsize::new(0));
        let base = corral_alloc_count::live_bytes();
        corral_alloc_count::reset_peak();
        Self {
            base,
            base_allocs: corral_alloc_count::allocations(),
            notify,
            parked,
        }
    }

    /// The body of every task, the same in every variant: count itself as parked, wait for
    /// the release, return `Ok(())` (the output type `TaskGroup` needs).
    fn blocked(&self) -> impl Future<Output = Result<(), BoxError>> + Send + 'static {
        let (notify, parked) = (Arc::clone(&self.notify), Arc::clone(&self.parked));
        async move {
            let notified = notify.notified();
            parked.fetch_add(1, Ordering::Relaxed);
            notified.await;
            Ok(())
        }
    }

    /// Waits until `tasks` tasks are parked; returns the bytes held and the allocations made
    /// so far.
    async fn all_parked(&self, tasks: usize) -> (usize, usize) {
        while self.parked.load(Ordering::Relaxed) < tasks {
            yield_now().await;
        }
        (
            corral_alloc_count::live_bytes() - self.base,
            corral_alloc_count::allocations() - self.base_allocs,
        )
    }

    fn release(&self) {
        self.notify.notify_waiters();
    }

    /// The figures, once everything the variant made is gone (the probe's own two `Arc`s
    /// predate `base`).
    fn finish(&self, name: &'static str, tasks: usize, (live, allocs): (usize, usize)) -> Measured {
        Measured {
            name,
            tasks,
            live,
            allocs,
            peak: corral_alloc_count::peak_bytes() - self.base,
            after: corral_alloc_count::live_bytes() as isize - self.base as isize,
        }
    }
}

async fn tokio_spawn(tasks: usize) -> Measured {
    let probe = Probe::start();
    let handles: Vec<JoinHandle<Result<(), BoxError>>> =
        (0..tasks).map(|_| tokio::spawn(probe.blocked())).collect();
    let live = probe.all_parked(tasks).await;
    probe.release();
    for handle in handles {
        handle
            .await
            .expect("no task panics")
            .expect("no task fails");
    }
    probe.finish("tokio_spawn", tasks, live)
}

async fn tokio_joinset(tasks: usize) -> Measured {
    let probe = Probe::start();
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        set.spawn(probe.blocked());
    }
    let live = probe.all_parked(tasks).await;
    probe.release();
    while let Some(result) = set.join_next().await {
        result.expect("no task panics").expect("no task fails");
    }
    drop(set);
    probe.finish("tokio_joinset", tasks, live)
}

async fn corral_taskgroup(tasks: usize) -> Measured {
    let probe = Probe::start();
    let group: TaskGroup<BoxError> = TaskGroup::new();
    for _ in 0..tasks {
        // The `Task` handle is dropped: the group still owns and reaps the task.
        drop(group.spawn(probe.blocked()));
    }
    let live = probe.all_parked(tasks).await;
    probe.release();
    group.join().await.expect("no task fails");
    probe.finish("corral_taskgroup", tasks, live)
}

async fn corral_taskgroup_handles(tasks: usize) -> Measured {
    let probe = Probe::start();
    let group: TaskGroup<BoxError> = TaskGroup::new();
    let handles: Vec<Task<()>> = (0..tasks).map(|_| group.spawn(probe.blocked())).collect();
    let live = probe.all_parked(tasks).await;
    probe.release();
    group.join().await.expect("no task fails");
    for handle in handles {
        handle.await.expect("no task fails");
    }
    probe.finish("corral_taskgroup_handles", tasks, live)
}

/// Runs `variant` on a fresh current-thread runtime, after growing the runtime's run queue to
/// hold `tasks` tasks (that queue is the runtime's, the same for every variant, and kept).
fn measure<F: Future<Output = Measured>>(
    variant: impl FnOnce(usize) -> F,
    tasks: usize,
) -> Measured {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a current-thread runtime");
    runtime.block_on(async {
        let handles: Vec<JoinHandle<()>> = (0..tasks).map(|_| tokio::spawn(yield_now())).collect();
        for handle in handles {
            handle.await.expect("no task panics");
        }
    });
    runtime.block_on(variant(tasks))
}

/// Where criterion keeps its results: `$CARGO_TARGET_DIR/criterion` if that is an absolute
/// path, else the `target` directory this binary was built in (`target/release/deps/memory-*`;
/// a relative `CARGO_TARGET_DIR` is relative to where cargo was started, not to this process).
fn criterion_dir() -> Option<PathBuf> {
    let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => std::env::current_exe()
            .ok()?
            .ancestors()
            .nth(3)?
            .to_path_buf(),
    };
    Some(target.join("criterion"))
}

fn to_json(rows: &[Measured]) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "    {{\"impl\": \"{}\", \"tasks\": {}, \"live_bytes_per_task\": {:.1}, \
                 \"peak_bytes_per_task\": {:.1}, \"allocs_per_task\": {:.2}, \"after_bytes\": {}}}",
                r.name,
                r.tasks,
                r.live_per_task(),
                r.peak_per_task(),
                r.allocs_per_task(),
                r.after
            )
        })
        .collect();
    format!(
        "{{\n  \"runtime\": \"ct\",\n  \"rows\": [\n{}\n  ]\n}}\n",
        rows.join(",\n")
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("memory: benchmark");
        return;
    }
    // A criterion-style filter that does not select "memory" skips this probe.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| "memory".contains(f.as_str())) {
        return;
    }
    let full = args.iter().any(|a| a == "--bench");
    let tasks = if full { TASKS } else { QUICK_TASKS };

    let rows = [
        measure(tokio_spawn, tasks),
        measure(tokio_joinset, tasks),
        measure(corral_taskgroup, tasks),
        measure(corral_taskgroup_handles, tasks),
    ];
    println!("memory per live task ({tasks} tasks parked on one Notify, current-thread runtime)");
    println!(
        "{:<26} {:>12} {:>12} {:>13} {:>10}",
        "impl", "live B/task", "peak B/task", "allocs/task", "after (B)"
    );
    for r in &rows {
        println!(
            "{:<26} {:>12.1} {:>12.1} {:>13.2} {:>10}",
            r.name,
            r.live_per_task(),
            r.peak_per_task(),
            r.allocs_per_task(),
            r.after
        );
    }
    if !full {
        return;
    }
    let Some(dir) = criterion_dir() else {
        eprintln!("warning: cannot find the target directory; memory.json not written");
        return;
    };
    let path = dir.join("memory.json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, to_json(&rows))) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(err) => eprintln!("warning: cannot write {}: {err}", path.display()),
    }
}
