//! The guides' `ConnectionPool`: at most N connections, created on demand, checked before
//! reuse (a broken one is replaced, never handed out), returned when the guard drops:
//! `async with pool.acquire() as conn` is `let conn = pool.acquire().await?`.
//!
//! Run: `cargo run --example connection_pool`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use corral::pool::{Manager, Pool};
use corral::task::{BoxError, TaskGroup};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// A simulated database connection.
#[derive(Debug)]
struct Connection {
    id: usize,
    healthy: bool,
}

impl Connection {
    async fn query(&mut self, sql: &str) -> Result<String, BoxError> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(format!("conn {} ran {sql:?}", self.id))
    }
}

/// Connects (30 ms each) and pings idle connections before reuse.
#[derive(Default)]
struct Database {
    connects: AtomicUsize,
}

impl Manager for Database {
    type Resource = Connection;
    type Error = BoxError;

    async fn create(&self) -> Result<Connection, BoxError> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let id = self.connects.fetch_add(1, Ordering::SeqCst);
        Ok(Connection { id, healthy: true })
    }

    async fn recycle(&self, conn: &mut Connection) -> Result<(), BoxError> {
        if conn.healthy {
            Ok(())
        } else {
            Err(format!("conn {} failed its ping", conn.id).into())
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let pool = Pool::new(Database::default(), 3);

    // 12 queries from 12 tasks share 3 connections.
    let start = Instant::now();
    let group = TaskGroup::new();
    let served = Arc::new(AtomicUsize::new(0));
    for i in 0..12 {
        let (pool, served) = (pool.clone(), served.clone());
        group.spawn(async move {
            let mut conn = pool.acquire().await?; // async with pool.acquire() as conn:
            conn.query(&format!("SELECT {i}")).await?;
            served.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    group.join().await?;
    let status = pool.status();
    let (served, created) = (
        served.load(Ordering::SeqCst),
        pool.manager().connects.load(Ordering::SeqCst),
    );
    ensure!(
        served == 12 && status.size == 3 && created == 3,
        "{served} queries, {} connections, {created} created: not 12 through 3",
        status.size
    );
    println!(
        "{served} queries through {} connections ({created} created) in {} ms",
        status.size,
        start.elapsed().as_millis()
    );

    // A connection that breaks is replaced, never handed out again.
    let mut conn = pool.acquire().await?;
    let broken = conn.id;
    conn.healthy = false;
    drop(conn);
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(pool.acquire().await?);
    }
    let ids: Vec<_> = conns.iter().map(|c| c.id).collect();
    ensure!(
        !ids.contains(&broken) && pool.manager().connects.load(Ordering::SeqCst) == 4,
        "conn {broken} broke, yet the pool hands out {ids:?}"
    );
    println!("conn {broken} broke; the pool now hands out {ids:?}");
    drop(conns);

    // With every connection taken, a bounded wait gives up.
    let held: Vec<_> = take_all(&pool).await?;
    let Err(late) = pool.acquire_timeout(Duration::from_millis(50)).await else {
        return Err("acquire_timeout got a connection from a pool whose every one is taken".into());
    };
    println!(
        "all {} connections in use: acquire_timeout(50 ms) -> {late}",
        held.len()
    );
    Ok(())
}

/// Takes every connection of the pool.
async fn take_all(
    pool: &Pool<Database>,
) -> Result<Vec<corral::pool::PoolGuard<Connection>>, BoxError> {
    let mut held = Vec::new();
    for _ in 0..pool.status().max_size {
        held.push(pool.acquire().await?);
    }
    Ok(held)
}
