//! [`Spawner`]: spawns into a group without keeping it alive.

use std::fmt;
use std::future::Future;
use std::sync::Weak;

use tokio_util::sync::CancellationToken;

use super::core::Core;
use super::error::BoxError;
use super::handle::Task;

/// A cheap, clonable handle that spawns into a [`TaskGroup`](crate::task::TaskGroup), for children that spawn their
/// siblings.
///
/// A `Spawner` holds its group weakly: a child holding one does not keep its group alive, so
/// dropping the `TaskGroup` still aborts everything. Spawning through a `Spawner` whose group is
/// gone, cancelling or finished drops the future unpolled and returns a cancelled [`Task`].
///
/// # Examples
///
/// A crawler whose tasks discover more work:
///
/// ```
/// use corral::task::{BoxError, Spawner, TaskGroup};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// fn visit(spawner: Spawner, depth: u32, seen: Arc<AtomicUsize>) {
///     let next = spawner.clone();
///     spawner.spawn(async move {
///         seen.fetch_add(1, Ordering::Relaxed);
///         if depth > 0 {
///             visit(next.clone(), depth - 1, seen.clone());
///             visit(next, depth - 1, seen);
///         }
///         Ok(())
///     });
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let seen = Arc::new(AtomicUsize::new(0));
/// let group: TaskGroup<BoxError> = TaskGroup::new();
/// visit(group.spawner(), 3, seen.clone());
/// group.join().await?;
/// assert_eq!(seen.load(Ordering::Relaxed), 15); // 1 + 2 + 4 + 8
/// # Ok(())
/// # }
/// ```
pub struct Spawner<E = BoxError> {
    core: Weak<Core<E>>,
}

impl<E> Spawner<E> {
    pub(super) fn new(core: Weak<Core<E>>) -> Self {
        Self { core }
    }
}

impl<E: Send + 'static> Spawner<E> {
    /// Spawns `future` into the group, like [`TaskGroup::spawn`](crate::task::TaskGroup::spawn); if the group is gone,
    /// cancelling or finished, drops `future` unpolled and returns a cancelled task.
    ///
    /// # Panics
    ///
    /// Panics if called outside a Tokio runtime while the group accepts tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let spawner = group.spawner();
    /// group.join().await?;
    /// let late = spawner.spawn(async { Ok(1) });
    /// // the group is gone
    /// assert!(matches!(late.await, Err(error) if error.is_cancelled()));
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        match self.core.upgrade() {
            Some(core) => core.spawn(future),
            None => Task::refused(),
        }
    }

    /// The group's cancellation token, or `None` if the group is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::task::{BoxError, TaskGroup};
    ///
    /// let group: TaskGroup<BoxError> = TaskGroup::new();
    /// let spawner = group.spawner();
    /// assert!(spawner.token().is_some());
    /// drop(group);
    /// assert!(spawner.token().is_none());
    /// ```
    pub fn token(&self) -> Option<CancellationToken> {
        self.core.upgrade().map(|core| core.token.clone())
    }
}

impl<E> Clone for Spawner<E> {
    fn clone(&self) -> Self {
        Self {
            core: self.core.clone(),
        }
    }
}

impl<E> fmt::Debug for Spawner<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("group_alive", &(self.core.strong_count() > 0))
            .finish()
    }
}
