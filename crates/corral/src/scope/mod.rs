//! Async context managers: cleanups that run in reverse order, and sessions that commit or
//! roll back.
//!
//! # Coming from asyncio
//!
//! | asyncio | corral |
//! |---|---|
//! | `async with AsyncExitStack() as stack:` | [`ExitStack`] + [`close`](ExitStack::close)`().await` |
//! | `await stack.enter_async_context(cm)` | [`ExitStack::enter`]`(acquire, release)` |
//! | `stack.push_async_callback(f)` / `stack.callback(f)` | [`ExitStack::push`] / [`ExitStack::callback`] |
//! | `stack.pop_all()` | [`ExitStack::pop_all`] |
//! | `async with DatabaseSession() as s:` (`__aenter__`/`__aexit__`) | [`with_session`] over a [`Session`] |
//! | `@asynccontextmanager` with `try: yield; commit() except: rollback() finally: close()` | [`with_session`] |
//! | the same over a type whose `commit(self)`/`rollback(self)` consume it (sqlx's `Transaction`) | [`with_resource`]`(acquire, body, on_ok, on_err)` |
//! | `async with resource:` whose `__aexit__` only closes | a [`Session`] with only `close`, or an RAII guard whose `Drop` releases (sync), or [`ExitStack::enter`] |
//!
//! # Rust has no async drop: what that means here
//!
//! Python awaits `__aexit__` whatever way the block is left. Rust runs destructors on every
//! exit too, but a destructor cannot await. So:
//!
//! - On the paths the code controls (success, an error it handles), call
//!   [`ExitStack::close`], or let [`with_session`] do it: the cleanups run in order, are
//!   awaited, and their errors are returned.
//! - On the paths it does not (a `?` that returns early, a timeout or `select!` that drops the
//!   whole future, an aborted task), the cleanups still run: the stack or session hands them to
//!   a task on the current Tokio runtime, in the same order, bounded by a timeout, and every
//!   failure goes to [`crate::report`]. They run later, and nobody can await them.
//! - Without a runtime (a stack dropped after its runtime shut down), nothing can run them,
//!   and that is reported.
//!
//! # What the crates lacked
//!
//! The well-known crates stop at sync scope guards (`scopeguard`) or at a `Drop` that spawns
//! with no order, bound or report; none runs async cleanups in reverse order, collects every
//! failure, and hands pending cleanups on when dropped. This module does that in about 300
//! lines on top of Tokio, futures' `catch_unwind` and corral's
//! [`ErrorGroup`](crate::task::ErrorGroup) and [`report`](crate::report).
mod exit_stack;
mod resource;
mod session;

pub use exit_stack::ExitStack;
pub use resource::with_resource;
pub use session::{Session, SessionError, with_session};
