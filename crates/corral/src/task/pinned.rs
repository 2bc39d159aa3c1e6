//! Storage for a gather's futures: pinned in place, sixteen to an allocation, and a queue of
//! the ones woken, for when they are polled by wake-up.
//!
//! # Why by hand
//!
//! A future that is not `Unpin` must be pinned before it is polled, and must not move after.
//! The usual safe ways pin each future in an allocation of its own: `Box::pin`, or the task
//! node of a `FuturesUnordered` (an `Arc` per future). That allocation and its free were most
//! of what `gather` cost beyond awaiting the futures one by one (on 100,000 task handles,
//! 3,042 instructions per handle against 2,630 for the same handles stored unboxed, nearly all
//! of it in `malloc` and `free`). Pinning a slice in one allocation needs `unsafe` to project
//! the pin onto its elements, which corral does not write; but `pin-project-lite` projects a
//! pin onto the *named fields* of a struct safely, so a [`Block`] is a struct of sixteen
//! fields, each an `Option<F>` that is pinned with the block. Sixteen futures then cost one
//! allocation; the few left over (fewer than sixteen) are boxed one by one, so a small gather
//! of large futures allocates no slot it does not fill.
//!
//! Polling by wake-up (see `Futures` in `gather.rs`) needs to know *which* future was woken,
//! and a future cannot move into a `FuturesUnordered` once it is pinned here. So each future
//! polled that way gets a [`Waker`] of its own ([`SlotWaker`]) that puts its index on a
//! [`ReadyQueue`] and wakes the gather.

use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Wake, Waker};

use pin_project_lite::pin_project;

use crate::loom::Mutex;

/// How many futures share one allocation.
pub(super) const BLOCK: usize = 16;

