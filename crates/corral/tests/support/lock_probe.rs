//! [`LockProbe`]: a waker that tells whether it was dropped under a lock (shared by the test
//! binaries that check "no waker is dropped while a corral lock is held"; each uses part of it).
#![allow(dead_code)]

use std::time::Duration;

/// A waker that checks, when its last clone is dropped, whether the primitive's lock is
/// free at that moment: `probe` (which takes that lock) runs on another thread, and if it
/// cannot finish within a few seconds the waker was dropped under the lock. Dropping a waker
/// may free a task, so corral drops wakers only after unlocking.
pub(crate) struct LockProbe {
    probe: std::sync::Arc<dyn Fn() + Send + Sync>,
    dropped_under_lock: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LockProbe {
    /// A waker that runs `probe` when dropped, and the flag it raises if `probe` was blocked.
    pub(crate) fn waker(
        probe: impl Fn() + Send + Sync + 'static,
    ) -> (
        std::task::Waker,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe = LockProbe {
            probe: std::sync::Arc::new(probe),
            dropped_under_lock: flag.clone(),
        };
        (std::task::Waker::from(std::sync::Arc::new(probe)), flag)
    }
}

impl std::task::Wake for LockProbe {
    fn wake(self: std::sync::Arc<Self>) {}
}

impl Drop for LockProbe {
    fn drop(&mut self) {
        if blocked(&self.probe) {
            self.dropped_under_lock
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Runs `probe` (which takes a lock) on another thread; whether it could not finish within a
/// few seconds, because this thread holds that lock.
fn blocked(probe: &std::sync::Arc<dyn Fn() + Send + Sync>) -> bool {
    let (done, finished) = std::sync::mpsc::channel();
    let probe = probe.clone();
    std::thread::spawn(move || {
        probe();
        let _ = done.send(());
    });
    finished.recv_timeout(Duration::from_secs(5)).is_err()
}

/// Checks both ways a waiting future lets go of a stored waker, with `probe` (which takes the
/// primitive's lock) run when that waker is dropped: polled again with another waker (the old
/// one is replaced), and dropped while it waits (its waker leaves with it). Each must drop the
/// waker after the lock is released. `waiting` must stay pending on every poll here.
pub(crate) fn assert_wakers_let_go_unlocked(
    waiting: impl std::future::Future,
    probe: impl Fn() + Clone + Send + Sync + 'static,
) {
    use std::sync::atomic::Ordering::SeqCst;
    use std::task::{Context, Waker};

    let mut waiting = Box::pin(waiting);
    let (waker, dropped_under_lock) = LockProbe::waker(probe.clone());
    assert!(
        waiting
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(waker);
    assert!(
        waiting
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    assert!(
        !dropped_under_lock.load(SeqCst),
        "a replaced waker was dropped under the lock"
    );

    let (waker, dropped_under_lock) = LockProbe::waker(probe);
    assert!(
        waiting
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(waker);
    drop(waiting);
    assert!(
        !dropped_under_lock.load(SeqCst),
        "a leaving waiter's waker was dropped under the lock"
    );
}

/// Formats `value` with `{:?}` into a writer that runs `probe` (which takes the value's lock)
/// on another thread at each write, and returns whether any write found that lock held: the
/// formatter is the caller's code, and no caller code runs under a corral lock.
pub(crate) fn debug_formats_under_lock(
    value: &dyn std::fmt::Debug,
    probe: impl Fn() + Send + Sync + 'static,
) -> bool {
    struct Probing {
        probe: std::sync::Arc<dyn Fn() + Send + Sync>,
        under_lock: bool,
    }

    impl std::fmt::Write for Probing {
        fn write_str(&mut self, _: &str) -> std::fmt::Result {
            self.under_lock |= blocked(&self.probe);
            Ok(())
        }
    }

    let mut writer = Probing {
        probe: std::sync::Arc::new(probe),
        under_lock: false,
    };
    std::fmt::write(&mut writer, format_args!("{value:?}")).expect("the writer never fails");
    writer.under_lock
}
