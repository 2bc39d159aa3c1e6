//! [`Reports`]: collects every `corral::report` of the process while it lives. The report hook
//! is process-wide, so one `Reports` lives at a time: [`Reports::collect`] waits until the
//! previous one is dropped (shared by the test binaries that read reports).
#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

type Seen = Arc<(Mutex<Vec<String>>, Condvar)>;

/// Every report made while it lives, as `"{source}: {detail:?}"` lines.
pub(crate) struct Reports {
    seen: Seen,
    _serial: MutexGuard<'static, ()>,
}

impl Reports {
    /// Routes every report to this collector until it is dropped.
    pub(crate) fn collect() -> Self {
        Self::collect_with(String::new)
    }

    /// As [`collect`](Self::collect), with what `note` returns (run inside the hook, when the
    /// report is made) at the end of each line.
    pub(crate) fn collect_with(note: impl Fn() -> String + Send + Sync + 'static) -> Self {
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let seen: Seen = Arc::default();
        let sink = Arc::clone(&seen);
        corral::report::set_hook(move |report: &corral::report::Report<'_>| {
            let line = format!("{}: {:?}{}", report.source(), report.detail(), note());
            sink.0.lock().unwrap().push(line);
            sink.1.notify_all();
        });
        Self {
            seen,
            _serial: serial,
        }
    }

    /// What was reported so far.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.seen.0.lock().unwrap().clone()
    }

    /// Waits (up to `limit`, for a report made on another thread) until a line satisfies
    /// `wanted`, and returns it.
    pub(crate) fn wait_for(
        &self,
        limit: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let (lines, changed) = &*self.seen;
        let lines = lines.lock().unwrap();
        let (lines, _) = changed
            .wait_timeout_while(lines, limit, |lines| !lines.iter().any(|line| wanted(line)))
            .unwrap();
        lines.iter().find(|line| wanted(line)).cloned()
    }
}

impl Reports {
    /// Asserts that exactly one report was made, and that it contains `needle`.
    #[track_caller]
    pub(crate) fn assert_only(&self, needle: &str) {
        let lines = self.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(needle), "{lines:?}");
    }

    /// Asserts that some report contains `needle`.
    #[track_caller]
    pub(crate) fn assert_any(&self, needle: &str) {
        let lines = self.lines();
        assert!(lines.iter().any(|line| line.contains(needle)), "{lines:?}");
    }
}

impl Drop for Reports {
    fn drop(&mut self) {
        corral::report::take_hook();
    }
}
