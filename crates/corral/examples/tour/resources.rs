//! Tour of `corral::scope`, `corral::stream` and `corral::blocking`: cleanups, sessions,
//! streams and sync code. Every line reports what was observed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral::blocking::{block_on, run_blocking, run_blocking_with, run_cpu};
use corral::scope::{ExitStack, Session, with_session};
use corral::stream::{StreamExt, batches, paginate, poll};

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
    println!(
        "with_session: a body that failed got: {}; returned {failure}",
        lines(&log)
    );
    Ok(())
}

async fn streams() -> Result<(), BoxError> {
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
    println!("paginate: took {first_five:?} from a 10-page API and fetched only {pages} pages");

    let start = Instant::now();
    let ticks: Vec<u128> = poll(Duration::from_millis(20), |_: Option<&u128>| async move {
        Ok::<_, BoxError>(vec![start.elapsed().as_millis()])
    })
    .take(3)
    .collect::<Result<_, _>>()
    .await?;
    println!(
        "poll: fetched at {ticks:?} ms with a 20 ms interval (at once, then on a fixed cadence)"
    );

    let sizes: Vec<usize> = batches(tokio_stream::iter(0..250), 100, Duration::from_millis(20))
        .map(|b| b.len())
        .collect()
        .await;
    println!("batches: 250 items in batches of at most 100: {sizes:?}");
    Ok(())
}

async fn blocking() -> Result<(), BoxError> {
    let start = Instant::now();
    let (a, b) = tokio::try_join!(
        run_blocking(|| std::thread::sleep(Duration::from_millis(30))),
        run_blocking(|| std::thread::sleep(Duration::from_millis(30))),
    )?;
    let _ = (a, b);
    println!(
        "run_blocking: two 30 ms blocking calls took {} ms together, off the runtime's threads",
        start.elapsed().as_millis()
    );

    let sum = run_cpu(|| (1..=1_000_000_u64).sum::<u64>()).await;
    println!("run_cpu: summed a million numbers on the core-sized pool: {sum}");

    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel();
    let job = run_blocking_with(move |token| {
        while !token.is_cancelled() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = stopped_tx.send(());
    });
    let _ = corral::time::timeout(Duration::from_millis(10), job).await;
    stopped_rx.await?;
    println!(
        "run_blocking_with: a job whose future was dropped by a timeout saw its token and stopped"
    );

    let refused = block_on(async { 1 })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    println!("block_on: called inside the runtime it returns an error: \"{refused}\"");
    Ok(())
}
