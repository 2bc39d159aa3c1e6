//! How `gather` keeps its futures: pinned sixteen to an allocation (the rest one by one), each
//! dropped as it finishes, and after the switch to polling by wake-up, each woken through a
//! waker of its own, from any thread.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use corral::task::{gather, gather_settled};
use futures::FutureExt;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use crate::combinators::pending_once;
use crate::support::{DropFlag, PollCount};

type SendBoxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A future awaiting a channel.
type Received = SendBoxed<Result<u64, String>>;

// Two blocks of sixteen and five futures boxed alone: each is dropped where it is pinned as
// soon as it finishes, not when the gather ends, and the values keep their order.
#[tokio::test(start_paused = true)]
async fn gather_drops_each_future_as_it_finishes_wherever_it_is_pinned() {
    const N: u64 = 37;
    let flags: Vec<DropFlag> = (0..N).map(|_| DropFlag::new()).collect();
    let futures = flags.iter().enumerate().map(|(i, flag)| {
        let guard = flag.guard();
        async move {
            let _guard = guard;
            sleep(Duration::from_millis(i as u64 + 1)).await;
            Ok::<_, String>(i as u64)
        }
    });
    let start = Instant::now();
    let mut gathering = tokio_test::task::spawn(gather(futures));
    tokio_test::assert_pending!(gathering.poll());
    for finished in [3, 16, 20, 34] {
        sleep_until(start + Duration::from_millis(finished)).await;
        tokio_test::assert_pending!(gathering.poll());
        let dropped: Vec<bool> = flags.iter().map(DropFlag::is_dropped).collect();
        let expected: Vec<bool> = (0..N).map(|i| i < finished).collect();
        assert_eq!(dropped, expected, "after {finished} ms");
    }
    sleep_until(start + Duration::from_millis(N)).await;
    let values = tokio_test::assert_ready!(gathering.poll()).expect("nothing fails");
    assert!(values.iter().copied().eq(0..N));
    assert!(flags.iter().all(DropFlag::is_dropped));
}

/// Yields `len` ready futures, but says it has `claims` (a lower bound it does not keep), and
/// after its end yields more (it is not fused).
struct Lying {
    next: u64,
    len: u64,
    claims: usize,
}

impl Iterator for Lying {
    type Item = std::future::Ready<Result<u64, String>>;

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        self.next += 1;
        (i != self.len).then(|| std::future::ready(Ok(i)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.claims, None)
    }
}

// The futures are the iterator's, up to its first `None`, whatever its `size_hint` says: a
// block is filled only with futures the iterator gave.
#[tokio::test(start_paused = true)]
async fn gather_takes_the_futures_up_to_the_iterators_end_whatever_it_claims() {
    for (len, claims) in [(20, 100), (35, 16), (16, 64), (5, 1_000), (0, 16)] {
        let gathering = gather(Lying {
            next: 0,
            len,
            claims,
        });
        // On the paused clock a gather waiting for a future it does not have times out at once.
        let values = timeout(Duration::from_secs(60), gathering)
            .await
            .expect("the gather ends")
            .expect("nothing fails");
        assert!(
            values.iter().copied().eq(0..len),
            "{len} of {claims}: {values:?}"
        );
    }
}

/// Returns `Pending` `times` times, waking itself each time; sends on `switched` after the
/// tenth, when the gather has switched to polling by wake-up (it switches once the second lap
/// finds a future not ready, and this future is polled once a lap).
async fn chatty_then_signal(times: usize, switched: std::sync::mpsc::Sender<()>) {
    for polls in 0..times {
        if polls == 10 {
            let _ = switched.send(());
        }
        pending_once().await;
    }
}

/// `n` channels, and a future awaiting each (its polls counted by `polls`).
fn receivers(n: usize, polls: &PollCount) -> (Vec<oneshot::Sender<u64>>, Vec<Received>) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel::<u64>()).unzip();
    let futures = receivers
        .into_iter()
        .map(|receiver| {
            Box::pin(polls.track(async move { receiver.await.map_err(|error| error.to_string()) }))
                as SendBoxed<_>
        })
        .collect();
    (senders, futures)
}

// After the switch each future has a waker of its own; woken from another thread, in reverse
// input order, every one is polled and the values keep their order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gather_after_the_switch_is_woken_from_other_threads()
-> Result<(), Box<dyn std::error::Error>> {
    const N: usize = 1_000;
    let polls = PollCount::new();
    let (senders, mut futures) = receivers(N, &polls);
    let (switched, on_switch) = std::sync::mpsc::channel();
    futures.push(Box::pin(async move {
        chatty_then_signal(100, switched).await;
        Ok(N as u64)
    }));
    let gathering = tokio::spawn(gather(futures));
    let sending = std::thread::spawn(move || {
        on_switch.recv().map(|()| {
            for (i, sender) in senders.into_iter().enumerate().rev() {
                let _ = sender.send(i as u64);
            }
        })
    });
    // A guard against a lost wake-up hanging the suite; the test does not wait on it.
    let values = timeout(Duration::from_secs(60), gathering).await???;
    assert!(sending.join().is_ok_and(|sent| sent.is_ok()));
    assert!(values.iter().copied().eq(0..=N as u64));
    // Polled in turn, every receiver would be polled at each of the 100 self-wakes.
    let polls = polls.get();
    assert!(
        polls <= 4 * N,
        "{polls} polls of {N} receivers: the gather switched"
    );
    Ok(())
}

