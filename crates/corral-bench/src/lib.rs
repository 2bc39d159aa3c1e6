//! corral's benchmarks live in `benches/`, one criterion target per workload; this library is
//! empty. They are a package of their own so that corral and Tokio build as in a user's
//! program: corral's dev-dependencies enable Tokio's `test-util`, whose clock takes a mutex on
//! every `Instant::now()`, which no production build pays.
//!
//! Run them with `bench/compare.sh` (the table against the anchors and asyncio) or
//! `cargo bench -p corral-bench --bench <workload>`.
