//! corral-redis against hand-written loops of the same Redis commands on the same client, and
//! the local types beside them.
//!
//! `cargo bench -p corral-redis --bench redis_backend` (needs `redis-server` on `PATH`; the
//! bench starts its own on a free port). Naming as in `crates/corral-bench/benches/common`: group =
//! workload, function = `<impl>/<rt>`, parameter = ops per iteration.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use corral_redis::test_server::TestServer;
use corral_redis::{RedisQueue, RedisRateLimiter, RedisSemaphore};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use redis::aio::ConnectionManager;
use tokio::runtime::Runtime;

const N: u64 = 200;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

fn connect(rt: &Runtime, server: &TestServer) -> ConnectionManager {
    let client = redis::Client::open(server.url()).expect("url");
    rt.block_on(ConnectionManager::new(client))
        .expect("connect")
}

/// `put` N items, then `get` + `done` each: RedisQueue, the same commands by hand (XADD;
/// XREADGROUP COUNT 1; XACK + XDEL pipelined), and the local Queue.
fn queue_cycle(c: &mut Criterion, server: &TestServer) {
    let rt = runtime();
    let conn = connect(&rt, server);
    let mut group = c.benchmark_group("redis_queue_cycle");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    let queue = RedisQueue::<u64>::unbounded(conn.clone(), "bench:queue");
    group.bench_function(BenchmarkId::new("corral-redis/ct", N), |b| {
        b.to_async(&rt).iter(|| async {
            for n in 0..N {
                queue.put(n).await.expect("put");
            }
            for _ in 0..N {
                let job = queue.get().await.expect("get");
                black_box(*job);
                job.done().await.expect("done");
            }
        });
    });

    let mut hand = conn.clone();
    rt.block_on(async {
        let _: Result<(), _> = redis::cmd("XGROUP")
            .arg(&["CREATE", "bench:hand", "g", "0", "MKSTREAM"][..])
            .exec_async(&mut hand)
            .await;
    });
    group.bench_function(BenchmarkId::new("hand/ct", N), |b| {
        b.to_async(&rt).iter(|| {
            let mut conn = hand.clone();
            async move {
                for n in 0..N {
                    let payload = serde_json::to_string(&n).expect("json");
                    redis::cmd("XADD")
                        .arg(&["bench:hand", "*", "p"][..])
                        .arg(payload)
                        .exec_async(&mut conn)
                        .await
                        .expect("xadd");
                }
                for _ in 0..N {
                    let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
                        .arg(
                            &[
                                "GROUP",
                                "g",
                                "c",
                                "COUNT",
                                "1",
                                "STREAMS",
                                "bench:hand",
                                ">",
                            ][..],
                        )
                        .query_async(&mut conn)
                        .await
                        .expect("xreadgroup");
                    let entry = &reply.keys[0].ids[0];
                    let payload: String = entry.get("p").expect("p");
                    black_box(serde_json::from_str::<u64>(&payload).expect("json"));
                    redis::pipe()
                        .cmd("XACK")
                        .arg(&["bench:hand", "g", entry.id.as_str()][..])
                        .ignore()
                        .cmd("XDEL")
                        .arg(&["bench:hand", entry.id.as_str()][..])
                        .ignore()
                        .exec_async(&mut conn)
                        .await
                        .expect("ack");
                }
            }
        });
    });

    let local = corral::queue::Queue::unbounded();
    group.bench_function(BenchmarkId::new("local/ct", N), |b| {
        b.to_async(&rt).iter(|| async {
            for n in 0..N {
                local.put(n).await.expect("put");
            }
            for _ in 0..N {
                black_box(local.get().await.expect("get"));
                local.task_done().expect("task_done");
            }
        });
    });
    group.finish();
}

/// N acquires that never wait: RedisRateLimiter against one EVALSHA by hand of the same
/// script shape (the backlog and the time of the last grant in a hash; without corral's
/// reading of the earlier key formats).
fn rate_acquire(c: &mut Criterion, server: &TestServer) {
    let rt = runtime();
    let conn = connect(&rt, server);
    let mut group = c.benchmark_group("redis_rate_acquire");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    let limiter = RedisRateLimiter::builder(conn.clone(), "bench:rate")
        .rate(1_000_000_000, Duration::from_secs(1))
        .burst(1_000_000)
        .build()
        .expect("config");
    group.bench_function(BenchmarkId::new("corral-redis/ct", N), |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..N {
                limiter.acquire().await.expect("acquire");
            }
        });
    });

    let script = redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'ahead', 'at')
local ahead = tonumber(state[1]) or 0
local elapsed = now - (tonumber(state[2]) or now)
if elapsed < 0 then elapsed = 0 end
local backlog = ahead - elapsed
if backlog < 0 then backlog = 0 end
local new_ahead = backlog + tonumber(ARGV[1])
if new_ahead > tonumber(ARGV[2]) then return {0, 1} end
redis.call('HSET', KEYS[1], 'ahead', string.format('%.17g', new_ahead), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(new_ahead / 1000) + 1)
return {1, 0}
",
    );
    let mut hand = conn.clone();
    let sha: String = rt
        .block_on(script.prepare_invoke().load_async(&mut hand))
        .expect("load");
    group.bench_function(BenchmarkId::new("hand/ct", N), |b| {
        b.to_async(&rt).iter(|| {
            let mut conn = hand.clone();
            let sha = sha.clone();
            async move {
                for _ in 0..N {
                    let (ok, _): (i64, i64) = redis::cmd("EVALSHA")
                        .arg(&sha)
                        .arg(1)
                        .arg("bench:hand-rate")
                        .arg(0.001)
                        .arg(1e12)
                        .query_async(&mut conn)
                        .await
                        .expect("evalsha");
                    black_box(ok);
                }
            }
        });
    });
    group.finish();
}

/// N acquire + release cycles: RedisSemaphore against the local Semaphore.
fn semaphore_cycle(c: &mut Criterion, server: &TestServer) {
    let rt = runtime();
    let conn = connect(&rt, server);
    let mut group = c.benchmark_group("redis_semaphore_cycle");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let limit = RedisSemaphore::new(conn, "bench:sem", 4, Duration::from_secs(10)).expect("config");
    group.bench_function(BenchmarkId::new("corral-redis/ct", N), |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..N {
                let permit = limit.acquire().await.expect("acquire");
                black_box(permit.fence());
                permit.release().await.expect("release");
            }
        });
    });
    let local = corral::sync::Semaphore::new(4);
    group.bench_function(BenchmarkId::new("local/ct", N), |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..N {
                let permit = local.acquire().await.expect("acquire");
                black_box(&permit);
            }
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let server = match TestServer::start() {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    };
    queue_cycle(c, &server);
    rate_acquire(c, &server);
    semaphore_cycle(c, &server);
}

criterion_group!(group, benches);
criterion_main!(group);
