use std::time::Duration;

use corral::backend::ConcurrencyLimit;
use corral_redis::{Error, RedisSemaphore};
use redis::AsyncCommands;

use crate::support::{
    ChildProcess, DropPoint, FrozenProxy, KeyEvents, Reports, connect, drop_mid_flight, fence,
    fence_patiently, impatient, key, patient, server,
};

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

/// The server's clock, in milliseconds (as the semaphore's scripts read it).
async fn server_ms(conn: &mut redis::aio::ConnectionManager) -> u64 {
    let (seconds, micros): (u64, u64) = redis::cmd("TIME").query_async(conn).await.expect("time");
    seconds * 1000 + micros / 1000
}

/// The leases in the holders set: token and expiry (server ms), earliest first.
async fn lease_expiries(name: &str) -> Vec<(String, u64)> {
    let mut conn = connect(server()).await;
    conn.zrange_withscores(format!("{name}:holders"), 0, -1)
        .await
        .expect("zrange")
}

/// Waits until `permit` (of a semaphore on `conn`) says it is lost, once the server has run
/// the renewal that found it so (the caller waited for that server-side event). The renewal's
/// reply is on its way or read; each fence is a round trip on the same connection, during
/// which the renewal task runs. No timer decides anything: the timeout is a hang guard.
async fn lost_once_the_renewal_ran(
    conn: &mut redis::aio::ConnectionManager,
    permit: &corral_redis::RedisPermit,
) {
    let lost = tokio::time::timeout(Duration::from_secs(10), async {
        while !permit.is_lost() {
            fence(conn).await;
        }
    })
    .await;
    assert!(lost.is_ok(), "the renewal found the lease lost");
}

/// Waits for the report that the renewal of a permit on semaphore `name` found it lost.
async fn reported_found_lost(reports: &Reports, name: &str) {
    let holders = format!("{name}:holders");
    let report = reports
        .wait_for(|line| line.contains(&holders) && line.contains("found lost"))
        .await;
    assert!(report.starts_with("RedisSemaphore"), "{report}");
}

#[tokio::test]
async fn a_held_lease_is_renewed() {
    let name = key("renew");
    // Long enough that a stalled machine cannot let it run out between two renewals.
    let lease = Duration::from_secs(3);
    let mut events = KeyEvents::subscribe(&format!("{name}:holders")).await;
    let limit = semaphore(&name, 1, lease).await;
    let permit = limit.acquire().await.expect("acquire");
    let granted = lease_expiries(&name).await;
    assert_eq!(granted.len(), 1);
    let first_expiry = granted[0].1;
    events.wait_for("zadd").await; // the grant's own
    // The renewal task runs on a real timer (a third of the lease): that wait is inherent.
    // Wait on the server's event of the first renewal.
    events.wait_for("zadd").await;
    let now = lease_expiries(&name).await;
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, granted[0].0, "the same lease");
    assert!(now[0].1 > first_expiry, "extended: {granted:?} {now:?}");
    assert!(!permit.is_lost());
    assert!(
        limit.try_acquire().await.expect("redis").is_none(),
        "still held"
    );
}

#[tokio::test]
async fn a_forgotten_lease_is_reported_lost() {
    let reports = Reports::collect().await;
    let name = key("lost");
    let holders = format!("{name}:holders");
    let mut conn = connect(server()).await;
    // Long enough that a stalled machine cannot let it run out before the test removes it.
    let limit = RedisSemaphore::new(conn.clone(), &name, 1, Duration::from_secs(3))
        .expect("a valid configuration");
    let permit = limit.acquire().await.expect("acquire");
    let mut events = KeyEvents::subscribe(&holders).await;
    // Redis forgets the holders (as after a restart without persistence).
    let _: () = conn.del(&holders).await.expect("del");
    // The next renewal (on its real timer, every third of the lease: that wait is inherent)
    // reads the missing key. Nothing else reads it.
    events.wait_for("keymiss").await;
    lost_once_the_renewal_ran(&mut conn, &permit).await;
    reported_found_lost(&reports, &name).await;
}

#[tokio::test]
async fn a_lease_past_its_expiry_is_reported_lost() {
    // A holder paused past its lease: its renewal finds the lease expired, and drops it.
    let reports = Reports::collect().await;
    let name = key("expired");
    let holders = format!("{name}:holders");
    let mut conn = connect(server()).await;
    // Long enough that only the test's own move makes it expire.
    let limit = RedisSemaphore::new(conn.clone(), &name, 1, Duration::from_secs(3))
        .expect("a valid configuration");
    let permit = limit.acquire().await.expect("acquire");
    let mut events = KeyEvents::subscribe(&holders).await;
    let (token, _) = lease_expiries(&name).await.remove(0);
    let past = server_ms(&mut conn).await - 1;
    let _: () = redis::cmd("ZADD")
        .arg(&holders)
        .arg("XX")
        .arg(past)
        .arg(&token)
        .query_async(&mut conn)
        .await
        .expect("zadd");
    // The next renewal (on its real timer, every third of the lease: that wait is inherent)
    // finds it expired, and drops it. Nothing else removes it.
    events.wait_for("zrem").await;
    lost_once_the_renewal_ran(&mut conn, &permit).await;
    reported_found_lost(&reports, &name).await;
    assert!(lease_expiries(&name).await.is_empty());
}

