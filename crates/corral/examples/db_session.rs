//! The guides' "Database Example": `get_db_session` / `DatabaseSession`, which commits on
//! success, rolls back on error, and closes the connection always.
//!
//! Run: `cargo run --example db_session`
//!
//! The last part shows `with_resource`, for transaction types whose `commit(self)` and
//! `rollback(self)` consume them (as sqlx's do), where a `Session` impl cannot be written.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corral::scope::{Session, with_resource, with_session};
use corral::task::BoxError;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

/// How the sessions ended, so `main` can check each one ended as it says.
static COMMITS: AtomicU32 = AtomicU32::new(0);
static ROLLBACKS: AtomicU32 = AtomicU32::new(0);
static RELEASES: AtomicU32 = AtomicU32::new(0);

/// (commits, rollbacks, releases) so far.
fn ends() -> (u32, u32, u32) {
    (
        COMMITS.load(Ordering::SeqCst),
        ROLLBACKS.load(Ordering::SeqCst),
        RELEASES.load(Ordering::SeqCst),
    )
}

/// A pretend connection from a pool.
struct Connection {
    id: u32,
    pending: Vec<String>,
}

impl Connection {
    async fn acquire(id: u32) -> Result<Connection, BoxError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        println!("  acquired connection {id}");
        Ok(Connection {
            id,
            pending: Vec::new(),
        })
    }

    async fn execute(&mut self, sql: &str) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if sql.contains("users(email)") && sql.contains("dup@") {
            return Err("unique constraint violated: users.email".into());
        }
        println!("  executed: {sql}");
        self.pending.push(sql.to_owned());
        Ok(())
    }
}

impl Session for Connection {
    type Error = BoxError;

    async fn commit(&mut self) -> Result<(), BoxError> {
        println!("  commit ({} statements)", self.pending.len());
        COMMITS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), BoxError> {
        println!("  rollback ({} statements undone)", self.pending.len());
        self.pending.clear();
        ROLLBACKS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn close(self) -> Result<(), BoxError> {
        println!("  released connection {}", self.id);
        RELEASES.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    println!("db_session: a transaction that succeeds:");
    let inserted = with_session(Connection::acquire(1), async |db: &mut Connection| {
        db.execute("INSERT INTO users(email) VALUES ('ada@example.com')")
            .await?;
        db.execute("INSERT INTO audit VALUES ('new user')").await?;
        Ok::<_, BoxError>(2)
    })
    .await?;
    ensure!(
        inserted == 2 && ends() == (1, 0, 1),
        "the first session returned {inserted} and ended with (commits, rollbacks, releases) \
         {:?}",
        ends()
    );
    println!("db_session: {inserted} rows committed");

    println!("db_session: a transaction that fails half-way:");
    let failed = with_session(Connection::acquire(2), async |db: &mut Connection| {
        db.execute("INSERT INTO audit VALUES ('new user')").await?;
        db.execute("INSERT INTO users(email) VALUES ('dup@example.com')")
            .await?;
        Ok::<_, BoxError>(2)
    })
    .await;
    let Err(failed) = failed else {
        return Err("a transaction inserting a duplicate email succeeded".into());
    };
    ensure!(
        ends() == (1, 1, 2),
        "the failed session ended with (commits, rollbacks, releases) {:?}",
        ends()
    );
    println!("db_session: failed as expected, nothing kept: {failed}");

    println!("db_session: the same with a consuming commit/rollback (with_resource):");
    let rows = with_resource(
        Connection::acquire(3),
        async |db: &mut Connection| {
            db.execute("UPDATE users SET active = true").await?;
            Ok::<_, BoxError>(1)
        },
        |mut db: Connection| async move {
            db.commit().await?;
            db.close().await
        },
        |mut db: Connection| async move {
            db.rollback().await?;
            db.close().await
        },
    )
    .await?;
    ensure!(
        rows == 1 && ends() == (2, 1, 3),
        "with_resource returned {rows} and ended with (commits, rollbacks, releases) {:?}",
        ends()
    );
    println!("db_session: {rows} row committed");
    Ok(())
}