// After the switch, a thousand futures woken at once are more than one coop budget: the gather
// polls a budget's worth, puts the rest back and yields, and loses none of them.
#[tokio::test(start_paused = true)]
async fn gather_after_the_switch_yields_when_out_of_budget_and_loses_no_future()
-> Result<(), Box<dyn std::error::Error>> {
    const N: usize = 1_000;
    let polls = PollCount::new();
    let (senders, mut futures) = receivers(N, &polls);
    futures.push(Box::pin(async move {
        for _ in 0..10 {
            pending_once().await;
        }
        for (i, sender) in senders.into_iter().enumerate() {
            let _ = sender.send(i as u64);
        }
        Ok(N as u64)
    }));
    let gathering = tokio::spawn(gather_settled(futures));
    // On the paused clock a gather that lost a future would make this time out at once.
    let values = timeout(Duration::from_secs(60), gathering).await??;
    let values: Vec<u64> = values.into_iter().collect::<Result<_, _>>()?;
    assert!(values.iter().copied().eq(0..=N as u64));
    // Each receiver: a poll in each of the first two laps, one after the switch, one when sent.
    let polls = polls.get();
    assert!(polls <= 4 * N, "{polls} polls of {N} receivers");
    Ok(())
}

type LocalBoxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// Polls `gather` once with a waker that does nothing, as an executor would.
fn poll_once<G: Future + Unpin>(gather: &mut G) -> Poll<G::Output> {
    let waker = futures::task::noop_waker();
    Pin::new(gather).poll(&mut Context::from_waker(&waker))
}

// After the switch, a future that wakes itself in its poll (to let the others run, as a
// cooperative yield does) is polled at most twice per poll of the gather (as in a
// `FuturesUnordered`), not once per idle future.
#[test]
fn after_the_switch_a_self_waking_future_is_polled_at_most_twice_per_poll_of_the_gather() {
    let polls = Rc::new(Cell::new(0_usize));
    let mut futures: Vec<LocalBoxed<u8>> = (0..999)
        .map(|_| Box::pin(std::future::pending::<u8>()) as LocalBoxed<u8>)
        .collect();
    let counted = Rc::clone(&polls);
    futures.push(Box::pin(std::future::poll_fn(move |cx| {
        counted.set(counted.get() + 1);
        cx.waker().wake_by_ref();
        Poll::<u8>::Pending
    })));
    let mut gathering = gather_settled(futures);
    // The first lap, then 128 polls of the second, find a future not ready: switched.
    for _ in 0..16 {
        assert!(poll_once(&mut gathering).is_pending());
    }
    let before = polls.get();
    assert!(poll_once(&mut gathering).is_pending());
    assert_eq!(polls.get() - before, 2);
}

// After the switch, a future whose poll panics loses nothing else: the futures taken from the
// queue with it and not polled yet are polled at the gather's next poll.
#[test]
fn after_the_switch_a_panicking_poll_leaves_the_rest_of_its_batch_to_the_next_poll() {
    let armed = Rc::new(Cell::new(false));
    let kept: Rc<RefCell<Option<Waker>>> = Rc::default();
    let (panics, keeps) = (Rc::clone(&armed), Rc::clone(&kept));
    let panicky = std::future::poll_fn(move |cx| {
        assert!(!panics.get(), "the future's poll panicked");
        *keeps.borrow_mut() = Some(cx.waker().clone());
        Poll::<u8>::Pending
    });
    let (first, first_rx) = oneshot::channel::<u8>();
    let (second, second_rx) = oneshot::channel::<u8>();
    let futures: Vec<LocalBoxed<u8>> = vec![
        Box::pin(panicky),
        Box::pin(async move { first_rx.await.unwrap_or(0) }),
        Box::pin(async move { second_rx.await.unwrap_or(0) }),
    ];
    let mut gathering = gather_settled(futures);
    // Two laps find nothing ready: switched, and each future polled with a waker of its own.
    for _ in 0..3 {
        assert!(poll_once(&mut gathering).is_pending());
    }
    armed.set(true);
    let waker = kept.borrow_mut().take().expect("polled after the switch");
    waker.wake();
    assert!(first.send(1).is_ok() && second.send(2).is_ok()); // queued: 0, then 1 and 2
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| poll_once(&mut gathering)));
    assert!(panicked.is_err());
    armed.set(false);
    assert!(poll_once(&mut gathering).is_pending());
    assert!(
        format!("{gathering:?}").contains("pending: 1"),
        "the other two finished: {gathering:?}"
    );
}

