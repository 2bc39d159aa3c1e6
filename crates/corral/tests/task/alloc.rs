//! A global allocator that counts the bytes live on the current thread, so a test running on a
//! current-thread runtime can measure exactly what its tasks hold.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub(crate) struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

/// Bytes allocated and not yet freed by this thread (frees of memory allocated elsewhere
/// count too, so only differences over a section of code are meaningful).
pub(crate) fn live_bytes() -> isize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: forwards to the system allocator; the bookkeeping allocates nothing.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
