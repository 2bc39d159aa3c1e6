//! corral::stream: pagination (lazy, stops, errors), polling cadence and missed ticks,
//! batching, merging, and cancel safety of `next()`.
#![allow(clippy::unwrap_used)]

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::stream::{
    Page, Stream, StreamExt, batches, paginate, paginate_cursor, poll, select_all, stream,
};
use tokio::time::Instant;

fn counter() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let c = Arc::new(AtomicUsize::new(0));
    (c.clone(), c)
}

/// Pages 1..=3 hold two items each; page 4 is empty; page 5 would have items again.
async fn numbered(page: u64) -> Result<Vec<u64>, String> {
    Ok(match page {
        1..=3 => vec![page * 10, page * 10 + 1],
        5 => vec![99],
        _ => vec![],
    })
}

#[tokio::test]
async fn paginate_yields_every_item_and_stops_at_the_first_empty_page() {
    let (fetches, seen) = counter();
    let items: Vec<_> = paginate(1, move |page| {
        seen.fetch_add(1, Ordering::SeqCst);
        numbered(page)
    })
    .collect()
    .await;
    let items: Vec<u64> = items.into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(items, [10, 11, 20, 21, 30, 31]);
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        4,
        "pages 1..=4; page 5 is never asked for"
    );
}

#[tokio::test]
async fn paginate_fetches_no_page_that_nobody_asked_for() {
    let (fetches, seen) = counter();
    let stream = paginate(1, move |page| {
        seen.fetch_add(1, Ordering::SeqCst);
        numbered(page)
    });
    let mut stream = pin!(stream);
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        0,
        "nothing is fetched before the first poll"
    );
    assert_eq!(stream.next().await, Some(Ok(10)));
    assert_eq!(stream.next().await, Some(Ok(11)));
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "page 2 is not fetched until an item of it is asked for"
    );
    assert_eq!(stream.next().await, Some(Ok(20)));
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn paginate_starts_at_the_given_page() {
    let items: Vec<_> = paginate(3, numbered).collect().await;
    assert_eq!(items, [Ok(30), Ok(31)]);
}

#[tokio::test]
async fn a_paginate_error_is_yielded_and_ends_the_stream() {
    let (fetches, seen) = counter();
    let stream = paginate(1, move |page| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            if page == 2 {
                Err(format!("page {page}: 503"))
            } else {
                numbered(page).await
            }
        }
    });
    let items: Vec<_> = stream.collect().await;
    assert_eq!(items, [Ok(10), Ok(11), Err("page 2: 503".to_owned())]);
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "nothing is fetched after the error"
    );
}

#[tokio::test]
async fn paginate_cursor_stops_after_a_page_without_a_cursor() {
    let (fetches, seen) = counter();
    let cursors = Arc::new(Mutex::new(Vec::new()));
    let log = cursors.clone();
    let items: Vec<_> = paginate_cursor(move |cursor: Option<&'static str>| {
        seen.fetch_add(1, Ordering::SeqCst);
        log.lock().unwrap().push(cursor);
        async move {
            Ok::<_, String>(match cursor {
                None => Page {
                    items: vec![1, 2],
                    next: Some("b"),
                },
                Some("b") => Page {
                    items: vec![3],
                    next: None,
                },
                Some(_) => Page {
                    items: vec![4],
                    next: None,
                },
            })
        }
    })
    .collect()
    .await;
    assert_eq!(items, [Ok(1), Ok(2), Ok(3)]);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(*cursors.lock().unwrap(), [None, Some("b")]);
}

