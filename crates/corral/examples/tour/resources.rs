//! Tour of `corral::scope`, `corral::stream` and `corral::blocking`: cleanups, sessions,
//! generators, paginators and sync code. Every line reports what was observed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral::blocking::{block_on, run_blocking, run_blocking_with, run_cpu, to_async};
use corral::scope::{ExitStack, Session, with_resource, with_session};
use corral::stream::{
    Page, Stream, StreamExt, batches, paginate, paginate_cursor, poll, stream, try_stream,
};

use super::BoxError;

type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, line: String) {
    if let Ok(mut log) = log.lock() {
        log.push(line);
    }
}

fn lines(log: &Log) -> String {
    log.lock().map(|l| l.join(", ")).unwrap_or_default()
}

pub(crate) async fn run() -> Result<(), BoxError> {
    exit_stack().await?;
    session().await?;
    streams().await?;
    blocking().await?;
    Ok(())
}

async fn exit_stack() -> Result<(), BoxError> {
    let log: Log = Arc::default();
    let mut stack = ExitStack::new();
    for name in ["db", "cache", "file"] {
        let log = log.clone();
        stack
            .enter(async move { Ok(name) }, move |name| async move {
                note(&log, format!("closed {name}"));
                Ok(())
            })
            .await?;
    }
    stack.push(async { Err("flush failed".into()) });
    let errors = stack.close().await.err().map_or(0, |e| e.len());
    ensure!(
        lines(&log) == "closed file, closed cache, closed db" && errors == 1,
        "ExitStack: close ran {:?} and returned {errors} errors",
        lines(&log)
    );
    println!(
        "ExitStack: opened db, cache, file; close ran: {}; {errors} error returned, no cleanup skipped",
        lines(&log)
    );

    // Dropped mid-way (a timeout cancels the whole future): the cleanups still run, in order.
    let log: Log = Arc::default();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let work = {
        let log = log.clone();
        async move {
            let mut stack = ExitStack::new();
            let first = log.clone();
            stack.push(async move {
                note(&first, "released lock".into());
                let _ = done_tx.send(());
                Ok(())
            });
            let second = log.clone();
            stack.push(async move {
                note(&second, "closed socket".into());
                Ok(())
            });
            tokio::time::sleep(Duration::from_secs(10)).await;
            stack.close().await
        }
    };
    let _ = corral::time::timeout(Duration::from_millis(10), work).await;
    done_rx.await?;
    ensure!(
        lines(&log) == "closed socket, released lock",
        "ExitStack: a dropped stack ran {:?}",
        lines(&log)
    );
    println!(
        "ExitStack: a stack dropped by a timeout still ran its cleanups on a runtime task: {}",
        lines(&log)
    );
    Ok(())
}

struct Db {
    log: Log,
}

impl Session for Db {
    type Error = BoxError;
    async fn commit(&mut self) -> Result<(), BoxError> {
        note(&self.log, "commit".into());
        Ok(())
    }
    async fn rollback(&mut self) -> Result<(), BoxError> {
        note(&self.log, "rollback".into());
        Err("rollback failed: connection lost".into())
    }
    async fn close(self) -> Result<(), BoxError> {
        note(&self.log, "close".into());
        Ok(())
    }
}

async fn session() -> Result<(), BoxError> {
    let log: Log = Arc::default();
    let db = Db { log: log.clone() };
    with_session(async { Ok(db) }, async |_: &mut Db| Ok::<_, BoxError>(())).await?;
    ensure!(
        lines(&log) == "commit, close",
        "with_session: a body that succeeded got {:?}",
        lines(&log)
    );
    println!("with_session: a body that succeeded got: {}", lines(&log));

    let log: Log = Arc::default();
    let db = Db { log: log.clone() };
    let failure = with_session(async { Ok(db) }, async |_: &mut Db| {
        Err::<(), BoxError>("insert failed".into())
    })
    .await
    .err()
    .map(|f| {
        format!(
            "error \"{}\" with {} cleanup error attached",
            f.error(),
            f.suppressed().len()
        )
    })
    .unwrap_or_default();
    ensure!(
        lines(&log) == "rollback, close"
            && failure == "error \"insert failed\" with 1 cleanup error attached",
        "with_session: a body that failed got {:?} and returned {failure:?}",
        lines(&log)
    );
    println!(
        "with_session: a body that failed got: {}; returned {failure}",
        lines(&log)
    );

    // `with_resource`: commit and rollback consume the resource (sqlx's transactions do).
    let log: Log = Arc::default();
    let begin = |log: &Log| {
        let log = log.clone();
        async move { Ok::<_, BoxError>(Tx { log, rows: 0 }) }
    };
    let inserted = with_resource(
        begin(&log),
        async |tx: &mut Tx| {
            tx.rows += 2;
            Ok::<_, BoxError>(tx.rows)
        },
        Tx::commit,
        Tx::rollback,
    )
    .await?;
    let failed = with_resource(
        begin(&log),
        async |_: &mut Tx| Err::<u32, BoxError>("constraint violated".into()),
        Tx::commit,
        Tx::rollback,
    )
    .await
    .err()
    .map(|f| f.error().to_string())
    .unwrap_or_default();
    ensure!(
        inserted == 2
            && failed == "constraint violated"
            && lines(&log) == "commit(2 rows), rollback",
        "with_resource: inserted {inserted}, failed with {failed:?}, ended with {:?}",
        lines(&log)
    );
    println!(
        "with_resource: a body that inserted {inserted} rows and one that failed (\"{failed}\") \
         ended their transactions with: {}",
        lines(&log)
    );
    Ok(())
}

