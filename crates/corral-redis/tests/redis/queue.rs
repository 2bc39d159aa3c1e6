use std::time::Duration;

use corral::backend::{Delivery, JobQueue};
use corral_redis::test_server::TestServer;
use corral_redis::{Error, RedisQueue};
use redis::AsyncCommands;

use crate::support::{
    ChildProcess, DropPoint, connect, drop_mid_flight, key, server, still_waits_after_its_reply,
};

async fn queue<T>(key: &str, maxsize: usize) -> RedisQueue<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let conn = connect(server()).await;
    if maxsize == 0 {
        RedisQueue::unbounded(conn, key)
    } else {
        RedisQueue::bounded(conn, key, maxsize).expect("a valid configuration")
    }
}

#[tokio::test]
async fn put_get_done_join_in_order() {
    let name = key("basic");
    let producer = queue::<u32>(&name, 0).await;
    let consumer = queue::<u32>(&name, 0).await;
    for n in 0..5 {
        producer.put(n).await.expect("put");
    }
    assert_eq!(producer.unfinished().await.expect("xlen"), 5);
    for n in 0..5 {
        let job = consumer.get().await.expect("get");
        assert_eq!(*job, n, "first in, first out");
        job.done().await.expect("done");
    }
    producer.join().await.expect("join");
    assert_eq!(producer.unfinished().await.expect("xlen"), 0);
}

#[tokio::test]
async fn bounded_put_waits_for_a_get() {
    let name = key("bounded");
    let mut conn = connect(server()).await;
    let queue = RedisQueue::<u32>::bounded(conn.clone(), &name, 2).expect("a valid configuration");
    queue.put(1).await.expect("put"); // the PUT script is loaded: one request per attempt
    queue.put(2).await.expect("put");
    // The queue is full: refused, it waits for room.
    drop(still_waits_after_its_reply(&mut conn, queue.put(3)).await);
    assert_eq!(
        queue.unfinished().await.expect("xlen"),
        2,
        "the dropped put inserted nothing"
    );
    let first = queue.get().await.expect("get");
    // Taken items do not count against maxsize, as in asyncio.
    tokio::time::timeout(Duration::from_secs(2), queue.put(3))
        .await
        .expect("room was made")
        .expect("put");
    first.done().await.expect("done");
}

#[tokio::test]
async fn join_waits_for_every_acknowledgement_from_any_process() {
    let name = key("join");
    let mut conn = connect(server()).await;
    let producer = RedisQueue::<String>::unbounded(conn.clone(), &name);
    let worker = queue::<String>(&name, 0).await;
    producer.put("a".into()).await.expect("put");
    producer.put("b".into()).await.expect("put");
    let a = worker.get().await.expect("get");
    let b = worker.get().await.expect("get");
    a.done().await.expect("done");
    // b is not done yet: join reads one unfinished item, and waits.
    drop(still_waits_after_its_reply(&mut conn, producer.join()).await);
    let join = tokio::spawn({
        let producer = producer.clone();
        async move { producer.join().await }
    });
    b.done().await.expect("done");
    tokio::time::timeout(Duration::from_secs(2), join)
        .await
        .expect("join returned")
        .expect("no panic")
        .expect("redis");
}

#[tokio::test]
async fn shutdown_fails_puts_and_drains_gets_in_every_process() {
    let name = key("shutdown");
    let a = queue::<u32>(&name, 0).await;
    let b = queue::<u32>(&name, 0).await;
    a.put(1).await.expect("put");
    b.shutdown().await.expect("shutdown");
    assert!(a.is_shutdown().await.expect("redis"));
    assert!(matches!(a.put(2).await, Err(Error::Shutdown)));
    let last = a.get().await.expect("what is left is handed out");
    assert_eq!(*last, 1);
    last.done().await.expect("done");
    assert!(matches!(a.get().await, Err(Error::Shutdown)));
    assert!(matches!(b.get().await, Err(Error::Shutdown)));
    a.join().await.expect("join");
}

#[tokio::test]
async fn after_shutdown_an_item_a_dead_consumer_held_is_handed_out_once_overdue() {
    let name = key("shutdown-held");
    // Never reached in the test: the item comes back because `age` makes it look idle.
    let visibility = Duration::from_secs(30);
    let conn = connect(server()).await;
    let a = unbounded_u32(&name, visibility).await;
    let b = queue_on(&conn, &name, visibility);
    a.put(0).await.expect("put");
    take_and_finish(&b, 0).await; // b has swept: its gets start with GET
    a.put(7).await.expect("put");
    let held = a.get().await.expect("get");
    let held_id = held.id().to_owned();
    b.shutdown().await.expect("shutdown");
    drop(held); // its consumer dies without `done`
    // Not idle for the visibility timeout yet: as far as b can tell, a holds it and will
    // finish it. b holds nothing, so it waits (it would take the item over if a died).
    drop(waits_with_empty_hands(&conn, b.get()).await);
    // Once it has been idle that long, it is abandoned: left, and handed out again.
    age(&name, &held_id, &consumer_of(&a)).await;
    let again = tokio::time::timeout(Duration::from_secs(3), b.get())
        .await
        .expect("handed out again")
        .expect("not refused while an item is held");
    assert_eq!(*again, 7);
    again.done().await.expect("done");
    assert!(matches!(b.get().await, Err(Error::Shutdown)));
    a.join().await.expect("join");
}

#[tokio::test]
async fn a_waiting_get_is_woken_by_shutdown() {
    let name = key("shutdown-wait");
    let a = queue::<u32>(&name, 0).await;
    let b = queue::<u32>(&name, 0).await;
    let get = tokio::spawn(async move { a.get().await.map(|delivery| *delivery) });
    b.shutdown().await.expect("shutdown");
    let got = tokio::time::timeout(Duration::from_secs(2), get)
        .await
        .expect("get returned")
        .expect("no panic");
    assert!(matches!(got, Err(Error::Shutdown)));
}

#[tokio::test]
async fn a_dropped_delivery_is_handed_out_again_after_the_visibility_timeout() {
    let name = key("redeliver");
    let visibility = Duration::from_secs(30);
    let mut conn = connect(server()).await;
    let a = unbounded_u32(&name, visibility).await;
    let b = queue_on(&conn, &name, visibility);
    a.put(0).await.expect("put");
    take_and_finish(&b, 0).await; // b has swept: its gets start with GET
    a.put(7).await.expect("put");
    let first = a.get().await.expect("get");
    let id = first.id().to_owned();
    drop(first); // not done
    // Not before the visibility timeout: idle for less, it is not handed out.
    finds_nothing(&mut conn, &b).await;
    // Idle past it (on Redis's clock): handed out again, the same item.
    age(&name, &id, &consumer_of(&a)).await;
    let again = tokio::time::timeout(Duration::from_secs(3), b.get())
        .await
        .expect("handed out again")
        .expect("get");
    assert_eq!((again.id(), *again), (id.as_str(), 7));
    again.done().await.expect("done");
    a.join().await.expect("join");
}

