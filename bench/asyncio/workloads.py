#!/usr/bin/env python3
"""corral's benchmark workloads in CPython asyncio / uvloop, beside corral's criterion benches.

Based on /work/shared/bench/asyncio_workloads.py (a copy of the project's reference
workloads): the workloads, constants, timed regions and output format are kept as they are
there, and this file adds
  * condition: the guides' bounded `Buffer` on asyncio.Condition (seed 002, "Condition
    Variable"), 1 producer / Q_CONSUMERS consumers, capacity Q_CAP, Q_ITEMS items; the
    producer then puts one `None` end marker per consumer; check = sum of the items;
  * barrier: BARRIER_PARTIES tasks x BARRIER_PHASES phases on asyncio.Barrier;
    ops = parties * phases waits; check = {"waits": .., "phases": ..};
  * --n N: the item count of a sized workload (spawn_gather, taskgroup, queue_pipeline for
    the scaling table at 10k / 100k / 1M; also semaphore_fanout, timeout_overhead,
    event_broadcast, rate_limiter_overhead, condition). ops scales with it.
Each workload is one pattern of the seed guides at scale; corral's benchmarks run the same
workload with the same constants. uvloop is optional (pip install uvloop).

usage: python3 workloads.py <workload> <asyncio|uvloop> [variant] [--n N]
       python3 workloads.py --list
prints: RESULT {"workload":..,"runtime":..,"variant":..,"ops":..,"elapsed_ns":..,"check":..}
elapsed_ns is measured inside the event loop around the workload only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

N = 100_000
SEM_PERMITS = 100
Q_ITEMS = 1_000_000
Q_CAP = 100
Q_CONSUMERS = 4
LOCK_TASKS = 100
LOCK_ITERS = 10_000
EVENT_WAITERS = 10_000
RL_OPS = 1_000_000
BARRIER_PARTIES = 8
BARRIER_PHASES = 10_000

now_ns = time.perf_counter_ns


def tri(n: int) -> int:
    return n * (n - 1) // 2


# ------------------------------------------------------------- 1. spawn_gather
async def _trivial(i: int) -> int:
    await asyncio.sleep(0)
    return i


async def spawn_gather(variant: str, n: int = N):
    t0 = now_ns()
    res = await asyncio.gather(*[_trivial(i) for i in range(n)])
    el = now_ns() - t0
    s = sum(res)
    assert s == tri(n)
    return el, n, s


# ------------------------------------------------------------- 2. taskgroup
async def taskgroup(variant: str, n: int = N):
    t0 = now_ns()
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(_trivial(i)) for i in range(n)]
    s = sum(t.result() for t in tasks)
    el = now_ns() - t0
    assert s == tri(n)
    return el, n, s


# ------------------------------------------------------------- 3. semaphore_fanout
async def semaphore_fanout(variant: str, n: int = N):
    t0 = now_ns()
    sem = asyncio.Semaphore(SEM_PERMITS)

    async def worker(i: int) -> int:
        async with sem:
            await asyncio.sleep(0)
        return i

    res = await asyncio.gather(*[worker(i) for i in range(n)])
    el = now_ns() - t0
    s = sum(res)
    assert s == tri(n)
    return el, n, s


# ------------------------------------------------------------- 4. queue_pipeline
async def queue_pipeline(variant: str, n: int = Q_ITEMS):
    t0 = now_ns()
    q: asyncio.Queue[int] = asyncio.Queue(maxsize=Q_CAP)
    sums = [0] * Q_CONSUMERS

    async def producer() -> None:
        put = q.put
        for i in range(n):
            await put(i)

    async def consumer(k: int) -> None:
        s = 0
        get, done = q.get, q.task_done
        try:
            while True:
                item = await get()
                s += item
                done()
        finally:  # reached on cancel
            sums[k] = s

    prod = asyncio.create_task(producer())
    cons = [asyncio.create_task(consumer(k)) for k in range(Q_CONSUMERS)]
    await prod
    await q.join()
    for c in cons:
        c.cancel()
    await asyncio.gather(*cons, return_exceptions=True)
    el = now_ns() - t0
    s = sum(sums)
    assert s == tri(n), s
    return el, n, s


# ------------------------------------------------------------- 5. lock_contention
async def lock_contention(variant: str):
    t0 = now_ns()
    lock = asyncio.Lock()
    counter = 0

    async def worker() -> None:
        nonlocal counter
        for _ in range(LOCK_ITERS):
            async with lock:
                v = counter
                await asyncio.sleep(0)
                counter = v + 1

    await asyncio.gather(*[worker() for _ in range(LOCK_TASKS)])
    el = now_ns() - t0
    assert counter == LOCK_TASKS * LOCK_ITERS
    return el, LOCK_TASKS * LOCK_ITERS, counter


# ------------------------------------------------------------- 6. event_broadcast
# timed region: from ev.set() until the last waiter has run.
async def event_broadcast(variant: str, n: int = EVENT_WAITERS):
    loop = asyncio.get_running_loop()
    ev = asyncio.Event()
    finished = loop.create_future()
    registered = 0
    woke = 0

    async def waiter() -> None:
        nonlocal registered, woke
        registered += 1
        await ev.wait()
        woke += 1
        if woke == n:
            finished.set_result(None)

    tasks = [asyncio.create_task(waiter()) for _ in range(n)]
    while registered < n:
        await asyncio.sleep(0)
    t0 = now_ns()
    ev.set()
    await finished
    el = now_ns() - t0
    await asyncio.gather(*tasks)
    assert woke == n
    return el, n, woke


# ------------------------------------------------------------- 7. rate_limiter_overhead
class RateLimiter:
    """Verbatim from the seed guide 002_3a9f34be5787fd39.txt."""

    def __init__(self, calls_per_second: float):
        self._interval = 1.0 / calls_per_second
        self._lock = asyncio.Lock()
        self._last_call = 0.0

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait_time = self._last_call + self._interval - now
            if wait_time > 0:
                await asyncio.sleep(wait_time)
            self._last_call = time.monotonic()


async def rate_limiter_overhead(variant: str, n: int = RL_OPS):
    lim = RateLimiter(1e9)  # 1 ns interval: never limits in practice
    ok = 0
    t0 = now_ns()
    for _ in range(n):
        await lim.acquire()
        ok += 1
    el = now_ns() - t0
    assert ok == n
    return el, n, ok


# ------------------------------------------------------------- 7b. rate_limiter_contended
RL_TASKS = 100


async def rate_limiter_contended(variant: str, n: int = RL_OPS):
    """rate_limiter_overhead's n acquires spread over RL_TASKS tasks sharing one limiter."""
    lim = RateLimiter(1e9)  # 1 ns interval: never limits in practice
    per_task = n // RL_TASKS

    async def worker() -> int:
        for _ in range(per_task):
            await lim.acquire()
        return per_task

    t0 = now_ns()
    ok = sum(await asyncio.gather(*[worker() for _ in range(RL_TASKS)]))
    el = now_ns() - t0
    assert ok == per_task * RL_TASKS
    return el, ok, ok


