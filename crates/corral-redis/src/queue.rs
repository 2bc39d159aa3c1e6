use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use corral::backend::{Delivery, JobQueue};
use redis::Script;
use redis::aio::ConnectionManager;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// The consumer group every `RedisQueue` reads through.
const GROUP: &str = "corral";

/// The Lua function that makes the consumer group (`ARGV[1]`) of the stream (`KEYS[1]`) if it
/// is missing, from the stream's first entry: also when the stream exists without it (made by
/// another writer, such as a producer in another language that only `XADD`s), where a check
/// for the stream alone would leave every `get` failing with `NOGROUP`. An existing group
/// makes the `XGROUP CREATE` fail (`BUSYGROUP`), which `pcall` ignores: one cheap command,
/// as the `EXISTS` check it replaces was.
macro_rules! ensure_group {
    () => {
        r"
local function ensure_group()
  redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
end
"
    };
}

/// Adds one item if the queue is open and (when bounded) fewer than `maxsize` items wait to be
/// taken (stream length minus pending entries), atomically.
/// KEYS: stream, shutdown flag. ARGV: group, maxsize (0: unbounded), payload.
/// Returns 1 (added), 0 (full), -1 (shut down).
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        ensure_group!(),
        r"
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
ensure_group()
local max = tonumber(ARGV[2])
if max > 0 then
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
  if redis.call('XLEN', KEYS[1]) - pending >= max then return 0 end
end
redis.call('XADD', KEYS[1], '*', 'p', ARGV[3])
return 1
",
    ))
});

/// The Lua function the scripts read an entry's payload (field `p`) with.
macro_rules! payload_field {
    () => {
        r"
local function field(entry)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'p' then return fields[i + 1] end
  end
  return ''
end
"
    };
}

/// Takes one item: first one whose consumer has been idle past the visibility timeout
/// (`XAUTOCLAIM`), then a new one (`XREADGROUP >`). Returns `{1, id, payload, deliveries}`
/// (Redis's delivery count of the item, this one included: the holder's proof that nobody
/// took the item over since, even under the same consumer name), `{2, '', '', 0}` when
/// nothing is left and the queue is shut down, `{0, '', '', 0}` when nothing is there now,
/// `{4, '', '', 0}` when nothing is there now, the queue is shut down, and items are pending
/// (whether the caller waits for them is `RedisQueue::drained`'s call).
/// The claim scan resumes where the last one stopped (`{key}:cursor`), since `XAUTOCLAIM`
/// looks at a bounded number of pending entries per call: a dead consumer's item behind many
/// live ones is still reached.
/// An item claimed for more than the delivery limit (`ARGV[4]`, 0 for none) is returned as
/// `{3, id, deliveries before this claim (as text), deliveries}`, still pending for this
/// consumer, for the caller to report and then move with `DEAD_LETTER` (so a `get` dropped
/// with this reply in flight loses no report: the item comes back after the visibility
/// timeout, and is reported then).
/// KEYS: stream, shutdown flag, claim cursor, dead letters. ARGV: group, consumer, visibility
/// timeout in ms, delivery limit.
static GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        ensure_group!(),
        payload_field!(),
        r"
ensure_group()
local cursor = redis.call('GET', KEYS[3]) or '0-0'
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', 1)
if claimed[1] ~= cursor then redis.call('SET', KEYS[3], claimed[1]) end
if #claimed[2] > 0 and claimed[2][1] then
  local entry = claimed[2][1]
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
  local deliveries = info[1][4]
  local limit = tonumber(ARGV[4])
  if limit > 0 and deliveries > limit then
    return {3, entry[1], tostring(deliveries - 1), deliveries}
  end
  return {1, entry[1], field(entry), deliveries}
end
local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if read and #read[1][2] > 0 then
  local entry = read[1][2][1]
  return {1, entry[1], field(entry), 1}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('XPENDING', KEYS[1], ARGV[1])[1] == 0 then return {2, '', '', 0} end
  return {4, '', '', 0}
end
return {0, '', '', 0}
",
    ))
});

