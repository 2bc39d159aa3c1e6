//! Tour of `corral::time`.

use std::time::{Duration, Instant};

use corral::time::{Deadline, shield, timeout};

use super::BoxError;

async fn io(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

pub(crate) async fn run() -> Result<(), BoxError> {
    let start = Instant::now();
    let slow = timeout(Duration::from_millis(50), io(500)).await;
    println!(
        "timeout: 500 ms call cut off at {} ms ({})",
        start.elapsed().as_millis(),
        slow.err()
            .map_or_else(|| "finished?".to_string(), |e| e.to_string())
    );

    let budget = Deadline::after(Duration::from_millis(100));
    let mut steps = 0;
    while budget.run(io(30)).await.is_ok() {
        steps += 1;
    }
    println!("Deadline: {steps} steps of 30 ms fit in one 100 ms budget");

    let outer = Deadline::after(Duration::from_millis(40));
    let inner = Deadline::after(Duration::from_millis(40));
    let result = outer.run(inner.run(io(1_000))).await;
    println!(
        "Deadline: nested deadlines expired together, the outer one reported: {}",
        result.as_ref().err().is_some_and(|e| e.is_from(&outer))
    );

    let start = Instant::now();
    let mut saving = shield(async { Ok::<_, BoxError>(io(80).await) });
    let gave_up = timeout(Duration::from_millis(20), &mut saving)
        .await
        .is_err();
    let saved = saving.await?;
    println!(
        "shield: caller gave up at 20 ms ({gave_up}), the work finished anyway ({saved} ms) at {} ms",
        start.elapsed().as_millis()
    );
    Ok(())
}