# ------------------------------------------------------------- 8. timeout_overhead
async def timeout_overhead(variant: str, n: int = N):
    done = 0
    t0 = now_ns()
    if variant in ("default", "seq"):  # asyncio.timeout() (3.11+), sequential
        for _ in range(n):
            async with asyncio.timeout(10):
                await asyncio.sleep(0)
            done += 1
    elif variant == "seq_baseline":  # same loop, no timeout
        for _ in range(n):
            await asyncio.sleep(0)
            done += 1
    elif variant == "seq_wait_for":  # asyncio.wait_for (creates a Task per call in 3.11)
        for _ in range(n):
            await asyncio.wait_for(asyncio.sleep(0), 10)
            done += 1
    elif variant == "conc":  # n tasks each with asyncio.timeout, gathered

        async def one() -> int:
            async with asyncio.timeout(10):
                await asyncio.sleep(0)
            return 1

        done = sum(await asyncio.gather(*[one() for _ in range(n)]))
    else:
        raise SystemExit(f"bad variant {variant}")
    el = now_ns() - t0
    assert done == n
    return el, n, done


# ------------------------------------------------------------- 9. condition
class Buffer:
    """Verbatim from the seed guide 002_3a9f34be5787fd39.txt ("Condition Variable")."""

    def __init__(self, max_size: int):
        self._items: list = []
        self._max_size = max_size
        self._condition = asyncio.Condition()

    async def put(self, item) -> None:
        async with self._condition:
            while len(self._items) >= self._max_size:
                await self._condition.wait()
            self._items.append(item)
            self._condition.notify()

    async def get(self):
        async with self._condition:
            while not self._items:
                await self._condition.wait()
            item = self._items.pop(0)
            self._condition.notify()
            return item


