//! Pins down `Send`, `Sync` and `Unpin` of every public type and every future the public API
//! returns, so that a change to any of them is a deliberate, visible change (the approach of
//! Tokio's `tests/async_send_sync.rs`). Everything here is checked at compile time.
#![allow(dead_code, clippy::type_complexity, clippy::diverging_sub_expression)]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use corral::task::{self, BoxError};
use corral::{queue, sync, time};

/// Compiles only if `T` does *not* implement the trait: with the trait, the call is ambiguous.
macro_rules! negative_assertion {
    ($trait_name:ident, $marker:path) => {
        trait $trait_name<A> {
            fn some_item(&self) {}
        }
        impl<T: ?Sized> $trait_name<()> for T {}
        impl<T: ?Sized + $marker> $trait_name<u8> for T {}
    };
}
negative_assertion!(AmbiguousIfSend, Send);
negative_assertion!(AmbiguousIfSync, Sync);
negative_assertion!(AmbiguousIfUnpin, Unpin);

fn require_send<T: Send>(_: &T) {}
fn require_sync<T: Sync>(_: &T) {}
fn require_unpin<T: Unpin>(_: &T) {}

macro_rules! check {
    ($value:expr, Send) => {
        require_send(&$value)
    };
    ($value:expr, !Send) => {
        AmbiguousIfSend::some_item(&$value)
    };
    ($value:expr, Sync) => {
        require_sync(&$value)
    };
    ($value:expr, !Sync) => {
        AmbiguousIfSync::some_item(&$value)
    };
    ($value:expr, Unpin) => {
        require_unpin(&$value)
    };
    ($value:expr, !Unpin) => {
        AmbiguousIfUnpin::some_item(&$value)
    };
}

/// Runs `check!` for each of `Send & !Sync & Unpin`.
macro_rules! checks {
    ($value:expr;) => {};
    ($value:expr; ! $marker:ident $(& $($rest:tt)*)?) => {
        check!($value, !$marker);
        checks!($value; $($($rest)*)?);
    };
    ($value:expr; $marker:ident $(& $($rest:tt)*)?) => {
        check!($value, $marker);
        checks!($value; $($($rest)*)?);
    };
}

/// `assert_value!(Type: Send & Sync & !Unpin)`: checks a type.
macro_rules! assert_value {
    ($type:ty: $($markers:tt)*) => {
        #[allow(unreachable_code, unused_variables)]
        const _: fn() = || {
            let value: $type = todo!();
            checks!(value; $($markers)*);
        };
    };
}

/// `assert_future!(name, expr => Send & !Unpin)`: checks the future an expression returns.
macro_rules! assert_future {
    ($name:ident, $make:expr => $($markers:tt)*) => {
        #[allow(unreachable_code, unused_variables, clippy::diverging_sub_expression)]
        fn $name() {
            let value = $make;
            checks!(value; $($markers)*);
        }
    };
}

type Fut = std::future::Ready<Result<u8, BoxError>>;
type Infallible = std::future::Ready<u8>;
type BoxFut = Pin<Box<dyn Future<Output = Result<u8, BoxError>> + Send>>;

// ---- task: types
assert_value!(task::TaskGroup<BoxError>: Send & Sync & Unpin);
assert_value!(task::Spawner<BoxError>: Send & Sync & Unpin);
assert_value!(task::Builder<BoxError>: Send & Sync & Unpin);
assert_value!(task::Task<u8>: Send & Sync & Unpin);
assert_value!(task::Task<std::cell::Cell<u8>>: Send & Sync & Unpin);
assert_value!(task::ErrorGroup<BoxError>: Send & Sync & Unpin);
assert_value!(task::TaskError: Send & Sync & Unpin);
assert_value!(task::Failure<BoxError>: Send & !Sync & Unpin);
assert_value!(task::BackgroundTasks<BoxError>: Send & Sync & Unpin);
assert_value!(task::WaitFor: Send & Sync & Unpin);
assert_value!(task::Done<u8, BoxError>: Send & Sync & Unpin);
assert_value!(task::Pending<u8, BoxError>: Send & Sync & Unpin);
assert_value!(task::Gather<Fut, u8>: Send & Sync & Unpin);
assert_value!(task::Gather<BoxFut, u8>: Send & !Sync & Unpin);
assert_value!(task::GatherSettled<Fut>: Send & Sync & Unpin);
assert_value!(task::AsCompleted<Infallible>: Send & Sync & Unpin);
assert_value!(task::Race<Infallible>: Send & Sync & Unpin);
assert_value!(task::FirstOk<Fut, BoxError>: Send & Sync & Unpin);

