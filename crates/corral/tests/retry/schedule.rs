//! The waits between attempts, measured on the paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::retry::{GiveUp, Jitter, Retry};
use tokio::time::Instant;

use crate::support::seeds::{Guard, seeds};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `retry` over an operation that always fails (after `work` of virtual time per attempt)
/// and returns the virtual start time of every attempt, in ms from the run's start, and the
/// error.
async fn attempt_times<P, H>(
    retry: &Retry<P, H>,
    work: Duration,
) -> (Vec<u64>, corral::retry::RetryError<&'static str>)
where
    P: corral::retry::Predicate<&'static str>,
    H: corral::retry::OnRetry<&'static str>,
{
    let start = Instant::now();
    let times = Arc::new(Mutex::new(Vec::new()));
    let err = retry
        .run(|| {
            let times = times.clone();
            async move {
                times
                    .lock()
                    .unwrap()
                    .push(start.elapsed().as_millis() as u64);
                tokio::time::sleep(work).await;
                Err::<(), _>("down")
            }
        })
        .await
        .unwrap_err();
    let times = times.lock().unwrap().clone();
    (times, err)
}

#[tokio::test(start_paused = true)]
async fn exponential_waits_100_200_400() {
    let retry = Retry::exponential(ms(100)).max_attempts(4);
    let (times, err) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 100, 300, 700]);
    assert_eq!((err.attempts(), err.reason()), (4, GiveUp::Attempts));
    assert_eq!(*err.last(), "down");
}

#[tokio::test(start_paused = true)]
async fn waits_count_from_the_end_of_each_attempt() {
    let retry = Retry::exponential(ms(100)).max_attempts(3);
    let (times, _) = attempt_times(&retry, ms(10)).await;
    assert_eq!(times, [0, 110, 320]);
}

#[tokio::test(start_paused = true)]
async fn factor_sets_the_growth() {
    let retry = Retry::exponential(ms(10)).factor(3.0).max_attempts(4);
    let (times, _) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 10, 40, 130]);
}

#[tokio::test(start_paused = true)]
async fn max_delay_caps_each_wait() {
    let retry = Retry::exponential(ms(100))
        .max_delay(ms(250))
        .max_attempts(5);
    let (times, _) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 100, 300, 550, 800]);
}

#[tokio::test(start_paused = true)]
async fn fixed_and_fibonacci() {
    let fixed = Retry::fixed(ms(50)).max_attempts(4);
    assert_eq!(
        attempt_times(&fixed, Duration::ZERO).await.0,
        [0, 50, 100, 150]
    );
    let fib = Retry::fibonacci(ms(10)).max_attempts(6);
    // waits 10, 10, 20, 30, 50
    assert_eq!(
        attempt_times(&fib, Duration::ZERO).await.0,
        [0, 10, 20, 40, 70, 120]
    );
}

/// A source that returns the given numbers in turn.
fn sequence(values: &'static [f64]) -> impl Fn() -> f64 + Send + Sync + 'static {
    let next = std::sync::atomic::AtomicUsize::new(0);
    move || values[next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % values.len()]
}

#[tokio::test(start_paused = true)]
async fn full_jitter_with_an_injected_source_is_exact() {
    let retry = Retry::exponential(ms(100))
        .max_attempts(4)
        .jitter_with(Jitter::Full, sequence(&[0.5, 0.25, 1.0]));
    // waits 100 * 0.5, 200 * 0.25, 400 * 1.0
    let (times, _) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 50, 100, 500]);
}

#[tokio::test(start_paused = true)]
async fn equal_jitter_keeps_half_the_wait() {
    let retry = Retry::exponential(ms(100))
        .max_attempts(4)
        .jitter_with(Jitter::Equal, sequence(&[0.5, 0.0, 1.0]));
    // waits 50 + 25, 100 + 0, 200 + 200
    let (times, _) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 75, 175, 575]);
}

#[tokio::test(start_paused = true)]
async fn jitter_applies_after_the_cap() {
    let retry = Retry::exponential(ms(100))
        .max_delay(ms(150))
        .max_attempts(4)
        .jitter_with(Jitter::Full, || 0.5);
    // waits 100/2, 150/2, 150/2
    let (times, _) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 50, 125, 200]);
}

