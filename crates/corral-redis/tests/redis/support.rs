use std::sync::OnceLock;

use corral_redis::test_server::TestServer;
use redis::aio::ConnectionManager;

/// One private server per test binary, started on first use; it dies with the process (see
/// `corral_redis::test_server`). Each test uses its own keys.
///
/// It publishes keyspace events (see [`KeyEvents`]): generic (`g`: `del`), expiry (`x`:
/// `expired`), sorted set (`z`: `zadd`, `zrem`, ...) and key-miss (`m`: `keymiss`, a read of a
/// key that does not exist, also from a script).
pub(crate) fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(
        || match TestServer::start_with(&["--notify-keyspace-events", "Kgxzm"]) {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        },
    )
}

/// A fresh connection manager to `server`: one per simulated process.
///
/// Its response timeout is 10 s, not the client's default 500 ms: a machine that stalls the
/// test or the server for half a second must not fail a test (the tests' own timeouts guard
/// against hangs).
pub(crate) async fn connect(server: &TestServer) -> ConnectionManager {
    let client = redis::Client::open(server.url()).expect("a valid url");
    ConnectionManager::new_with_config(client, patient())
        .await
        .expect("the test server is up")
}

/// A connection manager's configuration with 10 s timeouts (see [`connect`]).
pub(crate) fn patient() -> redis::aio::ConnectionManagerConfig {
    let ten_seconds = Some(std::time::Duration::from_secs(10));
    redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(ten_seconds)
        .set_connection_timeout(ten_seconds)
}

/// The keyspace events of one key on [`server`]: what the server did to it, as it happens. The
/// tests wait on these rather than sleeping until something has probably happened.
pub(crate) struct KeyEvents {
    _conn: ConnectionManager,
    events: tokio::sync::mpsc::UnboundedReceiver<redis::PushInfo>,
}

impl KeyEvents {
    /// Subscribes to the events of `key`; every event after this returns is seen.
    pub(crate) async fn subscribe(key: &str) -> Self {
        let (sender, events) = tokio::sync::mpsc::unbounded_channel();
        let client =
            redis::Client::open(format!("{}?protocol=resp3", server().url())).expect("a valid url");
        let config = patient().set_push_sender(sender);
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .expect("the test server is up");
        conn.subscribe(format!("__keyspace@0__:{key}"))
            .await
            .expect("subscribe");
        Self {
            _conn: conn,
            events,
        }
    }

    /// The next event (`zadd`, `zrem`, `del`, `expired`, `keymiss`, ...), waiting at most 10 s:
    /// a guard against a hang, never reached when the code works.
    pub(crate) async fn next(&mut self) -> String {
        loop {
            let push = tokio::time::timeout(std::time::Duration::from_secs(10), self.events.recv())
                .await
                .expect("a keyspace event within 10 s")
                .expect("still subscribed");
            if push.kind == redis::PushKind::Message {
                let [_channel, event] = <[redis::Value; 2]>::try_from(push.data)
                    .expect("a message is a channel and a payload");
                return redis::from_redis_value(event).expect("an event name");
            }
        }
    }

    /// Waits for the next `event`, skipping others (each wait guarded as in [`next`](Self::next)).
    pub(crate) async fn wait_for(&mut self, event: &str) {
        while self.next().await != event {}
    }
}

/// A key prefix of its own for each test.
pub(crate) fn key(test: &str) -> String {
    format!("test:{test}:{}", fastrand::u64(..))
}

/// The environment variable that turns this test binary into a child process (see
/// `child::child_process_entry`).
pub(crate) const CHILD_ROLE: &str = "CORRAL_REDIS_CHILD";