// ---- task: futures returned by async fns
assert_future!(task_group_join, task::TaskGroup::<BoxError>::new().join() => Send & !Unpin);
assert_future!(task_group_run, {
    let group: &'static task::TaskGroup<BoxError> = todo!();
    group.run(async { Ok::<_, BoxError>(1) })
} => Send & !Unpin);
assert_future!(task_group_shutdown, task::TaskGroup::<BoxError>::new().shutdown(Duration::ZERO) => Send & !Unpin);
assert_future!(background_shutdown, {
    let tasks: &'static task::BackgroundTasks<BoxError> = todo!();
    tasks.shutdown(Duration::ZERO)
} => Send & !Unpin);
assert_future!(as_completed_next, {
    let stream: &'static mut task::AsCompleted<Infallible> = todo!();
    stream.next()
} => Send & !Unpin);
assert_future!(wait_future, task::wait(Vec::<Fut>::new(), task::WaitFor::AllCompleted, None) => Send & !Unpin);

// ---- time
assert_value!(time::Timeout<Infallible>: Send & Sync & !Unpin);
assert_value!(time::Deadline: Send & Sync & Unpin);
assert_value!(time::Run<'static, Infallible>: Send & Sync & !Unpin);
assert_value!(time::Elapsed: Send & Sync & Unpin);
assert_value!(time::Shielded<u8, BoxError>: Send & Sync & Unpin);
assert_value!(time::Shielded<u8, std::rc::Rc<u8>>: !Send & !Sync & Unpin);

// ---- queue (the three kinds share one core; `Cell` shows the bounds are `T: Send` only)
type NotSync = std::cell::Cell<u8>;
type NotSend = std::rc::Rc<u8>;
assert_value!(queue::Queue<u8>: Send & Sync & Unpin);
assert_value!(queue::Queue<NotSync>: Send & Sync & Unpin);
assert_value!(queue::Queue<NotSend>: !Send & !Sync & Unpin);
assert_value!(queue::LifoQueue<NotSync>: Send & Sync & Unpin);
assert_value!(queue::PriorityQueue<u8>: Send & Sync & Unpin);
assert_value!(queue::QueueStream<NotSync>: Send & Sync & Unpin);
assert_value!(queue::LifoQueueStream<u8>: Send & Sync & Unpin);
assert_value!(queue::PriorityQueueStream<u8>: Send & Sync & Unpin);
assert_value!(queue::PutError<u8>: Send & Sync & Unpin);
assert_value!(queue::TryPutError<NotSync>: Send & !Sync & Unpin);
assert_value!(queue::GetError: Send & Sync & Unpin);
assert_value!(queue::TryGetError: Send & Sync & Unpin);
assert_value!(queue::TaskDoneError: Send & Sync & Unpin);
assert_value!(queue::ZeroCapacityError: Send & Sync & Unpin);
assert_future!(queue_put, {
    let q: &'static queue::Queue<NotSync> = todo!();
    q.put(std::cell::Cell::new(1))
} => Send & !Sync & !Unpin);
assert_future!(queue_get, {
    let q: &'static queue::Queue<NotSync> = todo!();
    q.get()
} => Send & Sync & !Unpin);
assert_future!(queue_join, {
    let q: &'static queue::PriorityQueue<u8> = todo!();
    q.join()
} => Send & Sync & !Unpin);

// ---- sync
assert_value!(sync::Event: Send & Sync & Unpin);
assert_value!(sync::EventWait<'static>: Send & Sync & !Unpin);
assert_value!(sync::Condition<NotSync>: Send & Sync & Unpin);
assert_value!(sync::Condition<NotSend>: !Send & !Sync & Unpin);
assert_value!(sync::ConditionGuard<'static, NotSync>: Send & !Sync & Unpin);
assert_value!(sync::ConditionGuard<'static, u8>: Send & Sync & Unpin);
assert_value!(sync::Barrier: Send & Sync & Unpin);
assert_value!(sync::BarrierWait<'static>: Send & Sync & Unpin);
assert_value!(sync::BarrierWaitResult: Send & Sync & Unpin);
assert_value!(sync::BrokenBarrier: Send & Sync & Unpin);
assert_value!(sync::ZeroPartiesError: Send & Sync & Unpin);
assert_future!(condition_lock, {
    let c: &'static sync::Condition<NotSync> = todo!();
    c.lock()
} => Send & Sync & !Unpin);
assert_future!(condition_wait, {
    let g: sync::ConditionGuard<'static, u8> = todo!();
    g.wait()
} => Send & Sync & !Unpin);
assert_future!(condition_wait_for, {
    let g: sync::ConditionGuard<'static, u8> = todo!();
    g.wait_for(|v| *v > 0)
} => Send & Sync & !Unpin);

// ---- flow
assert_value!(corral::flow::RateLimiter: Send & Sync & Unpin);
assert_value!(corral::flow::Builder: Send & Sync & Unpin);
assert_value!(corral::flow::Acquire<'static>: Send & Sync & Unpin);
assert_value!(corral::flow::AcquireN<'static>: Send & Sync & Unpin);
assert_value!(corral::flow::AcquireError: Send & Sync & Unpin);
assert_value!(corral::flow::TryAcquireError: Send & Sync & Unpin);
assert_value!(corral::flow::ConfigError: Send & Sync & Unpin);
assert_value!(corral::flow::Limiter: Send & Sync & Unpin);
assert_value!(corral::flow::Debouncer<BoxError>: Send & Sync & Unpin);
assert_value!(corral::flow::Debouncer<std::io::Error>: Send & Sync & Unpin);
assert_value!(corral::flow::Throttler: Send & Sync & Unpin);
assert_value!(corral::flow::Throttled: Send & Sync & Unpin);
assert_future!(flow_acquire, {
    let l: &'static corral::flow::RateLimiter = todo!();
    l.acquire()
} => Send & Sync & Unpin);
assert_future!(flow_limiter_run, {
    let l: &'static corral::flow::Limiter = todo!();
    l.run(std::future::ready(1u8))
} => Send & Sync & !Unpin);
assert_future!(flow_map_concurrent, {
    corral::flow::map_concurrent(0..10u8, 2, |i| std::future::ready(Ok::<_, BoxError>(i)))
} => Send & Sync & !Unpin);
assert_future!(flow_map_concurrent_settled, {
    corral::flow::map_concurrent_settled(0..10u8, 2, std::future::ready)
} => Send & Sync & !Unpin);
assert_future!(flow_map_concurrent_spawned, {
    corral::flow::map_concurrent_spawned(0..10u8, 2, |i| std::future::ready(Ok::<_, BoxError>(i)))
} => Send & Sync & !Unpin);
assert_future!(flow_debouncer_flush, {
    let d: &'static corral::flow::Debouncer = todo!();
    d.flush()
} => Send & !Sync & !Unpin);
assert_future!(flow_throttler_run, {
    let t: &'static corral::flow::Throttler = todo!();
    t.run(std::future::ready(1u8))
} => Send & Sync & !Unpin);
// ---- blocking
assert_value!(corral::blocking::Blocking<u8>: Send & Sync & Unpin);
assert_value!(corral::blocking::Cpu<u8>: Send & Sync & Unpin);
assert_value!(corral::blocking::BlockingError: Send & Sync & Unpin);
assert_value!(corral::blocking::BlockOnError: Send & Sync & Unpin);
assert_future!(blocking_run_blocking, corral::blocking::run_blocking(|| 1_u8) => Send & Sync & Unpin);
assert_future!(blocking_run_cpu, corral::blocking::run_cpu(|| 1_u8) => Send & Sync & Unpin);
assert_future!(blocking_to_async, corral::blocking::to_async(|x: u8| x)(1) => Send & Sync & Unpin);

// ---- stream (the streams are `impl Stream`: pinned through a value of each)
assert_value!(corral::stream::Page<u8, u8>: Send & Sync & Unpin);
assert_future!(stream_paginate, corral::stream::paginate(1, |_| async { Ok::<Vec<u8>, BoxError>(vec![]) }) => Send & Sync & !Unpin);
assert_future!(stream_paginate_cursor, corral::stream::paginate_cursor(|_: Option<u8>| async {
    Ok::<_, BoxError>(corral::stream::Page { items: vec![1_u8], next: None })
}) => Send & Sync & !Unpin);
assert_future!(stream_poll, corral::stream::poll(Duration::from_secs(1), |_: Option<&u8>| async {
    Ok::<Vec<u8>, BoxError>(vec![])
}) => Send & Sync & !Unpin);
assert_future!(stream_batches, corral::stream::batches(tokio_stream::iter([1_u8]), 2, Duration::from_secs(1)) => Send & Sync & !Unpin);

// ---- scope
struct PinSession;
impl corral::scope::Session for PinSession {
    type Error = BoxError;
    async fn close(self) -> Result<(), BoxError> {
        Ok(())
    }
}
assert_value!(corral::scope::ExitStack<BoxError>: Send & !Sync & Unpin);
assert_value!(corral::scope::SessionError<BoxError>: Send & Sync & Unpin);
assert_future!(scope_enter, {
    let stack: &'static mut corral::scope::ExitStack<BoxError> = todo!();
    stack.enter(async { Ok::<_, BoxError>(1_u8) }, |_| async { Ok(()) })
} => Send & !Sync & !Unpin);
assert_future!(scope_close, corral::scope::ExitStack::new().close() => Send & !Sync & !Unpin);
assert_future!(scope_with_session, corral::scope::with_session(async { Ok(PinSession) }, async |_: &mut PinSession| {
    Ok::<_, BoxError>(1_u8)
}) => Send & Sync & !Unpin);
assert_future!(scope_with_resource, corral::scope::with_resource(
    async { Ok::<_, BoxError>(1_u8) },
    async |_: &mut u8| Ok::<_, BoxError>(1_u8),
    |_| async { Ok(()) },
    |_| async { Ok(()) },
) => Send & Sync & !Unpin);
// ---- retry
assert_value!(corral::retry::Retry: Send & Sync & Unpin);
assert_value!(corral::retry::Retry<fn(&BoxError) -> bool, fn(u32, &BoxError, Duration)>: Send & Sync & Unpin);
assert_value!(corral::retry::Jitter: Send & Sync & Unpin);
assert_value!(corral::retry::GiveUp: Send & Sync & Unpin);
assert_value!(corral::retry::RetryError<BoxError>: Send & Sync & Unpin);
assert_value!(corral::retry::Always: Send & Sync & Unpin);
assert_value!(corral::retry::NoHook: Send & Sync & Unpin);
assert_future!(retry_run, {
    let r: &'static corral::retry::Retry = todo!();
    r.run(|| async { Ok::<u8, BoxError>(1) })
} => Send & Sync & !Unpin);

// ---- pool
struct PinManager;
impl corral::pool::Manager for PinManager {
    type Resource = u8;
    type Error = BoxError;
    async fn create(&self) -> Result<u8, BoxError> {
        Ok(0)
    }
}
assert_value!(corral::pool::WorkerPool<u8, u8, BoxError>: Send & Sync & Unpin);
assert_value!(corral::pool::Builder: Send & Sync & Unpin);
assert_value!(corral::pool::SubmitError<BoxError>: Send & Sync & Unpin);
assert_value!(corral::pool::JobPanic: Send & Sync & Unpin);
assert_value!(corral::pool::Pool<PinManager>: Send & Sync & Unpin);
assert_value!(corral::pool::PoolGuard<u8>: Send & Sync & Unpin);
assert_value!(corral::pool::Status: Send & Sync & Unpin);
assert_value!(corral::pool::AcquireError<BoxError>: Send & Sync & Unpin);
assert_future!(worker_pool_submit, {
    let p: &'static corral::pool::WorkerPool<u8, u8, BoxError> = todo!();
    p.submit(1)
} => Send & Sync & !Unpin);
assert_future!(worker_pool_shutdown, {
    let p: &'static corral::pool::WorkerPool<u8, u8, BoxError> = todo!();
    p.shutdown()
} => Send & Sync & !Unpin);
assert_future!(pool_acquire, {
    let p: &'static corral::pool::Pool<PinManager> = todo!();
    p.acquire()
} => Send & Sync & !Unpin);
assert_future!(pool_acquire_timeout, {
    let p: &'static corral::pool::Pool<PinManager> = todo!();
    p.acquire_timeout(Duration::from_secs(1))
} => Send & Sync & !Unpin);
