//! `poll`: the guides' `stream_log_entries` (fetch what came after the last item, every
//! interval).
use std::future::Future;
use std::time::Duration;

use futures_core::Stream;
use tokio::time::MissedTickBehavior;

/// The longest interval `poll` uses: longer ones (up to `Duration::MAX`, "never again") are
/// cut to this, so that no `Instant + interval` can overflow.
const MAX_INTERVAL: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

/// A stream that fetches at once and then every `interval`, each time asking `fetch` for what
/// came after the last item it yielded, and yields every item fetched: the guides'
/// `stream_log_entries`.
///
/// `fetch` gets `None` the first time, then the last item yielded so far (by reference: take
/// its id and return a future that does not borrow it; the stream keeps a clone of the last
/// item of each fetch for this). It never ends on its own; an error is
/// yielded as an `Err` item and ends it. Stop it by dropping it, or with `take`, `take_while`,
/// or a timeout.
///
/// # Timing
///
/// The fetches follow a fixed cadence (first at once, then every `interval` from the start),
/// not a sleep after each fetch as in the guide, so the period does not drift by the fetch
/// time. When a fetch, or the consumer, takes longer than an interval, the missed ticks are
/// handled with [`MissedTickBehavior::Delay`]: the next fetch happens at once and the cadence
/// restarts from there. It never fires the catch-up burst that `Burst` (Tokio's default) would,
/// which would be pointless here since one fetch already returns everything since the last
/// item; `Skip` would wait for the next point of the old grid, leaving the consumer behind for
/// up to an interval more. Intervals of zero are one nanosecond; intervals over 30 years are
/// 30 years.
///
/// # Cancel safety
///
/// Calling `next()` on this stream is cancel safe: if it is used in `select!` and another
/// branch completes first, no item was lost, and a fetch in progress goes on at the next call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use corral::stream::{StreamExt, poll};
///
/// #[derive(Debug, Clone)]
/// # #[allow(dead_code)]
/// struct LogEntry { id: u64, line: String }
///
/// # #[allow(dead_code)]
/// async fn fetch_logs(after: Option<u64>) -> Result<Vec<LogEntry>, std::io::Error> {
///     let next = after.map_or(1, |id| id + 1);
///     Ok(vec![LogEntry { id: next, line: format!("event {next}") }]) // one new line per fetch
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), std::io::Error> {
/// # tokio::time::pause();
/// let logs = poll(Duration::from_secs(1), |last: Option<&LogEntry>| fetch_logs(last.map(|e| e.id)));
/// let first_three: Vec<_> = logs.take(3).collect().await;
/// let ids: Vec<u64> = first_three.into_iter().map(|e| e.map(|e| e.id)).collect::<Result<_, _>>()?;
/// assert_eq!(ids, [1, 2, 3]);
/// # Ok(())
/// # }
/// ```
pub fn poll<T, E, I, F, Fut>(interval: Duration, mut fetch: F) -> impl Stream<Item = Result<T, E>>
where
    T: Clone,
    F: FnMut(Option<&T>) -> Fut,
    Fut: Future<Output = Result<I, E>>,
    I: IntoIterator<Item = T>,
{
    let period = interval.clamp(Duration::from_nanos(1), MAX_INTERVAL);
    async_stream::stream! {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last: Option<T> = None;
        loop {
            ticks.tick().await;
            let items = match fetch(last.as_ref()).await {
                Ok(items) => items,
                Err(error) => {
                    yield Err(error);
                    break;
                }
            };
            let mut items = items.into_iter().peekable();
            while let Some(item) = items.next() {
                if items.peek().is_none() {
                    // One clone per fetch: the last item is what the next fetch starts after.
                    last = Some(item.clone());
                }
                yield Ok(item);
            }
        }
    }
}
