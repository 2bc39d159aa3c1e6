//! corral-redis against a real `redis-server` (started by `support::server`, one per binary).
mod support;

mod child;
mod queue;
mod rate_limiter;
mod semaphore;
