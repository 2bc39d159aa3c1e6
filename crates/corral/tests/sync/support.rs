//! Helpers shared by the sync tests.

use std::future::Future;

use crate::seeds;
use std::task::Poll;
use std::time::Duration;

/// Fails the test instead of hanging if `fut` does not finish within `limit` (real time on a
/// multi-threaded runtime; it is a deadlock detector, never a way to synchronise).
pub(crate) async fn finishes<F: Future>(what: &str, limit: Duration, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {limit:?}: lost wake-up?"),
    }
}

/// A future that is ready at its `n`-th poll, waking itself after each earlier one.
///
/// The stress tests use it to move the random point where a wait is cancelled (or a race
/// is cut off) by a few polls. It orders nothing: no assertion depends on what other tasks
/// did meanwhile, only on invariants that hold whatever they did.
pub(crate) fn polls(n: u32) -> impl Future<Output = ()> {
    let mut left = n;
    std::future::poll_fn(move |cx| {
        left = left.saturating_sub(1);
        if left == 0 {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

/// The seeds every randomised test runs with in CI.
pub(crate) const SEEDS: [u64; 3] = [0x5eed_0001, 0xc0ff_ee00_2026, 0x0dd5_eed5_1234_5678];

/// Runs the randomised test `run` once per seed of [`SEEDS`], or only with the seed in
/// `CORRAL_SEED` if it is set. If a run fails, the seed that failed is printed (with how
/// to replay it) before the panic goes on.
pub(crate) async fn for_each_seed<F, Fut>(test: &str, mut run: F)
where
    F: FnMut(fastrand::Rng) -> Fut,
    Fut: Future<Output = ()>,
{
    for seed in seeds::seeds(SEEDS) {
        let _report = seeds::Guard::new(test, seed);
        run(fastrand::Rng::with_seed(seed)).await;
    }
}

/// A waker whose `wake` panics: user code that corral calls, and must survive.
pub(crate) fn panicky_waker() -> std::task::Waker {
    struct Panicky;
    impl std::task::Wake for Panicky {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("a user waker panicked in wake");
        }
    }
    std::task::Waker::from(std::sync::Arc::new(Panicky))
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}
