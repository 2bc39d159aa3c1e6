//! `ErrorGroup::split` and `split_type`: what `except*` is made of.
//!
//! The property test builds random trees of errors (leaves and nested groups, as children that
//! return an inner group's errors with `?` make them) and checks that a split partitions the
//! leaves and keeps the shape. It runs a fixed list of seeds; `CORRAL_SEED=<u64>` replays one.

use std::fmt;
use std::io;

use corral::task::{BoxError, ErrorGroup, TaskGroup};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use crate::support::seeds::{VAR, proptest_config, seeds};

/// A leaf error carrying a number, so leaves can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Leaf(u32);

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leaf {}", self.0)
    }
}

impl std::error::Error for Leaf {}

/// The shape of a group of errors, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tree {
    Leaf(u32),
    Group(Vec<Tree>),
}

fn build(trees: &[Tree]) -> ErrorGroup<BoxError> {
    trees.iter().map(boxed).collect()
}

fn boxed(tree: &Tree) -> BoxError {
    match tree {
        Tree::Leaf(n) => Box::new(Leaf(*n)),
        Tree::Group(children) => Box::new(build(children)),
    }
}

/// The shape of `group`; panics on an error that is neither a `Leaf` nor a nested group.
fn shape(group: &ErrorGroup<BoxError>) -> Vec<Tree> {
    group
        .iter()
        .map(|error| match error.downcast_ref::<ErrorGroup<BoxError>>() {
            Some(inner) => Tree::Group(shape(inner)),
            None => Tree::Leaf(error.downcast_ref::<Leaf>().expect("a Leaf").0),
        })
        .collect()
}

/// What a side of a split must look like: the tree with only the leaves that satisfy `keep`,
/// and no group left empty by the split. A group that was empty to begin with is a failure of
/// its own, kept whole on the rest side (`rest`) and absent from the matching side.
fn filtered(trees: &[Tree], keep: &dyn Fn(u32) -> bool, rest: bool) -> Vec<Tree> {
    trees
        .iter()
        .filter_map(|tree| match tree {
            Tree::Leaf(n) => keep(*n).then_some(Tree::Leaf(*n)),
            Tree::Group(children) if children.is_empty() => rest.then(|| Tree::Group(vec![])),
            Tree::Group(children) => {
                let children = filtered(children, keep, rest);
                (!children.is_empty()).then_some(Tree::Group(children))
            }
        })
        .collect()
}

fn leaves(group: &ErrorGroup<BoxError>) -> Vec<u32> {
    group
        .leaves()
        .map(|error| error.downcast_ref::<Leaf>().expect("a Leaf").0)
        .collect()
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = (0..1000u32).prop_map(Tree::Leaf);
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop::collection::vec(inner, 0..5).prop_map(Tree::Group)
    })
}

/// The seeds CI runs; `CORRAL_SEED` replaces them with one.
const SEEDS: [u64; 5] = [1, 7, 42, 2024, 0xC0FFEE];

#[test]
fn split_partitions_the_leaves_and_keeps_the_shape() {
    for seed in seeds(SEEDS) {
        let config = proptest_config(seed, 128);
        let strategy = (prop::collection::vec(tree(), 0..6), 2..5u32);
        let outcome = TestRunner::new(config).run(&strategy, |(trees, modulus)| {
            let keep = move |n: u32| n.is_multiple_of(modulus);
            let group = build(&trees);
            let before = leaves(&group);
            let (yes, no) = group.split(|error| {
                keep(
                    error
                        .downcast_ref::<Leaf>()
                        .expect("only leaves are asked")
                        .0,
                )
            });
            let (yes_leaves, no_leaves) = (leaves(&yes), leaves(&no));
            // Every leaf exactly once, on the side the predicate says, in order.
            prop_assert!(yes_leaves.iter().all(|n| keep(*n)));
            prop_assert!(no_leaves.iter().all(|n| !keep(*n)));
            let expected_yes: Vec<u32> = before.iter().copied().filter(|n| keep(*n)).collect();
            let expected_no: Vec<u32> = before.iter().copied().filter(|n| !keep(*n)).collect();
            prop_assert_eq!(&yes_leaves, &expected_yes);
            prop_assert_eq!(&no_leaves, &expected_no);
            // The nesting is kept on both sides, and no side has a nested group the split
            // emptied (one that was empty to begin with stays, whole, with the rest).
            prop_assert_eq!(shape(&yes), filtered(&trees, &keep, false));
            prop_assert_eq!(shape(&no), filtered(&trees, &|n| !keep(n), true));
            prop_assert!(!yes.is_cancelled() && !no.is_cancelled());
            // Splitting with an always-true predicate rebuilds the group without the groups
            // left empty; the rest keeps only the groups empty to begin with.
            let (all, none) = build(&trees).split(|_| true);
            prop_assert_eq!(shape(&all), filtered(&trees, &|_| true, false));
            prop_assert_eq!(shape(&none), filtered(&trees, &|_| false, true));
            Ok(())
        });
        if let Err(failure) = outcome {
            panic!("seed {seed} (replay with {VAR}={seed}): {failure}");
        }
    }
}

#[test]
fn split_of_flat_errors_keeps_input_order() {
    let (even, odd) = ErrorGroup::new((1..=6).collect()).split(|n| n % 2 == 0);
    assert_eq!(even.errors(), [2, 4, 6]);
    assert_eq!(odd.errors(), [1, 3, 5]);
}

