//! [`ReadyThenPanicsOnDrop`]: a future whose destructor panics, for the tests of promises about
//! panics in a future's `Drop`.
#![allow(dead_code, unreachable_pub)]

/// A future that completes at once with `Ok(())`, and panics with `message` when it is dropped
/// afterwards (as a hand-written future, or a combinator holding its parts, may).
pub struct ReadyThenPanicsOnDrop(pub &'static str);

impl std::future::Future for ReadyThenPanicsOnDrop {
    type Output = Result<(), corral::task::BoxError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl Drop for ReadyThenPanicsOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}