/// Whether a shut-down queue is drained for a caller with items in hand (one with empty hands
/// waits for every pending item: see `RedisQueue::drained`): no item is left to hand out.
/// Called when the caller's `GET` found no new item and none to take over, so the items left are
/// the pending ones that are abandoned: idle for the visibility timeout (`ARGV[3]`, in ms) or
/// longer, whoever holds them and whichever entry the claim scan's cursor is at, and those
/// of the caller's consumer (`ARGV[2]`) that no live delivery of it holds (`ARGV[4..]`, the
/// ids its live deliveries hold: a delivery dropped without `done` holds nothing). An item
/// another consumer holds and has not left idle that long is live: not left, as an item
/// the caller holds is not (the local `Queue` counts neither). Returns 1 if drained.
/// KEYS: stream, shutdown flag. ARGV: group, consumer, visibility timeout, ids held.
static DRAINED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local overdue = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', 1)
if #overdue > 0 then return 0 end
local held = {}
for i = 4, #ARGV do held[ARGV[i]] = true end
local mine = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', #ARGV - 2, ARGV[2])
for _, entry in ipairs(mine) do
  if not held[entry[1]] then return 0 end
end
return 1
",
    )
});

/// Resets the idle time of an item still held by this delivery; `0` if it was taken over (or
/// acknowledged). Taken over means another consumer holds it, or this one got it again: every
/// `RedisQueue` clone shares one consumer name, so the delivery count the caller's `GET` saw
/// tells its delivery from a later one (`XCLAIM ... JUSTID` does not raise it).
/// KEYS: stream. ARGV: group, consumer, id, delivery count.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #pending == 0 or pending[1][2] ~= ARGV[2] or pending[1][4] ~= tonumber(ARGV[4]) then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
",
    )
});

/// Sets an item aside (it does not decode, or reached the delivery limit): copies it to the
/// dead-letter stream, then acknowledges and deletes it. Returns `0`, and moves nothing, if
/// the caller no longer holds it: it was taken over since the caller's `GET` (its visibility
/// timeout passed meanwhile; by another consumer, or by a clone under the same name: the
/// delivery count tells, as in `TOUCH`), or it was acknowledged, or set aside already.
/// KEYS: stream, dead letters. ARGV: group, id, error, consumer, delivery count.
static DEAD_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        payload_field!(),
        r"
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[4] or pending[1][4] ~= tonumber(ARGV[5]) then
  return 0
end
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entries == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'p', field(entries[1]), 'error', ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
",
    ))
});

/// Deletes the group's consumers that hold no item and have been idle longer than `ARGV[2]`
/// ms, other than the caller (`ARGV[3]`); returns how many. Every `RedisQueue` value is a
/// consumer of its own, so without this a deployment that comes and goes leaves its names in
/// the group forever. Deleting a consumer that holds nothing loses nothing, and `XREADGROUP`
/// recreates one that comes back. KEYS: stream. ARGV: group, idle threshold in ms, caller.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
-- No group yet (the stream was made by another writer): nobody to sweep.
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if consumers.err then return 0 end
local removed = 0
for _, consumer in ipairs(consumers) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if info['pending'] == 0 and info['idle'] > tonumber(ARGV[2]) and info['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
",
    )
});

/// How often one `RedisQueue` value sweeps idle consumers from the group (at most), and how
/// idle a consumer that holds nothing must be to go, in visibility timeouts.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
const SWEEP_IDLE_TIMEOUTS: u64 = 10;

/// The longest pause between two polls of a waiting `get`, `put` or `join`.
const MAX_POLL: Duration = Duration::from_millis(50);