/// The default source is `fastrand`'s thread-local generator, which this current-thread test
/// seeds (the retries draw on the test's own thread): the same waits every run, and
/// `CORRAL_SEED` replays one seed.
#[tokio::test(start_paused = true)]
async fn default_jitter_stays_within_its_range() {
    for seed in seeds([1, 2, 0x5eed, 0xdead_beef]) {
        let _guard = Guard::new("default_jitter_stays_within_its_range", seed);
        fastrand::seed(seed);
        let retry = Retry::fixed(ms(100)).max_attempts(50).jitter(Jitter::Equal);
        let (times, _) = attempt_times(&retry, Duration::ZERO).await;
        for pair in times.windows(2) {
            let wait = pair[1] - pair[0];
            assert!((50..=100).contains(&wait), "wait of {wait} ms");
        }
        // 49 waits drawn at random are not all the same
        assert!(times.windows(2).any(|p| p[1] - p[0] != times[1] - times[0]));
        // and they are the seed's: the same seed draws the same waits again
        fastrand::seed(seed);
        assert_eq!(attempt_times(&retry, Duration::ZERO).await.0, times);
    }
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_refuses_a_wait_that_would_cross_it() {
    let retry = Retry::exponential(ms(100))
        .max_attempts(u32::MAX)
        .max_elapsed(ms(650));
    let start = Instant::now();
    let (times, err) = attempt_times(&retry, ms(50)).await;
    // attempts at 0, 150, 400 end at 50, 200, 450; the next wait (400 ms) would end at 850
    assert_eq!(times, [0, 150, 400]);
    assert_eq!((err.attempts(), err.reason()), (3, GiveUp::Elapsed));
    // it gave up at once rather than sleep towards the limit
    assert_eq!(start.elapsed(), ms(450));
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_ends_exactly_at_max_elapsed_is_allowed() {
    let retry = Retry::exponential(ms(100))
        .max_attempts(u32::MAX)
        .max_elapsed(ms(300));
    let (times, err) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 100, 300]);
    assert_eq!(err.reason(), GiveUp::Elapsed);
}

#[tokio::test(start_paused = true)]
async fn a_huge_schedule_never_overflows() {
    let retry = Retry::exponential(Duration::MAX)
        .factor(1e300)
        .max_attempts(u32::MAX)
        .max_elapsed(Duration::from_secs(3600));
    let (times, err) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0]);
    assert_eq!(err.reason(), GiveUp::Elapsed);
    assert_eq!(retry.delay(u32::MAX), Duration::MAX);
}

#[tokio::test(start_paused = true)]
async fn hook_sees_each_retry_with_its_wait() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let retry = Retry::exponential(ms(100)).max_attempts(3).on_retry(
        move |attempt, error: &&str, delay: Duration| {
            sink.lock()
                .unwrap()
                .push((attempt, error.to_string(), delay.as_millis()));
        },
    );
    let (times, _) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 100, 300]);
    // not called after the last attempt: there is no retry to announce
    assert_eq!(
        *seen.lock().unwrap(),
        [(1, "down".to_string(), 100), (2, "down".to_string(), 200)]
    );
}

#[tokio::test(start_paused = true)]
async fn hook_sees_the_jittered_wait() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let retry = Retry::exponential(ms(100))
        .max_attempts(3)
        .jitter_with(Jitter::Full, || 0.1)
        .on_retry(move |_, _: &&str, delay: Duration| {
            sink.lock().unwrap().push(delay.as_millis());
        });
    let (times, _) = attempt_times(&retry, Duration::ZERO).await;
    assert_eq!(times, [0, 10, 30]);
    assert_eq!(*seen.lock().unwrap(), [10, 20]);
}

#[tokio::test(start_paused = true)]
async fn a_success_returns_at_once() {
    let retry = Retry::exponential(ms(100));
    let start = Instant::now();
    let mut calls = 0;
    let value = retry
        .run(|| {
            calls += 1;
            async { Ok::<_, &str>(7) }
        })
        .await;
    assert_eq!(value.unwrap(), 7);
    assert_eq!(calls, 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}
