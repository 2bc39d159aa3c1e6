//! corral-redis against a real `redis-server` (started by `support::server`, one per binary).
mod support;

mod rate_limiter;
