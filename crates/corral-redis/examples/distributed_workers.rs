//! Several worker processes draining one Redis job queue, under one shared rate limit.
//!
//! Run with `cargo run -p corral-redis --example distributed_workers` (needs `redis-server` on
//! `PATH`). The example starts its own `redis-server` on a free port, re-invokes its own binary
//! as three worker processes, puts 20 jobs, waits with `join` until every job has been
//! acknowledged by some process, then shuts the queue down and stops the server.
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use corral_redis::test_server::TestServer;
use corral_redis::{Error, RedisQueue, RedisRateLimiter};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Serialize, Deserialize)]
struct Job {
    n: u32,
    text: String,
}

const QUEUE: &str = "example:jobs";
const WORKERS: usize = 3;
const JOBS: u32 = 20;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("worker") => {
            let url = args.get(2).ok_or("worker: missing the redis url")?;
            let name = args.get(3).ok_or("worker: missing the worker name")?;
            worker(url, name).await
        }
        _ => producer().await,
    }
}

async fn connect(url: &str) -> Result<ConnectionManager, BoxError> {
    Ok(ConnectionManager::new(redis::Client::open(url)?).await?)
}

async fn producer() -> Result<(), BoxError> {
    let server = TestServer::start()?;
    let url = server.url();
    println!("redis-server on {url}");
    let queue = RedisQueue::<Job>::bounded(connect(&url).await?, QUEUE, 8)?;

    let exe = std::env::current_exe()?;
    let mut workers = Vec::new();
    for i in 0..WORKERS {
        let name = format!("worker-{i}");
        workers.push(
            Command::new(&exe)
                .args(["worker", &url, &name])
                .stdout(Stdio::piped())
                .spawn()?,
        );
    }

    for n in 0..JOBS {
        // A bounded queue: `put` waits while 8 jobs wait to be taken.
        queue
            .put(Job {
                n,
                text: format!("job {n}"),
            })
            .await?;
    }
    queue.join().await?;
    println!("join: all {JOBS} jobs were acknowledged");
    queue.shutdown().await?;

    // Who processed what: each worker prints one line per job.
    let mut by_worker: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for worker in workers {
        let output = worker.wait_with_output()?;
        if !output.status.success() {
            return Err(format!("a worker failed: {}", output.status).into());
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some((name, n)) = line.split_once(" processed ") {
                by_worker
                    .entry(name.to_owned())
                    .or_default()
                    .push(n.parse()?);
            }
        }
    }
    let mut all: Vec<u32> = Vec::new();
    for (name, jobs) in &by_worker {
        println!("{name} processed {jobs:?}");
        all.extend(jobs);
    }
    all.sort_unstable();
    let expected: Vec<u32> = (0..JOBS).collect();
    if all != expected {
        return Err(format!("jobs processed {all:?}, expected each of 0..{JOBS} once").into());
    }
    println!(
        "every job was processed exactly once across {} workers",
        by_worker.len()
    );
    server.stop();
    Ok(())
}

async fn worker(url: &str, name: &str) -> Result<(), BoxError> {
    let conn = connect(url).await?;
    let queue = RedisQueue::<Job>::unbounded(conn.clone(), QUEUE);
    // One rate shared by every worker process: 100 jobs a second, 5 at once.
    let limit = RedisRateLimiter::builder(conn, "example:rate")
        .rate(100, Duration::from_secs(1))
        .burst(5)
        .build()?;
    loop {
        let job = match queue.get().await {
            Ok(job) => job,
            Err(Error::Shutdown) => return Ok(()),
            Err(error) => return Err(error.into()),
        };
        limit.acquire().await?;
        println!("{name} processed {}", job.n);
        job.done().await?;
    }
}
