//! Helpers shared by the sync tests.

use std::future::Future;
use std::time::Duration;

/// Fails the test instead of hanging if `fut` does not finish within `limit` (real time on a
/// multi-threaded runtime; it is a deadlock detector, never a way to synchronise).
pub(crate) async fn finishes<F: Future>(what: &str, limit: Duration, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {limit:?}: lost wake-up?"),
    }
}

/// A future that is ready on its `n`-th poll: yields `n - 1` times first.
pub(crate) async fn yields(n: u32) {
    for _ in 1..n {
        tokio::task::yield_now().await;
    }
}
