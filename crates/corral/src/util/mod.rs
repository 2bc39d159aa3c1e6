//! Small building blocks shared by the primitives. Nothing here is public.

mod wait_list;

pub(crate) use wait_list::{Ticket, WaitList};