#[tokio::test]
async fn paginate_cursor_stops_at_an_empty_page_even_with_a_cursor() {
    let (fetches, seen) = counter();
    let items: Vec<Result<u32, String>> = paginate_cursor(move |cursor: Option<u32>| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok(match cursor {
                None => Page {
                    items: vec![1],
                    next: Some(1),
                },
                Some(_) => Page {
                    items: vec![],
                    next: Some(2),
                },
            })
        }
    })
    .collect()
    .await;
    assert_eq!(items, [Ok(1)]);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_paginate_cursor_error_is_yielded_and_ends_the_stream() {
    let items: Vec<Result<u32, String>> = paginate_cursor(|cursor: Option<u32>| async move {
        match cursor {
            None => Ok(Page {
                items: vec![1],
                next: Some(1),
            }),
            Some(_) => Err("gone".to_owned()),
        }
    })
    .collect()
    .await;
    assert_eq!(items, [Ok(1), Err("gone".to_owned())]);
}

type Calls = Arc<Mutex<Vec<(Duration, Option<u64>)>>>;
type LogFetch =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u64>, String>> + Send>>;

/// Records when each fetch happened and what it was given; returns two new items per fetch.
fn log_source(
    start: Instant,
    fetch_time: Duration,
) -> (Calls, impl FnMut(Option<&u64>) -> LogFetch) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = calls.clone();
    let fetch = move |last: Option<&u64>| -> LogFetch {
        let last = last.copied();
        log.lock().unwrap().push((start.elapsed(), last));
        let next = last.map_or(1, |id| id + 1);
        Box::pin(async move {
            tokio::time::sleep(fetch_time).await;
            Ok(vec![next, next + 1])
        })
    };
    (calls, fetch)
}

