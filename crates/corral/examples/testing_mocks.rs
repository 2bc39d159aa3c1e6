//! The guides' `AsyncMock(return_value=...)` and `assert_awaited_once()`, the Rust way.
//!
//! Python patches an object at run time; Rust code takes what it calls as a parameter (a
//! trait), and the test hands in a mock. `mockall`'s `#[automock]` writes the mock, with
//! `async fn` methods too; `times(1)` is `assert_awaited_once()`, checked when the mock is
//! dropped or at `checkpoint()`. The clock is Tokio's paused clock, so the retry delay below
//! takes no real time.
//!
//! Python (from the guides):
//! ```python
//! mock_fetch = AsyncMock(return_value={"id": 1})
//! with patch("module.fetch_data", mock_fetch):
//!     result = await get_user(1)
//! mock_fetch.assert_awaited_once()
//! ```
//!
//! And the async fixture (`@pytest.fixture async def async_client(): ... yield client ...
//! await client.close()`): a helper that builds the resource, hands it to the test body, and
//! tears it down afterwards, whether the body passed or failed (`corral::scope::with_resource`
//! runs the async teardown on both paths). A test calls `with_client(async |client| { ... })`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral::scope::with_resource;
use mockall::automock;
use mockall::predicate::eq;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// What the code under test depends on: the seam a test replaces.
#[automock]
trait UserApi {
    async fn fetch(&self, id: u32) -> Result<String, String>;
}

/// The code under test: fetches a user, retrying once after 100 ms if the first call fails.
async fn get_user(api: &impl UserApi, id: u32) -> Result<String, String> {
    match api.fetch(id).await {
        Ok(user) => Ok(user),
        Err(_) => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            api.fetch(id).await
        }
    }
}

/// A client with an async connect and close, standing in for the guides' `AsyncClient`. It
/// writes what happens to it in a shared log, so the program can show the fixture's order.
struct AsyncClient {
    log: Arc<Mutex<Vec<String>>>,
}

impl AsyncClient {
    async fn connect(log: Arc<Mutex<Vec<String>>>) -> Result<Self, BoxError> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        note(&log, "connect");
        Ok(Self { log })
    }

    async fn get(&self, path: &str) -> Result<u16, BoxError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        note(&self.log, &format!("GET {path}"));
        Ok(if path == "/users" { 200 } else { 404 })
    }

    async fn close(self) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        note(&self.log, "close");
        Ok(())
    }
}

fn note(log: &Mutex<Vec<String>>, what: &str) {
    if let Ok(mut log) = log.lock() {
        log.push(what.to_owned());
    }
}

/// The fixture: `client = AsyncClient(); await client.connect(); yield client; await
/// client.close()`. The body is the test; the client is closed whatever the body returns.
async fn with_client<T>(
    log: &Arc<Mutex<Vec<String>>>,
    test: impl AsyncFnOnce(&mut AsyncClient) -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    let connect = AsyncClient::connect(Arc::clone(log));
    Ok(with_resource(connect, test, AsyncClient::close, AsyncClient::close).await?)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), BoxError> {
    // AsyncMock(return_value=...) + assert_awaited_once()
    let mut api = MockUserApi::new();
    api.expect_fetch()
        .with(eq(1))
        .times(1)
        .returning(|id| Ok(format!("user {id}")));
    let user = get_user(&api, 1).await?;
    api.checkpoint(); // panics here if `fetch` was not awaited exactly once with 1
    ensure!(user == "user 1", "get_user(1) returned {user:?}");
    println!("mock: get_user(1) returned {user:?}; fetch was awaited exactly once with id 1");

    // side_effect=[Exception, value]: the first call fails, the retry succeeds.
    let mut api = MockUserApi::new();
    let mut seq = mockall::Sequence::new();
    api.expect_fetch()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err("connection reset".into()));
    api.expect_fetch()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id| Ok(format!("user {id}")));
    let start = tokio::time::Instant::now();
    let user = get_user(&api, 7).await?;
    api.checkpoint();
    let retried_at = start.elapsed();
    ensure!(
        user == "user 7" && retried_at >= Duration::from_millis(100),
        "get_user(7) returned {user:?} at {retried_at:?}, not after the 100 ms pause"
    );
    println!(
        "mock: after one failure get_user(7) returned {user:?} at {} ms of paused-clock time",
        retried_at.as_millis()
    );

    // test_with_fixture(async_client): the body asserts; the fixture connects and closes.
    let log = Arc::new(Mutex::new(Vec::new()));
    with_client(&log, async |client: &mut AsyncClient| {
        let status = client.get("/users").await?;
        assert_eq!(status, 200);
        Ok(())
    })
    .await?;
    // A failing test body: the client is closed all the same, and the failure comes back.
    let failed = with_client(&log, async |client: &mut AsyncClient| {
        let status = client.get("/missing").await?;
        if status != 200 {
            return Err::<(), BoxError>(format!("expected 200, got {status}").into());
        }
        Ok(())
    })
    .await;
    let log = log.lock().map_err(|_| "poisoned")?.clone();
    let Err(failed) = failed else {
        return Err("the test of /missing passed".into());
    };
    ensure!(
        log == [
            "connect",
            "GET /users",
            "close",
            "connect",
            "GET /missing",
            "close"
        ],
        "the fixture's client saw {log:?}: not connected and closed around each test"
    );
    println!("fixture: two tests, the second failing ({failed}): the client saw {log:?}");

    // test_timeout: `with pytest.raises(TimeoutError)` on the paused clock, in no real time.
    let slow = corral::time::timeout(
        Duration::from_millis(1),
        tokio::time::sleep(Duration::from_secs(1)),
    )
    .await;
    let raised = slow
        .err()
        .ok_or("the sleep finished under a 1 ms timeout")?;
    println!("timeout test: a 1 s sleep under a 1 ms timeout raised \"{raised}\"");
    Ok(())
}