#[tokio::test]
async fn a_dropped_get_loses_nothing() {
    let name = key("cancel");
    let mut conn = connect(server()).await;
    let queue = queue_on(&conn, &name, Duration::from_secs(30));
    queue.put(0).await.expect("put");
    take_and_finish(&queue, 0).await; // it has swept: a get's first request is GET
    // Nothing to take: it waits, and is dropped waiting.
    finds_nothing(&mut conn, &queue).await;
    queue.put(1).await.expect("put");
    let job = queue.get().await.expect("get");
    assert_eq!(*job, 1);
    job.done().await.expect("done");
}

/// Child role: takes one item (visibility 30 s), says which, and hangs until killed.
pub(crate) async fn take_item_and_hang(conn: redis::aio::ConnectionManager, key: &str) {
    let queue =
        RedisQueue::<u32>::unbounded(conn, key).with_visibility_timeout(Duration::from_secs(30));
    let job = queue.get().await.expect("get");
    println!("TAKEN {} {}", job.id(), *job);
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn a_consumer_killed_mid_item_loses_nothing() {
    let name = key("killed");
    let queue = unbounded_u32(&name, Duration::from_secs(30)).await;
    for n in 0..3 {
        queue.put(n).await.expect("put");
    }
    let mut child = ChildProcess::spawn("take_item", &server().url(), &name);
    let taken = child.wait_for("TAKEN");
    child.kill();
    let (taken_id, taken_item) = taken.split_once(' ').expect("id and item");
    // The dead consumer's item is pending in its name; make it look idle past the visibility
    // timeout (as it will be, on Redis's clock, 30 s after the crash).
    let (_, pending) = items(&name).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].0, taken_id);
    age(&name, taken_id, &pending[0].1).await;
    let mut seen = Vec::new();
    let mut redelivered = false;
    for _ in 0..3 {
        let job = tokio::time::timeout(Duration::from_secs(3), queue.get())
            .await
            .expect("an item")
            .expect("get");
        redelivered |= job.id() == taken_id;
        seen.push(*job);
        job.done().await.expect("done");
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2], "every item processed once here");
    assert!(
        redelivered,
        "the dead consumer's item {taken_item} came back"
    );
    queue.join().await.expect("join");
}

#[tokio::test]
async fn a_bad_payload_is_set_aside_with_its_id() {
    let reports = crate::support::Reports::collect().await;
    let name = key("bad");
    let queue = queue::<u32>(&name, 0).await;
    queue.put(1).await.expect("put");
    let mut conn = connect(server()).await;
    let bad_id: String = conn
        .xadd(&name, "*", &[("p", "not json")])
        .await
        .expect("xadd");
    queue.put(2).await.expect("put");
    let mut got = Vec::new();
    for _ in 0..2 {
        let job = queue.get().await.expect("get");
        got.push(*job);
        job.done().await.expect("done");
    }
    assert_eq!(got, [1, 2], "the bad payload is skipped");
    queue
        .join()
        .await
        .expect("join: the bad payload counts as handled");
    let dead = dead_letters(&mut conn, &name).await;
    assert_eq!(dead.ids.len(), 1);
    let entry = &dead.ids[0];
    assert_eq!(entry.get::<String>("id").as_deref(), Some(bad_id.as_str()));
    assert_eq!(entry.get::<String>("p").as_deref(), Some("not json"));
    assert!(entry.get::<String>("error").is_some());
    let reports = reports.lines();
    assert!(
        reports
            .iter()
            .any(|report| report.contains(&bad_id) && report.contains(&name)),
        "reported with its id: {reports:?}"
    );
}

async fn drain<Q: JobQueue<u32>>(
    queue: &Q,
) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    queue.shutdown().await?;
    let mut sum = 0;
    while let Ok(job) = queue.get().await {
        sum += *job;
        job.done().await?;
    }
    queue.join().await?;
    Ok(sum)
}

#[tokio::test]
async fn the_same_code_runs_on_both_backends() {
    let local = corral::queue::Queue::unbounded();
    let redis = queue::<u32>(&key("trait"), 0).await;
    for n in 1..=4 {
        JobQueue::put(&local, n).await.expect("put");
        redis.put(n).await.expect("put");
    }
    assert_eq!(drain(&local).await.expect("local"), 10);
    assert_eq!(drain(&redis).await.expect("redis"), 10);
}

