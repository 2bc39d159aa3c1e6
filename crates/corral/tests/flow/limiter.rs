//! `Limiter`: the limit holds, and a dropped `run` never loses a slot.

use std::time::Duration;

use corral::flow::Limiter;
use corral::task::gather;
use tokio::time::Instant;
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

use crate::support::ms;

#[tokio::test(start_paused = true)]
async fn runs_at_most_limit_at_once() {
    let limiter = Limiter::new(2);
    let start = Instant::now();
    let jobs = (0..5u64).map(|i| {
        let limiter = &limiter;
        limiter.run(async move {
            let began = ms(start);
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, ()>((i, began))
        })
    });
    let started = gather(jobs).await.expect("no errors");
    assert_eq!(
        started,
        [(0, 0), (1, 0), (2, 100), (3, 100), (4, 200)],
        "first come, first served, two at a time"
    );
    assert_eq!(ms(start), 300);
    assert_eq!(limiter.running(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_waiting_run_loses_no_slot() {
    let limiter = Limiter::new(1);
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let mut holder = spawn(limiter.run(released));
    assert_pending!(holder.poll());
    assert_eq!(limiter.running(), 1);
    let mut waiter = spawn(limiter.run(async { "waited" }));
    let mut behind = spawn(limiter.run(async { "behind" }));
    assert_pending!(waiter.poll());
    assert_pending!(behind.poll());
    drop(waiter);
    release.send(()).expect("holder is waiting");
    assert_ready!(holder.poll()).expect("sent");
    assert!(behind.is_woken(), "the slot goes to the next in line");
    assert_eq!(assert_ready!(behind.poll()), "behind");
    assert_eq!(limiter.running(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_running_run_frees_its_slot() {
    let limiter = Limiter::new(1);
    let mut running = spawn(limiter.run(std::future::pending::<()>()));
    assert_pending!(running.poll());
    let mut next = spawn(limiter.run(async { 7 }));
    assert_pending!(next.poll());
    drop(running);
    assert!(next.is_woken());
    assert_eq!(assert_ready!(next.poll()), 7);
}

#[test]
fn a_zero_limit_is_refused() {
    assert!(Limiter::try_new(0).is_err());
    assert!(std::panic::catch_unwind(|| Limiter::new(0)).is_err());
    assert!(Limiter::try_new(usize::MAX).is_err());
}
