//! Pins Send/Sync/Unpin of every public type and the Send of every future (generic code must be
//! able to spawn them), as `tokio/tests/async_send_sync.rs` does.
#![allow(dead_code)]

use corral_redis::{
    Ack, Error, RedisDelivery, RedisPermit, RedisQueue, RedisRateLimiter, RedisSemaphore,
};

fn send_sync<T: Send + Sync + Unpin>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn types_are_send_sync_unpin() {
    send_sync::<RedisQueue<String>>();
    send_sync::<RedisDelivery<String>>();
    send_sync::<Ack>();
    send_sync::<RedisRateLimiter>();
    send_sync::<RedisSemaphore>();
    send_sync::<RedisPermit>();
    send_sync::<Error>();
}

fn futures_are_send(
    queue: &RedisQueue<String>,
    delivery: RedisDelivery<String>,
    limiter: &RedisRateLimiter,
    semaphore: &RedisSemaphore,
    permit: RedisPermit,
) {
    send(&queue.put(String::new()));
    send(&queue.get());
    send(&queue.join());
    send(&queue.shutdown());
    send(&queue.unfinished());
    send(&delivery.done());
    send(&limiter.acquire());
    send(&limiter.acquire_n(2));
    send(&limiter.try_acquire());
    send(&semaphore.acquire());
    send(&semaphore.try_acquire());
    send(&permit.release());
}