/// A job queue shared by every process that uses the same Redis key: asyncio's `Queue`
/// semantics across processes, on a Redis Stream with a consumer group.
///
/// Items are JSON ([`serde_json`]). [`put`](Self::put) adds an item (waiting while a bounded
/// queue is full: the check and the `XADD` are one atomic script), [`get`](Self::get) takes one
/// and returns it as a [`RedisDelivery`], whose [`done`](RedisDelivery::done) is `task_done`
/// for that item (`XACK` + `XDEL`). [`join`](Self::join) returns when every item put, by any
/// process, has been acknowledged; [`shutdown`](Self::shutdown) makes `put` fail and `get`
/// drain what is left and then fail, in every process.
///
/// A producer written in another language can feed the queue with
/// `XADD <key> * p <json>`: the stream it creates is adopted (its consumer group, `corral`,
/// is made from the first entry), and an entry whose `p` does not decode is set aside as
/// described below.
///
/// # Delivery is at least once
///
/// An item taken by a consumer that dies, or whose delivery is dropped without `done`, stays
/// pending; once it has been idle for the *visibility timeout* (default 30 s), the next `get`
/// in any process takes it over (`XAUTOCLAIM`) before reading new items. So no item is lost,
/// but an item can be processed twice: by a consumer that died after its work and before
/// `done`, or by one that took longer than the visibility timeout. Make processing idempotent,
/// and choose a timeout above your longest job.
///
/// An item that does not decode as `T` is not retried: `get` moves it to the dead-letter
/// stream `{key}:dead` (with its id and the error), acknowledges it, reports it through
/// [`corral::report`], and goes on to the next item. An item that keeps coming back (every
/// consumer that takes it crashes) goes the same way once it reaches the delivery limit set by
/// [`with_max_deliveries`](Self::with_max_deliveries). The report comes before the move (a
/// `get` dropped in between then loses no report: the item comes back and is reported again);
/// if another consumer takes the item over first, it is not moved, and a second report says
/// so.
///
/// A job that may run longer than the visibility timeout keeps its item by calling
/// [`RedisDelivery::touch`] now and then.
///
/// Each `RedisQueue` value (and its clones) is one consumer of the group. A consumer that holds
/// no item and has been idle for ten visibility timeouts is deleted from the group by the next
/// `get` of any value (each value sweeps at most once a minute), so consumers that came and
/// went do not pile up in Redis; deleting one loses nothing, and it rejoins if it comes back.
///
/// Keys used: `{key}` (the stream, with consumer group `corral`), `{key}:shutdown`,
/// `{key}:dead`, `{key}:cursor`. Waiting operations poll (1 ms doubling to 50 ms): a blocking `XREADGROUP`
/// would hold the shared multiplexed connection.
///
/// # Comparison to the local `Queue`
///
/// Same method names; `task_done` is per item ([`RedisDelivery::done`]), every method is async
/// and can fail with [`Error::Redis`], and waiters are not served in order. `maxsize` bounds
/// the items waiting to be taken, as asyncio's does (taken but unacknowledged items do not
/// count).
///
/// # Examples
///
/// ```
/// use corral_redis::RedisQueue;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = corral_redis::test_server::TestServer::start()?;
/// # let url = server.url();
/// let conn = redis::aio::ConnectionManager::new(redis::Client::open(url)?).await?;
/// let queue = RedisQueue::<String>::bounded(conn, "jobs", 100)?;
/// queue.put("resize cat.png".to_owned()).await?;
/// let job = queue.get().await?;
/// println!("processing {}", *job);
/// job.done().await?;
/// queue.join().await?; // every item put has been acknowledged
/// # Ok(())
/// # }
/// ```
pub struct RedisQueue<T> {
    shared: Arc<Shared>,
    _items: PhantomData<fn(T) -> T>,
}

#[derive(Debug, Clone)]
struct Shared {
    conn: ConnectionManager,
    stream: String,
    shutdown: String,
    dead: String,
    cursor: String,
    consumer: String,
    maxsize: usize,
    visibility_ms: u64,
    /// Deliveries after which an item not acknowledged is dead-lettered; 0 for no limit.
    max_deliveries: u32,
    /// When this value last swept idle consumers (`None`: not yet).
    swept: Arc<Mutex<Option<Instant>>>,
    /// The items this consumer (this value and its clones) holds through deliveries not yet
    /// done or dropped, with how many such deliveries hold each.
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl Shared {
    /// Whether this value should sweep idle consumers now; if so, the next sweep is
    /// [`SWEEP_EVERY`] away.
    fn sweep_due(&self) -> bool {
        let now = Instant::now();
        let mut swept = self.swept.lock().unwrap_or_else(PoisonError::into_inner);
        if swept.is_some_and(|last| now.saturating_duration_since(last) < SWEEP_EVERY) {
            return false;
        }
        *swept = Some(now);
        true
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A delivery's hold on its item, counted in [`Shared::held`] while it lives.
#[derive(Debug)]
struct Hold {
    shared: Arc<Shared>,
    id: String,
}

impl Hold {
    fn new(shared: Arc<Shared>, id: String) -> Self {
        *shared.held().entry(id.clone()).or_default() += 1;
        Self { shared, id }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut held = self.shared.held();
        if let Some(count) = held.get_mut(&self.id) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.id);
            }
        }
    }
}

