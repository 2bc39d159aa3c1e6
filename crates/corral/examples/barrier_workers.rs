//! Workers moving through phases in step: the guides' `Barrier(3)` with workers A, B and C.
//!
//! Each worker does some work of its own (taking a different time), then waits at the
//! barrier until all three are done, over several phases. The leader of each phase (the last
//! to arrive) reports it.
//!
//! Run it with `cargo run --example barrier_workers`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral::sync::Barrier;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PHASES: u32 = 3;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// How many times workers arrived at the barrier, and how many phases a leader reported.
#[derive(Default)]
struct Tally {
    arrivals: AtomicU32,
    leaders: AtomicU32,
}

async fn worker(
    barrier: Arc<Barrier>,
    tally: Arc<Tally>,
    name: &'static str,
    millis: u64,
) -> Result<(), BoxError> {
    for phase in 1..=PHASES {
        println!("{name}: starting work of phase {phase}");
        tokio::time::sleep(Duration::from_millis(millis * u64::from(phase))).await;
        println!("{name}: waiting at barrier");
        tally.arrivals.fetch_add(1, Ordering::SeqCst);
        let arrival = barrier.wait().await?;
        // Past the barrier, all three have arrived in this phase (some may be in the next).
        let arrivals = tally.arrivals.load(Ordering::SeqCst);
        ensure!(
            arrivals >= 3 * phase,
            "{name} passed the barrier of phase {phase} after only {arrivals} arrivals"
        );
        if arrival.is_leader() {
            tally.leaders.fetch_add(1, Ordering::SeqCst);
            println!("{name}: last to arrive, phase {phase} complete");
        }
        println!(
            "{name}: continuing after barrier (index {})",
            arrival.index()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let barrier = Arc::new(Barrier::new(3));
    let tally = Arc::new(Tally::default());
    let workers = [("A", 30), ("B", 10), ("C", 20)].map(|(name, millis)| {
        tokio::spawn(worker(
            Arc::clone(&barrier),
            Arc::clone(&tally),
            name,
            millis,
        ))
    });
    // A worker left waiting at the barrier for good fails the program instead of hanging it.
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(5), worker)
            .await
            .map_err(|_| "a worker was still waiting at the barrier after 5 s")???;
    }
    let leaders = tally.leaders.load(Ordering::SeqCst);
    ensure!(
        leaders == PHASES && barrier.n_waiting() == 0,
        "{leaders} leaders reported {PHASES} phases, {} left waiting",
        barrier.n_waiting()
    );
    println!(
        "main: all {PHASES} phases done, {} task(s) left waiting",
        barrier.n_waiting()
    );
    Ok(())
}