#[tokio::test]
async fn redis_restarted_mid_run_fails_clearly_then_recovers_without_a_new_client() {
    let dir = std::env::temp_dir().join(format!("corral-redis-aof-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let dir_arg = dir.to_str().expect("utf-8 temp dir").to_owned();
    let server = TestServer::start_with(&[
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        &dir_arg,
    ])
    .expect("a persistent server");
    let queue = RedisQueue::<u32>::unbounded(connect(&server).await, "restart")
        .with_visibility_timeout(Duration::from_secs(30));
    for n in 0..3 {
        queue.put(n).await.expect("put");
    }
    let acknowledged = queue.get().await.expect("get");
    assert_eq!(*acknowledged, 0);
    acknowledged.done().await.expect("done");
    let in_progress = queue.get().await.expect("get");
    assert_eq!(*in_progress, 1);
    let in_progress_id = in_progress.id().to_owned();

    server.stop();
    let error = queue.put(9).await.expect_err("redis is down");
    assert!(error.is_connection(), "a connection error: {error}");
    assert!(error.to_string().starts_with("redis failed"), "{error}");
    drop(in_progress); // its done could not be sent either

    server.restart().expect("restart");
    // The item in progress survived the restart, pending; make it look idle past the
    // visibility timeout, as its consumer never finishes it.
    age_on(
        &mut connect(&server).await,
        "restart",
        &in_progress_id,
        &consumer_of(&queue),
    )
    .await;
    // The same handle (the same ConnectionManager) reconnects by itself: a request may still
    // fail with the connection it had (or a reconnection tried while the server was down),
    // and the next ones go through. No pause between them: the server is up already.
    let mut failures = 0;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let job = tokio::time::timeout(Duration::from_secs(10), queue.get())
            .await
            .expect("no hang");
        match job {
            Ok(job) => {
                seen.push(*job);
                job.done().await.expect("done");
            }
            Err(error) => {
                assert!(error.is_connection(), "{error}");
                failures += 1;
                assert!(failures <= 3, "no recovery: {error}, {seen:?}");
            }
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, [1, 2], "the acknowledged item never comes back");
    queue.join().await.expect("join");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn touch_keeps_an_item_past_its_visibility_timeout() {
    let name = key("touch");
    let visibility = Duration::from_secs(30);
    let mut conn = connect(server()).await;
    let a = unbounded_u32(&name, visibility).await;
    let b = queue_on(&conn, &name, visibility);
    a.put(0).await.expect("put");
    take_and_finish(&b, 0).await; // b has swept: its gets start with GET
    a.put(1).await.expect("put");
    let job = a.get().await.expect("get");
    let me = consumer_of(&a);
    // Held well past the timeout in all, touched all along: Redis's idle time is what the
    // timeout is checked against, so `age` stands for the time between two touches.
    for _ in 0..2 {
        age(&name, job.id(), &me).await;
        assert!(job.touch().await.expect("redis"), "still ours");
        let (_, pending) = items(&name).await;
        assert_eq!((pending[0].0.as_str(), &pending[0].1), (job.id(), &me));
        assert!(pending[0].2 < 30_000, "the touch reset it: {pending:?}");
        finds_nothing(&mut conn, &b).await; // a touched item is not handed out again
    }
    // Stop touching: another consumer takes it over, and the first one learns it.
    age(&name, job.id(), &me).await;
    let again = tokio::time::timeout(Duration::from_secs(3), b.get())
        .await
        .expect("handed out again")
        .expect("get");
    assert_eq!(again.id(), job.id());
    assert!(!job.touch().await.expect("redis"), "taken over");
    again.done().await.expect("done");
}

#[tokio::test]
async fn a_dead_item_behind_many_live_ones_is_still_reclaimed() {
    // XAUTOCLAIM looks at 10 pending entries per call with COUNT 1: the claim scan must resume
    // where it stopped, or a dead item behind 10 live ones waits until they too go idle.
    let name = key("cursor");
    // Never reached in the test: only the dead item looks idle (`age`), the live ones stay
    // fresh for far longer than the hang guard below.
    let visibility = Duration::from_secs(30);
    let live = unbounded_u32(&name, visibility).await;
    let dead = unbounded_u32(&name, visibility).await;
    let other = unbounded_u32(&name, visibility).await;
    for n in 0..12 {
        live.put(n).await.expect("put");
    }
    let mut held = Vec::new();
    for _ in 0..11 {
        held.push(live.get().await.expect("get"));
    }
    let lost = dead.get().await.expect("get");
    let lost_id = lost.id().to_owned();
    drop(lost); // its consumer "dies"
    age(&name, &lost_id, &consumer_of(&dead)).await;
    for job in &held {
        assert!(
            job.touch().await.expect("redis"),
            "the live consumer keeps its items"
        );
    }
    let reclaimed = tokio::time::timeout(Duration::from_secs(5), other.get())
        .await
        .expect("reclaimed before the live items go idle")
        .expect("get");
    assert_eq!(reclaimed.id(), lost_id);
    reclaimed.done().await.expect("done");
    for job in held {
        job.done().await.expect("done");
    }
    live.join().await.expect("join");
}

#[tokio::test]
async fn an_item_past_its_delivery_limit_is_dead_lettered_not_handed_out_again() {
    let name = key("poison");
    let visibility = Duration::from_secs(30);
    let queue = unbounded_u32(&name, visibility)
        .await
        .with_max_deliveries(2);
    let me = consumer_of(&queue);
    queue.put(13).await.expect("put");
    let mut ids = Vec::new();
    for _ in 0..2 {
        // Each consumer "crashes" on the item: it never calls done.
        let delivery = tokio::time::timeout(Duration::from_secs(3), queue.get())
            .await
            .expect("handed out again once idle past the visibility timeout")
            .expect("get");
        assert_eq!(*delivery, 13);
        ids.push(delivery.id().to_owned());
        drop(delivery);
        age(&name, &ids[0], &me).await;
    }
    assert_eq!(ids[0], ids[1], "the same item, delivered twice");
    queue.put(14).await.expect("put");
    // Past the visibility timeout (`age` above) the poison item would be claimed a third
    // time: instead it is set aside, and the next get hands out the item behind it.
    take_and_finish(&queue, 14).await;
    queue
        .join()
        .await
        .expect("join: the dead-lettered item counts as handled");
    let mut conn = connect(server()).await;
    let dead = dead_letters(&mut conn, &name).await;
    assert_eq!(dead.ids.len(), 1);
    let entry = &dead.ids[0];
    assert_eq!(entry.get::<String>("id").as_deref(), Some(ids[0].as_str()));
    assert_eq!(entry.get::<String>("p").as_deref(), Some("13"));
    assert_eq!(
        entry.get::<String>("error").as_deref(),
        Some("handed out 2 times without done")
    );
}

#[tokio::test]
async fn without_a_delivery_limit_an_unacknowledged_item_keeps_coming_back() {
    let name = key("no-limit");
    let queue = unbounded_u32(&name, Duration::from_secs(30)).await;
    let me = consumer_of(&queue);
    queue.put(5).await.expect("put");
    for deliveries in 1..=4 {
        let delivery = tokio::time::timeout(Duration::from_secs(3), queue.get())
            .await
            .expect("handed out again")
            .expect("get");
        assert_eq!(*delivery, 5);
        let (_, pending) = items(&name).await;
        assert_eq!(pending[0].3, deliveries, "{pending:?}");
        age(&name, delivery.id(), &me).await; // dropped without done, idle past the timeout
    }
}

async fn consumer_names(name: &str) -> Vec<String> {
    let mut conn = connect(server()).await;
    let reply: redis::streams::StreamInfoConsumersReply = conn
        .xinfo_consumers(name, "corral")
        .await
        .expect("xinfo consumers");
    reply.consumers.into_iter().map(|c| c.name).collect()
}

fn consumer_of<T>(queue: &RedisQueue<T>) -> String {
    let debug = format!("{queue:?}");
    let start = debug
        .find("consumer: \"")
        .expect("the consumer is in Debug")
        + 11;
    let len = debug[start..].find('"').expect("a closing quote");
    debug[start..start + len].to_owned()
}

#[tokio::test]
async fn consumers_that_hold_nothing_and_went_idle_leave_the_group() {
    let name = key("sweep");
    // Swept once idle for 10 visibility timeouts: 100 ms.
    let visibility = Duration::from_millis(10);
    let gone = unbounded_u32(&name, visibility).await;
    let holder = unbounded_u32(&name, visibility).await;
    // A consumer's first get sweeps (later ones only after a while): `holder`'s is done before
    // `gone` exists, so however long the machine stalls below, only `fresh` sweeps `gone`.
    holder.put(0).await.expect("put");
    take_and_finish(&holder, 0).await;
    gone.put(1).await.expect("put");
    gone.put(2).await.expect("put");
    gone.get().await.expect("get").done().await.expect("done");
    let held = holder.get().await.expect("get");
    assert_eq!(*held, 2);
    let mut before = consumer_names(&name).await;
    before.sort();
    let mut expected = vec![consumer_of(&gone), consumer_of(&holder)];
    expected.sort();
    assert_eq!(before, expected);

    // A consumer's idle time is Redis's own clock and no command sets it: this real wait is
    // inherent. It waits for Redis to say `gone` has been idle past the sweep threshold.
    idle_past(&name, &consumer_of(&gone), 100).await;
    let fresh = unbounded_u32(&name, visibility).await;
    // Its first get sweeps: `gone` holds nothing and leaves; `holder` still held item 2 then,
    // so it stays (the get then takes item 2 over, as `holder` is idle past the timeout).
    let taken = fresh.get().await.expect("get");
    assert_eq!(*taken, 2);
    let after = consumer_names(&name).await;
    assert!(!after.contains(&consumer_of(&gone)), "{after:?}");
    assert!(after.contains(&consumer_of(&holder)), "{after:?}");
    assert!(after.contains(&consumer_of(&fresh)), "{after:?}");
    taken.done().await.expect("done");
    drop(held);
    fresh.join().await.expect("join");
}

/// A pending entry: id, consumer, milliseconds since its last delivery, deliveries.
type Pending = (String, String, u64, u64);

/// The queue's items in Redis: the ids in the stream (waiting or taken, not yet done) and the
/// pending entries (taken, not yet done), both in id order.
async fn items(name: &str) -> (Vec<String>, Vec<Pending>) {
    let mut conn = connect(server()).await;
    let stream: redis::streams::StreamRangeReply = conn.xrange_all(name).await.expect("xrange");
    let pending: Vec<Pending> = redis::cmd("XPENDING")
        .arg(name)
        .arg("corral")
        .arg("-")
        .arg("+")
        .arg(100)
        .query_async(&mut conn)
        .await
        .expect("xpending");
    (
        stream.ids.into_iter().map(|entry| entry.id).collect(),
        pending,
    )
}

/// Makes a pending item look idle for an hour, as if its consumer had stopped touching it
/// long ago (`XCLAIM ... IDLE`, same owner, delivery count unchanged).
async fn age(name: &str, id: &str, consumer: &str) {
    age_on(&mut connect(server()).await, name, id, consumer).await;
}

/// [`age`] on the server `conn` is connected to.
async fn age_on(conn: &mut redis::aio::ConnectionManager, name: &str, id: &str, consumer: &str) {
    let claimed: Vec<String> = redis::cmd("XCLAIM")
        .arg(name)
        .arg("corral")
        .arg(consumer)
        .arg(0)
        .arg(id)
        .arg("IDLE")
        .arg(3_600_000)
        .arg("JUSTID")
        .query_async(conn)
        .await
        .expect("xclaim");
    assert_eq!(claimed, [id]);
}

/// Checks that one `get` attempt of `queue` finds nothing to take (no item waiting, none idle
/// past the visibility timeout) and is not refused either: it waits. Deterministic: its `GET`
/// runs on the server and its reply is read (see `support::fence`). `queue` is on `conn`,
/// and has taken an item before (so it has swept, and a get's first request is `GET`).
async fn finds_nothing(conn: &mut redis::aio::ConnectionManager, queue: &RedisQueue<u32>) {
    let mut get = tokio_test::task::spawn(queue.get());
    assert!(get.poll().is_pending(), "its GET is sent");
    crate::support::fence(conn).await;
    assert!(get.is_woken(), "its reply arrived");
    match get.poll() {
        std::task::Poll::Pending => {}
        std::task::Poll::Ready(Ok(job)) => panic!("handed out {} at once", job.id()),
        std::task::Poll::Ready(Err(error)) => panic!("refused: {error}"),
    }
}

/// The next item of `queue` (within a few seconds: a guard against a hang).
async fn take(queue: &RedisQueue<u32>) -> corral_redis::RedisDelivery<u32> {
    tokio::time::timeout(Duration::from_secs(3), queue.get())
        .await
        .expect("an item")
        .expect("get")
}

/// Waits until Redis reports `consumer` of the queue at `name` idle for more than `ms`
/// milliseconds (on its own clock), sleeping for what is left each time it asks.
async fn idle_past(name: &str, consumer: &str, ms: u64) {
    let mut conn = connect(server()).await;
    for _ in 0..100 {
        let reply: redis::streams::StreamInfoConsumersReply = conn
            .xinfo_consumers(name, "corral")
            .await
            .expect("xinfo consumers");
        let idle = reply
            .consumers
            .iter()
            .find(|info| info.name == consumer)
            .map(|info| u64::try_from(info.idle).expect("an idle time"))
            .expect("a consumer of the group");
        if idle > ms {
            return;
        }
        tokio::time::sleep(Duration::from_millis(ms + 1 - idle)).await;
    }
    panic!("{consumer} never went idle");
}

/// A queue on `conn` (kept by the caller, to fence its requests).
/// Takes the next item (within a few seconds), checks it is `expected`, and acknowledges it.
/// The dead-letter stream of queue `name`.
async fn dead_letters(
    conn: &mut redis::aio::ConnectionManager,
    name: &str,
) -> redis::streams::StreamRangeReply {
    conn.xrange_all(format!("{name}:dead"))
        .await
        .expect("xrange")
}

/// The reports about item `id` of queue `name` (stream ids are per stream: another test's
/// item may have the same id, not the same name).
fn reports_about(reports: &crate::support::Reports, id: &str, name: &str) -> Vec<String> {
    reports
        .lines()
        .into_iter()
        .filter(|line| line.contains(id) && line.contains(name))
        .collect()
}

async fn take_and_finish(queue: &RedisQueue<u32>, expected: u32) {
    let next = tokio::time::timeout(Duration::from_secs(3), queue.get())
        .await
        .expect("the next item")
        .expect("get");
    assert_eq!(*next, expected);
    next.done().await.expect("done");
}

/// Shuts the queue down through `other` and checks that nothing is handed out any more (`why`
/// says what that proves) and that `queue.join()` returns.
async fn shut_down_with_nothing_left(other: &RedisQueue<u32>, queue: &RedisQueue<u32>, why: &str) {
    other.shutdown().await.expect("shutdown");
    assert!(matches!(other.get().await, Err(Error::Shutdown)), "{why}");
    queue.join().await.expect("join");
}

/// An unbounded queue of numbers at `name`, on a connection of its own, with `visibility`.
async fn unbounded_u32(name: &str, visibility: Duration) -> RedisQueue<u32> {
    queue::<u32>(name, 0)
        .await
        .with_visibility_timeout(visibility)
}

fn queue_on(
    conn: &redis::aio::ConnectionManager,
    name: &str,
    visibility: Duration,
) -> RedisQueue<u32> {
    RedisQueue::unbounded(conn.clone(), name).with_visibility_timeout(visibility)
}

#[tokio::test]
async fn a_dropped_join_changes_nothing() {
    let name = key("join-cancel");
    let mut conn = connect(server()).await;
    let queue = queue_on(&conn, &name, Duration::from_secs(30));
    queue.put(1).await.expect("put");
    queue.put(2).await.expect("put");
    let held = queue.get().await.expect("get");
    // Dropped while it waits between two polls of the stream's length.
    let mut join = tokio_test::task::spawn(queue.join());
    assert!(join.poll().is_pending());
    crate::support::fence(&mut conn).await;
    assert!(join.is_woken(), "its XLEN reply arrived");
    assert!(join.poll().is_pending(), "2 unfinished: it sleeps");
    drop(join);
    // Dropped with its request unsent, and with its reply in flight.
    drop_mid_flight(&mut conn, queue.join(), DropPoint::BeforeSent).await;
    drop_mid_flight(&mut conn, queue.join(), DropPoint::ReplyInFlight).await;
    // So do the readers.
    drop_mid_flight(&mut conn, queue.unfinished(), DropPoint::ReplyInFlight).await;
    drop_mid_flight(&mut conn, queue.is_shutdown(), DropPoint::ReplyInFlight).await;

    assert_eq!(queue.unfinished().await.expect("xlen"), 2);
    let (stream, pending) = items(&name).await;
    assert_eq!(stream.len(), 2);
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (&pending[0].0, &pending[0].1, pending[0].3),
        (&held.id().to_owned(), &consumer_of(&queue), 1)
    );
    // A later join still waits for both items, and completes once they are done.
    let mut later = tokio_test::task::spawn(queue.join());
    assert!(later.poll().is_pending());
    let second = queue.get().await.expect("the waiting item is still there");
    assert_eq!(*second, 2);
    held.done().await.expect("done");
    second.done().await.expect("done");
    tokio::time::timeout(Duration::from_secs(5), later)
        .await
        .expect("join completes once every item is done")
        .expect("redis");
}

#[tokio::test]
async fn a_dropped_shutdown_shut_the_queue_down_or_did_nothing() {
    let name = key("shutdown-cancel");
    let mut conn = connect(server()).await;
    let other = queue::<u32>(&name, 0).await;
    let queue = queue_on(&conn, &name, Duration::from_secs(30));
    queue.put(1).await.expect("put");
    let mut expected = vec![1];

    drop_mid_flight(&mut conn, queue.shutdown(), DropPoint::BeforeSent).await;
    // Every process sees the same outcome, whichever it was.
    if other.is_shutdown().await.expect("redis") {
        assert!(matches!(other.put(2).await, Err(Error::Shutdown)));
    } else {
        other.put(2).await.expect("still open");
        expected.push(2);
    }

    drop_mid_flight(&mut conn, queue.shutdown(), DropPoint::ReplyInFlight).await;
    assert!(
        other.is_shutdown().await.expect("redis"),
        "the server ran it"
    );
    assert!(matches!(other.put(3).await, Err(Error::Shutdown)));
    // What was put is still drained, once, and then get fails.
    let mut drained = Vec::new();
    for _ in 0..expected.len() {
        let job = other.get().await.expect("what is left");
        drained.push(*job);
        job.done().await.expect("done");
    }
    assert_eq!(drained, expected);
    assert!(matches!(other.get().await, Err(Error::Shutdown)));
    queue.join().await.expect("join");
}

#[tokio::test]
async fn a_dropped_put_inserted_its_item_once_or_not_at_all() {
    let name = key("put-cancel");
    let mut conn = connect(server()).await;
    let queue = queue_on(&conn, &name, Duration::from_secs(30));
    queue.put(0).await.expect("put"); // the PUT script is loaded: one request per attempt

    drop_mid_flight(&mut conn, queue.put(1), DropPoint::BeforeSent).await;
    let after_unsent = queue.unfinished().await.expect("xlen");
    assert!((1..=2).contains(&after_unsent), "{after_unsent}");
    drop_mid_flight(&mut conn, queue.put(2), DropPoint::ReplyInFlight).await;
    assert_eq!(
        queue.unfinished().await.expect("xlen"),
        after_unsent + 1,
        "the server ran it: inserted once"
    );

    // Dropped while it waits for room in a full bounded queue: it inserted nothing.
    let bounded = RedisQueue::<u32>::bounded(conn.clone(), format!("{name}:bounded"), 1)
        .expect("a valid configuration");
    bounded.put(1).await.expect("put");
    let mut full = tokio_test::task::spawn(bounded.put(2));
    assert!(full.poll().is_pending());
    crate::support::fence(&mut conn).await;
    assert!(full.is_woken(), "its refusal arrived");
    assert!(full.poll().is_pending(), "full: it waits for room");
    drop(full);
    assert_eq!(bounded.unfinished().await.expect("xlen"), 1);

    queue.shutdown().await.expect("shutdown");
    let mut drained = Vec::new();
    while let Ok(job) = queue.get().await {
        drained.push(*job);
        job.done().await.expect("done");
    }
    let expected: &[u32] = if after_unsent == 2 {
        &[0, 1, 2]
    } else {
        &[0, 2]
    };
    assert_eq!(drained, expected, "each inserted item once");
}

#[tokio::test]
async fn a_get_dropped_with_its_reply_in_flight_hands_the_item_out_again_after_the_visibility_timeout()
 {
    let name = key("get-in-flight");
    let visibility = Duration::from_secs(30);
    let mut conn = connect(server()).await;
    let mut other_conn = connect(server()).await;
    let other = queue_on(&other_conn, &name, visibility);
    let queue = queue_on(&conn, &name, visibility);
    // The GET script is loaded and both values have swept: a get's first request is GET.
    queue.put(0).await.expect("put");
    queue.get().await.expect("get").done().await.expect("done");
    queue.put(0).await.expect("put");
    take_and_finish(&other, 0).await;
    queue.put(1).await.expect("put");
    queue.put(2).await.expect("put");

    // Dropped before its request is sent: it took nothing, or its item is pending.
    drop_mid_flight(&mut conn, queue.get(), DropPoint::BeforeSent).await;
    let (stream, pending) = items(&name).await;
    assert_eq!(stream.len(), 2, "nothing lost");
    assert!(pending.len() <= 1, "{pending:?}");
    let unsent_took = pending.first().map(|entry| entry.0.clone());

    // Dropped with the reply in flight: the server handed out an item nobody received.
    drop_mid_flight(&mut conn, queue.get(), DropPoint::ReplyInFlight).await;
    let (stream, pending) = items(&name).await;
    assert_eq!(stream.len(), 2, "nothing lost");
    let expected_pending = 1 + usize::from(unsent_took.is_some());
    assert_eq!(
        pending.len(),
        expected_pending,
        "the item stays pending: {pending:?}"
    );
    for (id, consumer, _, deliveries) in &pending {
        assert!(stream.contains(id));
        assert_eq!((consumer, *deliveries), (&consumer_of(&queue), 1));
    }

    // An item nobody took is handed out at once; the pending ones not before the visibility
    // timeout, then each once.
    let mut seen = Vec::new();
    let mut jobs = Vec::new();
    if pending.len() == 1 {
        let job = take(&other).await;
        assert!(
            pending.iter().all(|entry| entry.0 != job.id()),
            "not taken yet"
        );
        jobs.push(job);
    }
    finds_nothing(&mut other_conn, &other).await;
    for (id, consumer, _, _) in &pending {
        age(&name, id, consumer).await;
        let job = take(&other).await;
        assert_eq!(job.id(), id, "handed out again");
        jobs.push(job);
    }
    for job in jobs {
        seen.push(*job);
        job.done().await.expect("done");
    }
    seen.sort_unstable();
    assert_eq!(seen, [1, 2], "every item once");
    shut_down_with_nothing_left(&other, &queue, "none duplicated").await;
}

#[tokio::test]
async fn a_dropped_done_acknowledged_the_item_or_left_it_pending() {
    let name = key("done-cancel");
    let visibility = Duration::from_secs(30);
    let mut conn = connect(server()).await;
    let mut other_conn = connect(server()).await;
    let other = queue_on(&other_conn, &name, visibility);
    let queue = queue_on(&conn, &name, visibility);
    queue.put(0).await.expect("put");
    take_and_finish(&other, 0).await; // other has swept: its gets start with GET
    for n in 1..=3 {
        queue.put(n).await.expect("put");
    }
    let first = queue.get().await.expect("get");
    let second = queue.get().await.expect("get");
    let third = queue.get().await.expect("get");
    let (second_id, third_id) = (second.id().to_owned(), third.id().to_owned());

    // Reply in flight: the server acknowledged and deleted it, both (one transaction).
    drop_mid_flight(&mut conn, first.done(), DropPoint::ReplyInFlight).await;
    let (stream, pending) = items(&name).await;
    assert_eq!(stream, [second_id.clone(), third_id.clone()]);
    let pending_ids: Vec<_> = pending.iter().map(|entry| entry.0.clone()).collect();
    assert_eq!(pending_ids, stream, "the others stay pending");

    // Before it is sent, through `done` and through `Ack::done`: acknowledged (gone from the
    // stream and the pending list) or still pending (in both), never half of it.
    drop_mid_flight(&mut conn, second.done(), DropPoint::BeforeSent).await;
    let (_, ack) = third.into_parts();
    drop_mid_flight(&mut conn, ack.done(), DropPoint::BeforeSent).await;
    let (stream, pending) = items(&name).await;
    let pending_ids: Vec<_> = pending.iter().map(|entry| entry.0.clone()).collect();
    assert_eq!(pending_ids, stream, "acknowledged and deleted together");
    assert!(stream.iter().all(|id| *id == second_id || *id == third_id));

    // What is still pending is handed out again: not before the visibility timeout, then
    // once.
    finds_nothing(&mut other_conn, &other).await;
    let me = consumer_of(&queue);
    for id in &stream {
        age(&name, id, &me).await;
        let job = take(&other).await;
        assert_eq!(job.id(), id);
        job.done().await.expect("done");
    }
    shut_down_with_nothing_left(&other, &queue, "the acknowledged item never comes back").await;
}

#[tokio::test]
async fn a_dropped_touch_reset_the_timeout_or_not_and_the_item_stays_once() {
    let name = key("touch-cancel");
    let mut conn = connect(server()).await;
    let visibility = Duration::from_secs(30);
    let other = unbounded_u32(&name, visibility).await;
    let queue = queue_on(&conn, &name, visibility);
    queue.put(1).await.expect("put");
    let job = queue.get().await.expect("get");
    assert!(
        job.touch().await.expect("redis"),
        "ours (and the TOUCH script is loaded)"
    );
    let me = consumer_of(&queue);
    let visibility_ms = 30_000;

    // Reply in flight: the timeout was reset, the item is still ours, not handed out again.
    age(&name, job.id(), &me).await;
    drop_mid_flight(&mut conn, job.touch(), DropPoint::ReplyInFlight).await;
    let (stream, pending) = items(&name).await;
    assert_eq!(stream, [job.id().to_owned()]);
    assert_eq!(pending.len(), 1);
    let (id, consumer, idle, deliveries) = &pending[0];
    assert_eq!((id.as_str(), consumer, *deliveries), (job.id(), &me, 1));
    assert!(*idle < visibility_ms, "reset: idle {idle} ms");

    // Before it is sent: reset or not; either way the item is there once, pending once.
    age(&name, job.id(), &me).await;
    drop_mid_flight(&mut conn, job.touch(), DropPoint::BeforeSent).await;
    let (stream, pending) = items(&name).await;
    assert_eq!(stream, [job.id().to_owned()]);
    assert_eq!(pending.len(), 1);
    let (_, consumer, idle, deliveries) = &pending[0];
    assert_eq!((consumer, *deliveries), (&me, 1));
    if *idle < visibility_ms {
        job.done().await.expect("done");
    } else {
        // Not reset: another consumer takes it over now, and the first learns it.
        assert!(*idle >= 3_600_000, "untouched: idle {idle} ms");
        let again = tokio::time::timeout(Duration::from_secs(3), other.get())
            .await
            .expect("taken over")
            .expect("get");
        assert_eq!(again.id(), job.id());
        assert!(!job.touch().await.expect("redis"), "taken over");
        again.done().await.expect("done");
    }
    shut_down_with_nothing_left(&other, &queue, "never duplicated").await;
}

#[tokio::test]
async fn a_get_dropped_as_it_finds_an_item_past_its_delivery_limit_loses_no_report() {
    let reports = crate::support::Reports::collect().await;
    let name = key("poison-cancel");
    let visibility = Duration::from_secs(30);
    let mut conn = connect(server()).await;
    let queue = queue_on(&conn, &name, visibility).with_max_deliveries(1);
    queue.put(13).await.expect("put");
    let poison_id = queue.get().await.expect("get").id().to_owned(); // dropped without done
    // Past the visibility timeout (Redis's clock), the next get finds the item past its
    // limit; that get is dropped with its reply unread.
    let me = consumer_of(&queue);
    age(&name, &poison_id, &me).await;
    drop_mid_flight(&mut conn, queue.get(), DropPoint::ReplyInFlight).await;
    assert!(
        reports_about(&reports, &poison_id, &name).is_empty(),
        "not reported yet: {:?}",
        reports.lines()
    );
    // It comes back after another visibility timeout, and is reported and set aside then.
    queue.put(14).await.expect("put");
    age(&name, &poison_id, &me).await;
    take_and_finish(&queue, 14).await;
    queue.join().await.expect("join");
    let reported = reports_about(&reports, &poison_id, &name);
    assert_eq!(reported.len(), 1, "{reported:?}");
    let (stream, pending) = items(&name).await;
    assert!(
        stream.is_empty() && pending.is_empty(),
        "{stream:?} {pending:?}"
    );
    let dead = dead_letters(&mut conn, &name).await;
    assert_eq!(dead.ids.len(), 1, "set aside once");
    // Counted twice: the first consumer, and the dropped get's claim (a claim counts as a
    // delivery in Redis, even one whose reply nobody read).
    assert_eq!(
        dead.ids[0].get::<String>("error").as_deref(),
        Some("handed out 2 times without done")
    );
}

#[tokio::test]
async fn an_item_taken_over_before_it_is_set_aside_is_left_to_its_new_holder() {
    left_to_its_new_holder(false).await;
}

#[tokio::test]
async fn an_item_taken_over_by_a_clone_before_it_is_set_aside_is_left_to_it() {
    left_to_its_new_holder(true).await;
}

/// An item found past its delivery limit is taken over before it is set aside: by another
/// consumer, or (`by_a_clone`) by a clone of the same queue, under the same consumer name.
async fn left_to_its_new_holder(by_a_clone: bool) {
    let reports = crate::support::Reports::collect().await;
    let name = key("poison-taken-over");
    let visibility = Duration::from_secs(30);
    let mut conn = connect(server()).await;
    let queue = queue_on(&conn, &name, visibility).with_max_deliveries(1);
    // A payload that does not decode, set aside by a get before 13 is handed out: so the
    // script that sets items aside is loaded (a first use below would take two round trips,
    // the second after the fence).
    queue.put(1).await.expect("put"); // creates the group
    let _: String = conn
        .xadd(&name, "*", &[("p", "not json")])
        .await
        .expect("xadd");
    queue.put(13).await.expect("put");
    take_and_finish(&queue, 1).await;
    let id = queue.get().await.expect("get").id().to_owned(); // dropped without done
    age(&name, &id, &consumer_of(&queue)).await;
    // This get's GET finds the item past its limit (the reply arrives, unread) ...
    let mut get = tokio_test::task::spawn(queue.get());
    assert!(get.poll().is_pending());
    crate::support::fence(&mut conn).await;
    assert!(get.is_woken(), "the GET reply arrived");
    // ... and before it moves the item, another consumer takes it over (a claim, as a
    // `get`'s `XAUTOCLAIM`: it counts a delivery).
    let holder = if by_a_clone {
        consumer_of(&queue)
    } else {
        "someone-else".to_owned()
    };
    let claimed: redis::streams::StreamClaimReply = redis::cmd("XCLAIM")
        .arg(&name)
        .arg("corral")
        .arg(&holder)
        .arg(0)
        .arg(&id)
        .query_async(&mut conn)
        .await
        .expect("xclaim");
    assert_eq!(claimed.ids.len(), 1);
    assert_eq!(claimed.ids[0].id, id);
    assert!(get.poll().is_pending(), "reports, and sends DEAD_LETTER");
    crate::support::fence(&mut conn).await;
    assert!(get.poll().is_pending(), "nothing else to take");
    drop(get);
    let (stream, pending) = items(&name).await;
    assert_eq!(stream, std::slice::from_ref(&id), "still in the stream");
    assert_eq!(pending.len(), 1);
    assert_eq!((&pending[0].0, &pending[0].1), (&id, &holder));
    let dead = dead_letters(&mut conn, &name).await;
    assert_eq!(dead.ids.len(), 1, "only the bad payload was set aside");
    assert_ne!(
        dead.ids[0].get::<String>("id"),
        Some(id.clone()),
        "not set aside under its new holder"
    );
    // The report that it was moving is followed by one that says it was not moved after all.
    let about = reports_about(&reports, &id, &name);
    assert_eq!(about.len(), 2, "{about:?}");
    assert!(about[0].contains("moving it to"), "{about:?}");
    assert!(about[1].contains("was not moved"), "{about:?}");
}

#[tokio::test]
async fn a_stream_made_by_another_writer_is_consumed() {
    // A producer in another language only `XADD`s: the stream exists, the group does not.
    let name = key("foreign");
    let mut conn = connect(server()).await;
    let _: String = conn.xadd(&name, "*", &[("p", "41")]).await.expect("xadd");
    let queue = queue::<u32>(&name, 0).await;
    take_and_finish(&queue, 41).await;
    let _: String = conn.xadd(&name, "*", &[("p", "42")]).await.expect("xadd");
    take_and_finish(&queue, 42).await;
    queue.join().await.expect("join");
}

#[tokio::test]
async fn a_visibility_timeout_of_duration_max_never_takes_an_item_over() {
    let name = key("visibility-max");
    let mut conn = connect(server()).await;
    let a = unbounded_u32(&name, Duration::MAX).await;
    let b = queue_on(&conn, &name, Duration::MAX);
    a.put(0).await.expect("put");
    take_and_finish(&b, 0).await; // gets work (b has swept: its gets start with GET)
    a.put(7).await.expect("put");
    let held = a.get().await.expect("get");
    let id = held.id().to_owned();
    drop(held); // its consumer dies without `done`
    // Idle for an hour, far below "never": nobody takes it over.
    age(&name, &id, &consumer_of(&a)).await;
    finds_nothing(&mut conn, &b).await;
}

#[tokio::test]
async fn touch_is_false_once_a_clone_took_the_item_over() {
    // Clones of one queue (two workers of one process) share one consumer name.
    let name = key("touch-clone");
    let a = unbounded_u32(&name, Duration::from_secs(30)).await;
    let b = a.clone();
    a.put(1).await.expect("put");
    let first = a.get().await.expect("get");
    assert!(first.touch().await.expect("redis"), "ours");
    // Worker a runs past the visibility timeout: worker b takes the item over.
    age(&name, first.id(), &consumer_of(&a)).await;
    let second = take(&b).await;
    assert_eq!(first.id(), second.id(), "handed out again (at least once)");
    assert!(!first.touch().await.expect("redis"), "b holds it now");
    assert!(second.touch().await.expect("redis"), "b's own");
    // a finishes after all: the work is done, so the item is; b learns it and stops.
    first.done().await.expect("done");
    assert!(!second.touch().await.expect("redis"), "acknowledged");
    second.done().await.expect("a second done changes nothing");
    let (stream, pending) = items(&name).await;
    assert!(
        stream.is_empty() && pending.is_empty(),
        "{stream:?} {pending:?}"
    );
    a.join().await.expect("join");
}

#[tokio::test]
async fn after_shutdown_a_worker_holding_an_item_is_told_the_queue_is_drained() {
    // Code written once against `JobQueue`: a worker holds one delivery while it asks for the
    // next. After shutdown, the local `Queue` fails the second `get` (drained); so does Redis,
    // rather than handing the worker its own item again after the visibility timeout.
    async fn take_two<Q: JobQueue<u32>>(queue: &Q) -> (u32, Option<u32>) {
        assert!(queue.put(1).await.is_ok(), "put");
        assert!(queue.shutdown().await.is_ok(), "shutdown");
        let Ok(first) = queue.get().await else {
            panic!("what is left is handed out");
        };
        let second = tokio::time::timeout(Duration::from_secs(5), queue.get())
            .await
            .expect("get neither returned nor failed within 5 s (a hang guard)");
        (*first, second.ok().map(|delivery| *delivery))
    }
    let local = corral::queue::Queue::<u32>::unbounded();
    let on_local = take_two(&local).await;
    assert_eq!(on_local, (1, None));
    let name = key("shutdown-own");
    let redis = unbounded_u32(&name, Duration::from_secs(30)).await;
    assert_eq!(take_two(&redis).await, on_local, "same code, other backend");
}

#[tokio::test]
async fn after_shutdown_an_overdue_item_the_caller_holds_is_left_wherever_the_claim_scan_is() {
    // A review found `Shutdown` followed by an item: the claim scan's cursor had passed an
    // item the caller held past the visibility timeout, and `DRAINED` counted it as held.
    let name = key("shutdown-cursor");
    let queue = unbounded_u32(&name, Duration::from_secs(30)).await;
    for n in 1..=3 {
        queue.put(n).await.expect("put");
    }
    let a = take(&queue).await;
    let b = take(&queue).await;
    let c = take(&queue).await;
    let consumer = consumer_of(&queue);
    // b is overdue: the next get takes it over, and the scan's cursor moves on to c.
    age(&name, b.id(), &consumer).await;
    let b_again = take(&queue).await;
    assert_eq!(b_again.id(), b.id());
    queue.shutdown().await.expect("shutdown");
    // a is overdue too: left to hand out, as at any time, though its delivery still lives.
    age(&name, a.id(), &consumer).await;
    let again = tokio::time::timeout(Duration::from_secs(10), queue.get())
        .await
        .expect("get neither returned nor failed within 10 s (a hang guard)")
        .expect("an overdue item is left: the queue is not drained");
    assert_eq!(again.id(), a.id());
    drop((a, b, c, b_again, again));
}

#[tokio::test]
async fn after_shutdown_an_item_whose_delivery_was_dropped_still_counts() {
    let name = key("shutdown-dropped");
    let mut conn = connect(server()).await;
    let queue = queue_on(&conn, &name, Duration::from_secs(30));
    queue.put(0).await.expect("put");
    take_and_finish(&queue, 0).await; // it has swept: its gets start with GET
    queue.put(1).await.expect("put");
    queue.shutdown().await.expect("shutdown");
    let held = queue.get().await.expect("what is left");
    let id = held.id().to_owned();
    // While `held` lives, a get is told the queue is drained, also on a clone (another
    // worker under the same consumer name) ...
    assert!(matches!(queue.get().await, Err(Error::Shutdown)));
    assert!(matches!(queue.clone().get().await, Err(Error::Shutdown)));
    assert!(
        held.touch().await.expect("redis"),
        "still pending, and held"
    );
    drop(held); // ... dropped without done, the item is left to hand out again
    finds_nothing(&mut conn, &queue).await;
    age(&name, &id, &consumer_of(&queue)).await;
    let again = take(&queue).await;
    assert_eq!((again.id(), *again), (id.as_str(), 1));
    again.done().await.expect("done");
    assert!(matches!(queue.get().await, Err(Error::Shutdown)));
}

#[tokio::test]
async fn after_shutdown_workers_in_two_processes_holding_items_are_both_told_it_is_drained() {
    // A second audit found two workers (two `RedisQueue` values, as in two processes), each
    // holding an item and asking for the next after shutdown, each counting the other's item
    // as left: both waited a visibility timeout, then each took the other's live item over
    // (both items handed out twice). The local `Queue` fails both at once; so does Redis now.
    let name = key("shutdown-two-holders");
    let visibility = Duration::from_secs(30);
    let a = unbounded_u32(&name, visibility).await;
    let b = unbounded_u32(&name, visibility).await;
    a.put(1).await.expect("put");
    a.put(2).await.expect("put");
    let held_a = take(&a).await;
    let held_b = take(&b).await;
    a.shutdown().await.expect("shutdown");
    let (next_a, next_b) = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(a.get(), b.get())
    })
    .await
    .expect("both gets returned at once (a hang guard; the bug waited 30 s)");
    assert!(
        matches!(next_a, Err(Error::Shutdown)),
        "{:?}",
        next_a.map(|d| *d)
    );
    assert!(
        matches!(next_b, Err(Error::Shutdown)),
        "{:?}",
        next_b.map(|d| *d)
    );
    // Each item is still with its holder, delivered once, and is finished by it.
    let (_, pending) = items(&name).await;
    assert_eq!(pending.len(), 2);
    for (id, consumer, _, deliveries) in &pending {
        let holder = if id == held_a.id() { &a } else { &b };
        assert_eq!(consumer, &consumer_of(holder), "{id}");
        assert_eq!(*deliveries, 1, "{id}");
    }
    assert!(
        held_a.touch().await.expect("redis"),
        "a still holds its item"
    );
    assert!(
        held_b.touch().await.expect("redis"),
        "b still holds its item"
    );
    held_a.done().await.expect("done");
    held_b.done().await.expect("done");
    a.join().await.expect("join");
}

