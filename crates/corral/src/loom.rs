//! The atomics and locks of corral's own synchronisation, swapped for loom's when the crate is
//! built with `--cfg corral_loom`, so the loom models (`#[cfg(corral_loom)]` tests next to each
//! primitive) explore every interleaving of them.
//!
//! Only state that corral synchronises itself goes through here; what sits on Tokio's
//! primitives (`Notify`, `Mutex`, `Semaphore`) is Tokio's to model. Under `corral_loom` only
//! the models run: loom's types panic when used outside `loom::model`.
//!
//! Run the models with
//! `RUSTFLAGS="--cfg corral_loom" cargo test -p corral --lib --release loom`
//! (`.ci/run` does, with a bound on preemptions).

#[cfg(not(corral_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
};

#[cfg(corral_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
};
