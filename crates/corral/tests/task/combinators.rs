//! gather, gather_settled, as_completed, race and first_ok: in place, borrowing, ordered.

use std::future::pending;
use std::time::Duration;

use corral::task::{as_completed, first_ok, gather, gather_settled, gather_unpin, race};
use futures::{Stream, StreamExt};
use tokio::time::{Instant, sleep};

use crate::support::{DropFlag, PollCount};

type Boxed<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;

async fn after(ms: u64, value: u64) -> Result<u64, String> {
    sleep(Duration::from_millis(ms)).await;
    Ok(value)
}

async fn outcome(ms: u64, result: Result<u64, &str>) -> Result<u64, String> {
    sleep(Duration::from_millis(ms)).await;
    result.map_err(str::to_string)
}

/// Returns `Pending` once, having woken itself: a future that needs a second poll (unlike
/// `yield_now`, it asks the runtime for nothing).
pub(crate) async fn pending_once() {
    let mut polled = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut polled, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

async fn fail_after(ms: u64, msg: &str) -> Result<u64, String> {
    outcome(ms, Err(msg)).await
}

#[tokio::test(start_paused = true)]
async fn gather_keeps_input_order_and_runs_concurrently() {
    let start = Instant::now();
    let values = gather([after(30, 1), after(10, 2), after(20, 3)])
        .await
        .unwrap();
    assert_eq!(values, [1, 2, 3]);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn gather_accepts_borrowing_futures() {
    let names = ["ada".to_string(), "grace".to_string()];
    let lengths = gather(names.iter().map(|name| async move {
        sleep(Duration::from_millis(1)).await;
        Ok::<_, String>(name.len()) // borrows `names`: no 'static needed
    }))
    .await
    .unwrap();
    assert_eq!(lengths, [3, 5]);
    assert_eq!(names.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn gather_first_error_cancels_the_rest() {
    let slow = DropFlag::new();
    let guard = slow.guard();
    let start = Instant::now();
    let futures: Vec<Boxed<Result<u64, String>>> = vec![
        Box::pin(async move {
            let _guard = guard;
            after(1_000, 1).await
        }),
        Box::pin(fail_after(10, "bad")),
    ];
    let result = gather(futures).await;
    assert_eq!(result, Err("bad".to_string()));
    assert_eq!(start.elapsed(), Duration::from_millis(10));
    assert!(slow.is_dropped());
}

#[tokio::test(start_paused = true)]
async fn gather_of_nothing_is_an_empty_vec() {
    let none: Vec<std::future::Ready<Result<u8, String>>> = Vec::new();
    assert_eq!(gather(none).await, Ok(vec![]));
}

#[tokio::test(start_paused = true)]
async fn gather_handles_a_hundred_thousand_futures() {
    let values = gather((0..100_000_u64).map(|i| async move {
        pending_once().await;
        Ok::<_, String>(i)
    }))
    .await
    .unwrap();
    assert_eq!(values.len(), 100_000);
    assert!(values.iter().enumerate().all(|(i, v)| *v == i as u64));
}

#[tokio::test(start_paused = true)]
async fn gather_unpin_keeps_input_order_of_task_handles() {
    let start = Instant::now();
    let handles = [
        tokio::spawn(after(30, 1)),
        tokio::spawn(after(10, 2)),
        tokio::spawn(after(20, 3)),
    ];
    let values = gather_unpin(handles).await.expect("no task panics");
    let values: Vec<u64> = values.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, [1, 2, 3]);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn gather_unpin_first_error_drops_the_rest_at_once() {
    let slow = DropFlag::new();
    let guard = slow.guard();
    let start = Instant::now();
    let futures: Vec<Boxed<Result<u64, String>>> = vec![
        Box::pin(async move {
            let _guard = guard;
            after(1_000, 1).await
        }),
        Box::pin(fail_after(10, "bad")),
    ];
    let mut gathering = gather_unpin(futures);
    let result = (&mut gathering).await;
    assert_eq!(result, Err("bad".to_string()));
    assert_eq!(start.elapsed(), Duration::from_millis(10));
    // Dropped when the error came, not when the `GatherUnpin` is.
    assert!(slow.is_dropped());
    drop(gathering);
}

#[tokio::test(start_paused = true)]
async fn gather_unpin_switches_to_wake_ups_and_keeps_order() {
    // Timers firing one by one: the in-turn polling gives way to polling by wake-up.
    const N: u64 = 300;
    let polls = PollCount::new();
    let futures: Vec<_> = (0..N)
        .map(|i| Box::pin(polls.track(after(N - i, i))))
        .collect();
    let values = gather_unpin(futures).await.expect("nothing fails");
    assert!(values.iter().copied().eq(0..N));
    assert!(polls.get() <= 4 * N as usize, "{} polls", polls.get());
}

#[tokio::test(start_paused = true)]
async fn gather_unpin_of_nothing_is_an_empty_vec() {
    let none: Vec<std::future::Ready<Result<u8, String>>> = Vec::new();
    assert_eq!(gather_unpin(none).await, Ok(vec![]));
}

#[tokio::test(start_paused = true)]
async fn dropping_gather_unpin_drops_its_futures_and_leaves_the_tasks_running() {
    let held = DropFlag::new();
    let guard = held.guard();
    let (tell, told) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        sleep(Duration::from_millis(20)).await;
        let _ = tell.send(7_u64);
    });
    let futures: Vec<Boxed<Result<u64, String>>> = vec![Box::pin(async move {
        let _guard = guard;
        after(10, 1).await
    })];
    let mut gathering = tokio_test::task::spawn(gather_unpin(futures));
    tokio_test::assert_pending!(gathering.poll());
    drop(gathering);
    assert!(held.is_dropped());
    // A task handle dropped with the gather does not cancel its task.
    drop(gather_unpin([task]));
    assert_eq!(told.await, Ok(7));
}

/// Returns `Pending` `times` times, waking itself each time, then `value`.
async fn chatty(times: usize, value: u64) -> Result<u64, String> {
    for _ in 0..times {
        pending_once().await;
    }
    Ok(value)
}

// `gather` polls its futures in turn while that is cheap. A future that keeps waking while the
// others wait must not make every wake-up poll all of them: the polls stay in proportion to
// the futures and the wakes, not to their product.
#[tokio::test(start_paused = true)]
async fn gather_polls_idle_futures_a_bounded_number_of_times() {
    const IDLE: usize = 1_000;
    const WAKES: usize = 10_000;
    let polls = PollCount::new();
    let mut futures: Vec<Boxed<Result<u64, String>>> = (0..IDLE as u64)
        .map(|i| Box::pin(polls.track(after(10, i))) as Boxed<_>)
        .collect();
    futures.push(Box::pin(chatty(WAKES, IDLE as u64)));
    let values = gather(futures).await.expect("nothing fails");
    assert!(values.iter().copied().eq(0..=IDLE as u64));
    // Polled in turn, each idle future would be polled once per wake: 10 million polls.
    let polls = polls.get();
    assert!(polls <= 4 * IDLE, "{polls} polls of {IDLE} idle futures");
}

#[tokio::test(start_paused = true)]
async fn gather_settled_polls_idle_futures_a_bounded_number_of_times() {
    const IDLE: usize = 1_000;
    let polls = PollCount::new();
    let mut futures: Vec<Boxed<Result<u64, String>>> = (0..IDLE as u64)
        .map(|i| Box::pin(polls.track(after(10, i))) as Boxed<_>)
        .collect();
    futures.push(Box::pin(chatty(10_000, IDLE as u64)));
    let values = gather_settled(futures).await;
    assert_eq!(values.len(), IDLE + 1);
    assert!(values.iter().all(Result::is_ok));
    let polls = polls.get();
    assert!(polls <= 4 * IDLE, "{polls} polls of {IDLE} idle futures");
}

// Timers that fire one by one, in reverse input order: each wake-up finds one future ready.
#[tokio::test(start_paused = true)]
async fn gather_of_timers_firing_one_by_one_keeps_order_and_bounded_polls() {
    const N: u64 = 2_000;
    let polls = PollCount::new();
    let start = Instant::now();
    let values = gather((0..N).map(|i| polls.track(after(N - i, i))))
        .await
        .expect("nothing fails");
    assert!(values.iter().copied().eq(0..N));
    assert_eq!(start.elapsed(), Duration::from_millis(N));
    let polls = polls.get();
    assert!(polls <= 5 * N as usize, "{polls} polls of {N} timers");
}

// After the switch to polling by wake-up, the first error still cancels the rest.
#[tokio::test(start_paused = true)]
async fn gather_first_error_after_the_switch_cancels_the_rest() {
    let slow = DropFlag::new();
    let guard = slow.guard();
    let mut futures: Vec<Boxed<Result<u64, String>>> = vec![Box::pin(async move {
        let _guard = guard;
        sleep(Duration::from_secs(60)).await;
        Ok(0)
    })];
    futures.push(Box::pin(async {
        chatty(1_000, 0).await?;
        Err("late failure".to_string())
    }));
    assert_eq!(gather(futures).await, Err("late failure".to_string()));
    assert!(slow.is_dropped());
}

#[tokio::test(start_paused = true)]
async fn gather_settled_keeps_every_outcome_in_order() {
    let results =
        gather_settled([outcome(20, Ok(1)), outcome(5, Err("x")), outcome(10, Ok(3))]).await;
    assert_eq!(results, [Ok(1), Err("x".to_string()), Ok(3)]);
    let empty: Vec<std::future::Ready<u8>> = Vec::new();
    assert!(gather_settled(empty).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn as_completed_yields_in_completion_order() {
    let mut stream = as_completed([after(30, 30), after(10, 10), after(20, 20)]);
    let mut order = Vec::new();
    while let Some(value) = stream.next().await {
        order.push(value.unwrap());
    }
    assert_eq!(order, [10, 20, 30]);
    assert!(stream.is_empty());
}

#[tokio::test(start_paused = true)]
async fn as_completed_works_as_a_stream_and_empty_ends_at_once() {
    let collected: Vec<_> = as_completed([after(2, 2), after(1, 1)]).collect().await;
    assert_eq!(collected, [Ok(1), Ok(2)]);
    let empty: Vec<std::future::Ready<u8>> = Vec::new();
    let mut stream = as_completed(empty);
    assert_eq!(stream.size_hint(), (0, Some(0)));
    assert_eq!(StreamExt::next(&mut stream).await, None);
}

#[tokio::test(start_paused = true)]
async fn as_completed_next_is_cancel_safe() {
    let mut stream = as_completed([after(10, 1), after(20, 2), after(30, 3)]);
    // Drop `next()` while it waits, twice, at points where a result is about to arrive.
    let first = tokio::time::timeout(Duration::from_millis(5), stream.next()).await;
    assert!(first.is_err(), "nothing ready after 5 ms");
    let got = tokio::time::timeout(Duration::from_millis(20), stream.next()).await;
    assert_eq!(got.unwrap(), Some(Ok(1)));
    sleep(Duration::from_millis(100)).await; // the others finish while nobody polls
    let rest: Vec<_> = stream.collect().await;
    assert_eq!(
        rest,
        [Ok(2), Ok(3)],
        "no output was lost to the dropped next()"
    );
}

#[tokio::test(start_paused = true)]
async fn race_returns_the_first_and_cancels_the_rest() {
    let loser = DropFlag::new();
    let guard = loser.guard();
    let futures: Vec<Boxed<u64>> = vec![
        Box::pin(async move {
            let _guard = guard;
            sleep(Duration::from_millis(50)).await;
            50
        }),
        Box::pin(async {
            sleep(Duration::from_millis(20)).await;
            20
        }),
    ];
    let start = Instant::now();
    assert_eq!(race(futures).await, Some(20));
    assert_eq!(start.elapsed(), Duration::from_millis(20));
    assert!(loser.is_dropped());
    let empty: Vec<std::future::Pending<u8>> = Vec::new();
    assert_eq!(race(empty).await, None);
}

#[tokio::test(start_paused = true)]
async fn first_ok_skips_failures_and_cancels_the_rest() {
    let start = Instant::now();
    let winner = first_ok([
        outcome(30, Ok(1)),
        outcome(5, Err("down")),
        outcome(20, Ok(2)),
    ])
    .await;
    assert_eq!(winner.ok(), Some(2));
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn first_ok_returns_every_error_in_input_order() {
    let errors = first_ok([
        fail_after(30, "a"),
        fail_after(10, "b"),
        fail_after(20, "c"),
    ])
    .await
    .unwrap_err();
    assert_eq!(errors.errors(), ["a", "b", "c"]);
    let none: Vec<std::future::Pending<Result<u8, String>>> = Vec::new();
    let empty = first_ok(none).await.unwrap_err();
    assert!(empty.is_empty() && !empty.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn first_ok_with_pending_losers_returns_at_the_first_success() {
    let futures: Vec<Boxed<Result<u8, String>>> =
        vec![Box::pin(pending()), Box::pin(async { Ok(9) })];
    assert_eq!(first_ok(futures).await.ok(), Some(9));
}

/// `race` drops the losers as soon as the winner is known, not when the `Race` is dropped: a
/// loser holding a lock or a permit lets it go at once.
#[test]
fn race_drops_the_losers_as_soon_as_the_winner_is_known() {
    use futures::FutureExt;
    let dropped = crate::support::DropFlag::new();
    let guard = dropped.guard();
    let loser = async move {
        let _guard = guard;
        std::future::pending::<u32>().await
    }
    .boxed();
    let winner = async { 7 }.boxed();
    let mut race = tokio_test::task::spawn(corral::task::race(vec![loser, winner]));
    assert_eq!(race.poll(), std::task::Poll::Ready(Some(7)));
    assert!(
        dropped.is_dropped(),
        "the loser is still held by the finished Race"
    );
}
