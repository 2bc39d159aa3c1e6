//! One trait over the three kinds of queue, so that a behaviour is written once and checked for
//! each, plus the item type the property and stress tests use.

use std::cmp::Ordering;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use corral::queue::{
    GetError, LifoQueue, LifoQueuePermit, OwnedLifoQueuePermit, OwnedPriorityQueuePermit,
    OwnedQueuePermit, PriorityQueue, PriorityQueuePermit, PutError, Queue, QueuePermit,
    TaskDoneError, TryGetError, TryPutError,
};
use futures::future::BoxFuture;

/// A permit of any kind of queue (`QueuePermit`, ...), boxed.
pub(crate) trait Permit<T>: Send + std::fmt::Debug {
    fn put(self: Box<Self>, item: T);
}

/// A boxed permit, as the kinds' `reserve` and `try_reserve` return it here.
pub(crate) type BoxPermit<'a, T> = Box<dyn Permit<T> + 'a>;

/// The API the three kinds share.
pub(crate) trait Kind<T: Ord + Send + 'static>: Clone + Send + Sync + 'static {
    const NAME: &'static str;
    fn bounded(maxsize: usize) -> Self;
    fn unbounded() -> Self;
    fn put(&self, item: T) -> impl Future<Output = Result<(), PutError<T>>> + Send + '_;
    fn try_put(&self, item: T) -> Result<(), TryPutError<T>>;
    fn get(&self) -> impl Future<Output = Result<T, GetError>> + Send + '_;
    fn try_get(&self) -> Result<T, TryGetError>;
    fn reserve(&self) -> impl Future<Output = Result<BoxPermit<'_, T>, PutError<()>>> + Send + '_;
    /// `reserve_owned` on a clone of the queue (`owned`), or `reserve`: the two forms that
    /// wait for a slot.
    fn reserve_either(&self, owned: bool) -> BoxFuture<'_, Result<BoxPermit<'_, T>, PutError<()>>>;
    fn try_reserve(&self) -> Result<BoxPermit<'_, T>, TryPutError<()>>;
    fn task_done(&self) -> Result<(), TaskDoneError>;
    fn join(&self) -> impl Future<Output = ()> + Send + '_;
    fn shutdown(&self);
    fn shutdown_immediate(&self) -> Vec<T>;
    fn into_stream(self) -> futures::stream::BoxStream<'static, T>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
    fn is_full(&self) -> bool;
    /// Takes out of `model` (items in arrival order) the item this kind gives next.
    fn model_pop(model: &mut Vec<T>) -> Option<T>;
}

macro_rules! impl_kind {
    ($ty:ident, $permit:ident, $owned:ident, $name:literal, |$model:ident| $pop:expr) => {
        impl<T: Ord + Send + 'static> Permit<T> for $permit<'_, T> {
            fn put(self: Box<Self>, item: T) {
                $permit::put(*self, item)
            }
        }

        impl<T: Ord + Send + 'static> Permit<T> for $owned<T> {
            fn put(self: Box<Self>, item: T) {
                drop($owned::put(*self, item)); // the queue handle it gives back
            }
        }

        impl<T: Ord + Send + 'static> Kind<T> for $ty<T> {
            const NAME: &'static str = $name;
            fn bounded(maxsize: usize) -> Self {
                $ty::bounded(maxsize)
            }
            fn unbounded() -> Self {
                $ty::unbounded()
            }
            fn put(&self, item: T) -> impl Future<Output = Result<(), PutError<T>>> + Send + '_ {
                $ty::put(self, item)
            }
            fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
                $ty::try_put(self, item)
            }
            fn get(&self) -> impl Future<Output = Result<T, GetError>> + Send + '_ {
                $ty::get(self)
            }
            fn try_get(&self) -> Result<T, TryGetError> {
                $ty::try_get(self)
            }
            fn reserve(
                &self,
            ) -> impl Future<Output = Result<BoxPermit<'_, T>, PutError<()>>> + Send + '_ {
                async move { Ok(Box::new($ty::reserve(self).await?) as BoxPermit<'_, T>) }
            }
            fn reserve_either(
                &self,
                owned: bool,
            ) -> BoxFuture<'_, Result<BoxPermit<'_, T>, PutError<()>>> {
                if owned {
                    let reserve = $ty::reserve_owned(self.clone());
                    Box::pin(async move { Ok(Box::new(reserve.await?) as BoxPermit<'_, T>) })
                } else {
                    Box::pin(Kind::reserve(self))
                }
            }
            fn try_reserve(&self) -> Result<BoxPermit<'_, T>, TryPutError<()>> {
                Ok(Box::new($ty::try_reserve(self)?))
            }
            fn task_done(&self) -> Result<(), TaskDoneError> {
                $ty::task_done(self)
            }
            fn join(&self) -> impl Future<Output = ()> + Send + '_ {
                $ty::join(self)
            }
            fn shutdown(&self) {
                $ty::shutdown(self)
            }
            fn shutdown_immediate(&self) -> Vec<T> {
                $ty::shutdown_immediate(self)
            }
            fn into_stream(self) -> futures::stream::BoxStream<'static, T> {
                Box::pin($ty::into_stream(self))
            }
            fn len(&self) -> usize {
                $ty::len(self)
            }
            fn is_empty(&self) -> bool {
                $ty::is_empty(self)
            }
            fn is_full(&self) -> bool {
                $ty::is_full(self)
            }
            fn model_pop($model: &mut Vec<T>) -> Option<T> {
                $pop
            }
        }
    };
}

impl_kind!(Queue, QueuePermit, OwnedQueuePermit, "Queue", |model| {
    (!model.is_empty()).then(|| model.remove(0))
});
impl_kind!(
    LifoQueue,
    LifoQueuePermit,
    OwnedLifoQueuePermit,
    "LifoQueue",
    |model| model.pop()
);
impl_kind!(
    PriorityQueue,
    PriorityQueuePermit,
    OwnedPriorityQueuePermit,
    "PriorityQueue",
    |model| {
        // The smallest, and the earliest put among equals (`min_by` keeps the first minimum).
        let index = model
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.cmp(b.1))
            .map(|(index, _)| index)?;
        Some(model.remove(index))
    }
);

/// An item whose order looks only at `key`, so that a priority queue meets equal items; `id`
/// tells them apart.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub(crate) key: u8,
    pub(crate) id: u32,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Item {}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// An item that counts its drops, to check that an item is dropped exactly when it should be.
#[derive(Debug)]
pub(crate) struct Tracked {
    pub(crate) id: u32,
    drops: Arc<AtomicUsize>,
}

impl Tracked {
    pub(crate) fn new(id: u32, drops: &Arc<AtomicUsize>) -> Self {
        Self {
            id,
            drops: Arc::clone(drops),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Tracked {}

impl PartialOrd for Tracked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tracked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}

/// Runs a generic test body once per kind of queue.
#[macro_export]
macro_rules! for_each_kind {
    ($(#[$attr:meta])* fn $name:ident<$q:ident>() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$attr])*
            fn check<$q: $crate::support::Kind<u32>>() $body

            #[test]
            fn queue() {
                check::<corral::queue::Queue<u32>>();
            }

            #[test]
            fn lifo_queue() {
                check::<corral::queue::LifoQueue<u32>>();
            }

            #[test]
            fn priority_queue() {
                check::<corral::queue::PriorityQueue<u32>>();
            }
        }
    };
}

pub(crate) use crate::seeds::{Guard as SeedGuard, seeds};