/// A child process: this test binary re-invoked to run `child::child_process_entry` in `role`.
#[derive(Debug)]
pub(crate) struct ChildProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl ChildProcess {
    pub(crate) fn spawn(role: &str, url: &str, key: &str) -> Self {
        use std::io::BufRead;
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut child = std::process::Command::new(exe)
            .args([
                "--exact",
                "child::child_process_entry",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ROLE, role)
            .env("CORRAL_REDIS_URL", url)
            .env("CORRAL_REDIS_KEY", key)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("re-invoke the test binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// What follows `prefix` in the next line the child printed that holds it (blocking, at
    /// most 30 s).
    pub(crate) fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                // libtest prints `test child::child_process_entry ... ` before the child's output.
                Ok(line) => {
                    if let Some(at) = line.find(prefix) {
                        return line[at + prefix.len()..].trim().to_owned();
                    }
                }
                Err(error) => panic!("the child never printed {prefix:?}: {error}"),
            }
        }
    }

    /// SIGKILL: the child gets no chance to clean up.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill the child");
        self.child.wait().expect("reap the child");
    }

    pub(crate) fn wait_success(mut self) {
        self.wait_for("DONE");
        let status = self.child.wait().expect("reap the child");
        assert!(status.success(), "the child failed: {status}");
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns once every request sent before it on `conn`'s multiplexed connection has its reply.
///
/// A `ConnectionManager` and its clones share one connection, which sends requests in order
/// and receives their replies in order: once this `PING` is answered, a request another future
/// on the same connection had sent before it has been executed by the server and its reply
/// delivered to that future (which is woken, not polled). A request whose future was dropped
/// before the connection's task wrote it is not sent at all (redis-rs skips requests nobody
/// waits for), so after this fence it is certain never to run. On the current-thread runtime
/// of `#[tokio::test]` that task cannot run between a poll and a drop in the test's body, so
/// a future polled once and dropped at once never had its request written (the tests still
/// accept either outcome there, as the documentation does).
///
/// The tests drop a future at one of two points with it:
/// - *before it is sent*: poll it once (it queues its request), drop it, then `fence`;
/// - *with its reply in flight*: poll it once, `fence` (the server has run the request and
///   the reply waits, unread), then drop it.
pub(crate) async fn fence(conn: &mut ConnectionManager) {
    let pong: String = redis::cmd("PING")
        .query_async(conn)
        .await
        .expect("the test server answers");
    assert_eq!(pong, "PONG");
}

/// Where [`drop_mid_flight`] drops a future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropPoint {
    /// Its request was queued on the connection, not yet written.
    BeforeSent,
    /// The server ran its request; the reply arrived and was never read.
    ReplyInFlight,
}

/// Polls `future` once, which must leave it waiting for the reply to the request it sent on
/// `conn`'s connection, and drops it at `point` (see [`fence`]). Returns once the request
/// has either run on the server or is certain never to.
pub(crate) async fn drop_mid_flight<F: std::future::Future>(
    conn: &mut ConnectionManager,
    future: F,
    point: DropPoint,
) {
    let mut task = tokio_test::task::spawn(future);
    assert!(task.poll().is_pending(), "the request waits for its reply");
    match point {
        DropPoint::BeforeSent => {
            drop(task);
            fence(conn).await;
        }
        DropPoint::ReplyInFlight => {
            fence(conn).await;
            assert!(task.is_woken(), "the reply arrived, unread");
            drop(task);
        }
    }
}

/// Polls `future`, whose first request goes out on `conn`'s connection, until that request's
/// reply has been read, and checks it is still waiting then (it was refused and waits to try
/// again). Deterministic: no timer decides it (see [`fence`]). Returns it, to drop or poll on.
pub(crate) async fn still_waits_after_its_reply<F: std::future::Future>(
    conn: &mut ConnectionManager,
    future: F,
) -> tokio_test::task::Spawn<F> {
    let mut task = tokio_test::task::spawn(future);
    assert!(task.poll().is_pending(), "its request is sent");
    fence(conn).await;
    assert!(task.is_woken(), "its reply arrived");
    assert!(task.poll().is_pending(), "still waiting after its reply");
    task
}

