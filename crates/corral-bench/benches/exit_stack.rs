//! exit_stack: `n` async cleanups registered, then run in reverse order, each one `yield_now`.
//!
//! - `corral_exit_stack`: `ExitStack::push` per cleanup, then `close().await`.
//! - `vec_of_boxed`: a `Vec` of boxed futures popped and awaited by hand (anchor: what the
//!   stack does without catching panics or collecting errors).
//!
//! Timed: registering and running, as asyncio's `async with AsyncExitStack()` with
//! `push_async_callback` per cleanup.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use corral::scope::ExitStack;
use corral::task::BoxError;
use criterion::{Criterion, criterion_group, criterion_main};

const CLEANUPS: u64 = 100_000;

async fn corral_exit_stack(n: u64) -> Duration {
    let start = Instant::now();
    let mut stack = ExitStack::new();
    for _ in 0..n {
        stack.push(async {
            tokio::task::yield_now().await;
            Ok(())
        });
    }
    stack.close().await.expect("no cleanup fails");
    start.elapsed()
}

type Cleanup = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

async fn vec_of_boxed(n: u64) -> Duration {
    let start = Instant::now();
    let mut cleanups: Vec<Cleanup> = Vec::new();
    for _ in 0..n {
        cleanups.push(Box::pin(async {
            tokio::task::yield_now().await;
            Ok(())
        }));
    }
    while let Some(cleanup) = cleanups.pop() {
        cleanup.await.expect("no cleanup fails");
    }
    start.elapsed()
}

fn exit_stack(c: &mut Criterion) {
    let runtimes = common::runtimes();
    let mut group = common::group(c, "exit_stack");
    common::fit(&mut group, CLEANUPS);
    for rt in &runtimes {
        common::bench(
            &mut group,
            "corral_exit_stack",
            rt,
            CLEANUPS,
            corral_exit_stack,
        );
        common::bench(&mut group, "vec_of_boxed", rt, CLEANUPS, vec_of_boxed);
    }
    group.finish();
}

criterion_group!(benches, exit_stack);
criterion_main!(benches);
