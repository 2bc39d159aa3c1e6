//! A private `redis-server` for tests, examples and benchmarks (not part of the API).
//!
//! The server is started through a small `sh` wrapper whose standard input is a pipe held by
//! this process: the wrapper waits on `read`, and when this process ends (normally, by a panic,
//! or killed by a signal) the pipe closes, `read` returns, and the wrapper kills the server. So
//! a server never outlives the test binary that started it, even though Rust never drops
//! statics, and no test depends on a server somebody else left running.
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const WRAPPER: &str = r#"port=$1; shift
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --loglevel warning "$@" >/dev/null 2>&1 </dev/null & r=$!
read _
kill "$r" 2>/dev/null
wait "$r""#;

/// A `redis-server` on a loopback port, killed when this value is dropped or when the process
/// ends, whichever comes first.
#[derive(Debug)]
pub struct TestServer {
    port: u16,
    extra: Vec<String>,
    running: Mutex<Option<(Child, ChildStdin)>>,
}

impl TestServer {
    /// Starts a server on a free port.
    ///
    /// # Errors
    ///
    /// A message saying how to install `redis-server` if it is not on `PATH`, or why it did not
    /// start.
    pub fn start() -> Result<Self, String> {
        Self::start_with(&[])
    }

    /// Starts a server on a free port with more `redis-server` arguments (they override the
    /// defaults: `--appendonly yes --dir ...` makes a server whose data survives a restart).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with(extra: &[&str]) -> Result<Self, String> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let server = Self {
                port,
                extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
                running: Mutex::new(None),
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to give `redis::Client::open`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (its data is lost: it runs without persistence).
    pub fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((mut child, mut stdin)) = running {
            let _ = stdin.write_all(b"stop\n");
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn restart(&self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }

    fn spawn(&self) -> Result<(), String> {
        match Command::new("redis-server").arg("--version").output() {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(
                    "redis-server is not on PATH: the corral-redis tests need a real \
                            server (Debian/Ubuntu: `apt-get install redis-server`; macOS: \
                            `brew install redis`)"
                        .to_owned(),
                );
            }
            Err(error) => return Err(format!("cannot run redis-server: {error}")),
        }
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WRAPPER)
            .arg("sh")
            .arg(self.port.to_string())
            .args(&self.extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start sh for redis-server: {error}"))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| "no stdin pipe to the redis-server wrapper".to_owned())?;
        let started = Instant::now();
        loop {
            if let Ok(stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
                && answers_ping(stream)
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server exited at start-up ({status})"));
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return Err(format!(
                    "redis-server did not listen on port {} within 10 s",
                    self.port
                ));
            }
            // Polling a port for readiness: there is nothing to wait on instead.
            std::thread::sleep(Duration::from_millis(5));
        }
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some((child, stdin));
        Ok(())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the server answers `PING` with `PONG` (not `-LOADING` while it reads its data).
fn answers_ping(mut stream: TcpStream) -> bool {
    use std::io::Read;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free port: {error}"))
}