/// The report hook is process-wide: a test that reads reports holds this while it does.
static REPORT_HOOK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Collects every `corral::report` while it lives (one at a time: see [`REPORT_HOOK`]).
pub(crate) struct Reports {
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    arrived: std::sync::Arc<tokio::sync::Notify>,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

impl Reports {
    pub(crate) async fn collect() -> Self {
        let serial = REPORT_HOOK.lock().await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
        let (sink, signal) = (seen.clone(), arrived.clone());
        corral::report::set_hook(move |report: &corral::report::Report<'_>| {
            let line = format!("{}: {:?}", report.source(), report.detail());
            sink.lock().expect("not poisoned").push(line);
            signal.notify_waiters();
        });
        Self {
            seen,
            arrived,
            _serial: serial,
        }
    }

    /// Waits for a report `matching` (or returns the first one seen already), at most 10 s: a
    /// guard against a hang, never reached when the code works.
    pub(crate) async fn wait_for(&self, matching: impl Fn(&str) -> bool) -> String {
        let wait = async {
            loop {
                let arrived = self.arrived.notified();
                if let Some(line) = self.lines().into_iter().find(|line| matching(line)) {
                    return line;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("no such report within 10 s: {:?}", self.lines()))
    }

    /// What was reported so far.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl Drop for Reports {
    fn drop(&mut self) {
        corral::report::take_hook();
    }
}

/// A loopback TCP proxy to a server that can be frozen: while frozen it forwards nothing,
/// either way (a network partition: requests get no reply, nothing is refused). What it read
/// while frozen goes through, in order, once thawed. It stops forwarding when dropped.
pub(crate) struct FrozenProxy {
    port: u16,
    frozen: tokio::sync::watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl FrozenProxy {
    /// A proxy to the server on `target` (loopback), thawed.
    pub(crate) async fn start(target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let (frozen, watch) = tokio::sync::watch::channel(false);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                    return;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(client_read, server_write, watch.clone()));
                tokio::spawn(forward(server_read, client_write, watch.clone()));
            }
        });
        Self {
            port,
            frozen,
            accept,
        }
    }

    /// The URL to give `redis::Client::open`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// From now on nothing goes through.
    pub(crate) fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// What was held goes through, and everything after it.
    pub(crate) fn thaw(&self) {
        self.frozen.send_replace(false);
    }

    /// A connection manager through this proxy with `config` (connected while thawed). The
    /// connection's set-up requests have `config`'s response timeout: one a stalled machine
    /// made time out is tried again (a few times).
    pub(crate) async fn connect(
        &self,
        config: redis::aio::ConnectionManagerConfig,
    ) -> ConnectionManager {
        let client = redis::Client::open(self.url()).expect("a valid url");
        let mut attempts = 0;
        loop {
            match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
                Ok(conn) => return conn,
                Err(error) => {
                    attempts += 1;
                    assert!(attempts < 10, "the test server is up: {error}");
                }
            }
        }
    }
}

impl Drop for FrozenProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies `from` to `to`, holding what it read while `frozen` says so; ends with either side,
/// or with the proxy.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 || frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// [`fence`] on a connection whose response timeout may be short: a `PING` that times out
/// (the machine stalled) is sent again, and is still answered only after every request sent
/// before it (at most 10 s in all: a guard against a hang).
pub(crate) async fn fence_patiently(conn: &mut ConnectionManager) {
    let answered = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Ok(pong) = redis::cmd("PING").query_async::<String>(conn).await {
                assert_eq!(pong, "PONG");
                return;
            }
        }
    })
    .await;
    assert!(answered.is_ok(), "the server answers once thawed");
}

/// A connection manager's configuration whose response timeout is `timeout` (the connection
/// timeout stays 10 s): a request to a frozen proxy fails after it.
pub(crate) fn impatient(timeout: std::time::Duration) -> redis::aio::ConnectionManagerConfig {
    patient().set_response_timeout(Some(timeout))
}