/// A transaction whose end consumes it.
struct Tx {
    log: Log,
    rows: u32,
}

impl Tx {
    async fn commit(self) -> Result<(), BoxError> {
        note(&self.log, format!("commit({} rows)", self.rows));
        Ok(())
    }
    async fn rollback(self) -> Result<(), BoxError> {
        note(&self.log, "rollback".into());
        Ok(())
    }
}

/// `async def read_lines(...)`: an async generator; `yield` inside `stream!`.
fn read_lines(text: &'static str) -> impl Stream<Item = String> {
    stream! {
        for line in text.lines() {
            tokio::time::sleep(Duration::from_millis(1)).await; // simulated read
            yield line.trim().to_owned();
        }
    }
}

/// A generator that can fail: `?` inside `try_stream!` ends the stream with the error.
fn parse_all(text: &'static str) -> impl Stream<Item = Result<u32, BoxError>> {
    try_stream! {
        for line in text.lines() {
            let n: u32 = line.trim().parse()?;
            yield n;
        }
    }
}

async fn streams() -> Result<(), BoxError> {
    // `[line async for line in read_lines(...) if line]`
    let lines: Vec<String> = read_lines("alpha\n\n  beta \ngamma")
        .filter(|line| !line.is_empty())
        .collect()
        .await;
    let mut parsed = Vec::new();
    let mut numbers = std::pin::pin!(parse_all("1\n2\nthree\n4"));
    let mut ended_with = String::new();
    while let Some(item) = numbers.next().await {
        match item {
            Ok(n) => parsed.push(n),
            Err(e) => ended_with = e.to_string(),
        }
    }
    ensure!(
        lines == ["alpha", "beta", "gamma"] && parsed == [1, 2] && !ended_with.is_empty(),
        "stream!: collected {lines:?}; try_stream! yielded {parsed:?} and ended with {ended_with:?}"
    );
    println!(
        "stream!: an async generator, filtered and collected: {lines:?}; try_stream! yielded \
         {parsed:?}, then ended with \"{ended_with}\""
    );

    let fetched = Arc::new(Mutex::new(0));
    let counter = fetched.clone();
    let first_five: Vec<u64> = paginate(1, move |page| {
        if let Ok(mut n) = counter.lock() {
            *n += 1;
        }
        async move {
            Ok::<_, BoxError>(if page <= 10 {
                (page * 10..page * 10 + 3).collect()
            } else {
                vec![]
            })
        }
    })
    .take(5)
    .collect::<Result<_, _>>()
    .await?;
    let pages = fetched.lock().map(|n| *n).unwrap_or_default();
    ensure!(
        first_five == [10, 11, 12, 20, 21] && pages == 2,
        "paginate: took {first_five:?} and fetched {pages} pages"
    );
    println!("paginate: took {first_five:?} from a 10-page API and fetched only {pages} pages");

    // A cursor API: each page names the next one; the last names none.
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let events: Vec<u32> = paginate_cursor(move |cursor: Option<u32>| {
        if let Ok(mut seen) = seen.lock() {
            seen.push(cursor);
        }
        async move {
            let start = cursor.unwrap_or(0);
            let end = (start + 3).min(7);
            Ok::<_, BoxError>(Page {
                items: (start..end).collect(),
                next: (end < 7).then_some(end),
            })
        }
    })
    .collect::<Result<_, _>>()
    .await?;
    let cursors = calls.lock().map(|c| c.clone()).unwrap_or_default();
    ensure!(
        cursors == [None, Some(3), Some(6)] && events == (0..7).collect::<Vec<_>>(),
        "paginate_cursor: fetched with {cursors:?} and yielded {events:?}"
    );
    println!("paginate_cursor: fetched with cursors {cursors:?} and yielded {events:?}");

    let start = Instant::now();
    let ticks: Vec<u128> = poll(Duration::from_millis(20), |_: Option<&u128>| async move {
        Ok::<_, BoxError>(vec![start.elapsed().as_millis()])
    })
    .take(3)
    .collect::<Result<_, _>>()
    .await?;
    // At once, then no sooner than one interval after another (the cadence is kept from the
    // first fetch, so the k-th comes k intervals in at the earliest).
    ensure!(
        matches!(ticks.as_slice(), [first, second, third] if *first < 20 && *second >= 20 && *third >= 40),
        "poll: fetched at {ticks:?} ms with a 20 ms interval"
    );
    println!(
        "poll: fetched at {ticks:?} ms with a 20 ms interval (at once, then on a fixed cadence)"
    );

    let sizes: Vec<usize> = batches(tokio_stream::iter(0..250), 100, Duration::from_millis(20))
        .map(|b| b.len())
        .collect()
        .await;
    ensure!(sizes == [100, 100, 50], "batches: sizes {sizes:?}");
    println!("batches: 250 items in batches of at most 100: {sizes:?}");
    Ok(())
}