#[tokio::test(start_paused = true)]
async fn poll_fetches_at_once_then_every_interval_after_the_last_item() {
    let start = Instant::now();
    let (calls, fetch) = log_source(start, Duration::ZERO);
    let items: Vec<_> = poll(Duration::from_secs(1), fetch).take(6).collect().await;
    assert_eq!(items, [Ok(1), Ok(2), Ok(3), Ok(4), Ok(5), Ok(6)]);
    assert_eq!(
        *calls.lock().unwrap(),
        [
            (Duration::ZERO, None),
            (Duration::from_secs(1), Some(2)),
            (Duration::from_secs(2), Some(4))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn poll_keeps_its_cadence_when_fetches_take_time() {
    // Unlike the guide's `sleep(1)` after each fetch, the period does not drift by the fetch time.
    let start = Instant::now();
    let (calls, fetch) = log_source(start, Duration::from_millis(300));
    let _: Vec<_> = poll(Duration::from_secs(1), fetch).take(6).collect().await;
    let times: Vec<Duration> = calls.lock().unwrap().iter().map(|c| c.0).collect();
    assert_eq!(
        times,
        [
            Duration::ZERO,
            Duration::from_secs(1),
            Duration::from_secs(2)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn poll_after_a_slow_fetch_fetches_at_once_then_restarts_the_cadence() {
    // MissedTickBehavior::Delay: no catch-up burst, no wait for the old grid.
    let start = Instant::now();
    let slow_once = Arc::new(AtomicUsize::new(0));
    let times = Arc::new(Mutex::new(Vec::new()));
    let log = times.clone();
    let items: Vec<Result<u32, String>> =
        poll(Duration::from_secs(1), move |_last: Option<&u32>| {
            log.lock().unwrap().push(start.elapsed());
            let n = slow_once.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    tokio::time::sleep(Duration::from_millis(2500)).await;
                }
                Ok(vec![1])
            }
        })
        .take(4)
        .collect()
        .await;
    assert_eq!(items.len(), 4);
    assert_eq!(
        *times.lock().unwrap(),
        [
            Duration::ZERO,
            Duration::from_millis(2500),
            Duration::from_millis(3500),
            Duration::from_millis(4500)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_fetch_keeps_the_last_item_for_the_next_fetch() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let items: Vec<Result<u32, String>> =
        poll(Duration::from_secs(1), move |last: Option<&u32>| {
            log.lock().unwrap().push(last.copied());
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(match call {
                    0 => vec![1, 2],
                    1 => vec![], // nothing new this time
                    _ => vec![3],
                })
            }
        })
        .take(3)
        .collect()
        .await;
    assert_eq!(items, [Ok(1), Ok(2), Ok(3)]);
    assert_eq!(*seen.lock().unwrap(), [None, Some(2), Some(2)]);
}

#[tokio::test(start_paused = true)]
async fn a_poll_error_is_yielded_and_ends_the_stream() {
    let (fetches, seen) = counter();
    let items: Vec<Result<u32, String>> =
        poll(Duration::from_secs(1), move |last: Option<&u32>| {
            seen.fetch_add(1, Ordering::SeqCst);
            let last = last.copied();
            async move {
                if last.is_none() {
                    Ok(vec![7])
                } else {
                    Err("log server down".to_owned())
                }
            }
        })
        .collect()
        .await;
    assert_eq!(items, [Ok(7), Err("log server down".to_owned())]);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn poll_with_a_huge_or_zero_interval_does_not_panic() {
    let once: Vec<Result<u32, String>> =
        poll(Duration::MAX, |_: Option<&u32>| async { Ok(vec![1]) })
            .take(1)
            .collect()
            .await;
    assert_eq!(once, [Ok(1)]);
    let (fetches, seen) = counter();
    let many: Vec<Result<u32, String>> = poll(Duration::ZERO, move |_: Option<&u32>| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok(vec![1]) }
    })
    .take(3)
    .collect()
    .await;
    assert_eq!(many.len(), 3);
    assert_eq!(fetches.load(Ordering::SeqCst), 3);
}

/// Dropping `next()` mid-fetch loses nothing: the same fetch goes on at the next call.
#[tokio::test(start_paused = true)]
async fn dropping_next_mid_fetch_loses_nothing_for_paginate() {
    let (fetches, seen) = counter();
    let stream = paginate(1, move |page| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            numbered(page).await
        }
    });
    let mut stream = pin!(stream);
    tokio::select! {
        _ = stream.next() => panic!("the fetch takes a second"),
        () = tokio::time::sleep(Duration::from_millis(600)) => {}
    }
    let started = Instant::now();
    assert_eq!(stream.next().await, Some(Ok(10)));
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(400),
        "the first fetch went on, not restarted"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_next_mid_fetch_loses_nothing_for_paginate_cursor() {
    let (fetches, seen) = counter();
    let stream = paginate_cursor(move |cursor: Option<u32>| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, String>(match cursor {
                None => Page {
                    items: vec![1, 2],
                    next: Some(2),
                },
                Some(_) => Page {
                    items: vec![3],
                    next: None,
                },
            })
        }
    });
    let mut stream = pin!(stream);
    assert_eq!(stream.next().await, Some(Ok(1)));
    assert_eq!(stream.next().await, Some(Ok(2)));
    tokio::select! {
        _ = stream.next() => panic!("the second fetch takes a second"),
        () = tokio::time::sleep(Duration::from_millis(600)) => {}
    }
    let started = Instant::now();
    assert_eq!(stream.next().await, Some(Ok(3)));
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(400),
        "the fetch went on, not restarted"
    );
    assert_eq!(stream.next().await, None);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn dropping_next_mid_wait_loses_nothing_for_poll() {
    let start = Instant::now();
    let (calls, fetch) = log_source(start, Duration::from_millis(100));
    let stream = poll(Duration::from_secs(1), fetch);
    let mut stream = pin!(stream);
    assert_eq!(stream.next().await, Some(Ok(1)));
    assert_eq!(stream.next().await, Some(Ok(2)));
    // Now waiting for the next tick; give up on it twice.
    for _ in 0..2 {
        tokio::select! {
            _ = stream.next() => panic!("the next tick is at 1s"),
            () = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
    }
    assert_eq!(stream.next().await, Some(Ok(3)));
    assert_eq!(stream.next().await, Some(Ok(4)));
    assert_eq!(
        calls.lock().unwrap().len(),
        2,
        "one fetch per tick, none lost or doubled"
    );
}

/// Yields each item at its time (milliseconds after `start`).
fn timed(start: Instant, items: &'static [(u64, u32)]) -> impl Stream<Item = u32> {
    stream! {
        for (at_ms, item) in items {
            tokio::time::sleep_until(start + Duration::from_millis(*at_ms)).await;
            yield *item;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn batches_hand_on_a_full_batch_at_once_and_a_partial_one_after_max_wait() {
    let start = Instant::now();
    let source = timed(start, &[(0, 1), (0, 2), (0, 3), (100, 4), (5000, 5)]);
    let out: Vec<(Vec<u32>, Duration)> = batches(source, 3, Duration::from_secs(1))
        .map(|b| (b, start.elapsed()))
        .collect()
        .await;
    assert_eq!(
        out,
        [
            (vec![1, 2, 3], Duration::ZERO),
            (vec![4], Duration::from_millis(1100)),
            (vec![5], Duration::from_millis(5000)),
        ]
    );
}

#[tokio::test]
async fn batches_of_zero_are_batches_of_one() {
    let out: Vec<Vec<u32>> = batches(tokio_stream::iter([1, 2]), 0, Duration::MAX)
        .collect()
        .await;
    assert_eq!(out, [vec![1], vec![2]]);
}

#[tokio::test(start_paused = true)]
async fn dropping_next_mid_batch_keeps_the_partial_batch() {
    let source = timed(Instant::now(), &[(0, 1), (0, 2), (10_000, 3)]);
    let mut batched = pin!(batches(source, 10, Duration::from_secs(1)));
    tokio::select! {
        _ = batched.next() => panic!("the batch is due at 1s"),
        () = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
    assert_eq!(batched.next().await, Some(vec![1, 2]));
}

#[tokio::test]
async fn select_all_merges_streams() {
    let merged = select_all([tokio_stream::iter(vec![1, 2]), tokio_stream::iter(vec![3])]);
    let mut all: Vec<u32> = merged.collect().await;
    all.sort_unstable();
    assert_eq!(all, [1, 2, 3]);
}

/// `Duration::MAX` waits for a full batch, however long: before, Tokio's timer capped the
/// wait at about 30 years and handed the partial batch on then.
#[tokio::test(start_paused = true)]
async fn batches_with_duration_max_wait_for_a_full_batch_forever() {
    let (tx, rx) = tokio::sync::mpsc::channel::<u32>(8);
    let mut batched = tokio_test::task::spawn(batches(
        tokio_stream::wrappers::ReceiverStream::new(rx),
        3,
        Duration::MAX,
    ));
    tx.send(1).await.expect("open");
    tx.send(2).await.expect("open");
    tokio_test::assert_pending!(batched.poll_next());
    for _ in 0..4 {
        tokio::time::advance(Duration::from_secs(100 * 365 * 86_400)).await;
        tokio_test::assert_pending!(batched.poll_next());
    }
    tx.send(3).await.expect("open");
    assert!(batched.is_woken());
    assert_eq!(
        tokio_test::assert_ready!(batched.poll_next()),
        Some(vec![1, 2, 3])
    );
    tx.send(4).await.expect("open");
    drop(tx);
    assert_eq!(
        tokio_test::assert_ready!(batched.poll_next()),
        Some(vec![4]),
        "the rest when the stream ends"
    );
    assert_eq!(tokio_test::assert_ready!(batched.poll_next()), None);
}

/// A long wait that Tokio's clock can hold is kept exactly, however long.
#[tokio::test(start_paused = true)]
async fn batches_keep_a_wait_of_a_century() {
    let century = Duration::from_secs(100 * 365 * 86_400);
    let (tx, rx) = tokio::sync::mpsc::channel::<u32>(8);
    let mut batched = tokio_test::task::spawn(batches(
        tokio_stream::wrappers::ReceiverStream::new(rx),
        3,
        century,
    ));
    tx.send(1).await.expect("open");
    tokio_test::assert_pending!(batched.poll_next());
    tokio::time::advance(century - Duration::from_secs(1)).await;
    tokio_test::assert_pending!(batched.poll_next());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        tokio_test::assert_ready!(batched.poll_next()),
        Some(vec![1])
    );
}

/// A zero `max_wait` hands on whatever arrived together, as soon as the stream has nothing
/// more ready, without waiting for the timer wheel.
#[tokio::test(start_paused = true)]
async fn batches_with_a_zero_wait_hand_on_what_is_ready() {
    let (tx, rx) = tokio::sync::mpsc::channel::<u32>(8);
    let mut batched = tokio_test::task::spawn(batches(
        tokio_stream::wrappers::ReceiverStream::new(rx),
        3,
        Duration::ZERO,
    ));
    tokio_test::assert_pending!(batched.poll_next());
    for item in 1..=4 {
        tx.send(item).await.expect("open");
    }
    assert_eq!(
        tokio_test::assert_ready!(batched.poll_next()),
        Some(vec![1, 2, 3])
    );
    assert_eq!(
        tokio_test::assert_ready!(batched.poll_next()),
        Some(vec![4])
    );
    tokio_test::assert_pending!(batched.poll_next());
}

/// Items `0..n`, one every `every`, with an exact `size_hint`: a slow source whose length is
/// known, as a paged API with a total count.
struct Slow {
    next: u32,
    n: u32,
    every: Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

fn slow(n: u32, every: Duration) -> Slow {
    Slow {
        next: 0,
        n,
        every,
        sleep: Box::pin(tokio::time::sleep(every)),
    }
}

impl Stream for Slow {
    type Item = u32;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<u32>> {
        if self.next == self.n {
            return std::task::Poll::Ready(None);
        }
        std::task::ready!(self.sleep.as_mut().poll(cx));
        let item = self.next;
        self.next += 1;
        let deadline = Instant::now() + self.every;
        self.sleep.as_mut().reset(deadline);
        std::task::Poll::Ready(Some(item))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.n - self.next) as usize;
        (left, Some(left))
    }
}

/// `usize::MAX` is no size limit: batches end by time or with the stream. Before, every batch
/// reserved room for `max_size` items: "capacity overflow".
#[tokio::test(start_paused = true)]
async fn batches_of_usize_max_are_batches_without_a_size_limit() {
    let out: Vec<Vec<u32>> = batches(tokio_stream::iter(1..=3), usize::MAX, Duration::MAX)
        .collect()
        .await;
    assert_eq!(out, [vec![1, 2, 3]]);
    let out: Vec<Vec<u32>> = batches(
        slow(4, Duration::from_millis(10)),
        usize::MAX,
        Duration::from_millis(15),
    )
    .collect()
    .await;
    assert_eq!(out, [vec![0, 1], vec![2, 3]]);
}

/// A huge `max_size` reserves nothing for it: a batch of one item that the timer hands on
/// holds room for a few items, not for `max_size` (before: 8 MB for this one item, and an
/// abort on allocation failure for `1 << 40`).
#[tokio::test(start_paused = true)]
async fn a_batch_handed_on_by_the_timer_holds_no_room_for_max_size() {
    let (tx, rx) = tokio::sync::mpsc::channel::<u64>(8);
    let mut batched = tokio_test::task::spawn(batches(
        tokio_stream::wrappers::ReceiverStream::new(rx),
        1 << 20,
        Duration::from_millis(10),
    ));
    tx.send(7).await.expect("open");
    tokio_test::assert_pending!(batched.poll_next());
    tokio::time::advance(Duration::from_millis(10)).await;
    let batch = tokio_test::assert_ready!(batched.poll_next()).expect("a batch");
    assert_eq!(batch, [7]);
    assert!(
        batch.capacity() <= 1024,
        "room for {} items",
        batch.capacity()
    );

    // A batch of `1 << 40` items of a source that says it has 3: room for those only.
    let mut batched = pin!(batches(
        tokio_stream::iter([1_u64, 2, 3]),
        1 << 40,
        Duration::MAX
    ));
    let batch = batched.next().await.expect("a batch");
    assert_eq!(batch, [1, 2, 3]);
    assert!(
        batch.capacity() <= 1024,
        "room for {} items",
        batch.capacity()
    );
}

/// A batch that `max_wait` hands on may hold a single item, so the hint's upper bound counts
/// a batch per item (before: the count of full batches, 1 here, where 3 came).
#[tokio::test(start_paused = true)]
async fn the_size_hint_of_timed_batches_counts_a_batch_per_item() {
    let mut batched = pin!(batches(
        slow(3, Duration::from_millis(100)),
        3,
        Duration::from_millis(10)
    ));
    let mut hints = vec![batched.size_hint()];
    let mut sizes = Vec::new();
    while let Some(batch) = batched.next().await {
        sizes.push(batch.len());
        hints.push(batched.size_hint());
    }
    assert_eq!(sizes, [1, 1, 1], "each item in its own batch, by the timer");
    for (taken, (low, high)) in hints.into_iter().enumerate() {
        let left = 3 - taken;
        assert!(low <= left, "lower bound {low} with {left} batches to come");
        assert!(
            high.is_some_and(|high| high >= left),
            "upper bound {high:?} with {left} batches to come"
        );
    }
}

/// Without a time limit every batch but the last is full: the hint is exact.
#[tokio::test]
async fn the_size_hint_of_batches_without_a_time_limit_is_exact() {
    let batched = batches(tokio_stream::iter(0..10), 3, Duration::MAX);
    assert_eq!(batched.size_hint(), (4, Some(4)));
    assert_eq!(batched.collect::<Vec<_>>().await.len(), 4);
}

/// A stream that is always ready: never says `Pending`, never ends.
struct AlwaysReady;

impl Stream for AlwaysReady {
    type Item = ();

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<()>> {
        std::task::Poll::Ready(Some(()))
    }
}

/// `usize::MAX` means batches end only by time, even for a stream that never says `Pending`:
/// `next` returns once `max_wait` has passed (it used to push items forever inside one poll),
/// and the poll yields, so another task on the same thread runs meanwhile.
#[test]
fn batches_with_no_size_limit_end_by_time_on_a_stream_that_is_always_ready() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| {
                runtime.block_on(async {
                    let other = tokio::spawn(async { 7 });
                    let mut batched =
                        pin!(batches(AlwaysReady, usize::MAX, Duration::from_millis(10)));
                    let batch = batched.next().await.map(|batch| batch.len());
                    // The other task ran while the batch filled (the poll yielded).
                    (batch, other.is_finished())
                })
            });
        let _ = done.send(outcome.ok());
    });
    // A bound on a hang, not a timing check: the batch comes after about 10 ms.
    let outcome = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("no batch 30 s after a 10 ms max_wait: next() never returned");
    let (batch, other_ran) = outcome.expect("a runtime");
    assert!(batch.is_some_and(|len| len > 0), "{batch:?}");
    assert!(
        other_ran,
        "the batch held its thread: a task spawned before it never ran"
    );
}

/// A stream that stays ready but is slow to produce: a batch is handed on once `max_wait`
/// has passed, not when the stream first says `Pending` (here: never, until its end). Each
/// item takes at least 1 ms of real time (the work of making it, not a synchronisation), so
/// at the 32nd item, where the deadline is looked at, the 10 ms have always passed.
#[tokio::test]
async fn batches_hand_on_by_time_while_the_stream_stays_ready() {
    let source = futures_util::stream::iter(0..64_u32).map(|item| {
        std::thread::sleep(Duration::from_millis(1));
        item
    });
    let mut batched = pin!(batches(source, 1000, Duration::from_millis(10)));
    let first = batched.next().await.expect("a batch");
    assert_eq!(
        first,
        (0..32).collect::<Vec<_>>(),
        "the first batch, of items made 1 ms apart with a 10 ms max_wait"
    );
    let second = batched.next().await.expect("a batch");
    assert_eq!(second, (32..64).collect::<Vec<_>>());
    assert_eq!(batched.next().await, None);
}
