//! Failures that nobody can receive: where they go, and how to route or silence them.
//!
//! Most failures in corral are returned to a caller: a [`TaskGroup`](crate::task::TaskGroup)
//! returns every error from `join`, a [`Task`](crate::task::Task) gives its error to whoever
//! awaits it. Some have no caller left: a group dropped without `join` while a child had failed,
//! a [`BackgroundTasks`](crate::task::BackgroundTasks) task that fails, [`shield`]ed work that
//! fails after its caller went away, a debounced call that fails. Those are *reported*, and a
//! report is never silent by default:
//!
//! - when a [`tracing`] subscriber is installed and records `corral` errors, each report is one
//!   `ERROR` event with target `corral` and the fields `source` and `failure`;
//! - otherwise (every new program, until it sets up `tracing`) it is one line on standard error:
//!   `corral: unreceived failure in TaskGroup: work failed: "disk full"`.
//!
//! [`set_hook`] routes every report elsewhere (a metrics counter, a test's collector, or
//! nowhere, to silence them), like [`std::panic::set_hook`] does for panics, and [`take_hook`]
//! restores the default. Components that take their own hook (`Builder::on_failure`,
//! `BackgroundTasks::with_hook`) call that hook instead, with the typed failure.
//!
//! A hook runs on the thread where the failure was found, outside every corral lock and under
//! `catch_unwind`: a hook that panics is itself reported on
//! standard error and never replaces or hides the failure being reported.
//!
//! [`shield`]: crate::time::shield
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, PoisonError, RwLock};

use crate::task::{Failure, PanicPayload};

/// What kind of failure a [`Report`] is about.
///
/// # Examples
///
/// ```
/// use corral::report::{Report, ReportKind};
///
/// corral::report::set_hook(|report: &Report<'_>| {
///     if report.kind() == ReportKind::Panic {
///         eprintln!("a {} panicked: {:?}", report.source(), report.detail());
///     }
/// });
/// # corral::report::take_hook();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportKind {
    /// The work returned an error.
    Error,
    /// The work panicked; the panic was caught.
    Panic,
    /// Debug mode: a poll of a task blocked its thread past the threshold.
    SlowPoll,
    /// Debug mode: a task was still running when its owner was dropped.
    Abandoned,
}

/// One failure that nobody could receive, as handed to the hook set by [`set_hook`].
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use corral::report::Report;
///
/// let (sink, seen) = mpsc::channel();
/// corral::report::set_hook(move |report: &Report<'_>| {
///     // Fails only once `seen` is dropped: nobody reads the reports any more.
///     let _ = sink.send(format!("{}: {:?}", report.source(), report.detail()));
/// });
/// // ... run code whose failures nobody awaits ...
/// corral::report::take_hook();
/// # assert!(seen.try_recv().is_err());
/// ```
pub struct Report<'a> {
    source: &'static str,
    kind: ReportKind,
    detail: &'a dyn fmt::Debug,
}

impl Report<'_> {
    /// The component that found the failure: `"TaskGroup"`, `"BackgroundTasks"`, `"shield"`,
    /// and so on.
    ///
    /// # Examples
    ///
    /// ```
    /// corral::report::set_hook(|report: &corral::report::Report<'_>| {
    ///     assert!(!report.source().is_empty());
    /// });
    /// # corral::report::take_hook();
    /// ```
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether the work returned an error or panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use corral::report::ReportKind;
    ///
    /// corral::report::set_hook(|report: &corral::report::Report<'_>| {
    ///     let _panicked = report.kind() == ReportKind::Panic;
    /// });
    /// # corral::report::take_hook();
    /// ```
    pub fn kind(&self) -> ReportKind {
        self.kind
    }

    /// The failure itself, for printing: the error's `Debug` form, or the panic's message.
    ///
    /// # Examples
    ///
    /// ```
    /// corral::report::set_hook(|report: &corral::report::Report<'_>| {
    ///     let _line = format!("{:?}", report.detail());
    /// });
    /// # corral::report::take_hook();
    /// ```
    pub fn detail(&self) -> &dyn fmt::Debug {
        self.detail
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ReportKind::Error => "failed",
            ReportKind::Panic => "panicked",
            ReportKind::SlowPoll | ReportKind::Abandoned => {
                return write!(f, "debug mode, {}: {:?}", self.source, self.detail);
            }
        };
        write!(
            f,
            "unreceived failure in {}: work {what}: {:?}",
            self.source, self.detail
        )
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("source", &self.source)
            .field("kind", &self.kind)
            .field("detail", self.detail)
            .finish()
    }
}