# 1 producer puts n items, then one None end marker per consumer; each consumer sums the
# items it gets until it gets a None. Timed region: from creating the buffer until every
# consumer has finished.
async def condition(variant: str, n: int = Q_ITEMS):
    t0 = now_ns()
    buf = Buffer(Q_CAP)
    sums = [0] * Q_CONSUMERS

    async def producer() -> None:
        put = buf.put
        for i in range(n):
            await put(i)
        for _ in range(Q_CONSUMERS):
            await put(None)

    async def consumer(k: int) -> None:
        s = 0
        get = buf.get
        while (item := await get()) is not None:
            s += item
        sums[k] = s

    await asyncio.gather(producer(), *[consumer(k) for k in range(Q_CONSUMERS)])
    el = now_ns() - t0
    s = sum(sums)
    assert s == tri(n), s
    return el, n, s


# ------------------------------------------------------------- 10. barrier
# BARRIER_PARTIES tasks each wait BARRIER_PHASES times on one asyncio.Barrier; one op is one
# wait. Timed region: from creating the barrier until every task has passed the last phase.
async def barrier(variant: str):
    t0 = now_ns()
    bar = asyncio.Barrier(BARRIER_PARTIES)
    phases = 0

    async def worker() -> int:
        nonlocal phases
        waits = 0
        wait = bar.wait
        for _ in range(BARRIER_PHASES):
            if await wait() == 0:  # exactly one task per phase gets index 0
                phases += 1
            waits += 1
        return waits

    waits = sum(await asyncio.gather(*[worker() for _ in range(BARRIER_PARTIES)]))
    el = now_ns() - t0
    assert waits == BARRIER_PARTIES * BARRIER_PHASES, waits
    assert phases == BARRIER_PHASES, phases
    return el, waits, {"waits": waits, "phases": phases}


# ------------------------------------------------------------- 11. retry_success
# corral's benches/retry.rs. n sequential calls that succeed at the first attempt, each under
# the guides' retry (seed 002, "Retry with Backoff"); check = sum of the results.
import random  # noqa: E402

from typing import Awaitable, Callable, TypeVar  # noqa: E402

T = TypeVar("T")


async def retry(
    func: Callable[[], Awaitable[T]],
    max_attempts: int = 3,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
) -> T:
    """Verbatim from the seed guide 002_3a9f34be5787fd39.txt."""
    for attempt in range(max_attempts):
        try:
            return await func()
        except Exception as e:
            if attempt == max_attempts - 1:
                raise

            delay = min(base_delay * (2**attempt), max_delay)
            jitter = random.uniform(0, delay * 0.1)
            await asyncio.sleep(delay + jitter)

    raise RuntimeError("Should not reach here")


async def retry_success(variant: str, n: int = N):
    async def op(i: int) -> int:
        return i

    total = 0
    t0 = now_ns()
    if variant == "default":
        for i in range(n):
            total += await retry(lambda: op(i), max_attempts=3, base_delay=0.1)
    elif variant == "plain":  # the same calls with no retry
        for i in range(n):
            total += await op(i)
    else:
        raise SystemExit(f"bad variant {variant}")
    el = now_ns() - t0
    assert total == tri(n)
    return el, n, total


# ------------------------------------------------------------- 12. pool_acquire
# corral's benches/pool.rs. POOL_TASKS tasks share the guides' ConnectionPool of POOL_SIZE
# connections; each acquires, yields once holding it, releases, n / POOL_TASKS times.
POOL_TASKS = 100
POOL_SIZE = 10
WP_WORKERS = 4

from contextlib import asynccontextmanager  # noqa: E402


class ConnectionPool:
    """From the seed guide 002_3a9f34be5787fd39.txt; `_create_connection` and
    `_release_connection`, which the guide leaves out, reuse connections from `_connections`."""

    def __init__(self, max_connections: int = 10):
        self._semaphore = asyncio.Semaphore(max_connections)
        self._connections: list = []

    @asynccontextmanager
    async def acquire(self):
        async with self._semaphore:
            conn = await self._create_connection()
            try:
                yield conn
            finally:
                await self._release_connection(conn)

    async def _create_connection(self):
        return self._connections.pop() if self._connections else [0]

    async def _release_connection(self, conn) -> None:
        self._connections.append(conn)


async def pool_acquire(variant: str, n: int = N):
    pool = ConnectionPool(POOL_SIZE)
    per_task = n // POOL_TASKS

    async def client() -> int:
        for _ in range(per_task):
            async with pool.acquire() as conn:
                conn[0] += 1
                await asyncio.sleep(0)
        return per_task

    t0 = now_ns()
    done = sum(await asyncio.gather(*[client() for _ in range(POOL_TASKS)]))
    el = now_ns() - t0
    assert done == per_task * POOL_TASKS
    assert len(pool._connections) <= POOL_SIZE
    return el, done, done


