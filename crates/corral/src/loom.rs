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

    /// Empties the slot, returning the waker it held (to be dropped outside any lock).
    pub(crate) fn take(&self) -> Option<std::task::Waker> {
        #[cfg(not(corral_loom))]
        return self.inner.take();
        #[cfg(corral_loom)]
        return self.inner.take_waker();
    }
}

/// Tokio's `Notify`, for the `notify_waiters`/`notified` pair, made visible to loom.
///
/// Loom cannot see into Tokio's `Notify`, so it does not know the happens-before Tokio
/// promises: a `Notified` created after a `notify_waiters` observes every write made before
/// that call (and one created before it is woken by it). Under `corral_loom` a loom counter
/// stands for the `Notify`'s state: `notify_waiters` bumps it just before notifying and
/// `notified` reads it (a read-modify-write, so always the latest value) just before
/// registering, and again when the `Notified` completes (a wake-up orders the notifier's
/// writes before the woken task's reads). Nothing of loom's runs between each counter step
/// and the Tokio call after it, so loom orders the counter steps exactly as the Tokio calls
/// are ordered, and learns the happens-before. Outside `corral_loom` it is Tokio's `Notify`
/// and nothing else.
#[derive(Debug)]
pub(crate) struct Notify {
    inner: tokio::sync::Notify,
    #[cfg(corral_loom)]
    calls: AtomicUsize,
}

impl Notify {
    #[cfg(not(corral_loom))]
    pub(crate) const fn const_new() -> Self {
        Self {
            inner: tokio::sync::Notify::const_new(),
        }
    }

    /// Loom's atomics have no `const` constructor.
    #[cfg(corral_loom)]
    pub(crate) fn const_new() -> Self {
        Self {
            inner: tokio::sync::Notify::new(),
            calls: AtomicUsize::new(0),
        }
    }

    /// Tokio's `Notify::notified`: the returned future observes every later `notify_waiters`.
    #[cfg(not(corral_loom))]
    #[inline]
    pub(crate) fn notified(&self) -> Notified<'_> {
        self.inner.notified()
    }

    /// Tokio's `Notify::notified`: the returned future observes every later `notify_waiters`.
    #[cfg(corral_loom)]
    pub(crate) fn notified(&self) -> Notified<'_> {
        self.calls.fetch_add(0, Ordering::AcqRel);
        Notified {
            inner: self.inner.notified(),
            calls: &self.calls,
        }
    }

    /// Tokio's `Notify::notify_waiters`: wakes every `Notified` created before the call.
    #[inline]
    pub(crate) fn notify_waiters(&self) {
        #[cfg(corral_loom)]
        self.calls.fetch_add(1, Ordering::AcqRel);
        self.inner.notify_waiters();
    }
}

/// Tokio's `Notified`, the future [`Notify::notified`] returns.
#[cfg(not(corral_loom))]
pub(crate) type Notified<'a> = tokio::sync::futures::Notified<'a>;

#[cfg(corral_loom)]
pin_project_lite::pin_project! {
    /// Tokio's `Notified`, which reads the loom counter of its [`Notify`] when it completes.
    pub(crate) struct Notified<'a> {
        #[pin]
        inner: tokio::sync::futures::Notified<'a>,
        calls: &'a AtomicUsize,
    }
}

#[cfg(corral_loom)]
impl std::future::Future for Notified<'_> {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let this = self.project();
        if this.inner.poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        this.calls.fetch_add(0, Ordering::AcqRel);
        std::task::Poll::Ready(())
    }
}
