//! Tour of `corral::flow`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral::flow::{Clock, Debouncer, Limiter, RateLimiter, Throttler, map_concurrent};

use super::BoxError;

pub(crate) async fn run() -> Result<(), BoxError> {
    let limiter = RateLimiter::builder().calls_per_second(50.0).try_build()?;
    let start = Instant::now();
    let mut times = Vec::new();
    for _ in 0..6 {
        limiter.acquire().await;
        times.push(start.elapsed());
    }
    // The limiter lets the k-th call through k intervals after the first at the earliest, on
    // its own clock. We read ours a moment after each call is let through, and a thread held
    // up after one call can make the next measured gap look short, so the check is on the
    // span: the sixth call comes at least five intervals after the start.
    let last = times.last().copied().unwrap_or_default();
    let tolerance = Duration::from_micros(500);
    ensure!(
        last + tolerance >= limiter.interval() * 5,
        "RateLimiter: 6 calls at 50 calls/s all came within {last:?}"
    );
    println!(
        "RateLimiter: 6 calls at 50 calls/s: the first at once, the sixth {} ms in (five \
         intervals of {} ms at the least)",
        last.as_millis(),
        limiter.interval().as_millis(),
    );
    match limiter.try_acquire() {
        Err(refused) => println!(
            "RateLimiter: try_acquire right after was refused, retry in {} ms",
            refused.retry_after().map_or(0, |d| d.as_millis())
        ),
        Ok(()) => println!(
            "RateLimiter: try_acquire right after was let through: this thread was held up for \
             longer than the 20 ms interval"
        ),
    }

    // What a limit costs a call that never waits, on each clock. The default finds Tokio's
    // clock running here and reads the CPU's counter; under a paused test clock it would read
    // Tokio's.
    let mut cost = Vec::new();
    for clock in [Clock::Auto, Clock::Tokio] {
        let limiter = RateLimiter::builder()
            .rate(1_000_000_000, Duration::from_secs(1))
            .burst(1_000)
            .clock(clock)
            .try_build()?;
        let start = Instant::now();
        for _ in 0..100_000 {
            limiter.acquire().await;
        }
        cost.push((limiter.clock(), start.elapsed().as_nanos() / 100_000));
    }
    println!(
        "RateLimiter: an acquire that never waits costs {} ns on the default clock (here {:?}, \
         the CPU's counter) and {} ns on {:?}'s clock",
        cost[0].1, cost[0].0, cost[1].1, cost[1].0
    );

    let start = Instant::now();
    let in_flight = Arc::new(Mutex::new((0usize, 0usize))); // (now, most at once)
    let pages = map_concurrent(0..12u64, 4, |i| {
        let in_flight = Arc::clone(&in_flight);
        async move {
            bump(&in_flight, true)?;
            tokio::time::sleep(Duration::from_millis(30)).await;
            bump(&in_flight, false)?;
            Ok::<_, BoxError>(i * 10)
        }
    })
    .await?;
    let most = in_flight.lock().map_err(|_| "poisoned")?.1;
    ensure!(
        most == 4 && pages == (0..12).map(|i| i * 10).collect::<Vec<_>>(),
        "map_concurrent ran {most} at once (limit 4) and gave {pages:?}"
    );
    println!(
        "map_concurrent: 12 requests of 30 ms, at most {most} at once, took {} ms; results came \
         back in input order",
        start.elapsed().as_millis()
    );

    let limiter = Limiter::try_new(2)?;
    let start = Instant::now();
    let slow = |ms| limiter.run(async move { tokio::time::sleep(Duration::from_millis(ms)).await });
    tokio::join!(slow(40), slow(40), slow(40));
    let took = start.elapsed();
    ensure!(
        took >= Duration::from_millis(80),
        "Limiter: three 40 ms calls, two at a time, took only {took:?}"
    );
    println!(
        "Limiter: three 40 ms calls, two at a time, took {} ms",
        took.as_millis()
    );

    let ran = Arc::new(Mutex::new(Vec::new()));
    let debouncer = Debouncer::new(Duration::from_millis(50));
    let mut calls = Vec::new();
    for n in 1..=5 {
        calls.push(tokio::time::Instant::now());
        let ran = Arc::clone(&ran);
        debouncer.call(async move {
            ran.lock().map_err(|_| "poisoned")?.push(n);
            Ok(())
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(80)).await;
    let ran = ran.lock().map_err(|_| "poisoned")?.clone();
    // Only a pause of 50 ms between two calls (a stalled machine) may let an earlier one run.
    let stalled = calls
        .windows(2)
        .any(|w| w[1] - w[0] >= Duration::from_millis(50));
    ensure!(
        ran.last() == Some(&5) && (ran == [5] || stalled),
        "Debouncer: calls 10 ms apart ran {ran:?}"
    );
    println!(
        "Debouncer: 5 calls 10 ms apart, 50 ms of quiet needed: {} ran: {ran:?}",
        if ran == [5] {
            "only the last"
        } else {
            "a pause of over 50 ms between calls (this machine stalled) let more than the last"
        }
    );

    let throttler = Throttler::try_new(Duration::from_millis(50))?;
    let mut passed = Vec::new();
    let start = Instant::now();
    for _ in 0..10 {
        if throttler.try_acquire().is_ok() {
            passed.push(tokio::time::Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // One call per 50 ms at the most, however the thread was scheduled: over a span of `s`
    // no more than 1 + s / 50 ms calls can pass (the first passes at once).
    let span = start.elapsed();
    let most = 1 + span.as_millis() / 50;
    ensure!(
        passed.len() >= 2 && passed.len() as u128 <= most,
        "Throttler: {} calls let through in {span:?}, one per 50 ms allows {most}",
        passed.len()
    );
    println!(
        "Throttler: 10 calls over 100 ms, one per 50 ms let through: {}",
        passed.len()
    );
    Ok(())
}

/// Counts a request in (`true`) or out, remembering the most in flight at once.
fn bump(in_flight: &Mutex<(usize, usize)>, enter: bool) -> Result<(), BoxError> {
    let mut counts = in_flight.lock().map_err(|_| "poisoned")?;
    if enter {
        counts.0 += 1;
        counts.1 = counts.1.max(counts.0);
    } else {
        counts.0 -= 1;
    }
    Ok(())
}