/// A gather of sixteen futures of `BYTES` bytes each, polled once, on a thread with Tokio's
/// default worker stack (2 MiB).
fn gather_large_futures_on_a_small_stack<const BYTES: usize>() -> bool {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let futures = (0..16_u8).map(|i| async move {
                let buffer = [i; BYTES];
                pending_once().await;
                Ok::<u8, ()>(buffer[usize::from(i)])
            });
            let mut gathering = gather(futures);
            let _ = poll_once(&mut gathering);
        })
        .is_ok_and(|thread| thread.join().is_ok())
}

// Large futures are boxed one by one, not built sixteen at a time on the stack (which
// overflowed a 2 MiB stack at 12 KiB per future in a debug build).
#[test]
fn large_futures_are_gathered_on_a_small_stack() {
    assert!(gather_large_futures_on_a_small_stack::<{ 16 * 1024 }>());
    assert!(gather_large_futures_on_a_small_stack::<{ 128 * 1024 }>());
}

/// Ready with `1` at once; panics when dropped.
struct OneThenPanicsOnDrop;

impl Future for OneThenPanicsOnDrop {
    type Output = u8;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        Poll::Ready(1)
    }
}

impl Drop for OneThenPanicsOnDrop {
    fn drop(&mut self) {
        panic!("the finished future panicked as it was dropped");
    }
}

// A future whose destructor panics once it has finished: the panic goes to the poller, and
// the gather stays consistent (its output kept, counted done), so a later poll goes on.
#[test]
fn a_future_whose_destructor_panics_leaves_the_gather_consistent() {
    let (send, receive) = oneshot::channel::<u8>();
    let futures: Vec<LocalBoxed<u8>> = vec![
        Box::pin(OneThenPanicsOnDrop),
        Box::pin(async move { receive.await.unwrap_or(0) }),
    ];
    let mut gathering = gather_settled(futures);
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| poll_once(&mut gathering)));
    assert!(panicked.is_err());
    assert!(poll_once(&mut gathering).is_pending());
    assert!(send.send(2).is_ok());
    assert_eq!(poll_once(&mut gathering), Poll::Ready(vec![1, 2]));
}

/// `n` futures, each holding a guard of its flag; future `i` sleeps `i + 1` ms, with a
/// `padding`-byte buffer (so large futures can be made, which are boxed one by one).
fn guarded<const PADDING: usize>(
    flags: &[DropFlag],
) -> impl Iterator<Item = impl Future<Output = Result<u64, String>>> + '_ {
    flags.iter().enumerate().map(|(i, flag)| {
        let guard = flag.guard();
        async move {
            let padding = [0_u8; PADDING];
            let _guard = guard;
            sleep(Duration::from_millis(i as u64 + 1)).await;
            Ok(i as u64 + u64::from(padding[i % PADDING]))
        }
    })
}

// Dropped mid-wait, before or after the switch to polling by wake-up, small futures (in
// blocks) or large ones (boxed one by one): every future it still held is dropped with it,
// and those that finished were dropped already.
#[tokio::test(start_paused = true)]
async fn gather_dropped_mid_wait_drops_every_future_it_held() {
    const N: usize = 40;
    for (after_ms, large) in [(0, false), (5, false), (30, false), (0, true), (30, true)] {
        let flags: Vec<DropFlag> = (0..N).map(|_| DropFlag::new()).collect();
        let start = Instant::now();
        {
            let mut gathering = if large {
                tokio_test::task::spawn(gather(guarded::<4096>(&flags)).boxed_local())
            } else {
                tokio_test::task::spawn(gather(guarded::<1>(&flags)).boxed_local())
            };
            tokio_test::assert_pending!(gathering.poll());
            sleep_until(start + Duration::from_millis(after_ms)).await;
            tokio_test::assert_pending!(gathering.poll());
            let finished = flags.iter().filter(|flag| flag.is_dropped()).count();
            assert_eq!(finished, after_ms as usize, "large: {large}");
        }
        assert!(
            flags.iter().all(DropFlag::is_dropped),
            "dropped after {after_ms} ms (large: {large})"
        );
    }
}

// `gather_settled` too.
#[tokio::test(start_paused = true)]
async fn gather_settled_dropped_mid_wait_drops_every_future_it_held() {
    let flags: Vec<DropFlag> = (0..40).map(|_| DropFlag::new()).collect();
    let start = Instant::now();
    let mut gathering = tokio_test::task::spawn(gather_settled(guarded::<1>(&flags)));
    tokio_test::assert_pending!(gathering.poll());
    sleep_until(start + Duration::from_millis(20)).await;
    tokio_test::assert_pending!(gathering.poll());
    assert_eq!(flags.iter().filter(|flag| flag.is_dropped()).count(), 20);
    drop(gathering);
    assert!(flags.iter().all(DropFlag::is_dropped));
}
