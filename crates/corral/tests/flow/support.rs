//! Helpers shared by the flow tests.

use std::time::Duration;

use proptest::test_runner::{Config, FileFailurePersistence};

use crate::seeds;
use tokio::time::Instant;

/// The seed CI runs the flow property tests with; `CORRAL_SEED` replaces it.
const SEED: u64 = 0x00c0_7a11_5eed;

/// A proptest configuration with the seed (printed, with how to replay it) and failures saved
/// beside this file.
pub(crate) fn config(test: &str, cases: u32) -> Config {
    let seed = seeds::seeds([SEED]).pop().unwrap_or(SEED);
    eprintln!("{test}: seed {seed} (replay with {}={seed})", seeds::VAR);
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..seeds::proptest_config(seed, cases)
    }
}

/// A current-thread runtime on the paused clock.
pub(crate) fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("build a runtime")
}

/// Milliseconds since `start`, exactly (the paused clock moves in whole steps).
pub(crate) fn ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).expect("fits")
}

/// Checks that no window of grants holds more cells than `burst + L / T` allows: for every
/// pair of grants, the cells granted between them (inclusive) stay within the burst plus what
/// the rate refills over the time between them. `grants` is sorted by time.
pub(crate) fn check_windows(grants: &[(Duration, u32)], interval: Duration, burst: u32) {
    for i in 0..grants.len() {
        let mut cells = 0u64;
        for j in i..grants.len() {
            cells += u64::from(grants[j].1);
            let span = grants[j].0 - grants[i].0;
            let allowed = u64::from(burst) + (span.as_nanos() / interval.as_nanos()) as u64;
            assert!(
                cells <= allowed,
                "{cells} cells granted in a window of {span:?} (grants {i}..={j}); at most \
                 {allowed} allowed by burst {burst} and interval {interval:?}"
            );
        }
    }
}

/// Waits until every sender of `rx` is dropped (each future under test holds one): fails,
/// instead of hanging, if one is still alive after an hour of paused-clock time.
pub(crate) async fn all_dropped(rx: &mut tokio::sync::mpsc::Receiver<()>, what: &str) {
    match tokio::time::timeout(Duration::from_secs(3600), rx.recv()).await {
        Ok(None) => {}
        Ok(Some(())) => unreachable!("nothing is ever sent"),
        Err(_) => panic!("{what}: still alive"),
    }
}