impl<T> Clone for RedisQueue<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            _items: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for RedisQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("stream", &self.shared.stream)
            .field("consumer", &self.shared.consumer)
            .field("maxsize", &self.shared.maxsize)
            .field("visibility_ms", &self.shared.visibility_ms)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> RedisQueue<T> {
    /// A queue on the Redis key `key` that holds at most `maxsize` items waiting to be taken.
    ///
    /// Every process sharing `key` should use the same `maxsize`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `maxsize` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use corral_redis::{Error, RedisQueue};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = RedisQueue::<String>::bounded(conn.clone(), "uploads", 2)?;
    /// queue.put("a.png".to_owned()).await?;
    /// queue.put("b.png".to_owned()).await?;
    /// // Full: a third `put` waits until an item is taken.
    /// let third = tokio::time::timeout(Duration::from_millis(20), queue.put("c.png".to_owned())).await;
    /// assert!(third.is_err(), "still waiting for room");
    /// assert!(matches!(RedisQueue::<String>::bounded(conn, "uploads", 0), Err(Error::Config(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bounded(
        conn: ConnectionManager,
        key: impl Into<String>,
        maxsize: usize,
    ) -> Result<Self, Error> {
        if maxsize == 0 {
            return Err(Error::Config("maxsize must be at least 1"));
        }
        Ok(Self::new(conn, key.into(), maxsize))
    }

    /// A queue on the Redis key `key` with no bound.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::<u32>::unbounded(conn, "events");
    /// queue.put(1).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn unbounded(conn: ConnectionManager, key: impl Into<String>) -> Self {
        Self::new(conn, key.into(), 0)
    }

    fn new(conn: ConnectionManager, key: String, maxsize: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                conn,
                shutdown: format!("{key}:shutdown"),
                dead: format!("{key}:dead"),
                cursor: format!("{key}:cursor"),
                stream: key,
                consumer: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
                maxsize,
                visibility_ms: 30_000,
                max_deliveries: 0,
                swept: Arc::default(),
                held: Arc::default(),
            }),
            _items: PhantomData,
        }
    }

    /// Sets the visibility timeout: how long an item taken and not acknowledged stays with its
    /// consumer before another `get` may take it over (default 30 s, at least 1 ms).
    ///
    /// [`Duration::MAX`] means "never take an item over": a timeout above 100 years is taken
    /// as 100 years (Redis counts idle times in milliseconds of its clock, and refuses a
    /// longer one), so an item whose consumer died stays with it for good.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::<u32>::unbounded(conn, "quick")
    ///     .with_visibility_timeout(Duration::from_secs(5));
    /// # let _ = queue;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_visibility_timeout(self, timeout: Duration) -> Self {
        // Clamped: XAUTOCLAIM refuses an idle time above i64::MAX ms, so `Duration::MAX`
        // would make every `get` fail.
        let visibility_ms = u64::try_from(timeout.min(crate::LONGEST).as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Self::from_shared(Shared {
            visibility_ms,
            ..(*self.shared).clone()
        })
    }

    /// Sets a delivery limit: an item handed out `max` times without being acknowledged (its
    /// consumers crashed on it, or dropped it, each time) is not handed out again but moved to
    /// the dead-letter stream `{key}:dead` with its id and the reason, acknowledged, and
    /// reported through [`corral::report`]. Without a limit (the default) such a *poison* item
    /// comes back after every visibility timeout and can take down every consumer in turn.
    /// A limit of 0 means no limit.
    ///
    /// Every process sharing the key should use the same limit; the count is Redis's own
    /// delivery counter, so it holds across processes and restarts of the consumers.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::<u32>::unbounded(conn, "jobs").with_max_deliveries(5);
    /// # let _ = queue;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_max_deliveries(self, max: u32) -> Self {
        Self::from_shared(Shared {
            max_deliveries: max,
            ..(*self.shared).clone()
        })
    }

    fn from_shared(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
            _items: PhantomData,
        }
    }

    /// Puts an item, waiting while the queue is full.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe for the item, as [`Queue::put`](corral::queue::Queue::put) is not:
    /// dropped while it waits for room, it has inserted nothing and drops the item. Dropped
    /// while its last request is in flight, the item may have been inserted, once (never
    /// twice).
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] if the queue is shut down, [`Error::Encode`] if the item does not
    /// serialise, [`Error::Redis`] if the server cannot be reached. A reply that is lost or
    /// comes too late (the connection's response timeout) is [`Error::Redis`] too, though the
    /// item may have been inserted, once: retrying such a `put` may insert it twice.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral_redis::RedisQueue;
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Resize { path: String, width: u32 }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = RedisQueue::<Resize>::bounded(conn, "resize", 100)?;
    /// queue.put(Resize { path: "cat.png".into(), width: 128 }).await?; // stored as JSON
    /// assert_eq!(queue.unfinished().await?, 1);
    /// let job = queue.get().await?;
    /// assert_eq!((job.path.as_str(), job.width), ("cat.png", 128));
    /// job.done().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn put(&self, item: T) -> Result<(), Error> {
        let payload = serde_json::to_string(&item).map_err(Error::Encode)?;
        let shared = &*self.shared;
        let mut conn = shared.conn.clone();
        let mut pause = Duration::from_millis(1);
        loop {
            let added: i64 = PUT
                .key(&shared.stream)
                .key(&shared.shutdown)
                .arg(GROUP)
                .arg(shared.maxsize)
                .arg(&payload)
                .invoke_async(&mut conn)
                .await?;
            match added {
                1 => return Ok(()),
                -1 => return Err(Error::Shutdown),
                _ => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_POLL);
                }
            }
        }
    }

    /// Takes an item, waiting while the queue is empty: first an item whose consumer has held
    /// it past the visibility timeout, then a new one.
    ///
    /// After [`shutdown`](Self::shutdown), `get` still returns the items left, then fails with
    /// [`Error::Shutdown`]. What it waits for depends on whether the caller has items in hand
    /// (deliveries taken through this queue value or its clones and not yet done or dropped):
    ///
    /// - A worker with items in hand gets [`Error::Shutdown`] as soon as nothing is left for it
    ///   to take: no item not yet taken, none abandoned (held past the visibility timeout, by
    ///   any consumer, this one included), none taken by this consumer through a delivery since
    ///   dropped without `done`. An item another consumer holds, idle for less than the
    ///   visibility timeout, is not waited for: as with the local `Queue`, workers that each
    ///   hold an item and ask for the next one after shutdown all get [`Error::Shutdown`] at
    ///   once (not each other's items after the visibility timeout). It waits only while an
    ///   abandoned item of its own is on its way back (a dropped delivery's item, until its
    ///   visibility timeout).
    /// - A worker with empty hands (a finisher, or a worker whose last item is done) waits while
    ///   any consumer holds an item, and fails with [`Error::Shutdown`] once every item is
    ///   acknowledged. If a holder dies (in any process, before or after the shutdown), its
    ///   item is taken over and returned once it has been idle for the visibility timeout, as
    ///   at any time: so a worker that finishes its own items and asks again recovers a dead
    ///   holder's item, and [`join`](Self::join) returns.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: no item is lost. Dropped while its last request is in
    /// flight, the item it took stays pending and is handed out again after the visibility
    /// timeout. An item it sets aside (it does not decode, or reached the delivery limit) is
    /// reported before it is moved, so a `get` dropped in between loses no report: the item
    /// comes back and is reported again.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] once the queue is shut down and nothing is left to take (for a
    /// caller with items in hand, items other consumers hold through live deliveries are not
    /// left; a caller with empty hands waits for every held item; see above),
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "tasks");
    /// queue.put(7_u32).await?;
    /// let job = queue.get().await?; // waits while the queue is empty
    /// assert_eq!(*job, 7);
    /// job.done().await?;
    /// queue.shutdown().await?;
    /// assert!(matches!(queue.get().await, Err(corral_redis::Error::Shutdown)), "drained");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get(&self) -> Result<RedisDelivery<T>, Error> {
        let shared = &*self.shared;
        let mut conn = shared.conn.clone();
        if shared.sweep_due() {
            SWEEP
                .key(&shared.stream)
                .arg(GROUP)
                .arg(shared.visibility_ms.saturating_mul(SWEEP_IDLE_TIMEOUTS))
                .arg(&shared.consumer)
                .invoke_async::<i64>(&mut conn)
                .await?;
        }
        let mut pause = Duration::from_millis(1);
        loop {
            let (kind, id, payload, deliveries): (i64, String, String, u64) = GET
                .key(&shared.stream)
                .key(&shared.shutdown)
                .key(&shared.cursor)
                .key(&shared.dead)
                .arg(GROUP)
                .arg(&shared.consumer)
                .arg(shared.visibility_ms)
                .arg(shared.max_deliveries)
                .invoke_async(&mut conn)
                .await?;
            match kind {
                1 => match serde_json::from_str(&payload) {
                    Ok(item) => {
                        return Ok(RedisDelivery {
                            item,
                            deliveries,
                            hold: Hold::new(self.shared.clone(), id),
                        });
                    }
                    Err(error) => {
                        let error = error.to_string();
                        // Reported before it is moved: dropped in between, the item stays
                        // pending, comes back and is reported again (never not at all).
                        corral::report::report(
                            "RedisQueue",
                            corral::report::ReportKind::Error,
                            &format_args!(
                                "item {id} of {} does not decode ({error}); moving it to {}",
                                shared.stream, shared.dead
                            ),
                        );
                        self.dead_letter(&mut conn, &id, deliveries, &error).await?;
                        pause = Duration::from_millis(1);
                    }
                },
                2 => return Err(Error::Shutdown),
                4 if self.drained(&mut conn).await? => return Err(Error::Shutdown),
                3 => {
                    corral::report::report(
                        "RedisQueue",
                        corral::report::ReportKind::Error,
                        &format_args!(
                            "item {id} of {} was handed out {payload} times without done \
                             (the delivery limit); moving it to {}",
                            shared.stream, shared.dead
                        ),
                    );
                    let why = format!("handed out {payload} times without done");
                    self.dead_letter(&mut conn, &id, deliveries, &why).await?;
                    pause = Duration::from_millis(1);
                }
                _ => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_POLL);
                }
            }
        }
    }

    /// Whether the shut-down queue is drained for this consumer, which `GET` found nothing
    /// for while items are pending. A consumer with items in hand is drained when no pending
    /// item is abandoned (see `DRAINED`; one round trip): it does not wait for items that
    /// others hold live, so two workers that each hold one do not wait for each other. A
    /// consumer with empty hands is not (no round trip): it waits, as before the shutdown,
    /// until every item is acknowledged or one is overdue and its `GET` takes it over, so a
    /// holder that dies does not leave its item pending forever.
    async fn drained(&self, conn: &mut ConnectionManager) -> Result<bool, Error> {
        let shared = &*self.shared;
        let held: Vec<String> = shared.held().keys().cloned().collect();
        if held.is_empty() {
            return Ok(false);
        }
        let drained: i64 = DRAINED
            .key(&shared.stream)
            .key(&shared.shutdown)
            .arg(GROUP)
            .arg(&shared.consumer)
            .arg(shared.visibility_ms)
            .arg(held)
            .invoke_async(conn)
            .await?;
        Ok(drained == 1)
    }

    /// Moves item `id`, which this consumer holds (delivered `deliveries` times, the last to
    /// the caller), to the dead-letter stream with `error`.
    ///
    /// The move was reported before it is made (so a `get` dropped in between loses no
    /// report). If it does not happen after all (another consumer took the item over in
    /// between, or it was acknowledged), that is reported too, so the report that said it
    /// was moving is not left standing alone.
    async fn dead_letter(
        &self,
        conn: &mut ConnectionManager,
        id: &str,
        deliveries: u64,
        error: &str,
    ) -> Result<(), Error> {
        let shared = &*self.shared;
        let moved = DEAD_LETTER
            .key(&shared.stream)
            .key(&shared.dead)
            .arg(GROUP)
            .arg(id)
            .arg(error)
            .arg(&shared.consumer)
            .arg(deliveries)
            .invoke_async::<i64>(conn)
            .await?;
        if moved == 0 {
            corral::report::report(
                "RedisQueue",
                corral::report::ReportKind::Error,
                &format_args!(
                    "item {id} of {} was not moved to {} after all: another consumer took it \
                     over, or it was acknowledged, first",
                    shared.stream, shared.dead
                ),
            );
        }
        Ok(())
    }

    /// Waits until every item put into the queue, by any process, has been acknowledged
    /// (or set aside as undecodable).
    ///
    /// It polls the stream's length (1 ms doubling to 50 ms): acknowledged items are deleted,
    /// so the stream holds exactly the items not yet done.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: it takes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "batch");
    /// for n in 0..3_u32 {
    ///     queue.put(n).await?;
    /// }
    /// let worker = tokio::spawn({
    ///     let queue = queue.clone();
    ///     async move {
    ///         for _ in 0..3 {
    ///             queue.get().await?.done().await?;
    ///         }
    ///         Ok::<_, corral_redis::Error>(())
    ///     }
    /// });
    /// queue.join().await?; // the worker acknowledged all three
    /// assert_eq!(queue.unfinished().await?, 0);
    /// worker.await??;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn join(&self) -> Result<(), Error> {
        let mut conn = self.shared.conn.clone();
        let mut pause = Duration::from_millis(1);
        loop {
            let unfinished: u64 = redis::cmd("XLEN")
                .arg(&self.shared.stream)
                .query_async(&mut conn)
                .await?;
            if unfinished == 0 {
                return Ok(());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Shuts the queue down, for every process: from now on [`put`](Self::put) fails, and
    /// [`get`](Self::get) returns what is left, then fails. A worker with items in hand is
    /// told [`Error::Shutdown`] once nothing is left for it (items other consumers hold are
    /// theirs to finish); a worker with empty hands waits while anyone holds an item, and
    /// takes over the item of a holder that dies once it has been idle for the visibility
    /// timeout (see [`get`](Self::get)), so a drain with `get` until it fails, then
    /// [`join`](Self::join), completes even if a holder dies.
    ///
    /// The shutdown flag stays in Redis (key `{key}:shutdown`); delete it to reopen the queue.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropped before it completes, it shut the queue down or did
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "closing");
    /// queue.put(1).await?;
    /// queue.shutdown().await?;
    /// assert!(queue.put(2).await.is_err());
    /// let last = queue.get().await?; // what is left is still handed out
    /// assert_eq!(*last, 1);
    /// last.done().await?;
    /// assert!(queue.get().await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self) -> Result<(), Error> {
        let mut conn = self.shared.conn.clone();
        redis::cmd("SET")
            .arg(&self.shared.shutdown)
            .arg(1)
            .exec_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Whether the queue is shut down.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: it only reads.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::<u8>::unbounded(conn, "flag");
    /// assert!(!queue.is_shutdown().await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn is_shutdown(&self) -> Result<bool, Error> {
        let mut conn = self.shared.conn.clone();
        Ok(redis::cmd("EXISTS")
            .arg(&self.shared.shutdown)
            .query_async::<i64>(&mut conn)
            .await?
            == 1)
    }

    /// The number of items put and not yet acknowledged (waiting, or taken and in progress).
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: it only reads.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "count");
    /// queue.put('a').await?;
    /// assert_eq!(queue.unfinished().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn unfinished(&self) -> Result<u64, Error> {
        let mut conn = self.shared.conn.clone();
        Ok(redis::cmd("XLEN")
            .arg(&self.shared.stream)
            .query_async(&mut conn)
            .await?)
    }
}

