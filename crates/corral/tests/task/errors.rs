//! Error shapes: nesting, cancellation from outside, real errors winning, the caller unharmed.

use std::future::pending;
use std::time::Duration;

use corral::task::{BoxError, ErrorGroup, TaskGroup};
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

fn err(msg: &str) -> BoxError {
    msg.to_string().into()
}

async fn failing_inner_group(messages: &'static [&'static str]) -> Result<(), BoxError> {
    let inner: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_millis(1))
        .build();
    let token = inner.token();
    // All but the first fail on their way out, after the first failed.
    for (i, msg) in messages.iter().enumerate() {
        let token = token.clone();
        inner.spawn(async move {
            if i > 0 {
                token.cancelled().await;
            }
            Err::<(), _>(err(msg))
        });
    }
    inner.join().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn nested_group_errors_nest_and_are_not_flattened() {
    let outer: TaskGroup = TaskGroup::new();
    outer.spawn(failing_inner_group(&["inner-a", "inner-b"]));
    let errors = outer.join().await.unwrap_err();
    assert_eq!(errors.len(), 1, "one entry for the whole inner group");
    let inner = errors.errors()[0]
        .downcast_ref::<ErrorGroup<BoxError>>()
        .expect("the entry is the inner ErrorGroup");
    let messages: Vec<String> = inner.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["inner-a", "inner-b"]);
}

#[tokio::test(start_paused = true)]
async fn three_levels_keep_their_shape() {
    let outer: TaskGroup = TaskGroup::new();
    outer.spawn(async {
        let middle: TaskGroup = TaskGroup::new();
        middle.spawn(failing_inner_group(&["deep"]));
        middle.join().await?;
        Ok(())
    });
    let errors = outer.join().await.unwrap_err();
    let middle = errors.errors()[0]
        .downcast_ref::<ErrorGroup<BoxError>>()
        .unwrap();
    let inner = middle.errors()[0]
        .downcast_ref::<ErrorGroup<BoxError>>()
        .unwrap();
    assert_eq!(inner.errors()[0].to_string(), "deep");
    assert_eq!(
        errors.to_string(),
        "1 task failed: 1 task failed: 1 task failed: deep"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cleanly_cancelled_inner_group_adds_no_entry() {
    let outer: TaskGroup = TaskGroup::new();
    outer.spawn(async {
        // An inner group busy with long work, cancelled when its sibling fails.
        let inner: TaskGroup = TaskGroup::new();
        for _ in 0..3 {
            inner.spawn(pending::<Result<(), BoxError>>());
        }
        inner.join().await?;
        Ok(())
    });
    outer.spawn(async {
        sleep(Duration::from_millis(5)).await;
        Err::<(), _>(err("sibling failed"))
    });
    let errors = outer.join().await.unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["sibling failed"]);
}

#[tokio::test(start_paused = true)]
async fn an_inner_group_cancelled_through_its_parent_token_nests_one_plain_cancellation() {
    // The inner group's token is a child of the outer's: when the outer shuts down with a grace
    // period, the inner group reports one cancellation, not one per task.
    let outer: TaskGroup = TaskGroup::new();
    let parent = outer.token();
    let inner_result = outer.spawn(async move {
        let inner: TaskGroup = TaskGroup::builder().parent_token(&parent).build();
        for _ in 0..5 {
            inner.spawn(pending::<Result<(), BoxError>>());
        }
        let result = inner.join().await;
        Ok(result.map_err(|e| (e.is_cancelled(), e.len())))
    });
    outer.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(inner_result.await.unwrap(), Err((true, 0)));
}

#[tokio::test(start_paused = true)]
async fn cancelled_from_outside_is_one_plain_cancellation() {
    let app = CancellationToken::new();
    let group: TaskGroup = TaskGroup::builder().parent_token(&app).build();
    for _ in 0..10 {
        group.spawn(pending::<Result<(), BoxError>>());
    }
    let cancel = async {
        sleep(Duration::from_millis(5)).await;
        app.cancel();
    };
    let (result, ()) = tokio::join!(group.join(), cancel);
    let errors = result.unwrap_err();
    assert!(errors.is_cancelled());
    assert!(errors.is_empty(), "not one entry per cancelled child");
    assert_eq!(errors.to_string(), "task group cancelled");
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_groups_own_token_cancels_it_from_outside() {
    let group: TaskGroup = TaskGroup::new();
    let token = group.token();
    let result = group
        .run(async {
            group.spawn(pending::<Result<(), BoxError>>());
            sleep(Duration::from_millis(1)).await;
            token.cancel();
            pending::<Result<(), BoxError>>().await
        })
        .await;
    assert!(result.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_real_error_wins_over_cancellation() {
    let app = CancellationToken::new();
    let group: TaskGroup = TaskGroup::builder()
        .parent_token(&app)
        .cancel_grace(Duration::from_secs(1))
        .build();
    let token = group.token();
    group.spawn(async move {
        token.cancelled().await;
        Err::<(), _>(err("failed while cancelling"))
    });
    app.cancel();
    let errors = group.join().await.unwrap_err();
    assert!(!errors.is_cancelled());
    assert_eq!(errors.errors()[0].to_string(), "failed while cancelling");
}

#[tokio::test(start_paused = true)]
async fn the_caller_of_a_failed_group_is_not_left_cancelled() {
    let app = CancellationToken::new();
    let group: TaskGroup = TaskGroup::builder().parent_token(&app).build();
    group.spawn(async { Err::<(), _>(err("boom")) });
    assert!(group.join().await.is_err());
    assert!(!app.is_cancelled(), "a group only cancels its own token");
    // The caller goes on normally: it can wait, and run another group under the same parent.
    sleep(Duration::from_millis(10)).await;
    let again: TaskGroup = TaskGroup::builder().parent_token(&app).build();
    let task = again.spawn(async { Ok(5) });
    again.join().await.unwrap();
    assert_eq!(task.await.unwrap(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_cancellation_after_everything_finished_is_not_reported() {
    let app = CancellationToken::new();
    let group: TaskGroup = TaskGroup::builder().parent_token(&app).build();
    let task = group.spawn(async { Ok(1) });
    assert_eq!(task.await.unwrap(), 1);
    app.cancel(); // nothing was running any more
    group.join().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn error_group_display_counts_the_errors() {
    let group: TaskGroup = TaskGroup::builder()
        .cancel_grace(Duration::from_secs(1))
        .build();
    let token = group.token();
    group.spawn(async { Err::<(), _>(err("a")) });
    group.spawn(async move {
        token.cancelled().await;
        Err::<(), _>(err("b"))
    });
    let errors = group.join().await.unwrap_err();
    assert_eq!(errors.to_string(), "2 tasks failed; first: a");
}
