//! Storage for a gather's futures: pinned in place, sixteen to an allocation, and a queue of
//! the ones woken, for when they are polled by wake-up.
//!
//! # Why by hand
//!
//! A future that is not `Unpin` must be pinned before it is polled, and must not move after.
//! The usual safe ways pin each future in an allocation of its own: `Box::pin`, or the task
//! node of a `FuturesUnordered` (an `Arc` per future). That allocation and its free were most
//! of what `gather` cost beyond awaiting the futures one by one (by callgrind, on 100,000 task
//! handles: 3,042 instructions per handle boxed against 2,630 stored unboxed, nearly all of the
//! difference in `malloc` and `free`; see `BENCHMARKS.md`). Pinning a slice in one allocation needs `unsafe` to project
//! the pin onto its elements, which corral does not write; but `pin-project-lite` projects a
//! pin onto the *named fields* of a struct safely, so a [`Block`] is a struct of sixteen
//! fields, each an `Option<F>` that is pinned with the block. Sixteen futures then cost one
//! allocation; the few left over (fewer than sixteen) are boxed one by one, so a small gather
//! allocates no slot it does not fill. Large futures are all boxed one by one (see
//! [`BLOCK_BYTES`]).
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
                // The iterator ended (the caller fused it: every slot after its end is empty).
                Err([$(block.$field),*].into_iter().flatten().collect())
            }

            /// The slot at `position` (`0..BLOCK`).
            fn slot(self: Pin<&mut Self>, position: usize) -> Pin<&mut Option<F>> {
                let this = self.project();
                debug_assert!(position < BLOCK);
                match position {
                    $($position => this.$field,)*
                    _ => this.f15,
                }
            }
        }
    };
}

block!(f0 0 f1 1 f2 2 f3 3 f4 4 f5 5 f6 6 f7 7 f8 8 f9 9 f10 10 f11 11 f12 12 f13 13 f14 14 f15 15);

/// Where a gather keeps its futures, by position in the input, pinned.
pub(super) trait Slots {
    type Future;

    /// The future at `index`; `None` once it finished.
    fn future(&mut self, index: usize) -> Option<Pin<&mut Self::Future>>;

    /// Drops the future at `index`, which finished.
    fn finish(&mut self, index: usize);

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
    fn future(&mut self, index: usize) -> Option<Pin<&mut F>> {
        self.0[index].as_mut().map(Pin::new)
    }

    fn finish(&mut self, index: usize) {
        self.0[index] = None;
    }

    fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

/// The largest block, in bytes: futures larger than `BLOCK_BYTES / BLOCK` are boxed one by
/// one. A block is built on the stack before it is moved into its allocation (and a debug
/// build keeps several copies in the frame), so sixteen large futures at once could overflow
/// a task's stack; and for a large future the allocation is a small part of its cost anyway.
const BLOCK_BYTES: usize = 4096;

/// A block in its own allocation.
type PinnedBlock<F> = Pin<Box<Block<F>>>;

/// A gather's futures, pinned where they are stored, addressed by their position in the input.
pub(super) struct Pinned<F> {
    blocks: Vec<PinnedBlock<F>>,
    /// The futures after the blocks: the last `len % BLOCK`, or all of them if they are large
    /// (see [`BLOCK_BYTES`]); one box each, freed as its future finishes.
    boxed: Vec<Option<Pin<Box<F>>>>,
}

impl<F> Pinned<F> {
    /// Pins every future of `futures`, and says how many there were.
    pub(super) fn new<I: IntoIterator<Item = F>>(futures: I) -> (Self, usize) {
        let mut futures = futures.into_iter().fuse();
        let (blocks, left) = if size_of::<Option<F>>() * BLOCK <= BLOCK_BYTES {
            in_blocks(&mut futures)
        } else {
            (Vec::new(), Vec::new())
        };
        // `left` is the end of the iterator (it is fused) when blocks took any futures.
        let boxed: Vec<Option<Pin<Box<F>>>> = left
            .into_iter()
            .chain(futures)
            .map(|future| Some(Box::pin(future)))
            .collect();
        let len = blocks.len() * BLOCK + boxed.len();
        (Self { blocks, boxed }, len)
    }
}

/// Moves the futures of `futures` into blocks, sixteen at a time, while the iterator has
/// sixteen more; returns the blocks and the futures left (fewer than sixteen), so that the
/// iterator's end never leaves a block part empty. Not inlined: a block's bytes on the stack
/// are then reserved only while blocks are being built, not in every caller's frame.
#[inline(never)]
fn in_blocks<F>(futures: &mut impl Iterator<Item = F>) -> (Vec<PinnedBlock<F>>, Vec<F>) {
    // A lower bound that is not kept (or absurd) only costs capacity, and is capped.
    let mut blocks = Vec::with_capacity((futures.size_hint().0 / BLOCK).min(1 << 16));
    loop {
        match Block::new(futures) {
            Ok(block) => blocks.push(Box::pin(block)),
            Err(left) => return (blocks, left),
        }
    }
}

impl<F> Slots for Pinned<F> {
    type Future = F;

