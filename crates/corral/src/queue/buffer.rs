//! Where a queue's items wait: the one thing in which the three kinds of queue differ.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::task::{Failure, PanicPayload};

/// Where the items wait. Everything the core does without moving an item needs only this,
/// so it needs no bound on the item type (no `T: Ord` to drop a priority queue's stream).
pub(crate) trait Buffer {
    type Item;

    /// An empty buffer, with room for about `hint` items reserved up front.
    fn with_capacity(hint: usize) -> Self;
    fn len(&self) -> usize;
    /// Whether pushing and popping run the caller's code (a priority queue's `Ord`) under
    /// the queue's lock.
    const RUNS_CALLER_CODE: bool = false;
}

thread_local! {
    /// The address of the queue core whose lock this thread holds while it runs the items'
    /// `Ord` (0: none).
    static COMPARING: Cell<usize> = const { Cell::new(0) };
}

/// Marks this thread as running the items' `Ord` under `core`'s lock, until dropped.
pub(crate) struct Comparing {
    outer: usize,
}

impl Comparing {
    pub(crate) fn enter<C>(core: &C) -> Self {
        let address = std::ptr::from_ref(core).addr();
        Self {
            outer: COMPARING.with(|comparing| comparing.replace(address)),
        }
    }
}

impl Drop for Comparing {
    fn drop(&mut self) {
        COMPARING.with(|comparing| comparing.set(self.outer));
    }
}

/// Panics if this thread runs the items' `Ord` under the lock of the queue at `core`: the
/// `Ord` uses its own queue, which would deadlock. The panic is caught around the `Ord` call
/// and reported.
pub(crate) fn refuse_reentry(core: *const ()) {
    if COMPARING.with(Cell::get) == core.addr() {
        panic!(
            "a PriorityQueue was used from inside its items' Ord, which runs under the queue's \
             lock"
        );
    }
}

/// The queueing discipline: in which order the items come out.
pub(crate) trait Discipline: Buffer {
    /// Adds `item`. A panic of the items' `Ord` (a priority queue's) is caught and kept for
    /// [`report_caught`](Self::report_caught): the item is in either way.
    fn push(&mut self, item: Self::Item);
    /// Takes the next item; a panic of the items' `Ord` is kept, as in `push`.
    fn pop(&mut self) -> Option<Self::Item>;
    /// Reports the panics of the items' `Ord` that pushes and pops on this thread caught; the
    /// caller calls it once it released its lock. Nothing to do (and no code) for the queues
    /// that do not compare items.
    #[inline(always)]
    fn report_caught() {}
    /// Every item, in the order `pop` would have returned them. Called outside the lock, as it
    /// may run the items' `Ord`.
    fn into_vec_in_order(self) -> Vec<Self::Item>;
}

/// The buffer of a [`Queue`](super::Queue): items come out in the order they went in.
pub(crate) struct Fifo<T>(VecDeque<T>);

impl<T> Buffer for Fifo<T> {
    type Item = T;

    fn with_capacity(hint: usize) -> Self {
        Self(VecDeque::with_capacity(hint))
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Discipline for Fifo<T> {
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }

    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    fn into_vec_in_order(self) -> Vec<T> {
        self.0.into()
    }
}

/// The buffer of a [`LifoQueue`](super::LifoQueue): a stack, the item put last comes out first.
pub(crate) struct Lifo<T>(Vec<T>);

impl<T> Buffer for Lifo<T> {
    type Item = T;

    fn with_capacity(hint: usize) -> Self {
        Self(Vec::with_capacity(hint))
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Discipline for Lifo<T> {
    fn push(&mut self, item: T) {
        self.0.push(item);
    }

    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    fn into_vec_in_order(mut self) -> Vec<T> {
        self.0.reverse();
        self.0
    }
}

/// The buffer of a [`PriorityQueue`](super::PriorityQueue): a binary heap that gives the smallest
/// item first, and equal items in the order they were put.
pub(crate) struct Heap<T> {
    heap: BinaryHeap<Entry<T>>,
    /// The arrival number of the next item, to break ties first come, first served.
    next_seq: u64,
}

/// An item and its arrival number, ordered so that `BinaryHeap` (a max-heap) pops the
/// smallest item, and the earliest among equals.
///
/// The items' `Ord` is the caller's code, run under the queue's lock. A panic there must not
/// unwind through `BinaryHeap`, which then loses the item it was moving (`join` would wait for
/// it forever): it is caught, the two items count as equal (so they keep their arrival
/// order), and the panic waits in [`CAUGHT`] until the queue released its lock and calls
/// [`Discipline::report_caught`].
struct Entry<T> {
    item: T,
    seq: u64,
}

thread_local! {
    /// The panics of the items' `Ord` caught on this thread, during one heap operation.
    static CAUGHT: RefCell<Vec<PanicPayload>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a panic of the items' `Ord` for [`report_caught`]; reports it at once if this
/// thread's storage is already gone (a queue used from a thread-local's destructor).
#[cold]
fn stash(payload: PanicPayload) {
    let mut payload = Some(payload);
    let _ = CAUGHT.try_with(|caught| caught.borrow_mut().extend(payload.take()));
    if let Some(payload) = payload {
        report_one(payload);
    }
}

/// Whether this thread holds panics of the items' `Ord` not reported yet.
fn any_caught() -> bool {
    CAUGHT
        .try_with(|caught| !caught.borrow().is_empty())
        .unwrap_or(false)
}

/// Reports the panics of the items' `Ord` caught on this thread (called with no lock held).
/// Only the outermost queue operation reports: one nested in an `Ord` (a queue used by
/// another queue's items) runs under the outer queue's lock, and the panics may be the outer
/// queue's.
#[cold]
fn report_caught() {
    if COMPARING.with(Cell::get) != 0 {
        return;
    }
    let caught = CAUGHT
        .try_with(|caught| std::mem::take(&mut *caught.borrow_mut()))
        .unwrap_or_default();
    caught.into_iter().for_each(report_one);
}

fn report_one(payload: PanicPayload) {
    crate::report::report_failure::<()>("PriorityQueue (the items' Ord)", Failure::Panic(payload));
}

impl<T: Ord> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        let items = catch_unwind(AssertUnwindSafe(|| other.item.cmp(&self.item))).unwrap_or_else(
            |payload| {
                stash(payload);
                Ordering::Equal
            },
        );
        items.then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<T: Ord> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Ord> Eq for Entry<T> {}

impl<T> Buffer for Heap<T> {
    type Item = T;
    const RUNS_CALLER_CODE: bool = true;

    fn with_capacity(hint: usize) -> Self {
        Self {
            heap: BinaryHeap::with_capacity(hint),
            next_seq: 0,
        }
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

impl<T: Ord> Discipline for Heap<T> {
    fn push(&mut self, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { item, seq });
    }

    fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|entry| entry.item)
    }

    fn report_caught() {
        if any_caught() {
            report_caught();
        }
    }

    fn into_vec_in_order(self) -> Vec<T> {
        // `into_sorted_vec` sorts ascending by `Entry`'s order, which is the reverse of ours.
        let mut sorted = self.heap.into_sorted_vec();
        sorted.reverse();
        if any_caught() {
            report_caught();
        }
        sorted.into_iter().map(|entry| entry.item).collect()
    }
}
