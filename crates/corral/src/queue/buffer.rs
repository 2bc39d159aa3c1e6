//! Where a queue's items wait: the one thing in which the three kinds of queue differ.

use std::cell::RefCell;
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
}

/// The queueing discipline: in which order the items come out.
pub(crate) trait Discipline: Buffer {
    /// Adds `item`. A panic of the items' `Ord` (a priority queue's) is caught and put in
    /// `caught`, for the caller to report once it released its lock: the item is in either
    /// way.
    fn push(&mut self, item: Self::Item, caught: &mut Vec<PanicPayload>);
    /// Takes the next item; a panic of the items' `Ord` goes to `caught`, as in `push`.
    fn pop(&mut self, caught: &mut Vec<PanicPayload>) -> Option<Self::Item>;
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
    fn push(&mut self, item: T, _: &mut Vec<PanicPayload>) {
        self.0.push_back(item);
    }

    fn pop(&mut self, _: &mut Vec<PanicPayload>) -> Option<T> {
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
    fn push(&mut self, item: T, _: &mut Vec<PanicPayload>) {
        self.0.push(item);
    }

    fn pop(&mut self, _: &mut Vec<PanicPayload>) -> Option<T> {
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
/// order), and the panic waits in [`CAUGHT`] until the heap operation hands it to the caller,
/// which reports it once the lock is released.
struct Entry<T> {
    item: T,
    seq: u64,
}

thread_local! {
    /// The panics of the items' `Ord` caught on this thread, during one heap operation.
    static CAUGHT: RefCell<Vec<PanicPayload>> = const { RefCell::new(Vec::new()) };
}

/// Moves the panics the last heap operation caught into `caught`.
fn take_caught(caught: &mut Vec<PanicPayload>) {
    CAUGHT.with(|panics| {
        let mut panics = panics.borrow_mut();
        if !panics.is_empty() {
            caught.append(&mut panics);
        }
    });
}

/// Reports panics of the items' `Ord` (called with no lock held).
pub(crate) fn report_caught(caught: Vec<PanicPayload>) {
    for payload in caught {
        crate::report::report_failure::<()>(
            "PriorityQueue (the items' Ord)",
            Failure::Panic(payload),
        );
    }
}

impl<T: Ord> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        let items = catch_unwind(AssertUnwindSafe(|| other.item.cmp(&self.item))).unwrap_or_else(
            |payload| {
                CAUGHT.with(|panics| panics.borrow_mut().push(payload));
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
    fn push(&mut self, item: T, caught: &mut Vec<PanicPayload>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { item, seq });
        take_caught(caught);
    }

    fn pop(&mut self, caught: &mut Vec<PanicPayload>) -> Option<T> {
        let item = self.heap.pop().map(|entry| entry.item);
        take_caught(caught);
        item
    }

    fn into_vec_in_order(self) -> Vec<T> {
        // `into_sorted_vec` sorts ascending by `Entry`'s order, which is the reverse of ours.
        let mut sorted = self.heap.into_sorted_vec();
        sorted.reverse();
        let mut caught = Vec::new();
        take_caught(&mut caught);
        report_caught(caught);
        sorted.into_iter().map(|entry| entry.item).collect()
    }
}
