//! A priority queue of jobs: urgent work first, equal priorities first come, first served.
//!
//! Jobs arrive in a burst; one worker takes them most urgent first. A second burst arrives
//! while it works, and its urgent job goes straight to the front. Jobs are ordered by their
//! priority alone, and the queue keeps jobs of equal priority in the order they came (Python's
//! `heapq` does not, which is why asyncio code adds a counter to its tuples).
//!
//! Run it with `cargo run --example priority_jobs`.

use std::cmp::Ordering;
use std::time::Duration;

use corral::queue::PriorityQueue;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Fails the program (a non-zero exit) with this message unless the claim holds.
macro_rules! ensure {
    ($claim:expr, $($why:tt)+) => {
        if !$claim {
            return Err(format!($($why)+).into());
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Priority {
    Urgent,
    Normal,
    Background,
}

#[derive(Debug)]
struct Job {
    priority: Priority,
    name: &'static str,
}

// Order by priority only: the name plays no part.
impl Ord for Job {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority.cmp(&other.priority)
    }
}

impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority
    }
}

impl Eq for Job {}

async fn submit(
    jobs: &PriorityQueue<Job>,
    priority: Priority,
    name: &'static str,
) -> Result<(), BoxError> {
    jobs.put(Job { priority, name }).await?;
    println!("queued   {priority:?}: {name}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let jobs = PriorityQueue::bounded(16);

    submit(&jobs, Priority::Background, "rebuild search index").await?;
    submit(&jobs, Priority::Normal, "send welcome email").await?;
    submit(&jobs, Priority::Urgent, "page on-call engineer").await?;
    submit(&jobs, Priority::Normal, "resize avatar").await?;

    let worker = tokio::spawn({
        let jobs = jobs.clone();
        async move {
            let mut ran = Vec::new();
            while let Ok(job) = jobs.get().await {
                println!("running  {:?}: {}", job.priority, job.name);
                tokio::time::sleep(Duration::from_millis(20)).await;
                ran.push(job.name);
                jobs.task_done()?;
            }
            Ok::<_, BoxError>(ran)
        }
    });

    tokio::time::sleep(Duration::from_millis(30)).await;
    submit(&jobs, Priority::Background, "compact logs").await?;
    submit(&jobs, Priority::Urgent, "revoke leaked token").await?;

    jobs.join().await;
    jobs.shutdown();
    let ran = worker.await??;
    // Urgent before normal before background, equal priorities in the order they came, and the
    // late urgent job ahead of the background job that had been waiting since the start.
    let at = |name| ran.iter().position(|&ran| ran == name);
    ensure!(
        ran.len() == 6
            && at("page on-call engineer") < at("send welcome email")
            && at("send welcome email") < at("resize avatar")
            && at("resize avatar") < at("rebuild search index")
            && at("rebuild search index") < at("compact logs")
            && at("revoke leaked token") < at("rebuild search index"),
        "the jobs ran in the order {ran:?}"
    );
    println!("all jobs done");
    Ok(())
}
