//! The guides' "Database Example": `get_db_session` / `DatabaseSession`, which commits on
//! success, rolls back on error, and closes the connection always.
//!
//! Run: `cargo run --example db_session`
//!
//! The last part shows `with_resource`, for transaction types whose `commit(self)` and
//! `rollback(self)` consume them (as sqlx's do), where a `Session` impl cannot be written.

use std::time::Duration;

use corral::scope::{Session, with_resource, with_session};
use corral::task::BoxError;

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
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), BoxError> {
        println!("  rollback ({} statements undone)", self.pending.len());
        self.pending.clear();
        Ok(())
    }

    async fn close(self) -> Result<(), BoxError> {
        println!("  released connection {}", self.id);
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
    println!("db_session: {inserted} rows committed");

    println!("db_session: a transaction that fails half-way:");
    let failed = with_session(Connection::acquire(2), async |db: &mut Connection| {
        db.execute("INSERT INTO audit VALUES ('new user')").await?;
        db.execute("INSERT INTO users(email) VALUES ('dup@example.com')")
            .await?;
        Ok::<_, BoxError>(2)
    })
    .await;
    println!(
        "db_session: failed as expected, nothing kept: {}",
        failed.expect_err("duplicate email")
    );

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
    println!("db_session: {rows} row committed");
    Ok(())
}
