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

/// A lock-free single-waker slot: `futures`' `AtomicWaker`, or loom's model of it.
#[derive(Debug, Default)]
pub(crate) struct AtomicWaker {
    #[cfg(not(corral_loom))]
    inner: futures_util::task::AtomicWaker,
    #[cfg(corral_loom)]
    inner: loom::future::AtomicWaker,
}

impl AtomicWaker {
    /// Stores `waker` for the next [`wake`](Self::wake); a `wake` racing the store wakes it.
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        #[cfg(not(corral_loom))]
        self.inner.register(waker);
        #[cfg(corral_loom)]
        self.inner.register_by_ref(waker);
    }

    /// Wakes the stored waker, if any, and empties the slot.
    pub(crate) fn wake(&self) {
        self.inner.wake();
    }

    /// Empties the slot, returning the waker it held (to be dropped outside any lock).
    pub(crate) fn take(&self) -> Option<std::task::Waker> {
        #[cfg(not(corral_loom))]
        return self.inner.take();
        #[cfg(corral_loom)]
        return self.inner.take_waker();
    }
}
