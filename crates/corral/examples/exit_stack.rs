//! The guides' "Resource Stack": `AsyncExitStack` opening several files, reading them, and
//! closing them all, last opened first, even when something fails on the way.
//!
//! Run: `cargo run --example exit_stack`

use std::time::Duration;

use corral::scope::ExitStack;
use corral::task::BoxError;
use tokio::sync::Mutex;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// The files closed so far, in order, so `main` can check the order.
static CLOSED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Takes the list of files closed since the last call.
fn take_closed() -> Result<Vec<String>, BoxError> {
    Ok(std::mem::take(&mut *CLOSED.lock().map_err(|_| "poisoned")?))
}

/// A pretend async file (aiofiles): open, read and close each take a moment.
struct File {
    path: String,
}

impl File {
    async fn open(path: &str) -> Result<Mutex<File>, BoxError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if path.contains("missing") {
            return Err(format!("{path}: no such file").into());
        }
        println!("  opened {path}");
        Ok(Mutex::new(File {
            path: path.to_owned(),
        }))
    }

    async fn read(&mut self) -> String {
        tokio::time::sleep(Duration::from_millis(5)).await;
        format!("<contents of {}>", self.path)
    }

    async fn close(&self) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        println!("  closed {}", self.path);
        CLOSED
            .lock()
            .map_err(|_| "poisoned")?
            .push(self.path.clone());
        Ok(())
    }
}

/// `async with AsyncExitStack() as stack: files = [await stack.enter_async_context(open(p)) ...]`
async fn process_files(paths: &[&str]) -> Result<Vec<String>, BoxError> {
    let mut stack = ExitStack::new();
    let mut files = Vec::new();
    for path in paths {
        match stack
            .enter(
                File::open(path),
                |f| async move { f.lock().await.close().await },
            )
            .await
        {
            Ok(file) => files.push(file),
            Err(error) => {
                // `async with` would close what was opened on the way out: so does `close`.
                stack.close().await?;
                return Err(error);
            }
        }
    }
    let mut contents = Vec::new();
    for file in &files {
        contents.push(file.lock().await.read().await);
    }
    stack.close().await?;
    Ok(contents)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    println!("exit_stack: reading three files, closed in reverse order:");
    let contents = process_files(&["a.txt", "b.txt", "c.txt"]).await?;
    let closed = take_closed()?;
    ensure!(
        contents.len() == 3 && closed == ["c.txt", "b.txt", "a.txt"],
        "read {} files and closed {closed:?}",
        contents.len()
    );
    println!("exit_stack: read {contents:?}");

    println!("exit_stack: the third file is missing; the two opened ones are still closed:");
    let Err(failed) = process_files(&["a.txt", "b.txt", "missing.txt"]).await else {
        return Err("process_files succeeded with a missing file".into());
    };
    let closed = take_closed()?;
    ensure!(
        closed == ["b.txt", "a.txt"],
        "after the failed open, closed {closed:?}"
    );
    println!("exit_stack: process_files failed as expected: {failed}");
    Ok(())
}
