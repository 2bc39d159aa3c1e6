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

use std::time::Duration;

use mockall::automock;
use mockall::predicate::eq;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    println!(
        "mock: after one failure get_user(7) returned {user:?} at {} ms of paused-clock time",
        start.elapsed().as_millis()
    );
    Ok(())
}
