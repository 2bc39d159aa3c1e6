//! The seeds of the randomised tests, one module for every test binary: `support::seeds` where
//! the binary uses the shared `support`, `#[path = "../support/seeds.rs"] mod seeds;` where it
//! has a `support` of its own.
//!
//! CI runs each randomised test on a fixed list of seeds, so a run is the same every time;
//! `CORRAL_SEED=<u64>` (decimal or `0x` hex) replays one seed alone; a run that fails prints
//! its seed and the variable that replays it.

// Each binary uses the part it needs.
#![allow(dead_code)]

use proptest::test_runner::{Config, RngSeed};

/// The environment variable that replays one seed: `CORRAL_SEED=<seed> cargo test ...`.
pub(crate) const VAR: &str = "CORRAL_SEED";

/// The seeds a randomised test runs: `ci`, or only the seed in [`VAR`] when it is set.
pub(crate) fn seeds(ci: impl IntoIterator<Item = u64>) -> Vec<u64> {
    match std::env::var(VAR) {
        Ok(seed) => vec![parse(&seed)],
        Err(_) => ci.into_iter().collect(),
    }
}

fn parse(seed: &str) -> u64 {
    let seed = seed.trim();
    let parsed = match seed.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => seed.replace('_', "").parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{VAR}={seed:?} is not a u64 (decimal or 0x hex)"))
}

/// Hold one while a seed runs: if the run panics, it prints the seed and how to replay it.
#[must_use = "the seed is printed when the guard is dropped during a panic"]
pub(crate) struct Guard<'a> {
    test: &'a str,
    seed: u64,
}

impl<'a> Guard<'a> {
    pub(crate) fn new(test: &'a str, seed: u64) -> Self {
        Self { test, seed }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{}: failed with seed {}; replay it with {VAR}={} cargo test -- {}",
                self.test, self.seed, self.seed, self.test
            );
        }
    }
}

/// A proptest configuration of `cases` cases drawn from `seed`, with no persistence file (the
/// seed is the record).
pub(crate) fn proptest_config(seed: u64, cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}
