//! `gather` over many Tokio `JoinHandle`s polls each handle a bounded number of times.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use corral::task::{as_completed, gather, gather_unpin};

use crate::combinators::pending_once;

/// Counts the polls of the future it wraps.
struct Counted<F> {
    inner: F,
    polls: Arc<AtomicUsize>,
}

impl<F: Future + Unpin> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll(cx)
    }
}

const N: usize = 10_000;

fn handles(polls: &Arc<AtomicUsize>) -> Vec<Counted<tokio::task::JoinHandle<usize>>> {
    (0..N)
        .map(|i| Counted {
            inner: tokio::spawn(async move {
                pending_once().await;
                i
            }),
            polls: Arc::clone(polls),
        })
        .collect()
}

// The gathering runs in a spawned task: there (unlike in `block_on`) a Tokio resource out of
// budget defers its wake-up, which `FuturesUnordered` cannot see.
#[tokio::test]
async fn gather_polls_each_join_handle_a_few_times() -> Result<(), Box<dyn std::error::Error>> {
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&polls);
    let values = tokio::spawn(async move { gather(handles(&counter)).await }).await??;
    assert!(values.iter().copied().eq(0..N));
    // Without a visible yield once the coop budget is spent this is ~N * N / 256 (~390k).
    // And a handle polled before its task has run registers a waker with that task, only to be
    // polled again: a gather that polled all N at once (as a `FuturesUnordered` does) made 2N
    // polls. Yielding between turns of 128 polls lets the tasks run first, so only the first
    // two turns find them running.
    let polls = polls.load(Ordering::Relaxed);
    assert!(polls <= N + N / 10, "{polls} polls for {N} handles");
    Ok(())
}

// `gather_unpin` stores the handles unboxed and polls them the same way.
#[tokio::test]
async fn gather_unpin_polls_each_join_handle_a_few_times() -> Result<(), Box<dyn std::error::Error>>
{
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&polls);
    let values = tokio::spawn(async move { gather_unpin(handles(&counter)).await }).await??;
    assert!(values.iter().copied().eq(0..N));
    let polls = polls.load(Ordering::Relaxed);
    assert!(polls <= N + N / 10, "{polls} polls for {N} handles");
    Ok(())
}

#[tokio::test]
async fn as_completed_polls_each_join_handle_a_few_times() -> Result<(), Box<dyn std::error::Error>>
{
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&polls);
    let count = tokio::spawn(async move {
        let mut done = as_completed(handles(&counter));
        let mut count = 0;
        while let Some(value) = done.next().await {
            value?;
            count += 1;
        }
        Ok::<_, tokio::task::JoinError>(count)
    })
    .await??;
    assert_eq!(count, N);
    let polls = polls.load(Ordering::Relaxed);
    assert!(polls <= 4 * N, "{polls} polls for {N} handles");
    Ok(())
}