#[test]
fn split_type_sends_nested_matches_into_a_nested_group_of_the_same_shape() {
    // [io(1), [parse, io(2), [io(3)]], "other"]
    let deepest: BoxError = Box::new(ErrorGroup::<BoxError>::new(vec![
        io::Error::other("io 3").into(),
    ]));
    let parse: BoxError = "x".parse::<u8>().expect_err("not a number").into();
    let middle: BoxError = Box::new(ErrorGroup::<BoxError>::new(vec![
        parse,
        io::Error::other("io 2").into(),
        deepest,
    ]));
    let outer = ErrorGroup::<BoxError>::new(vec![
        io::Error::other("io 1").into(),
        middle,
        "other".into(),
    ]);

    let (io_errors, rest) = outer.split_type::<io::Error>();

    // Matching side: [io 1, [io 2, [io 3]]].
    let messages: Vec<String> = io_errors
        .leaves_of::<io::Error>()
        .map(ToString::to_string)
        .collect();
    assert_eq!(messages, ["io 1", "io 2", "io 3"]);
    assert_eq!(io_errors.len(), 2);
    let middle = io_errors.errors()[1]
        .downcast_ref::<ErrorGroup<BoxError>>()
        .expect("the nested group keeps its place");
    assert_eq!(middle.len(), 2);
    let deepest = middle.errors()[1]
        .downcast_ref::<ErrorGroup<BoxError>>()
        .expect("and so does the one inside it");
    assert_eq!(deepest.errors()[0].to_string(), "io 3");

    // The rest: [[parse], "other"]; the deepest group had nothing else and is dropped.
    assert_eq!(rest.len(), 2);
    let middle = rest.errors()[0]
        .downcast_ref::<ErrorGroup<BoxError>>()
        .expect("the nested rest keeps its place");
    assert_eq!(middle.len(), 1);
    assert!(middle.errors()[0].is::<std::num::ParseIntError>());
    assert_eq!(rest.errors()[1].to_string(), "other");
}

#[test]
fn split_of_a_group_with_no_match_gives_an_empty_matching_side() {
    let (io_errors, rest) = ErrorGroup::<BoxError>::new(vec!["a".into()]).split_type::<io::Error>();
    assert!(io_errors.is_empty() && !io_errors.is_cancelled());
    assert!(io_errors.into_result().is_ok());
    assert_eq!(rest.len(), 1);
    assert!(rest.into_result().is_err());
}

#[tokio::test(start_paused = true)]
async fn cancellation_stays_with_the_rest() {
    let group: TaskGroup = TaskGroup::new();
    group.spawn(std::future::pending::<Result<(), BoxError>>());
    group.token().cancel();
    let errors = group.join().await.expect_err("cancelled from outside");
    assert!(errors.is_cancelled());
    let (matching, rest) = errors.split(|_| true);
    assert!(matching.is_empty() && !matching.is_cancelled());
    assert!(rest.is_empty() && rest.is_cancelled());
    // Nothing matched, but the cancellation is still passed on.
    assert!(matching.into_result().is_ok());
    assert!(rest.into_result().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_nested_cancelled_group_is_kept_on_the_rest_side() {
    let inner: ErrorGroup<BoxError> = {
        let group: TaskGroup = TaskGroup::new();
        group.spawn(std::future::pending::<Result<(), BoxError>>());
        group.token().cancel();
        group.join().await.expect_err("cancelled from outside")
    };
    let outer = ErrorGroup::<BoxError>::new(vec![Box::new(inner), "real".into()]);
    let (real, rest) = outer.split(|error| error.to_string() == "real");
    assert_eq!(real.len(), 1);
    assert_eq!(rest.len(), 1);
    let nested = rest.errors()[0]
        .downcast_ref::<ErrorGroup<BoxError>>()
        .expect("the cancelled inner group");
    assert!(nested.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn split_works_on_what_a_real_task_group_returns() {
    let outer: TaskGroup = TaskGroup::new();
    outer.spawn(async {
        let inner: TaskGroup = TaskGroup::new();
        inner.spawn(async { Err::<(), BoxError>(io::Error::other("inner io").into()) });
        inner.join().await?;
        Ok(())
    });
    let errors = outer.join().await.expect_err("the inner group failed");
    let (io_errors, rest) = errors.split_type::<io::Error>();
    assert!(rest.into_result().is_ok());
    let messages: Vec<String> = io_errors
        .leaves_of::<io::Error>()
        .map(ToString::to_string)
        .collect();
    assert_eq!(messages, ["inner io"]);
    assert!(io_errors.errors()[0].is::<ErrorGroup<BoxError>>());
}

/// Old code: a nested group with no error and no cancellation (what `first_ok` over nothing
/// fails with) vanished from both sides, and the rest passed as handled.
#[tokio::test]
async fn a_nested_group_that_holds_nothing_stays_with_the_rest() {
    let empty: ErrorGroup<BoxError> =
        corral::task::first_ok(Vec::<std::future::Ready<Result<(), BoxError>>>::new())
            .await
            .unwrap_err();
    assert!(empty.is_empty() && !empty.is_cancelled());
    let outer = ErrorGroup::<BoxError>::new(vec![Box::new(empty) as BoxError, "other".into()]);
    let mut asked = 0;
    let (matching, rest) = outer.split(|_| {
        asked += 1;
        false
    });
    assert_eq!(asked, 1, "asked about the leaf only");
    assert!(matching.is_empty());
    assert_eq!(rest.len(), 2, "the empty group is kept, whole");
    let kept = rest.errors()[0].downcast_ref::<ErrorGroup<BoxError>>();
    assert!(kept.is_some_and(ErrorGroup::is_empty));
    assert!(
        rest.into_result().is_err(),
        "an unhandled failure is not handled"
    );
}