macro_rules! block {
    ($($field:ident $position:literal)*) => {
        pin_project! {
            /// Sixteen futures pinned in one allocation: a named field each, so that the pin
            /// projects onto them safely.
            pub(super) struct Block<F> {
                $(#[pin] $field: Option<F>,)*
            }
        }

        impl<F> Block<F> {
            /// The next sixteen futures of `futures`: a block if there were as many, or
            /// those there were.
            fn new(futures: &mut impl Iterator<Item = F>) -> Result<Self, Vec<F>> {
                let block = Self { $($field: futures.next(),)* };
                if block.f15.is_some() {
                    return Ok(block);
                }
                // The iterator ended (it is fused: every slot after its end is empty).
                Err([$(block.$field),*].into_iter().flatten().collect())
            }

            /// The slot at `position` (`0..BLOCK`).
            fn slot(self: Pin<&mut Self>, position: usize) -> Pin<&mut Option<F>> {
                let this = self.project();
                match position {
                    $($position => this.$field,)*
                    _ => this.f15,
                }
            }
        }
    };
}

block!(f0 0 f1 1 f2 2 f3 3 f4 4 f5 5 f6 6 f7 7 f8 8 f9 9 f10 10 f11 11 f12 12 f13 13 f14 14 f15 15);

/// Where a gather keeps its futures: a slot each, by position in the input, that pins it.
pub(super) trait Slots {
    type Future;

    /// The slot of the future at `index`: `None` once it has been emptied.
    fn slot(&mut self, index: usize) -> Pin<&mut Option<Self::Future>>;

    /// Drops every future.
    fn clear(&mut self);
}

/// `Unpin` futures (task handles), which need no pinning: stored as they are, in one `Vec`.
pub(super) struct Unpinned<F>(Vec<Option<F>>);

impl<F> Unpinned<F> {
    /// Stores every future of `futures`.
    pub(super) fn new<I: IntoIterator<Item = F>>(futures: I) -> (Self, usize) {
        let slots: Vec<Option<F>> = futures.into_iter().map(Some).collect();
        let len = slots.len();
        (Self(slots), len)
    }
}

impl<F: Unpin> Slots for Unpinned<F> {
    type Future = F;

    #[inline]
    fn slot(&mut self, index: usize) -> Pin<&mut Option<F>> {
        Pin::new(&mut self.0[index])
    }

    fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

/// A gather's futures, pinned where they are stored, addressed by their position in the input.
pub(super) struct Pinned<F> {
    blocks: Vec<Pin<Box<Block<F>>>>,
    /// The last `len % BLOCK` futures, one box each.
    rest: Vec<Pin<Box<Option<F>>>>,
}

impl<F> Pinned<F> {
    /// Pins every future of `futures`, and says how many there were.
    pub(super) fn new<I: IntoIterator<Item = F>>(futures: I) -> (Self, usize) {
        let mut futures = futures.into_iter();
        let mut blocks = Vec::with_capacity(futures.size_hint().0 / BLOCK);
        // Sixteen at a time into a block, while the iterator has sixteen more; the rest
        // boxed one by one, so the iterator's end never leaves a block part empty.
        let rest = loop {
            match Block::new(&mut futures.by_ref().fuse()) {
                Ok(block) => blocks.push(Box::pin(block)),
                Err(rest) => break rest,
            }
        };
        let len = blocks.len() * BLOCK + rest.len();
        let rest = rest
            .into_iter()
            .map(|future| Box::pin(Some(future)))
            .collect();
        (Self { blocks, rest }, len)
    }
}

impl<F> Slots for Pinned<F> {
    type Future = F;

    #[inline]
    fn slot(&mut self, index: usize) -> Pin<&mut Option<F>> {
        let in_blocks = self.blocks.len() * BLOCK;
        if index < in_blocks {
            self.blocks[index / BLOCK].as_mut().slot(index % BLOCK)
        } else {
            self.rest[index - in_blocks].as_mut()
        }
    }

    fn clear(&mut self) {
        self.blocks = Vec::new();
        self.rest = Vec::new();
    }
}

/// The futures woken since the gather last looked, in the order they woke, each once.
#[derive(Debug)]
pub(super) struct ReadyQueue {
    state: Mutex<Ready>,
}

#[derive(Debug)]
struct Ready {
    woken: Vec<usize>,
    /// Whether each future is in `woken` (so a future woken twice is polled once).
    queued: Vec<bool>,
    /// The gather's waker, taken by the first wake after the gather looked.
    waker: Option<Waker>,
}

impl ReadyQueue {
    /// A queue for `len` futures, holding `woken` (every future must be polled once by
    /// wake-up to get its own waker).
    pub(super) fn new(len: usize, woken: Vec<usize>) -> Self {
        let mut queued = vec![false; len];
        for &index in &woken {
            queued[index] = true;
        }
        Self {
            state: Mutex::new(Ready {
                woken,
                queued,
                waker: None,
            }),
        }
    }

    fn lock(&self) -> crate::loom::MutexGuard<'_, Ready> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Future `index` was woken: queues it, and wakes the gather if this is the first wake
    /// since it last looked. The gather's waker is woken (and dropped) after the lock is
    /// released.
    pub(super) fn wake(&self, index: usize) {
        let waker = {
            let mut ready = self.lock();
            match ready.queued.get_mut(index) {
                Some(queued) if !*queued => *queued = true,
                _ => return,
            }
            ready.woken.push(index);
            ready.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Moves the futures woken so far into `into` (which must be empty), and leaves `waker`
    /// to be woken by the next wake. A wake that races this one is either in `into` or wakes
    /// `waker`.
    pub(super) fn take(&self, waker: &Waker, into: &mut Vec<usize>) {
        // Caller code (a waker's clone and drop) never runs under the lock.
        let waker = Some(waker.clone());
        let replaced = {
            let mut ready = self.lock();
            std::mem::swap(&mut ready.woken, into);
            for &index in into.iter() {
                if let Some(queued) = ready.queued.get_mut(index) {
                    *queued = false;
                }
            }
            std::mem::replace(&mut ready.waker, waker)
        };
        drop(replaced);
    }

    /// Puts back futures taken but not polled (the gather yielded first), in front.
    pub(super) fn put_back(&self, indices: &[usize]) {
        let mut ready = self.lock();
        let mut woken = Vec::with_capacity(indices.len() + ready.woken.len());
        for &index in indices {
            if let Some(queued) = ready.queued.get_mut(index)
                && !*queued
            {
                *queued = true;
                woken.push(index);
            }
        }
        woken.append(&mut ready.woken);
        ready.woken = woken;
    }
}

/// The waker of one future polled by wake-up: queues its index.
pub(super) struct SlotWaker {
    pub(super) index: usize,
    pub(super) queue: std::sync::Arc<ReadyQueue>,
}

impl Wake for SlotWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.queue.wake(self.index);
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.queue.wake(self.index);
    }
}

/// Loom model of the ready queue: the gather taking the woken futures while other threads
/// wake them. What is modelled: the queue's lock and the steps under it. The gather's waker
/// is a flag.
#[cfg(all(test, corral_loom))]
mod loom_tests {
    use std::sync::Arc;

    use loom::thread;

    use super::*;
    use crate::loom::{AtomicBool, Ordering};

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// No wake is lost: a future woken while the gather takes the queue is either in what it
    /// took, or left in the queue with the waker that take registered woken; a future is never
    /// in one take twice, even when two threads wake it at once.
    #[test]
    fn loom_ready_queue_loses_no_wake() {
        loom::model(|| {
            let queue = Arc::new(ReadyQueue::new(2, Vec::new()));
            let flags = [(); 2].map(|()| Arc::new(Flag(AtomicBool::new(false))));
            let mut first = Vec::new();
            queue.take(&Waker::from(flags[0].clone()), &mut first);
            assert!(first.is_empty());
            let wakers: Vec<_> = [1, 1]
                .into_iter()
                .map(|index| {
                    let queue = queue.clone();
                    thread::spawn(move || queue.wake(index))
                })
                .collect();
            let mut during = Vec::new();
            queue.take(&Waker::from(flags[1].clone()), &mut during);
            for other in wakers {
                other.join().unwrap();
            }
            let woken = [0, 1].map(|i| flags[i].0.load(Ordering::SeqCst));
            let mut after = Vec::new();
            queue.take(&Waker::from(flags[0].clone()), &mut after);
            assert!(
                during.len() <= 1 && after.len() <= 1,
                "{during:?} {after:?}"
            );
            assert!(!during.is_empty() || !after.is_empty(), "the wake was lost");
            if !during.is_empty() {
                assert!(
                    woken[0],
                    "the wake before the second look woke the first waker"
                );
            }
            if !after.is_empty() {
                assert!(woken[1], "the wake after the second look woke its waker");
            }
        });
    }
}