/// An item taken from a [`RedisQueue`], with its acknowledgement.
///
/// Read the item through `Deref` (or take it with [`into_parts`](Self::into_parts)); call
/// [`done`](Self::done) when it has been processed. Dropped without `done`, nothing is sent:
/// the item stays pending and is handed out again, to this or another process, once the
/// visibility timeout has passed since it was taken.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = corral_redis::test_server::TestServer::start()?;
/// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
/// let queue = corral_redis::RedisQueue::unbounded(conn, "deliveries");
/// queue.put(vec![1, 2, 3]).await?;
/// let job = queue.get().await?;
/// assert_eq!(job.iter().sum::<i32>(), 6); // the item, through `Deref`
/// job.done().await?; // acknowledged: never handed out again
/// assert_eq!(queue.unfinished().await?, 0);
/// # Ok(())
/// # }
/// ```
#[must_use = "call `done` once the item is processed, or it is handed out again"]
pub struct RedisDelivery<T> {
    item: T,
    /// Redis's delivery count of the item when this delivery took it: another delivery of
    /// the same item, even to a clone of the same queue (one consumer name), raises it.
    deliveries: u64,
    hold: Hold,
}

impl<T> RedisDelivery<T> {
    /// The item's stream id, as Redis named it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "ids");
    /// queue.put(5).await?;
    /// let job = queue.get().await?;
    /// assert!(job.id().contains('-'));
    /// # job.done().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.hold.id
    }

    /// Tells Redis this consumer is still working on the item: its visibility timeout starts
    /// again. Returns `false` if the item was already handed out again (its timeout had run
    /// out; to another process, or to a clone of this queue) or acknowledged: stop working on
    /// it.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropped before it completes, the timeout was reset or not.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "long");
    /// queue.put(String::from("a long job")).await?;
    /// let job = queue.get().await?;
    /// // ... part of the work ...
    /// assert!(job.touch().await?, "still ours");
    /// // ... the rest ...
    /// job.done().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn touch(&self) -> Result<bool, Error> {
        let shared = &*self.hold.shared;
        let mut conn = shared.conn.clone();
        let still_ours: i64 = TOUCH
            .key(&shared.stream)
            .arg(GROUP)
            .arg(&shared.consumer)
            .arg(&self.hold.id)
            .arg(self.deliveries)
            .invoke_async(&mut conn)
            .await?;
        Ok(still_ours == 1)
    }

    /// The item and an acknowledgement to send later with [`Ack::done`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "parts");
    /// queue.put(String::from("job")).await?;
    /// let (job, ack) = queue.get().await?.into_parts();
    /// drop(job); // owned
    /// ack.done().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_parts(self) -> (T, Ack) {
        (self.item, Ack { hold: self.hold })
    }

    /// Acknowledges the item (`XACK` + `XDEL` in one `MULTI` transaction, one round trip): it
    /// counts as done for [`RedisQueue::join`] and is never handed out again.
    ///
    /// This holds even if the item was handed out again meanwhile (its visibility timeout ran
    /// out, and another consumer, or a clone of this queue, took it over): the work is done,
    /// so the item is; its new holder's [`touch`](Self::touch) then returns `false`, telling it
    /// to stop, and its `done` changes nothing.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropped before it completes, the item was acknowledged or
    /// will be handed out again after the visibility timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the server cannot be reached: the item is then still pending, and
    /// handed out again after the visibility timeout. A reply that is lost or comes too late
    /// (the connection's response timeout) is [`Error::Redis`] too, though the server may
    /// have acknowledged the item: then it is gone, and never handed out again. Either way,
    /// nothing is lost and nothing half done (the `XACK` and the `XDEL` are one transaction).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "acks");
    /// queue.put(String::from("job")).await?;
    /// let job = queue.get().await?;
    /// assert_eq!(queue.unfinished().await?, 1); // taken, not yet done
    /// job.done().await?;
    /// assert_eq!(queue.unfinished().await?, 0);
    /// queue.join().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn done(self) -> Result<(), Error> {
        self.into_parts().1.done().await
    }
}

