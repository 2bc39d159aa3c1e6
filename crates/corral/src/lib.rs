//! corral: the concurrency patterns of Python's asyncio, on Tokio, done the way Rust can do
//! them.
//!
//! No task leaks out of a group, no error is silently dropped, every wait says whether it is
//! cancel safe, and each pattern costs close to the Tokio primitive under it (the benchmarks in
//! `BENCHMARKS.md` measure each against its anchor and against CPython's asyncio).
//!
//! # Contents
//!
//! - [Coming from asyncio](#coming-from-asyncio): the porting table.
//! - [Choosing a primitive](#choosing-a-primitive).
//! - [Cancel safety at a glance](#cancel-safety-at-a-glance).
//! - [API themes](#api-themes): the conventions every module follows.
//! - [Testing](#testing): the paused clock, poll-level checks, cancellation, mocks.
//! - Modules: [`task`] (structured concurrency), [`time`] (timeouts, deadlines, shield),
//!   [`sync`] (events, conditions, barriers, and Tokio's locks), [`queue`] (joinable queues),
//!   [`flow`] (rate limits, concurrency limits, debounce, throttle), [`retry`] (backoff),
//!   [`pool`] (worker and resource pools), [`scope`] (async cleanup, sessions), [`stream`]
//!   (generators, paginators, polling, batching), [`blocking`] (executors and sync bridges),
//!   [`debug`] (slow polls, abandoned tasks), [`report`] (failures nobody can receive),
//!   [`backend`] (one trait per kind, for the Redis twins in `corral-redis`).
//!
//! # A first example
//!
//! ```
//! use std::time::Duration;
//! use corral::task::{BoxError, TaskGroup};
//! use corral::time::timeout;
//!
//! async fn fetch(url: &str) -> Result<String, BoxError> {
//!     tokio::time::sleep(Duration::from_millis(50)).await; // simulated I/O
//!     Ok(format!("<html>{url}</html>"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! # tokio::time::pause();
//! let group = TaskGroup::new();
//! let pages: Vec<_> = ["a.example", "b.example"]
//!     .into_iter()
//!     .map(|url| group.spawn(async move { Ok(timeout(Duration::from_secs(1), fetch(url)).await??) }))
//!     .collect();
//! group.join().await?; // the first failure cancels the rest; every error is kept
//! for page in pages {
//!     println!("{}", page.await?);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Coming from asyncio
//!
//! Every asyncio construct the guides use, and its corral (or Tokio) counterpart. The runnable
//! examples are listed, one per pattern of the guides, in `crates/corral/examples/README.md`.
//!
//! **Running and tasks**
//!
//! | asyncio | corral |
//! |---|---|
//! | `asyncio.run(main())` | `#[tokio::main]`; from sync code [`blocking::block_on`] (a typed error, not a panic, inside a runtime) |
//! | `async def` / `await` / `asyncio.sleep(s)` | `async fn` / `.await` / [`time::sleep`] (Tokio's). A future does nothing until awaited, and the compiler warns when one is dropped unawaited |
//! | `asyncio.create_task(c)` | `tokio::spawn(c)`, or [`task::TaskGroup::spawn`] so that it cannot outlive its owner |
//! | `async with asyncio.TaskGroup() as tg` | [`task::TaskGroup`] ([`run`](task::TaskGroup::run), [`spawn`](task::TaskGroup::spawn), [`join`](task::TaskGroup::join)) |
//! | `ExceptionGroup`, `except* E as eg:` | [`task::ErrorGroup`]; [`split_type`](task::ErrorGroup::split_type) (by type), [`split`](task::ErrorGroup::split) (by predicate), then [`into_result`](task::ErrorGroup::into_result) passes on the rest |
//! | `asyncio.gather(*aws)` over one coroutine function | [`task::gather`] (polled in place, may borrow) |
//! | `asyncio.gather(*tasks)` over tasks already created | [`task::gather_unpin`] over their handles (stored as they are: as cheap as awaiting them in a loop; `task::gather` over them costs 1.08×) |
//! | `asyncio.gather(a(), b())` over different coroutines | `tokio::try_join!(a(), b())` (gather's fail-fast: the first `Err` drops the others); `tokio::join!` when the outputs are not `Result`s |
//! | `gather(*aws, return_exceptions=True)` | [`task::gather_settled`] |
//! | `asyncio.as_completed(aws)` | [`task::as_completed`] (a `Stream`) |
//! | `as_completed(aws, timeout=s)` | each `next()` under one [`time::Deadline`] (shown in [`task::as_completed`]) |
//! | `asyncio.wait(tasks, return_when=...)` | [`task::wait`] with [`task::WaitFor`], over the spawned [`task::Task`]s themselves: dropping a pending entry aborts its task |
//! | first completed, cancel the rest | [`task::race`] |
//! | first success among several | [`task::first_ok`] |
//! | `task.add_done_callback(cb)` | [`task::Task::on_done`] (runs once with the outcome, at once if the task already finished) |
//! | `background_tasks` set + `add_done_callback(discard)` | [`task::BackgroundTasks`] |
//! | `task.cancel()` | [`task::Task::abort`], or drop the future |
//! | `except CancelledError: await cleanup(); raise` | [`task::TaskGroup::token`] + a grace ([`task::Builder::cancel_grace`], [`task::TaskGroup::shutdown`]): Rust has no async drop |
//! | `CancelledError` | a cancelled [`task::Task`] gives a [`task::TaskError`] with [`is_cancelled`](task::TaskError::is_cancelled); an in-place future is simply dropped |
//! | `loop.create_future()` + `set_result` / `await fut` | `tokio::sync::oneshot` (see [`sync`]) |
//!
//! **Time**
//!
//! | asyncio | corral |
//! |---|---|
//! | `asyncio.timeout(s)`, `wait_for(aw, s)` | [`time::timeout`] |
//! | `TimeoutError` | [`time::Elapsed`] (says which deadline fired) |
//! | `asyncio.timeout_at(when)`, `loop.time()` | [`time::timeout_at`], [`time::Instant`] (Tokio's, follows the paused clock) |
//! | one timeout over several awaits, `cm.reschedule(when)` | [`time::Deadline`], [`time::Deadline::reschedule`] |
//! | `asyncio.timeout(None)`, `cm.reschedule(None)`, `cm.when()` | [`time::Deadline::never`], `deadline.reschedule(None)`, [`time::Deadline::instant`] (`Duration::MAX` also means no limit) |
//! | `asyncio.shield(aw)` | [`time::shield`] |
//!
//! **Synchronisation**
//!
//! | asyncio | corral |
//! |---|---|
//! | `asyncio.Event` (`set`, `clear`, `is_set`, `wait`) | [`sync::Event`] (the same names) |
//! | `asyncio.Condition`, `async with cond: await cond.wait_for(pred)` | [`sync::Condition`] (owns the data it guards): `cond.lock().await`, [`guard.wait_for(pred)`](sync::ConditionGuard::wait_for) |
//! | `while not pred: await cond.wait()` | `while !pred(&guard) { guard = guard.wait().await; }` (the guard is passed by value) |
//! | `cond.notify(n)`, `notify_all()` | [`sync::Condition::notify`], [`notify_one`](sync::Condition::notify_one), [`notify_all`](sync::Condition::notify_all) (no lock needed, nothing stored for later) |
//! | `asyncio.Barrier(n)`, `abort`, `reset` | [`sync::Barrier`] |
//! | `asyncio.Lock`, `asyncio.Semaphore` | [`sync::Mutex`], [`sync::Semaphore`] (Tokio's, re-exported) |
//! | `async with sem:` | `let _permit = sem.acquire().await?;` (not `let _ =`, which releases at once; see [`sync`]) |
//!
//! **Queues**
//!
//! | asyncio | corral |
//! |---|---|
//! | `asyncio.Queue(maxsize=n)`, `PriorityQueue`, `LifoQueue` | [`queue::Queue::bounded`] / [`unbounded`](queue::Queue::unbounded), [`queue::PriorityQueue`], [`queue::LifoQueue`] |
//! | `await q.put(x)`, `q.put_nowait(x)` | [`q.put(x).await`](queue::Queue::put), [`q.try_put(x)`](queue::Queue::try_put) (gives the item back when full) |
//! | `await q.put(x)` under a timeout, without losing `x` | [`q.reserve().await?.put(x)`](queue::Queue::reserve): the wait is cancel safe, the permit puts without waiting |
//! | `await q.get()`, `q.get_nowait()` | [`q.get().await`](queue::Queue::get), [`q.try_get()`](queue::Queue::try_get) |
//! | `q.task_done()`, `await q.join()` | [`q.task_done()`](queue::Queue::task_done) (an error if called more than items taken), [`q.join().await`](queue::Queue::join) |
//! | `q.shutdown()`, `q.shutdown(immediate=True)`; a `None` sentinel per consumer | [`q.shutdown()`](queue::Queue::shutdown), [`q.shutdown_immediate()`](queue::Queue::shutdown_immediate) (returns what it removed): `get` fails once the queue is drained |
//! | `async for item in queue_iter(q)` | [`q.into_stream()`](queue::Queue::into_stream) |
//!
//! **Flow control, retry, pools**
//!
//! | asyncio | corral |
//! |---|---|
//! | the guides' `RateLimiter(calls_per_second)`, `await limiter.acquire()` | [`flow::RateLimiter`] ([`per_second`](flow::RateLimiter::per_second), a builder for any rate and burst, [`acquire`](flow::RateLimiter::acquire), [`try_acquire`](flow::RateLimiter::try_acquire)) |
//! | `async with semaphore:` around a call | [`flow::Limiter::run`] |
//! | `gather(*(bounded_fetch(u) for u in urls))` with a `Semaphore(n)` | [`flow::map_concurrent`] (in place), [`flow::map_concurrent_spawned`] (tasks, at most `n` alive) |
//! | the same with `return_exceptions=True` | [`flow::map_concurrent_settled`] |
//! | the guides' `Debouncer` (cancel the pending call, schedule again) | [`flow::Debouncer`] (`call`, `flush`) |
//! | throttle: skip calls until the interval has passed | [`flow::Throttler`] |
//! | the guides' `retry_with_backoff` / `retry(coro_func, max_retries, delay)` | [`retry::Retry`] (`exponential`, `fixed`, jitter, `when`, `on_retry`, `run`) |
//! | the guides' `WorkerPool` (workers over a queue, a future per item) | [`pool::WorkerPool`] |
//! | the guides' `ConnectionPool`, `async with pool.acquire() as conn` | [`pool::Pool`] (a guard that returns the resource on drop) |
//!
//! **Resources, streams, blocking code**
//!
//! | asyncio | corral |
//! |---|---|
//! | `async with x` + `__aenter__`/`__aexit__` | an RAII guard (sync release in `Drop`) + an explicit `async fn close`, or [`scope::with_session`] / [`scope::ExitStack::enter`] for an async release |
//! | `async with AsyncExitStack() as stack`, `enter_async_context`, `push_async_callback` | [`scope::ExitStack`] ([`enter`](scope::ExitStack::enter), [`push`](scope::ExitStack::push), [`callback`](scope::ExitStack::callback), [`close`](scope::ExitStack::close)) |
//! | `@asynccontextmanager` (`yield session; commit()`, `except: rollback()`, `finally: close()`) | [`scope::with_session`] over a [`scope::Session`]; [`scope::with_resource`] when commit and rollback consume the value |
//! | `async def gen(): yield x`, `__aiter__`/`__anext__` | [`stream::stream!`] / [`stream::try_stream!`] (async-stream), or `impl Stream` |
//! | `async for x in gen`, `[x async for x in gen if p(x)]` | `while let Some(x) = gen.next().await`, `gen.filter(p).collect::<Vec<_>>().await` ([`stream::StreamExt`]) |
//! | `fetch_paginated`, `AsyncPaginator` | [`stream::paginate`], [`stream::paginate_cursor`] |
//! | `stream_log_entries` (fetch after the last id, sleep, repeat) | [`stream::poll`] |
//! | `batch_insert(items, batch_size)` for items arriving over time | [`stream::batches`] |
//! | `loop.run_in_executor(None, f)`, `ThreadPoolExecutor` | [`blocking::run_blocking`] |
//! | `run_in_executor(ProcessPoolExecutor(), f)` | [`blocking::run_cpu`] (threads run in parallel in Rust; a process via `std::process::Command` only for isolation) |
//! | `to_async(func)` | [`blocking::to_async`] |
//! | `sync_wrapper(coro)`, `loop.run_until_complete(coro)` | [`blocking::block_on`] |
//!
//! **Debugging and testing**
//!
//! | asyncio | corral |
//! |---|---|
//! | `asyncio.run(main(), debug=True)`, `slow_callback_duration` | [`debug::enable`]: slow polls and abandoned tasks reported with name and spawn site |
//! | "Task exception was never retrieved" | [`report`]: failures nobody receives reach `tracing` or standard error |
//! | `@pytest.mark.asyncio`, `AsyncMock`, `assert_awaited_once()` | `#[tokio::test(start_paused = true)]`, `mockall` (see [Testing](#testing)) |
//!
//! **Across processes** (the `corral-redis` crate): `RedisQueue`, `RedisRateLimiter` and
//! `RedisSemaphore` implement the traits of [`backend`], as the local queue, rate limiter and
//! semaphore do, so code written against the traits moves to Redis by changing a constructor.
//!
//! Where corral chooses differently from asyncio, the item's docs say so in a sentence.
//!
//! # Choosing a primitive
//!
//! - **Run several things and use all the results**: [`task::gather`] if they can run on the
//!   current task (they may borrow; nothing is spawned), a [`task::TaskGroup`] if they should
//!   run in parallel or spawn more work. Both cancel the rest on the first error.
//! - **Take the first result**: [`task::race`]; the first success: [`task::first_ok`]; results
//!   as they come: [`task::as_completed`].
//! - **Bound the time**: [`time::timeout`] for one operation, a [`time::Deadline`] for a budget
//!   shared by several (and moved with `reschedule`).
//! - **Let work finish even if the caller goes away**: [`time::shield`]; long-lived work that
//!   must be tracked and shut down: [`task::BackgroundTasks`].
//! - **Signal a state to many tasks**: [`sync::Event`]. Wait for a condition on shared data:
//!   [`sync::Condition`]. Rendezvous of a fixed number of tasks: [`sync::Barrier`].
//! - **Hand work from producers to consumers with backpressure**: a bounded [`queue::Queue`],
//!   with `task_done`/`join` to know when everything taken is processed, and `shutdown` to stop
//!   consumers without sentinel values.
//! - **Limit how fast**: [`flow::RateLimiter`]; **how many at once**: [`flow::Limiter`], or
//!   [`flow::map_concurrent`] over a list of inputs. Retry what fails: [`retry::Retry`].
//! - **A fixed set of workers** over a queue of jobs: [`pool::WorkerPool`]; reuse expensive
//!   resources (connections): [`pool::Pool`].
//! - **Clean up asynchronously, whatever happens**: [`scope::ExitStack`], [`scope::with_session`].
//! - **Produce values over time**: a [`stream`] (`stream!`, [`stream::paginate`],
//!   [`stream::poll`]). Blocking or CPU-heavy code: [`blocking::run_blocking`],
//!   [`blocking::run_cpu`].
//!
//! # Cancel safety at a glance
//!
//! Cancelling a future in Rust is dropping it. Every method that returns a future documents,
//! under `# Cancel safety`, what dropping it mid-wait loses, and a test drops it there and checks.
//!
//! | the wait | dropped mid-wait |
//! |---|---|
//! | awaiting a [`task::Task`], [`task::AsCompleted::next`] | nothing lost |
//! | [`task::TaskGroup::join`] | aborts the group's tasks (nothing outlives its group) |
//! | [`time::timeout`], [`time::Deadline::run`] | as cancel safe as the wrapped future |
//! | awaiting a [`time::Shielded`] | nothing lost: the work goes on |
//! | [`sync::Event::wait`] | nothing lost |
//! | [`queue::Queue::get`], [`queue::Queue::reserve`], a queue stream's `next()` | nothing lost (an idle stream holds no item) |
//! | [`queue::Queue::put`] | the item was not put, but is dropped with the future and lost; wait with [`queue::Queue::reserve`] to keep it |
//! | [`flow::RateLimiter::acquire`], [`flow::Limiter::run`] (waiting) | loses its place in the queue; nothing taken |
//! | [`flow::map_concurrent`] / [`flow::map_concurrent_spawned`] | drops / aborts every item in flight |
//! | `next()` on [`stream::paginate`], [`stream::poll`], [`stream::batches`] | nothing lost: the fetch in progress (or the partial batch) goes on at the next call |
//! | [`scope::ExitStack::close`], [`scope::with_session`] | the remaining cleanups run on a bounded runtime task; their failures are reported |
//! | [`retry::Retry::run`] | as cancel safe as the attempt; nothing lost during a wait |
//! | [`pool::WorkerPool::submit`] | waiting for space: nothing queued; queued: the job is withdrawn (skipped) |
//! | [`pool::Pool::acquire`] | loses its place in the queue; no permit and no resource leaked |
//! | [`blocking::Blocking`], [`blocking::Cpu`] | the result is lost; a job not started never starts, a running one runs on and sees its token cancelled |
//!
//! # API themes
//!
//! - Tokio's dialect: `try_x` never waits; `x_owned` takes the handle by value (a
//!   clone) and returns a value that borrows nothing; errors are small,
//!   one per operation (`TryPutError<T>` gives the item back).
//! - Work is cancelled by dropping it; async cleanup gets a cancellation token and a grace
//!   period, because Rust has no async drop.
//! - Failures nobody can receive (a panic being resumed, a group dropped unjoined, background
//!   and shielded work) are [reported](report): a `tracing` error event, or a line on standard
//!   error when no subscriber records it; [`report::set_hook`] routes or silences them.
//! - Everything is built on Tokio's primitives; the crate has no `unsafe` code.
//!
//! # Testing
//!
//! asyncio's `pytest-asyncio` and `AsyncMock` have Rust counterparts, and corral's own tests
//! use them all (`crates/corral/tests/`).
//!
//! - **An async test** is `#[tokio::test]` (pytest-asyncio's `@pytest.mark.asyncio`).
//! - **Time without waiting**: `#[tokio::test(start_paused = true)]` runs the test on a paused
//!   clock that jumps to the next timer whenever every task is idle, so a 30 s timeout takes no
//!   real time and its timing is exact; `tokio::time::advance(d)` moves the clock by hand.
//!   Never `sleep` to let another task run: the order would depend on the machine's speed.
//!   Everything in corral that reads a clock follows the paused one; a
//!   [`flow::RateLimiter`], which by default reads the CPU's counter for speed, finds the
//!   paused clock when it is built or, if built before the pause, the first time it refuses a
//!   call (see [`flow::Clock::Auto`]).
//! - **Poll-level checks**: `tokio_test::task::spawn(fut)` polls a future by hand, and
//!   `assert_pending!` / `assert_ready!` say exactly what a poll did, for tests where order
//!   matters (is the waiter parked? did `set` wake it?).
//! - **Cancellation** is dropping a future: poll it until it waits, drop it, then check that
//!   nothing was lost (the item is still in the queue, the permit was returned).
//! - **Mocks** (`AsyncMock(return_value=...)`, `assert_awaited_once()`): take what the code calls
//!   as a trait and hand the test a mock; `mockall`'s `#[automock]` writes it, `async fn`
//!   methods included, and `times(1)` is `assert_awaited_once()`. The runnable example is
//!   `examples/testing_mocks.rs`.
//!
//! A timeout, tested on the paused clock, and a cancelled `get` that loses nothing:
//!
//! ```
//! use std::time::Duration;
//! use corral::queue::Queue;
//! use corral::time::timeout;
//! use tokio_test::{assert_pending, assert_ready_eq, task};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // #[tokio::test(start_paused = true)]
//! let start = tokio::time::Instant::now();
//! let slow = timeout(Duration::from_secs(30), std::future::pending::<()>()).await;
//! assert!(slow.is_err());
//! assert_eq!(start.elapsed(), Duration::from_secs(30)); // exact, and instant in real time
//!
//! let queue = Queue::unbounded();
//! let mut get = task::spawn(queue.get());
//! assert_pending!(get.poll()); // the getter waits
//! drop(get); // cancelled mid-wait
//! queue.try_put(1)?;
//! let mut again = task::spawn(queue.get());
//! assert_ready_eq!(again.poll(), Ok(1)); // the item went to the next getter, not lost
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod backend;
pub mod blocking;
pub mod debug;
pub mod flow;
pub mod pool;
pub mod queue;
pub mod report;
pub mod retry;
pub mod scope;
pub mod stream;
pub mod sync;
pub mod task;
pub mod time;

mod loom;
mod util;

// Every Rust block of the README compiles and runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
