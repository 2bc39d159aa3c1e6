//! Structured concurrency: task groups, gathering, racing and waiting.
//!
//! (Module docs are completed below.)

mod as_completed;
mod background;
mod core;
mod error;
mod gather;
mod group;
mod handle;
mod indexed;
mod race;
mod wait;

pub use as_completed::{AsCompleted, as_completed};
pub use background::BackgroundTasks;
pub use error::{BoxError, ErrorGroup, Failure, PanicPayload, TaskError};
pub use gather::{Gather, GatherSettled, gather, gather_settled};
pub use group::{Builder, Spawner, TaskGroup};
pub use handle::Task;
pub use race::{FirstOk, Race, first_ok, race};
pub use wait::{Done, Pending, WaitFor, wait};
