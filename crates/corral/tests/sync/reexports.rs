//! The re-exports of Tokio's and tokio-util's primitives resolve and are the real thing.

use std::sync::Arc;

use corral::sync::{
    CancellationToken, Mutex, Notify, OwnedSemaphorePermit, RwLock, Semaphore, TryAcquireError,
    TryLockError,
};

#[tokio::test(start_paused = true)]
async fn tokio_primitives_are_reexported() {
    let mutex = Mutex::new(1);
    let guard = mutex.lock().await;
    let err: TryLockError = mutex.try_lock().expect_err("locked");
    assert_eq!(err.to_string(), "operation would block");
    drop(guard);

    let lock = RwLock::new(0);
    *lock.write().await += 1;
    assert_eq!(*lock.read().await, 1);

    let semaphore = Arc::new(Semaphore::new(1));
    let permit: OwnedSemaphorePermit = semaphore.clone().try_acquire_owned().expect("free");
    assert_eq!(
        semaphore.try_acquire().err(),
        Some(TryAcquireError::NoPermits)
    );
    drop(permit);

    let notify = Notify::new();
    notify.notify_one();
    notify.notified().await; // the stored permit

    let token = CancellationToken::new();
    let child = token.child_token();
    token.cancel();
    child.cancelled().await;
}
