//! Pools: [`WorkerPool`], N workers that each submission gets its own result from, and
//! [`Pool`], a pool of reusable resources such as connections (the guides' `WorkerPool` and
//! `ConnectionPool`).
//!
//! # Choosing
//!
//! - Work to spread over a fixed number of workers, with backpressure and each caller awaiting
//!   its own result: [`WorkerPool`].
//! - Expensive things to create and reuse (connections, sessions, clients), at most N at once,
//!   each checked before it is handed out: [`Pool`].
//! - Only a limit on how many operations run at once, with nothing to reuse: a
//!   [`Semaphore`](crate::sync::Semaphore) is enough.
//!
//! # Why not deadpool
//!
//! [deadpool](https://docs.rs/deadpool) is the well-kept resource pool, and corral's benchmark
//! compares [`Pool`] against its `managed` pool. [`Pool`] follows its design: a [`Manager`]
//! with `create` and `recycle`, Tokio's `Semaphore` for the limit and for waiters served in
//! order, a guard that returns the object on drop. It is written here, in about 300 lines,
//! because corral wanted what deadpool's API does not give: a plain closure as the factory
//! ([`Pool::from_fn`]); timeouts that need no runtime chosen by a feature flag; a guard that can
//! [`discard`](PoolGuard::discard) or [`detach`](PoolGuard::detach) its object; and the crate's
//! own promises, tested here: no user code runs under a lock of the pool, a failed `create`
//! gives its slot back, and a dropped `acquire` leaves nothing behind.
//!

mod resource;
mod worker;

pub use resource::{AcquireError, FnManager, Manager, Pool, PoolGuard, Status};
pub use worker::{Builder, JobPanic, SubmitError, WorkerPool};
