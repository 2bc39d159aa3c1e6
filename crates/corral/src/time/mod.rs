//! Time limits: timeouts, shared deadlines, and shielding work from cancellation.

mod deadline;
mod elapsed;
mod scope;
mod shield;
mod timeout;

pub use deadline::{Deadline, Run};
pub use elapsed::Elapsed;
pub use shield::{Shielded, shield};
pub use timeout::{Timeout, timeout, timeout_at};
