//! A private `redis-server` for tests, examples and benchmarks (not part of the API).
//!
//! The server is started through a small `sh` wrapper whose standard input is a pipe held by
//! this process: a watcher in the wrapper waits on `read`, and when this process ends
//! (normally, by a panic, or killed by a signal) the pipe closes, `read` returns, and the
//! watcher kills the server. So a server never outlives the test binary that started it, even
//! though Rust never drops statics. The wrapper prints the server's pid and exits with it, so
//! a server that cannot start (its port was taken meanwhile) is seen at once, and the server
//! that answers on the port is checked to be this one (`INFO server`'s `process_id`): no test
//! talks to a server somebody else left running, or another test binary started.
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const WRAPPER: &str = r#"port=$1; shift
exec 3<&0
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --loglevel warning "$@" >/dev/null 2>&1 </dev/null 3<&- & r=$!
echo "$r"
{ read _ <&3; kill "$r" 2>/dev/null; } &
exec 3<&-
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
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start sh for redis-server: {error}"))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| "no stdin pipe to the redis-server wrapper".to_owned())?;
        let pid = server_pid(&mut child)?;
        let started = Instant::now();
        loop {
            if let Ok(stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
                && answers_ping(stream, &pid)
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server exited at start-up ({status})"));
            }
            if started.elapsed() > Duration::from_secs(10) {
                // The server itself, not only the wrapper (whose watcher would kill it only
                // once this process ends).
                let _ = Command::new("kill").arg("-KILL").arg(&pid).status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "redis-server did not answer on port {} within 10 s",
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

/// The pid of the server the wrapper started (the first line it prints).
fn server_pid(child: &mut Child) -> Result<String, String> {
    use std::io::BufRead;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| "no stdout pipe from the redis-server wrapper".to_owned())?;
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|error| format!("cannot read the redis-server pid: {error}"))?;
    let pid = line.trim();
    if pid.is_empty() || !pid.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!(
            "the redis-server wrapper printed {line:?}, not a pid"
        ));
    }
    Ok(pid.to_owned())
}

/// Whether the server is the one with process id `pid` (`INFO server`), and answers `PING`
/// with `PONG` (not `-LOADING` while it reads its data).
fn answers_ping(mut stream: TcpStream, pid: &str) -> bool {
    use std::io::{BufRead, Read};
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\nINFO server\r\n").is_err() {
        return false;
    }
    let mut reader = std::io::BufReader::new(stream);
    let mut pong = [0; 7];
    if reader.read_exact(&mut pong).is_err() || &pong != b"+PONG\r\n" {
        return false;
    }
    // A bulk string: `$<length>\r\n<text>\r\n`.
    let mut header = String::new();
    if reader.read_line(&mut header).is_err() {
        return false;
    }
    let Some(Ok(length)) = header.trim().strip_prefix('$').map(str::parse::<usize>) else {
        return false;
    };
    let mut info = vec![0; length];
    if reader.read_exact(&mut info).is_err() {
        return false;
    }
    String::from_utf8_lossy(&info)
        .lines()
        .any(|line| line.strip_prefix("process_id:") == Some(pid))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free port: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_another_server_answers_on_is_not_taken_for_ours() {
        let first = TestServer::start().expect("a server");
        let second = TestServer {
            port: first.port(),
            extra: Vec::new(),
            running: Mutex::new(None),
        };
        // Our server cannot listen there; the one that answers is not ours.
        let error = second.spawn().expect_err("not started on a taken port");
        assert!(error.contains("exited at start-up"), "{error}");
        let third = TestServer::start().expect("a server on a free port");
        assert_ne!(third.port(), first.port());
    }
}
