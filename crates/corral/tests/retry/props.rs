//! Property tests of the schedule: bounds of each jitter kind, a monotone schedule, no
//! overflow. Each runs a fixed list of seeds; `CORRAL_SEED=<n>` replays one.

use std::fmt::Debug;
use std::time::Duration;

use corral::retry::{Jitter, Retry};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

use crate::support::seeds::{VAR, proptest_config, seeds};

fn check<S>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    for seed in seeds([1, 2, 3]) {
        let mut runner = TestRunner::new(proptest_config(seed, 512));
        if let Err(failure) = runner.run(&strategy, &test) {
            panic!("failed with seed {seed} (replay: {VAR}={seed}): {failure}");
        }
    }
}

/// Any duration, small ones and the extremes included.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0_u64..10_000_000_000).prop_map(Duration::from_nanos),
        (any::<u64>(), 0_u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

fn unit() -> impl Strategy<Value = f64> {
    prop_oneof![0.0..=1.0, Just(0.0), Just(1.0), Just(0.999_999_999_999)]
}

#[test]
fn jitter_stays_within_its_range() {
    check((duration(), unit()), |(d, r)| {
        prop_assert_eq!(Jitter::None.apply(d, r), d);
        let full = Jitter::Full.apply(d, r);
        prop_assert!(full <= d, "full {full:?} > {d:?}");
        let equal = Jitter::Equal.apply(d, r);
        prop_assert!(equal >= d / 2 && equal <= d, "equal {equal:?} for {d:?}");
        Ok(())
    });
}

#[test]
fn jittered_waits_of_a_policy_stay_within_the_capped_schedule() {
    check(
        (duration(), duration(), 1_u32..200, unit()),
        |(base, cap, n, r)| {
            let plain = Retry::exponential(base).max_delay(cap);
            let hi = plain.delay(n);
            prop_assert!(hi <= cap);
            let full = plain
                .clone()
                .jitter_with(Jitter::Full, move || r)
                .next_delay(n);
            prop_assert!(full <= hi);
            let equal = plain.jitter_with(Jitter::Equal, move || r).next_delay(n);
            prop_assert!(equal >= hi / 2 && equal <= hi);
            Ok(())
        },
    );
}

#[test]
fn the_schedule_without_jitter_never_shrinks() {
    check(
        (duration(), 1.0_f64..16.0, 1_u32..300),
        |(base, factor, n)| {
            let exp = Retry::exponential(base).factor(factor);
            prop_assert!(exp.delay(n) <= exp.delay(n + 1));
            prop_assert!(exp.delay(1) == base);
            let fib = Retry::fibonacci(base);
            prop_assert!(fib.delay(n) <= fib.delay(n + 1));
            let fixed = Retry::fixed(base);
            prop_assert_eq!(fixed.delay(n), base);
            Ok(())
        },
    );
}

#[test]
fn the_schedule_never_overflows() {
    let factor = prop_oneof![1.0_f64..1e6, Just(1.0), Just(f64::MAX)];
    check((duration(), factor, any::<u32>()), |(base, factor, n)| {
        // no panic for any input, and the schedule never drops below its base
        let exp = Retry::exponential(base).factor(factor);
        prop_assert!(exp.delay(n) >= base);
        prop_assert!(Retry::fibonacci(base).delay(n) >= base);
        Ok(())
    });
}
