use std::time::{Duration, Instant};

use corral::backend::ConcurrencyLimit;
use corral_redis::{Error, RedisSemaphore};
use redis::AsyncCommands;

use crate::support::{ChildProcess, DropPoint, connect, drop_mid_flight, key, server};

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

/// The number of leases in the holders set, expired or not.
async fn leases(name: &str) -> usize {
    let mut conn = connect(server()).await;
    conn.zcard(format!("{name}:holders")).await.expect("zcard")
}

#[tokio::test]
async fn a_dropped_release_still_releases_the_permit() {
    let name = key("release-cancel");
    // Far longer than the test: a permit that comes back was released, not expired.
    let lease = Duration::from_secs(60);
    let mut conn = connect(server()).await;
    let limit = RedisSemaphore::new(conn.clone(), &name, 1, lease).expect("a valid configuration");
    let other = semaphore(&name, 1, lease).await;

    // Reply in flight: the server released it.
    let permit = limit.acquire().await.expect("acquire");
    drop_mid_flight(&mut conn, permit.release(), DropPoint::ReplyInFlight).await;
    assert_eq!(leases(&name).await, 0, "released");
    let next = other
        .try_acquire()
        .await
        .expect("redis")
        .expect("free at once");
    next.release().await.expect("release");

    // Before its ZREM is sent: released all the same, as a dropped permit is.
    let permit = limit.acquire().await.expect("acquire");
    drop_mid_flight(&mut conn, permit.release(), DropPoint::BeforeSent).await;
    let last = tokio::time::timeout(Duration::from_secs(5), other.acquire())
        .await
        .expect("released, long before its lease would run out")
        .expect("redis");
    assert_eq!(leases(&name).await, 1, "counted once");
    last.release().await.expect("release");
    assert_eq!(leases(&name).await, 0);
}

/// Drops `grant` (an `acquire` or `try_acquire` of `limit`, on `conn`) with its granting reply in
/// flight, and checks the lease it was granted counts once and expires after one lease time.
async fn an_orphan_lease_counts_once_and_expires<F: std::future::Future>(
    conn: &mut redis::aio::ConnectionManager,
    name: &str,
    lease: Duration,
    grant: F,
) {
    let other = semaphore(name, 2, lease).await;
    let mut fences = connect(server()).await;
    let fence_before: u64 = fences.get(format!("{name}:fence")).await.expect("get");
    // The orphan lease is granted after this instant, on the server's clock in whole ms.
    let asked = Instant::now();
    drop_mid_flight(conn, grant, DropPoint::ReplyInFlight).await;
    let fence_after: u64 = fences.get(format!("{name}:fence")).await.expect("get");
    assert_eq!(fence_after, fence_before + 1, "granted once");
    assert_eq!(leases(name).await, 1, "one lease, nobody holds it");
    // The orphan lease takes one of the two permits, and only one.
    let held = other
        .try_acquire()
        .await
        .expect("redis")
        .expect("one permit left");
    assert!(
        other.try_acquire().await.expect("redis").is_none(),
        "the orphan counts"
    );
    // Nobody renews it: it runs out after one lease time.
    let next = tokio::time::timeout(lease * 4, other.acquire())
        .await
        .expect("the orphan lease expired")
        .expect("redis");
    let held_for = asked.elapsed();
    assert!(
        held_for >= lease - Duration::from_millis(2),
        "not before one lease: {held_for:?}"
    );
    assert_eq!(leases(name).await, 2);
    assert!(next.fence() > held.fence() && held.fence() > fence_after);
    next.release().await.expect("release");
    held.release().await.expect("release");
}

#[tokio::test]
async fn a_try_acquire_dropped_with_its_reply_in_flight_leaks_no_permit() {
    let name = key("try-cancel");
    let lease = Duration::from_millis(300);
    let mut conn = connect(server()).await;
    let limit = RedisSemaphore::new(conn.clone(), &name, 2, lease).expect("a valid configuration");
    // The GRANT script is loaded: one request per attempt.
    limit
        .acquire()
        .await
        .expect("acquire")
        .release()
        .await
        .expect("release");

    // Before it is sent: nothing was granted.
    drop_mid_flight(&mut conn, limit.try_acquire(), DropPoint::BeforeSent).await;
    let unsent = leases(&name).await;
    assert!(unsent <= 1, "{unsent}");
    if unsent == 1 {
        // Granted after all: the lease nobody holds runs out by itself, and both permits
        // come back.
        let (first, second) = tokio::time::timeout(lease * 4, async {
            let first = limit.acquire().await?;
            Ok::<_, Error>((first, limit.acquire().await?))
        })
        .await
        .expect("the lease expired")
        .expect("redis");
        first.release().await.expect("release");
        second.release().await.expect("release");
    }

    an_orphan_lease_counts_once_and_expires(&mut conn, &name, lease, limit.try_acquire()).await;
    an_orphan_lease_counts_once_and_expires(&mut conn, &name, lease, limit.acquire()).await;
}