# ------------------------------------------------------------- 13. worker_pool
# corral's benches/pool.rs. The guides' WorkerPool with WP_WORKERS workers; POOL_TASKS clients
# each submit n / POOL_TASKS items one after the other and await each result (item * 2).
async def process_item(item: int) -> int:
    return item * 2


async def worker(name: str, queue: asyncio.Queue) -> None:
    """Verbatim from the seed guide 002_3a9f34be5787fd39.txt ("Worker Pool")."""
    while True:
        item, future = await queue.get()
        try:
            result = await process_item(item)
            future.set_result(result)
        except Exception as e:
            future.set_exception(e)
        finally:
            queue.task_done()


class WorkerPool:
    """Verbatim from the seed guide 002_3a9f34be5787fd39.txt ("Worker Pool")."""

    def __init__(self, num_workers: int = 4):
        self._queue: asyncio.Queue = asyncio.Queue()
        self._workers: list[asyncio.Task] = []
        self._num_workers = num_workers

    async def start(self) -> None:
        for i in range(self._num_workers):
            task = asyncio.create_task(worker(f"worker-{i}", self._queue))
            self._workers.append(task)

    async def submit(self, item):
        future: asyncio.Future = asyncio.Future()
        await self._queue.put((item, future))
        return await future

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)


async def worker_pool(variant: str, n: int = N):
    pool = WorkerPool(WP_WORKERS)
    await pool.start()
    per_client = n // POOL_TASKS

    async def client(c: int) -> int:
        s = 0
        for i in range(per_client):
            s += await pool.submit(c + i)
        return s

    t0 = now_ns()
    total = sum(await asyncio.gather(*[client(c) for c in range(POOL_TASKS)]))
    el = now_ns() - t0
    await pool.stop()
    expected = sum(2 * (c + i) for c in range(POOL_TASKS) for i in range(per_client))
    assert total == expected
    return el, per_client * POOL_TASKS, total



async def noop(variant: str):
    t0 = now_ns()
    await asyncio.sleep(0)
    return now_ns() - t0, 1, 0


WORKLOADS = {
    f.__name__: f
    for f in (
        noop,
        spawn_gather,
        taskgroup,
        semaphore_fanout,
        queue_pipeline,
        lock_contention,
        event_broadcast,
        rate_limiter_overhead,
        rate_limiter_contended,
        timeout_overhead,
        condition,
        barrier,
        retry_success,
        pool_acquire,
        worker_pool,
    )
}

# workloads whose item count --n overrides (the others have fixed shapes)
SIZED = {
    "spawn_gather",
    "taskgroup",
    "semaphore_fanout",
    "queue_pipeline",
    "event_broadcast",
    "rate_limiter_overhead",
    "rate_limiter_contended",
    "timeout_overhead",
    "condition",
    "retry_success",
    "pool_acquire",
    "worker_pool",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", nargs="?", choices=sorted(WORKLOADS))
    ap.add_argument("runtime", nargs="?", choices=("asyncio", "uvloop"))
    ap.add_argument("variant", nargs="?", default="default")
    ap.add_argument("--n", type=int, help="item count (sized workloads only)")
    ap.add_argument("--list", action="store_true", help="print the workload names and exit")
    args = ap.parse_args()
    if args.list:
        print("\n".join(sorted(WORKLOADS)))
        return
    if args.workload is None or args.runtime is None:
        ap.error("workload and runtime are required")
    fn = WORKLOADS[args.workload]
    kwargs = {}
    if args.n is not None:
        if args.workload not in SIZED:
            ap.error(f"{args.workload} has a fixed size; --n applies to {sorted(SIZED)}")
        if args.n < 1:
            ap.error("--n must be positive")
        kwargs["n"] = args.n
    if args.runtime == "asyncio":
        el, ops, check = asyncio.run(fn(args.variant, **kwargs))
    else:
        import uvloop

        el, ops, check = uvloop.run(fn(args.variant, **kwargs))
    print(
        "RESULT "
        + json.dumps(
            dict(
                workload=args.workload,
                runtime=args.runtime,
                variant=args.variant,
                ops=ops,
                elapsed_ns=el,
                check=check,
            ),
            separators=(",", ":"),
        )
    )


if __name__ == "__main__":
    main()