// A third review found that a finisher with empty hands (the `finish` pattern of
// `JobQueue::shutdown`) got `Shutdown` at once while another process held an item, so when
// that holder died after the shutdown nobody took its item over and `join` waited forever.
// A `get` with empty hands now waits while anyone holds an item, as before the shutdown.

/// Polls `get`, a `get` after shutdown whose requests go out on `conn`'s connection by a
/// consumer holding nothing while another holds an item, and checks it still waits after the
/// replies to its first request (`GET`, which found nothing to take) and to whatever it sent
/// next: it neither was told the queue is drained (as it was when it judged the other's item
/// not left, after a second round trip) nor returned an item. Deterministic: no timer decides
/// it. Returns it, to drop or poll on.
async fn waits_with_empty_hands<F: std::future::Future>(
    conn: &redis::aio::ConnectionManager,
    get: F,
) -> tokio_test::task::Spawn<F> {
    let mut conn = conn.clone();
    let mut task = still_waits_after_its_reply(&mut conn, get).await;
    crate::support::fence(&mut conn).await;
    assert!(
        task.poll().is_pending(),
        "a get with empty hands waits while another consumer holds an item"
    );
    task
}

#[tokio::test]
async fn after_shutdown_a_finisher_with_empty_hands_recovers_a_dead_holders_item() {
    let name = key("review-finish");
    let visibility = Duration::from_millis(300);
    let worker = unbounded_u32(&name, visibility).await;
    let finisher = unbounded_u32(&name, visibility).await;
    finisher.put(1).await.expect("put");
    let held = worker.get().await.expect("get");
    finisher.shutdown().await.expect("shutdown");
    std::mem::forget(held); // the worker's process dies holding it (no done, no drop)
    drop(worker);
    // A hang guard: the item comes back after one visibility timeout.
    let drained = tokio::time::timeout(visibility * 10, async {
        let mut left = Vec::new();
        while let Ok(job) = finisher.get().await {
            left.push(*job);
            job.done().await.expect("done");
        }
        finisher.join().await.expect("join");
        left
    })
    .await
    .expect("the finisher took the dead holder's item over and join returned");
    assert_eq!(drained, [1], "the dead holder's item, processed once");
}

#[tokio::test]
async fn after_shutdown_a_finisher_with_empty_hands_waits_for_a_live_holder() {
    // The live holder finishes its item: the finisher, which waited, is then told the queue
    // is drained, without taking the item (its visibility timeout is never reached).
    let name = key("finish-live");
    let conn = connect(server()).await;
    let worker = unbounded_u32(&name, Duration::from_secs(30)).await;
    let finisher = queue_on(&conn, &name, Duration::from_secs(30));
    finisher.put(0).await.expect("put");
    take_and_finish(&finisher, 0).await; // the finisher has swept: its gets start with GET
    finisher.put(1).await.expect("put");
    let held = take(&worker).await;
    finisher.shutdown().await.expect("shutdown");
    let mut waiting = waits_with_empty_hands(&conn, finisher.get()).await;
    held.done().await.expect("done");
    let end = tokio::time::timeout(Duration::from_secs(5), &mut waiting)
        .await
        .expect("a hang guard");
    assert!(matches!(end, Err(Error::Shutdown)), "{:?}", end.map(|d| *d));
    finisher.join().await.expect("join");
}