#[tokio::test]
async fn dropped_acquire_holds_no_permit() {
    let name = key("cancel");
    let mut conn = connect(server()).await;
    let limit = RedisSemaphore::new(conn.clone(), &name, 1, Duration::from_secs(5))
        .expect("a valid configuration");
    let held = limit.acquire().await.expect("acquire"); // the GRANT script is loaded
    // Refused (its reply read), then dropped while it waits to try again.
    let mut waiting = tokio_test::task::spawn(limit.acquire());
    assert!(waiting.poll().is_pending());
    fence(&mut conn).await;
    assert!(waiting.is_woken(), "its refusal arrived");
    assert!(waiting.poll().is_pending(), "it had to wait");
    drop(waiting);
    held.release().await.expect("release");
    assert!(
        limit.try_acquire().await.expect("redis").is_some(),
        "nobody else holds it"
    );
}

#[tokio::test]
async fn a_killed_holder_frees_its_permit_after_one_lease() {
    let name = key("killed");
    let lease = crate::child::HOLD_PERMIT_LEASE;
    let limit = semaphore(&name, 1, lease).await;
    let mut events = KeyEvents::subscribe(&format!("{name}:holders")).await;
    let mut child = ChildProcess::spawn("hold_permit", &server().url(), &name);
    child.wait_for("ACQUIRED");
    child.kill();
    let mut conn = connect(server()).await;
    let now = server_ms(&mut conn).await;
    let dead = lease_expiries(&name).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    // Nobody can renew it any more: it runs out at most one lease from now.
    assert!(
        dead[0].1 <= now + crate::child::HOLD_PERMIT_LEASE_MS,
        "{dead:?} at {now}"
    );
    assert!(
        limit.try_acquire().await.expect("redis").is_none(),
        "the dead holder's lease still runs"
    );
    // The holders set expires with its last lease (a renewal would have pushed its expiry
    // on): Redis says when it has. A real wait of at most one lease, inherent: nothing sets
    // Redis's clock forward.
    events.wait_for("expired").await;
    let permit = limit
        .try_acquire()
        .await
        .expect("redis")
        .expect("the dead holder's lease ran out");
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
    let reports = Reports::collect().await;
    // A server of its own, to stop under the permit.
    let server = corral_redis::test_server::TestServer::start().expect("a private server");
    let lease = Duration::from_millis(300);
    let semaphore = RedisSemaphore::new(connect(&server).await, key("partition"), 1, lease)
        .expect("a valid configuration");
    let permit = semaphore.acquire().await.expect("acquire");
    assert!(!permit.is_lost());
    server.stop(); // Redis is gone: every renewal fails from now on
    // Lost once no renewal has gone through for a whole lease (less the margin) since the
    // last one that did was sent (a real wait, inherent), and reported then, by the task that
    // marks it lost, just after it does.
    // Only this permit's lease is 300 ms: another test's permit cannot match.
    let this_lease = format!("whole lease of {lease:?}");
    let report = reports
        .wait_for(|line| {
            line.starts_with("RedisSemaphore")
                && line.contains("it is lost")
                && line.contains(&this_lease)
        })
        .await;
    assert!(report.contains(&this_lease), "{report}");
    assert!(permit.is_lost());
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

/// Drops `grant` (an `acquire` or `try_acquire` of a semaphore of 2 permits on `name`, on
/// `conn`) with its granting reply in flight, and checks the lease it was granted is released
/// at once (its `ZREM` follows the grant on the same connection), not left to expire.
async fn a_grant_dropped_in_flight_is_released<F: std::future::Future>(
    conn: &mut redis::aio::ConnectionManager,
    name: &str,
    grant: F,
) {
    // The other holder's leases outlive the test: a permit that comes back was released.
    let other = semaphore(name, 2, Duration::from_secs(60)).await;
    let mut fences = connect(server()).await;
    let fence_before: u64 = fences.get(format!("{name}:fence")).await.expect("get");
    let mut events = KeyEvents::subscribe(&format!("{name}:holders")).await;
    drop_mid_flight(conn, grant, DropPoint::ReplyInFlight).await;
    let fence_after: u64 = fences.get(format!("{name}:fence")).await.expect("get");
    assert_eq!(fence_after, fence_before + 1, "granted once");
    events.wait_for("zadd").await; // the grant
    events.wait_for("zrem").await; // and its release
    assert_eq!(leases(name).await, 0, "released");
    let first = other
        .try_acquire()
        .await
        .expect("redis")
        .expect("a permit is free");
    let second = other
        .try_acquire()
        .await
        .expect("redis")
        .expect("the dropped grant holds none");
    assert!(second.fence() > first.fence() && first.fence() > fence_after);
    second.release().await.expect("release");
    first.release().await.expect("release");
}

#[tokio::test]
async fn a_grant_dropped_with_its_reply_in_flight_leaks_no_permit() {
    let name = key("try-cancel");
    // Far longer than the test: a permit that comes back was released, not expired.
    let lease = Duration::from_secs(60);
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

    // Before it is sent: nothing was granted, or what was is released.
    drop_mid_flight(&mut conn, limit.try_acquire(), DropPoint::BeforeSent).await;
    let (first, second) = tokio::time::timeout(Duration::from_secs(5), async {
        let first = limit.acquire().await?;
        Ok::<_, Error>((first, limit.acquire().await?))
    })
    .await
    .expect("both permits are free, long before a lease could run out")
    .expect("redis");
    first.release().await.expect("release");
    second.release().await.expect("release");

    a_grant_dropped_in_flight_is_released(&mut conn, &name, limit.try_acquire()).await;
    a_grant_dropped_in_flight_is_released(&mut conn, &name, limit.acquire()).await;
}

#[tokio::test]
async fn an_acquire_whose_reply_comes_too_late_releases_what_it_was_granted() {
    let name = key("late-grant");
    // Far longer than the test: a permit that comes back was released, not expired.
    let lease = Duration::from_secs(60);
    let proxy = FrozenProxy::start(server().port()).await;
    let mut late_conn = proxy.connect(impatient(Duration::from_millis(100))).await;
    let late = RedisSemaphore::new(late_conn.clone(), &name, 1, lease).expect("a valid config");
    let other = semaphore(&name, 1, lease).await;
    // The GRANT script is loaded (for every connection): the late request is one EVALSHA.
    other
        .acquire()
        .await
        .expect("acquire")
        .release()
        .await
        .expect("release");
    let mut events = KeyEvents::subscribe(&format!("{name}:holders")).await;
    proxy.freeze();
    // The request waits in the proxy; its reply cannot come within the response timeout.
    let error = late.acquire().await.expect_err("no reply in time");
    assert!(error.is_connection(), "a timeout: {error}");
    proxy.thaw(); // the GRANT reaches the server now, followed by the release
    events.wait_for("zadd").await; // granted, to an acquire that failed
    events.wait_for("zrem").await; // and released
    fence_patiently(&mut late_conn).await;
    let permit = other
        .try_acquire()
        .await
        .expect("redis")
        .expect("the failed acquire holds no permit");
    permit.release().await.expect("release");
}

#[tokio::test]
async fn with_a_short_lease_a_partitioned_holder_knows_before_another_is_granted() {
    // A review found 8 of 40 holders with a 20 ms lease still saying "not lost" when another
    // process was granted the permit: the server counts whole milliseconds from its time
    // rounded down, up to a millisecond short, and a 1 % margin of 20 ms is less than that.
    let lease = Duration::from_millis(20);
    for trial in 0..20 {
        let name = key(&format!("short-lease-{trial}"));
        let proxy = FrozenProxy::start(server().port()).await;
        let holder = RedisSemaphore::new(proxy.connect(patient()).await, &name, 1, lease)
            .expect("a valid configuration");
        let other = semaphore(&name, 1, lease).await;
        let permit = holder.acquire().await.expect("acquire");
        proxy.freeze();
        let taken = loop {
            if let Some(taken) = other.try_acquire().await.expect("redis") {
                break taken;
            }
        };
        assert!(
            permit.is_lost(),
            "trial {trial}: another process holds the permit, the partitioned holder does not know"
        );
        proxy.thaw();
        drop(permit);
        taken.release().await.expect("release");
    }
}

#[tokio::test]
async fn a_partitioned_holder_knows_its_permit_is_lost_before_another_can_take_it() {
    let reports = Reports::collect().await;
    let name = key("partitioned");
    let holders = format!("{name}:holders");
    let lease = Duration::from_secs(1);
    let proxy = FrozenProxy::start(server().port()).await;
    let holder = RedisSemaphore::new(proxy.connect(patient()).await, &name, 1, lease)
        .expect("a valid configuration");
    let other = semaphore(&name, 1, lease).await;
    let mut events = KeyEvents::subscribe(&holders).await;
    let permit = holder.acquire().await.expect("acquire");
    proxy.freeze(); // a partition: no renewal reaches Redis, and none is refused
    // The holders set expires with the last lease that went through: Redis says when it has
    // run out (a real wait of at most one lease, inherent).
    events.wait_for("expired").await;
    // The lease is counted from when its grant or renewal was sent, so by now (however late
    // the renewal task runs) the holder knows: before another process can take the permit.
    assert!(
        permit.is_lost(),
        "another process can be granted the permit now"
    );
    let taken = other
        .try_acquire()
        .await
        .expect("redis")
        .expect("the lease ran out on the server");
    assert!(taken.fence() > permit.fence());
    let report = reports
        .wait_for(|line| line.contains(&holders) && line.contains("it is lost"))
        .await;
    assert!(report.starts_with("RedisSemaphore"), "{report}");
    proxy.thaw();
    drop(permit);
    taken.release().await.expect("release");
}
