//! Workers moving through phases in step: the guides' `Barrier(3)` with workers A, B and C.
//!
//! Each worker does some work of its own (taking a different time), then waits at the
//! barrier until all three are done, over several phases. The leader of each phase (the last
//! to arrive) reports it.
//!
//! Run it with `cargo run --example barrier_workers`.

use std::sync::Arc;
use std::time::Duration;

use corral::sync::{Barrier, BrokenBarrier};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PHASES: u32 = 3;

async fn worker(
    barrier: Arc<Barrier>,
    name: &'static str,
    millis: u64,
) -> Result<(), BrokenBarrier> {
    for phase in 1..=PHASES {
        println!("{name}: starting work of phase {phase}");
        tokio::time::sleep(Duration::from_millis(millis * u64::from(phase))).await;
        println!("{name}: waiting at barrier");
        let arrival = barrier.wait().await?;
        if arrival.is_leader() {
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
    let workers = [("A", 30), ("B", 10), ("C", 20)]
        .map(|(name, millis)| tokio::spawn(worker(Arc::clone(&barrier), name, millis)));
    for worker in workers {
        worker.await??;
    }
    println!(
        "main: all {PHASES} phases done, {} task(s) left waiting",
        barrier.n_waiting()
    );
    Ok(())
}
