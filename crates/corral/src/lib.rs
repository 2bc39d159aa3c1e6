//! corral: the concurrency patterns of Python's asyncio, on Tokio.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod queue;
pub mod sync;
pub mod task;
pub mod time;

mod util;
