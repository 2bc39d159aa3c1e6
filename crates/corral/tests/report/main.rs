//! The crate's report of failures nobody can receive: never silent by default, routable and
//! silenceable with `report::set_hook`, and robust against a hook that panics.
//!
//! The hook is process-wide, so the tests that set it take `HOOK_LOCK` first.

use std::process::Command;
use std::sync::{Arc, Mutex};

use corral::report::{self, Report, ReportKind};
use corral::task::{BackgroundTasks, BoxError, TaskGroup};

static HOOK_LOCK: Mutex<()> = Mutex::new(());

/// The environment variable that makes `child_*` tests do their work. They are `#[ignore]`d (a
/// plain `cargo test` neither runs nor counts them); their parent tests run each in a child
/// process with `--ignored` and check what it printed. Without the variable (a
/// `cargo test -- --ignored` by hand) they return at once.
const CHILD: &str = "CORRAL_REPORT_CHILD";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

/// Runs one test of this binary in a child process and returns its standard error.
fn stderr_of(test: &str) -> String {
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs");
    assert!(output.status.success(), "{test} failed: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
#[ignore = "a child process's body: its parent test runs it with --ignored"]
fn child_background_failure_with_no_subscriber() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    runtime().block_on(async {
        let tasks: BackgroundTasks = BackgroundTasks::new();
        let task = tasks.spawn(async { Err::<(), BoxError>("disk full".into()) });
        assert!(task.await.is_err());
    });
}

#[test]
#[ignore = "a child process's body: its parent test runs it with --ignored"]
fn child_group_dropped_with_a_failed_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    runtime().block_on(async {
        let group: TaskGroup = TaskGroup::new();
        let task = group.spawn(async { Err::<(), BoxError>("lost unless reported".into()) });
        assert!(task.await.is_err());
        drop(group);
    });
}

#[test]
#[ignore = "a child process's body: its parent test runs it with --ignored"]
fn child_shield_fails_after_its_caller_left() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    runtime().block_on(async {
        let (started, wait) = tokio::sync::oneshot::channel::<()>();
        let shielded = corral::time::shield(async move {
            let _ = wait.await;
            Err::<(), BoxError>("saved nothing".into())
        });
        drop(shielded); // the caller leaves; the work goes on and fails later
        drop(started);
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    });
}

#[test]
fn with_no_subscriber_a_background_failure_reaches_stderr() {
    let stderr = stderr_of("child_background_failure_with_no_subscriber");
    assert!(
        stderr
            .contains("corral: unreceived failure in BackgroundTasks: work failed: \"disk full\""),
        "{stderr}"
    );
}

#[test]
fn with_no_subscriber_a_dropped_groups_failure_reaches_stderr() {
    let stderr = stderr_of("child_group_dropped_with_a_failed_child");
    assert!(
        stderr.contains("corral: unreceived failure in TaskGroup")
            && stderr.contains("lost unless reported"),
        "{stderr}"
    );
}

#[test]
fn with_no_subscriber_a_shielded_failure_reaches_stderr() {
    let stderr = stderr_of("child_shield_fails_after_its_caller_left");
    assert!(
        stderr.contains("corral: unreceived failure in shield") && stderr.contains("saved nothing"),
        "{stderr}"
    );
}

#[test]
fn set_hook_routes_reports_and_take_hook_restores_the_default() {
    let _serial = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    report::set_hook(move |report: &Report<'_>| {
        sink.lock().unwrap().push((
            report.source(),
            report.kind(),
            format!("{:?}", report.detail()),
        ));
    });
    runtime().block_on(async {
        let tasks: BackgroundTasks = BackgroundTasks::new();
        let failed = tasks.spawn(async { Err::<(), BoxError>("routed".into()) });
        let panicked = tasks.spawn(async { panic!("boom") as Result<(), BoxError> });
        assert!(failed.await.is_err());
        assert!(panicked.await.is_err());
    });
    assert!(report::take_hook());
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by_key(|(_, kind, _)| *kind == ReportKind::Panic);
    assert_eq!(
        seen,
        vec![
            (
                "BackgroundTasks",
                ReportKind::Error,
                "\"routed\"".to_owned()
            ),
            ("BackgroundTasks", ReportKind::Panic, "\"boom\"".to_owned()),
        ]
    );
    assert!(!report::take_hook());
}

#[test]
fn a_panicking_hook_does_not_unwind_into_the_runtime() {
    let _serial = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    report::set_hook(move |_: &Report<'_>| {
        *counter.lock().unwrap() += 1;
        panic!("the hook itself is broken");
    });
    runtime().block_on(async {
        let tasks: BackgroundTasks = BackgroundTasks::new();
        let first = tasks.spawn(async { Err::<(), BoxError>("one".into()) });
        assert!(first.await.is_err());
        // The manager still works after its report hook panicked.
        let second = tasks.spawn(async { Ok::<_, BoxError>(7) });
        assert_eq!(second.await.ok(), Some(7));
    });
    report::take_hook();
    assert_eq!(*calls.lock().unwrap(), 1);
}

/// A failure whose `Debug` panics.
struct DebugPanics;

impl std::fmt::Debug for DebugPanics {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("this Debug is broken");
    }
}

#[test]
#[ignore = "a child process's body: its parent test runs it with --ignored"]
fn child_a_failure_whose_debug_panics() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let reported = std::panic::catch_unwind(|| {
        report::report("Broken", ReportKind::Error, &DebugPanics);
    });
    assert!(reported.is_ok(), "report() unwound into its caller");
}

#[test]
fn with_no_subscriber_a_failure_whose_debug_panics_is_still_a_line_and_never_unwinds() {
    let stderr = stderr_of("child_a_failure_whose_debug_panics");
    assert!(
        stderr.contains("corral: unreceived failure in Broken (Error); formatting it panicked"),
        "{stderr}"
    );
}

#[test]
fn a_hook_that_formats_a_panicking_debug_does_not_unwind() {
    let _serial = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    report::set_hook(|report: &Report<'_>| {
        let _line = format!("{:?}", report.detail());
    });
    let reported = std::panic::catch_unwind(|| {
        report::report("Broken", ReportKind::Error, &DebugPanics);
    });
    report::take_hook();
    assert!(reported.is_ok(), "report() unwound into its caller");
}

#[test]
#[ignore = "a child process's body: its parent test runs it with --ignored"]
fn child_a_report_to_a_closed_stderr() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let reported = std::panic::catch_unwind(|| {
        report::report("Closed", ReportKind::Error, &"nobody reads this");
    });
    // Standard error is gone: the outcome goes to standard output.
    println!("report unwound: {}", reported.is_err());
}

#[test]
fn a_report_to_a_closed_stderr_does_not_unwind() {
    // Standard error is a pipe whose reader is gone before the child starts: every write to
    // it fails (EPIPE), which is where `eprintln!` panics.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            "--exact",
            "child_a_report_to_a_closed_stderr",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stderr(writer)
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("report unwound: false"), "{stdout}");
}

#[test]
#[ignore = "a child process's body: its parent test runs it with --ignored"]
fn child_a_report_in_a_failing_test() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    report::report("Captured", ReportKind::Error, &"shown with its test");
    panic!("the test fails, so the harness shows what it captured");
}

#[test]
fn with_no_subscriber_a_report_is_captured_with_the_test_that_made_it() {
    // Without `--nocapture`: the harness captures the test's output and shows it (on standard
    // output) because the test failed.
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            "--exact",
            "child_a_report_in_a_failing_test",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs");
    assert!(!output.status.success(), "the child test fails on purpose");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("corral: unreceived failure in Captured"),
        "{output:?}"
    );
}