impl<T> Deref for RedisDelivery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.item
    }
}

impl<T> std::fmt::Debug for RedisDelivery<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDelivery")
            .field("id", &self.hold.id)
            .finish_non_exhaustive()
    }
}

/// The acknowledgement of an item taken from a [`RedisQueue`], apart from the item.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = corral_redis::test_server::TestServer::start()?;
/// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
/// let queue = corral_redis::RedisQueue::unbounded(conn, "reports");
/// queue.put(String::from("report.pdf")).await?;
/// let (path, ack) = queue.get().await?.into_parts();
/// let work = tokio::spawn(async move { path.len() }); // the item is owned: move it anywhere
/// assert_eq!(work.await?, 10);
/// ack.done().await?; // then acknowledge it
/// assert_eq!(queue.unfinished().await?, 0);
/// # Ok(())
/// # }
/// ```
#[must_use = "call `done` once the item is processed, or it is handed out again"]
#[derive(Debug)]
pub struct Ack {
    hold: Hold,
}

impl Ack {
    /// The item's stream id.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "ack-ids");
    /// queue.put(1_u8).await?;
    /// let job = queue.get().await?;
    /// let id = job.id().to_owned();
    /// let (_, ack) = job.into_parts();
    /// assert_eq!(ack.id(), id);
    /// ack.done().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.hold.id
    }

    /// As [`RedisDelivery::done`].
    ///
    /// # Cancel safety
    ///
    /// As [`RedisDelivery::done`].
    ///
    /// # Errors
    ///
    /// As [`RedisDelivery::done`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = corral_redis::test_server::TestServer::start()?;
    /// # let conn = redis::aio::ConnectionManager::new(redis::Client::open(server.url())?).await?;
    /// let queue = corral_redis::RedisQueue::unbounded(conn, "later");
    /// queue.put(String::from("job")).await?;
    /// let (job, ack) = queue.get().await?.into_parts();
    /// assert_eq!(job, "job");
    /// ack.done().await?;
    /// assert_eq!(queue.unfinished().await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn done(self) -> Result<(), Error> {
        let shared = &*self.hold.shared;
        let mut conn = shared.conn.clone();
        // Both or neither: acknowledged but not deleted, an item would never be handed out
        // again and would keep `join` waiting for ever.
        redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(&shared.stream)
            .arg(GROUP)
            .arg(&self.hold.id)
            .ignore()
            .cmd("XDEL")
            .arg(&shared.stream)
            .arg(&self.hold.id)
            .ignore()
            .exec_async(&mut conn)
            .await?;
        Ok(())
    }
}

impl<T: Send + Sync> Delivery<T> for RedisDelivery<T> {
    type Error = Error;

    fn done(self) -> impl Future<Output = Result<(), Error>> + Send {
        RedisDelivery::done(self)
    }
}

impl<T> JobQueue<T> for RedisQueue<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Delivery<'a> = RedisDelivery<T>;
    type PutError = Error;
    type GetError = Error;
    type Error = Error;

    fn put(&self, item: T) -> impl Future<Output = Result<(), Error>> + Send {
        RedisQueue::put(self, item)
    }

    fn get(&self) -> impl Future<Output = Result<RedisDelivery<T>, Error>> + Send {
        RedisQueue::get(self)
    }

    fn join(&self) -> impl Future<Output = Result<(), Error>> + Send {
        RedisQueue::join(self)
    }

    fn shutdown(&self) -> impl Future<Output = Result<(), Error>> + Send {
        RedisQueue::shutdown(self)
    }
}