type Hook = Arc<dyn Fn(&Report<'_>) + Send + Sync + 'static>;

static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Routes every report of the process to `hook`, replacing the default (a `tracing` event, or
/// standard error when no subscriber records it) and any hook set before.
///
/// Pass a hook that does nothing to silence reports. The hook runs on the thread that found
/// the failure, outside every corral lock and under `catch_unwind`; keep it short and
/// non-blocking.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use corral::report::Report;
///
/// static FAILURES: AtomicUsize = AtomicUsize::new(0);
/// corral::report::set_hook(|_: &Report<'_>| {
///     FAILURES.fetch_add(1, Ordering::Relaxed);
/// });
/// # corral::report::take_hook();
/// ```
pub fn set_hook<H>(hook: H)
where
    H: Fn(&Report<'_>) + Send + Sync + 'static,
{
    let previous = HOOK
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(Arc::new(hook));
    drop(previous); // the old hook's captures drop here, outside the lock
}

/// Restores the default destination (a `tracing` event, or standard error) and says whether a
/// hook had been set.
///
/// # Examples
///
/// ```
/// corral::report::set_hook(|_: &corral::report::Report<'_>| {});
/// assert!(corral::report::take_hook());
/// assert!(!corral::report::take_hook());
/// ```
pub fn take_hook() -> bool {
    let previous = HOOK.write().unwrap_or_else(PoisonError::into_inner).take();
    previous.is_some()
}

/// Reports one failure that nobody can receive: to the hook set by [`set_hook`], or else to
/// `tracing`, or to standard error when no subscriber records it. corral's own types report
/// through this; crates built on corral (backends such as `corral-redis`, a permit released
/// from `Drop` whose release failed, a payload set aside because it does not decode) use it
/// too, so every unreceived failure goes to one place. `source` names the type.
///
/// The hook runs on the calling thread under `catch_unwind`; call this with no lock held.
///
/// # Examples
///
/// ```
/// use corral::report::{Report, ReportKind};
///
/// corral::report::set_hook(|report: &Report<'_>| {
///     assert_eq!((report.source(), report.kind()), ("MyBackend", ReportKind::Error));
/// });
/// corral::report::report("MyBackend", ReportKind::Error, &"connection reset");
/// corral::report::take_hook();
/// ```
pub fn report(source: &'static str, kind: ReportKind, detail: &dyn fmt::Debug) {
    let report = Report {
        source,
        kind,
        detail,
    };
    // Clone the hook out, so it runs with no lock held (it may report, or set a hook, itself).
    let hook = HOOK.read().unwrap_or_else(PoisonError::into_inner).clone();
    match hook {
        Some(hook) => {
            if catch_unwind(AssertUnwindSafe(|| hook(&report))).is_err() {
                to_stderr("the report hook panicked while reporting: ", &report);
            }
        }
        None => emit_default(&report),
    }
}

/// Reports a failure nobody can receive, typed as the task module holds it, then drops it.
///
/// The failure is the caller's value, whose destructor may panic, and this is often called
/// from a destructor or on the way to resuming another panic: so the drop runs under
/// `catch_unwind`, and a panic there is reported rather than unwound (which would replace the
/// panic being resumed, or abort the process during unwinding).
pub(crate) fn report_failure<E: fmt::Debug>(source: &'static str, failure: Failure<E>) {
    match &failure {
        Failure::Error(error) => report(source, ReportKind::Error, error),
        Failure::Panic(payload) => report(source, ReportKind::Panic, &PanicDetail(payload)),
    }
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(failure))) {
        report(source, ReportKind::Panic, &DropPanicked(&payload));
        // This payload's own destructor is not guarded: a panic payload whose destructor
        // panics is beyond what any code can contain (std's own unwinding drops it likewise).
    }
}

/// Reports a panic caught from the caller's code (a hook, a callback, a destructor) that
/// nobody can receive, as "`what` panicked: message".
pub(crate) fn report_panic(source: &'static str, what: &str, payload: &PanicPayload) {
    report(
        source,
        ReportKind::Panic,
        &format_args!("{what} panicked: {:?}", PanicDetail(payload)),
    );
}

/// Runs `f`, the caller's code, under `catch_unwind`: a panic is reported, never unwound.
pub(crate) fn contain(source: &'static str, what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        report_panic(source, what, &payload);
    }
}

/// Drops a value of the caller's that nobody will receive; a panic of its destructor is
/// reported, never unwound.
pub(crate) fn drop_contained<T>(source: &'static str, what: &str, value: T) {
    contain(source, what, move || drop(value));
}

/// The detail of a panic in a reported failure's destructor.
struct DropPanicked<'a>(&'a PanicPayload);

impl fmt::Debug for DropPanicked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dropping the reported failure panicked: {:?}",
            PanicDetail(self.0)
        )
    }
}

struct PanicDetail<'a>(&'a PanicPayload);

impl fmt::Debug for PanicDetail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::task::panic_message(self.0.as_ref()) {
            Some(message) => fmt::Debug::fmt(message, f),
            None => f.write_str("<non-string panic payload>"),
        }
    }
}

fn emit_default(report: &Report<'_>) {
    if !tracing::enabled!(target: "corral", tracing::Level::ERROR) {
        to_stderr("", report);
        return;
    }
    // The subscriber formats the failure's `Debug`, which may panic, as may the subscriber.
    let emitted = catch_unwind(AssertUnwindSafe(|| {
        tracing::error!(
            target: "corral",
            source = report.source,
            kind = ?report.kind,
            failure = ?report.detail,
            "{}",
            match report.kind {
                ReportKind::Error | ReportKind::Panic => "unreceived failure",
                ReportKind::SlowPoll => "slow poll",
                ReportKind::Abandoned => "task abandoned by its owner",
            }
        );
    }));
    if emitted.is_err() {
        to_stderr("the tracing subscriber panicked while reporting: ", report);
    }
}

/// Writes `report` on standard error as one line, and never unwinds: formatting it runs the
/// failure's `Debug`, which may panic, and `eprint!` panics when standard error is closed (a
/// pipe whose reader is gone). A report is often made from a destructor, where a panic during
/// unwinding aborts the process. (`eprint!`, not a write to `io::stderr()`, so that a test
/// harness capturing output shows the line with the test that caused it.)
fn to_stderr(prefix: &str, report: &Report<'_>) {
    let line = catch_unwind(AssertUnwindSafe(|| format!("corral: {prefix}{report}\n")))
        .unwrap_or_else(|_| {
            format!(
                "corral: {prefix}unreceived failure in {} ({:?}); formatting it panicked\n",
                report.source, report.kind
            )
        });
    let _ = catch_unwind(|| eprint!("{line}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_source_kind_and_detail() {
        let report = Report {
            source: "TaskGroup",
            kind: ReportKind::Error,
            detail: &"disk full",
        };
        assert_eq!(
            report.to_string(),
            "unreceived failure in TaskGroup: work failed: \"disk full\""
        );
    }
}
