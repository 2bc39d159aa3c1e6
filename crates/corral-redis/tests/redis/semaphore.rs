use std::time::{Duration, Instant};

use corral::backend::ConcurrencyLimit;
use corral_redis::{Error, RedisSemaphore};
use redis::AsyncCommands;

use crate::support::{ChildProcess, connect, key, server};

async fn semaphore(key: &str, limit: usize, lease: Duration) -> RedisSemaphore {
    RedisSemaphore::new(connect(server()).await, key, limit, lease).expect("a valid configuration")
}

#[tokio::test]
async fn at_most_limit_permits_with_increasing_fences() {
    let name = key("limit");
    let a = semaphore(&name, 2, Duration::from_secs(5)).await;
    let b = semaphore(&name, 2, Duration::from_secs(5)).await;
    let first = a.acquire().await.expect("first");
    let second = b.acquire().await.expect("second");
    assert!(second.fence() > first.fence());
    assert!(a.try_acquire().await.expect("redis").is_none());
    assert!(b.try_acquire().await.expect("redis").is_none());
    second.release().await.expect("release");
    let third = b
        .try_acquire()
        .await
        .expect("redis")
        .expect("one was released");
    assert!(third.fence() > second_fence_bound(&first));
    drop(first); // released by a spawned ZREM
    let fourth = tokio::time::timeout(Duration::from_secs(2), a.acquire())
        .await
        .expect("the dropped permit was released")
        .expect("redis");
    assert!(fourth.fence() > third.fence());
}

fn second_fence_bound(first: &corral_redis::RedisPermit) -> u64 {
    first.fence() + 1
}

#[tokio::test]
async fn a_held_lease_is_renewed() {
    let name = key("renew");
    let limit = semaphore(&name, 1, Duration::from_millis(150)).await;
    let permit = limit.acquire().await.expect("acquire");
    // Time passing on the real server: four lease times.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!permit.is_lost());
    assert!(
        limit.try_acquire().await.expect("redis").is_none(),
        "still held"
    );
}

#[tokio::test]
async fn a_forgotten_lease_is_reported_lost() {
    let name = key("lost");
    let limit = semaphore(&name, 1, Duration::from_millis(90)).await;
    let permit = limit.acquire().await.expect("acquire");
    // Redis forgets the holders (as after a restart without persistence).
    let mut conn = connect(server()).await;
    let _: () = conn.del(format!("{name}:holders")).await.expect("del");
    let started = Instant::now();
    while !permit.is_lost() {
        assert!(started.elapsed() < Duration::from_secs(2), "never noticed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn dropped_acquire_holds_no_permit() {
    let name = key("cancel");
    let limit = semaphore(&name, 1, Duration::from_secs(5)).await;
    let held = limit.acquire().await.expect("acquire");
    let waited = tokio::time::timeout(Duration::from_millis(30), limit.acquire()).await;
    assert!(waited.is_err(), "it had to wait");
    held.release().await.expect("release");
    assert!(
        limit.try_acquire().await.expect("redis").is_some(),
        "nobody else holds it"
    );
}

#[tokio::test]
async fn a_killed_holder_frees_its_permit_after_one_lease() {
    let name = key("killed");
    let limit = semaphore(&name, 1, Duration::from_secs(1)).await;
    let mut child = ChildProcess::spawn("hold_permit", &server().url(), &name);
    child.wait_for("ACQUIRED");
    child.kill();
    let killed = Instant::now();
    assert!(
        limit.try_acquire().await.expect("redis").is_none(),
        "the dead holder's lease still runs"
    );
    let permit = tokio::time::timeout(Duration::from_secs(5), limit.acquire())
        .await
        .expect("the lease expired")
        .expect("redis");
    assert!(killed.elapsed() <= Duration::from_millis(1000 + 1500));
    assert!(permit.fence() >= 2);
}

#[tokio::test]
async fn processes_racing_never_exceed_the_limit() {
    let name = key("race");
    let url = server().url();
    let children: Vec<_> = (0..2)
        .map(|_| ChildProcess::spawn("race_permits", &url, &name))
        .collect();
    crate::child::race_permits(connect(server()).await, &name).await;
    for child in children {
        child.wait_success();
    }
    let mut conn = connect(server()).await;
    let violation: Option<i64> = conn.get(format!("{name}:violation")).await.expect("get");
    assert_eq!(violation, None, "more than 2 holders at once");
    let entries: i64 = conn.get(format!("{name}:entries")).await.expect("get");
    assert_eq!(entries, 120);
}

async fn generic<L: ConcurrencyLimit>(limit: &L) -> Result<bool, L::Error> {
    let _permit = limit.acquire().await?;
    Ok(limit.try_acquire().await?.is_some())
}

#[tokio::test]
async fn works_through_the_trait() {
    let limit = semaphore(&key("trait"), 1, Duration::from_secs(5)).await;
    assert!(!generic(&limit).await.expect("redis"));
}

#[tokio::test]
async fn invalid_configuration_is_an_error() {
    let conn = connect(server()).await;
    assert!(matches!(
        RedisSemaphore::new(conn.clone(), "x", 0, Duration::from_secs(1)),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        RedisSemaphore::new(conn.clone(), "x", 1, Duration::from_millis(1)),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        RedisSemaphore::new(conn, "x", 1, Duration::MAX),
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn a_permit_whose_renewals_fail_for_a_whole_lease_is_lost() {
    // A server of its own, to stop under the permit.
    let server = corral_redis::test_server::TestServer::start().expect("a private server");
    let lease = Duration::from_millis(300);
    let semaphore = RedisSemaphore::new(connect(&server).await, key("partition"), 1, lease)
        .expect("a valid configuration");
    let permit = semaphore.acquire().await.expect("acquire");
    assert!(!permit.is_lost());
    let stopped = Instant::now();
    server.stop(); // Redis is gone: every renewal fails from now on
    while !permit.is_lost() {
        assert!(
            stopped.elapsed() < Duration::from_secs(3),
            "the lease ran out on the server long ago (lost at most a lease and a renewal \
             attempt after the last renewal)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        stopped.elapsed() >= lease / 3,
        "not before a renewal failed"
    );
}