async fn blocking() -> Result<(), BoxError> {
    // Two blocking calls that each wait (in blocking code) for the other to have started: they
    // can both finish only if they run at the same time, on threads of their own.
    let start = Instant::now();
    let (started_a, seen_by_b) = std::sync::mpsc::channel();
    let (started_b, seen_by_a) = std::sync::mpsc::channel();
    let meet = Duration::from_secs(5);
    let (a, b) = tokio::try_join!(
        run_blocking(move || {
            let _ = started_a.send(());
            seen_by_a.recv_timeout(meet).is_ok()
        }),
        run_blocking(move || {
            let _ = started_b.send(());
            seen_by_b.recv_timeout(meet).is_ok()
        }),
    )?;
    ensure!(
        a && b,
        "run_blocking: two blocking calls waiting for each other did not meet: one after the other"
    );
    println!(
        "run_blocking: two blocking calls that wait for each other met after {} ms: they ran at \
         once, off the runtime's threads",
        start.elapsed().as_millis()
    );

    // `to_async(func)`: a sync function made into one that returns a future.
    let count_words = to_async(|text: &'static str| text.split_whitespace().count());
    let words = count_words("the quick brown fox").await?;
    ensure!(words == 4, "to_async: counted {words} words in four");
    println!("to_async: a sync word count, awaited off the runtime's threads: {words} words");

    let sum = run_cpu(|| (1..=1_000_000_u64).sum::<u64>()).await;
    ensure!(sum == 500_000_500_000, "run_cpu: the sum came out {sum}");
    println!("run_cpu: summed a million numbers on the core-sized pool: {sum}");

    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel();
    let job = run_blocking_with(move |token| {
        while !token.is_cancelled() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = stopped_tx.send(());
    });
    let _ = corral::time::timeout(Duration::from_millis(10), job).await;
    corral::time::timeout(Duration::from_secs(5), stopped_rx)
        .await
        .map_err(|_| "run_blocking_with: the job never saw its token cancelled")??;
    println!(
        "run_blocking_with: a job whose future was dropped by a timeout saw its token and stopped"
    );

    // From sync code (a plain thread, outside every runtime): `sync_wrapper(coro)`.
    let (sent, received) = tokio::sync::oneshot::channel();
    let thread = std::thread::spawn(move || {
        let answer = block_on(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            6 * 7
        });
        let _ = sent.send(answer.map_err(|e| e.to_string()));
    });
    let answer = received.await??;
    run_blocking(move || thread.join())
        .await?
        .map_err(|_| "the thread panicked")?;
    ensure!(answer == 42, "block_on: got {answer}");
    println!("block_on: a plain thread ran async code on its own runtime and got {answer}");

    let refused = match block_on(async { 1 }) {
        Ok(_) => return Err("block_on inside the runtime ran the future".into()),
        Err(error) => error.to_string(),
    };
    println!("block_on: called inside the runtime it returns an error: \"{refused}\"");
    Ok(())
}
