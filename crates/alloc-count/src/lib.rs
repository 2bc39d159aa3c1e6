//! A counting global allocator for corral's own tests and benchmarks (not published).
//!
//! Install it in a test or bench binary with
//! `#[global_allocator] static ALLOCATOR: Counting = Counting;`, then read the counters:
//! process-wide [`live_bytes`], [`peak_bytes`] and [`allocations`] (for a benchmark that runs
//! alone), or [`thread_live_bytes`] (for a test that shares its process with other tests and
//! runs its work on a current-thread runtime, so every allocation it causes happens on its own
//! thread).
//!
//! This crate exists so that corral, and its tests and benchmarks, can forbid unsafe code:
//! implementing [`GlobalAlloc`] needs it, and this is the only place that does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting what it hands out.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const` and `Copy`: reading and writing it never allocates, so it is usable from inside
    // the allocator.
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
}

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
    // `try_with`: during thread teardown the thread-local may be gone already.
    let _ = THREAD_LIVE.try_with(|live| live.set(live.get() + bytes as isize));
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
    let _ = THREAD_LIVE.try_with(|live| live.set(live.get() - bytes as isize));
}

/// Bytes allocated and not yet freed, in the whole process.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The most [`live_bytes`] has been since the last [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from the bytes live now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Allocations made in the whole process (reallocations not counted).
pub fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Bytes allocated minus bytes freed by the current thread. Memory freed on another thread
/// than the one that allocated it counts there, so only differences over a stretch of work
/// that stays on one thread are meaningful.
pub fn thread_live_bytes() -> isize {
    THREAD_LIVE.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, and only
// updates counters on the side; the counting itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which is passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from `System`, with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's, valid for `layout.align()`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        new
    }
}
