//! Python's `except*`, ported: handle some of a task group's errors by type and pass on the
//! rest.
//!
//! ```python
//! try:
//!     async with asyncio.TaskGroup() as tg:
//!         tg.create_task(load("users.csv"))      # raises OSError
//!         tg.create_task(parse_port("eighty"))   # raises ValueError
//!         tg.create_task(replicas())             # an inner TaskGroup: raises ExceptionGroup
//! except* OSError as eg:
//!     ...
//! except* ValueError as eg:
//!     ...
//! # whatever is left is re-raised
//! ```
//!
//! Run: `cargo run --example except_star`

use std::io;
use std::num::ParseIntError;
use std::time::Duration;

use corral::task::{BoxError, ErrorGroup, TaskGroup};

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

async fn load(path: &str) -> Result<(), BoxError> {
    Err(io::Error::new(io::ErrorKind::NotFound, format!("{path} not found")).into())
}

async fn parse_port(text: &str) -> Result<u16, BoxError> {
    Ok(text.parse::<u16>()?)
}

/// An inner group: its errors arrive as one nested `ErrorGroup` inside the outer one.
async fn replicas() -> Result<(), BoxError> {
    let inner = group_with_grace();
    inner.spawn(async { Err::<(), BoxError>(io::Error::other("replica 2 unreachable").into()) });
    inner.spawn(async { Err::<(), BoxError>("replica 3 sent garbage".into()) });
    inner.join().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let group = group_with_grace();
    group.spawn(load("users.csv"));
    group.spawn(async {
        parse_port("eighty").await?;
        Ok(())
    });
    group.spawn(replicas());
    let Err(errors) = group.join().await else {
        return Err("every task succeeded, though four of them fail".into());
    };
    ensure!(
        errors.len() == 3 && errors.leaves().count() == 4,
        "the group kept {} errors ({} with the nested ones), not 3 (4)",
        errors.len(),
        errors.leaves().count()
    );
    println!(
        "The group failed with {} errors ({} counting those inside the nested group):",
        errors.len(),
        errors.leaves().count()
    );
    for error in errors.leaves() {
        println!("  - {error}");
    }

    // except* OSError as eg:
    let (io_errors, rest) = errors.split_type::<io::Error>();
    ensure!(
        io_errors.leaves_of::<io::Error>().count() == 2,
        "`except* OSError` caught {} I/O errors, not 2",
        io_errors.leaves_of::<io::Error>().count()
    );
    if !io_errors.is_empty() {
        println!("\n`except* OSError` caught these I/O errors, wherever they were nested:");
        for error in io_errors.leaves_of::<io::Error>() {
            println!("  - {error} (kind: {:?})", error.kind());
        }
        println!(
            "  (its group keeps the shape: {} at the top, one of them a nested group)",
            io_errors.len()
        );
    }

    // except* ValueError as eg:
    let (bad_numbers, rest) = rest.split_type::<ParseIntError>();
    ensure!(
        bad_numbers.leaves_of::<ParseIntError>().count() == 1,
        "`except* ValueError` caught {} bad numbers, not 1",
        bad_numbers.leaves_of::<ParseIntError>().count()
    );
    for error in bad_numbers.leaves_of::<ParseIntError>() {
        println!("\n`except* ValueError` caught a bad number: {error}");
    }

    // Whatever no branch handled is passed on, as Python re-raises it.
    let Err(unhandled) = rest.into_result() else {
        return Err("no error was left for the caller: replica 3's garbage was lost".into());
    };
    let leaves: Vec<String> = unhandled.leaves().map(ToString::to_string).collect();
    ensure!(
        leaves == ["replica 3 sent garbage"],
        "left for the caller: {leaves:?}"
    );
    println!("\nNot handled, passed on to the caller with its nesting kept:");
    print_shape(&unhandled, 1);
    Ok(())
}

/// A group whose first failure gives the other children 50 ms to finish before they are
/// aborted, so siblings that fail at the same moment all land in the group, as in Python.
fn group_with_grace() -> TaskGroup {
    TaskGroup::builder()
        .cancel_grace(Duration::from_millis(50))
        .build()
}

/// Prints the nesting of a group, one level per indent.
fn print_shape(group: &ErrorGroup<BoxError>, depth: usize) {
    println!("{}a group of {}:", "  ".repeat(depth), group.len());
    for error in group {
        match error.downcast_ref::<ErrorGroup<BoxError>>() {
            Some(inner) => print_shape(inner, depth + 1),
            None => println!("{}- {error}", "  ".repeat(depth + 1)),
        }
    }
}
