//! The roles a re-invoked test binary plays as another process.
use std::time::Duration;

use corral_redis::RedisSemaphore;
use redis::AsyncCommands;

use crate::support::CHILD_ROLE;

/// A child process's body: `ChildProcess::spawn` runs it with `--ignored` and
/// `CORRAL_REDIS_CHILD` set (a plain `cargo test` neither runs nor counts it).
#[test]
#[ignore = "a child process's body: ChildProcess::spawn runs it with --ignored"]
fn child_process_entry() {
    let Ok(role) = std::env::var(CHILD_ROLE) else {
        return;
    };
    let url = std::env::var("CORRAL_REDIS_URL").expect("CORRAL_REDIS_URL");
    let key = std::env::var("CORRAL_REDIS_KEY").expect("CORRAL_REDIS_KEY");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async move {
        let client = redis::Client::open(url).expect("url");
        let conn = redis::aio::ConnectionManager::new(client)
            .await
            .expect("connect");
        match role.as_str() {
            "hold_permit" => hold_permit(conn, &key).await,
            "race_permits" => race_permits(conn, &key).await,
            "take_item" => crate::queue::take_item_and_hang(conn, &key).await,
            other => panic!("unknown child role {other}"),
        }
    });
}

/// The lease of the permit `hold_permit` takes, in ms.
pub(crate) const HOLD_PERMIT_LEASE_MS: u64 = 1_000;
/// The lease of the permit `hold_permit` takes.
pub(crate) const HOLD_PERMIT_LEASE: Duration = Duration::from_millis(HOLD_PERMIT_LEASE_MS);

/// Takes the only permit (lease [`HOLD_PERMIT_LEASE`]), says so, and hangs until killed.
async fn hold_permit(conn: redis::aio::ConnectionManager, key: &str) {
    let limit = RedisSemaphore::new(conn, key, 1, HOLD_PERMIT_LEASE).expect("config");
    let permit = limit.acquire().await.expect("acquire");
    println!("ACQUIRED {}", permit.fence());
    std::future::pending::<()>().await;
}

/// Races for 2 permits, counting holders in `{key}:inside`; records a violation if more than 2
/// are ever inside at once.
pub(crate) async fn race_permits(mut conn: redis::aio::ConnectionManager, key: &str) {
    let limit = RedisSemaphore::new(conn.clone(), key, 2, Duration::from_secs(5)).expect("config");
    let inside = format!("{key}:inside");
    for _ in 0..40 {
        let permit = limit.acquire().await.expect("acquire");
        let now: i64 = conn.incr(&inside, 1).await.expect("incr");
        if now > 2 {
            let _: () = conn
                .set(format!("{key}:violation"), now)
                .await
                .expect("set");
        }
        let _: () = conn.incr(format!("{key}:entries"), 1).await.expect("incr");
        let _: i64 = conn.decr(&inside, 1).await.expect("decr");
        permit.release().await.expect("release");
    }
    println!("DONE");
}