    #[inline]
    fn future(&mut self, index: usize) -> Option<Pin<&mut F>> {
        let in_blocks = self.blocks.len() * BLOCK;
        if index < in_blocks {
            self.blocks[index / BLOCK]
                .as_mut()
                .slot(index % BLOCK)
                .as_pin_mut()
        } else {
            self.boxed[index - in_blocks].as_mut().map(Pin::as_mut)
        }
    }

    fn finish(&mut self, index: usize) {
        let in_blocks = self.blocks.len() * BLOCK;
        if index < in_blocks {
            self.blocks[index / BLOCK]
                .as_mut()
                .slot(index % BLOCK)
                .set(None);
        } else {
            self.boxed[index - in_blocks] = None;
        }
    }

    fn clear(&mut self) {
        self.blocks = Vec::new();
        self.boxed = Vec::new();
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
///
/// It holds the queue weakly (as `FuturesUnordered`'s wakers hold their queue): the queue
/// holds the gather's own waker, so a future that keeps its waker would otherwise keep the
/// gather's task alive through a cycle, on an executor that frees a task with its last waker.
/// A wake after the gather is gone does nothing.
pub(super) struct SlotWaker {
    pub(super) index: usize,
    pub(super) queue: std::sync::Weak<ReadyQueue>,
}

impl Wake for SlotWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        if let Some(queue) = self.queue.upgrade() {
            queue.wake(self.index);
        }
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
    /// A wake after a take is never lost, even for a future taken (its flag cleared) while
    /// another thread wakes it: the second wake, which comes after the take, queues it again
    /// and wakes the waker that take registered.
    #[test]
    fn loom_a_wake_after_a_take_is_not_lost() {
        loom::model(|| {
            let queue = Arc::new(ReadyQueue::new(1, Vec::new()));
            let flags = [(); 2].map(|()| Arc::new(Flag(AtomicBool::new(false))));
            let taken = Arc::new(AtomicBool::new(false));
            queue.take(&Waker::from(flags[0].clone()), &mut Vec::new());
            let waking = {
                let (queue, taken) = (queue.clone(), taken.clone());
                thread::spawn(move || {
                    queue.wake(0);
                    while !taken.load(Ordering::SeqCst) {
                        thread::yield_now();
                    }
                    queue.wake(0);
                })
            };
            let mut during = Vec::new();
            queue.take(&Waker::from(flags[1].clone()), &mut during);
            taken.store(true, Ordering::SeqCst);
            waking.join().unwrap();
            let mut after = Vec::new();
            queue.take(&Waker::from(flags[0].clone()), &mut after);
            assert_eq!(
                after,
                [0],
                "the wake after the take was lost (during: {during:?})"
            );
            assert!(
                flags[1].0.load(Ordering::SeqCst),
                "and it woke that take's waker"
            );
        });
    }

    /// Futures put back (the gather yielded before polling them) while one of them is woken
    /// again are queued exactly once, in front of those woken since.
    #[test]
    fn loom_put_back_racing_a_wake_queues_each_future_once() {
        loom::model(|| {
            let queue = Arc::new(ReadyQueue::new(3, vec![0, 1]));
            let flag = Arc::new(Flag(AtomicBool::new(false)));
            let mut batch = Vec::new();
            queue.take(&Waker::from(flag), &mut batch);
            assert_eq!(batch, [0, 1]);
            let waking = {
                let queue = queue.clone();
                thread::spawn(move || {
                    queue.wake(1);
                    queue.wake(2);
                })
            };
            queue.put_back(&batch);
            waking.join().unwrap();
            let mut after = Vec::new();
            queue.take(&Waker::noop().clone(), &mut after);
            let mut sorted = after.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2], "each once: {after:?}");
            assert_eq!(after[0], 0, "put back in front: {after:?}");
        });
    }
}
