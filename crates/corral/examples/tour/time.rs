//! Tour of `corral::time`: every line reports what was measured, not what was configured.

use std::time::{Duration, Instant};

use corral::time::{Deadline, shield, timeout};

use super::BoxError;

async fn io(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

fn ms(since: Instant) -> u128 {
    since.elapsed().as_millis()
}

pub(crate) async fn run() -> Result<(), BoxError> {
    let start = Instant::now();
    let slow = timeout(Duration::from_millis(50), io(500)).await;
    let returned_at = ms(start);
    let Err(elapsed) = slow else {
        return Err("a 500 ms call under a 50 ms timeout finished".into());
    };
    ensure!(
        (50..500).contains(&returned_at),
        "timeout: a 50 ms timeout fired at {returned_at} ms"
    );
    println!(
        "timeout: a 500 ms call under a 50 ms timeout returned after {returned_at} ms with \
         \"{elapsed}\""
    );

    let budget = Deadline::after(Duration::from_millis(100));
    let start = Instant::now();
    let mut steps = 0;
    while budget.run(io(30)).await.is_ok() {
        steps += 1;
    }
    let cut_at = ms(start);
    ensure!(
        steps <= 3 && cut_at >= 100,
        "Deadline: {steps} steps of 30 ms inside a 100 ms budget, cut at {cut_at} ms"
    );
    println!(
        "Deadline: {steps} steps of 30 ms completed inside one 100 ms budget; the next was cut at \
         {cut_at} ms"
    );

    let outer = Deadline::after(Duration::from_millis(40));
    let inner = Deadline::after(Duration::from_millis(40));
    let result = outer.run(inner.run(io(1_000))).await;
    let which = match result {
        Err(elapsed) if elapsed.is_from(&outer) => "the outer one",
        Err(elapsed) if elapsed.is_from(&inner) => "the inner one",
        Err(_) => "neither",
        Ok(_) => "none: the call finished",
    };
    ensure!(
        which == "the outer one",
        "Deadline: two nested deadlines expired together and the error came from {which}"
    );
    println!("Deadline: two nested 40 ms deadlines expired together; the error came from {which}");

    // reschedule moves a deadline that operations are already waiting on.
    let start = Instant::now();
    let deadline = Deadline::after(Duration::from_millis(30));
    let (extended, result) = tokio::join!(
        async {
            io(10).await;
            deadline.reschedule(tokio::time::Instant::now() + Duration::from_millis(60));
        },
        deadline.run(io(50)),
    );
    let () = extended;
    ensure!(
        result.is_ok(),
        "Deadline: a 50 ms call under a 30 ms deadline extended to 70 ms was cut off"
    );
    println!(
        "Deadline: a 50 ms call under a 30 ms deadline, extended while it ran, finished at {} ms",
        ms(start)
    );

    let start = Instant::now();
    let mut saving = shield(async { Ok::<_, BoxError>(io(80).await) });
    let gave_up = timeout(Duration::from_millis(20), &mut saving)
        .await
        .is_err();
    let caller_left_at = ms(start);
    let saved = saving.await?;
    ensure!(
        gave_up && caller_left_at < 80 && saved == 80,
        "shield: the caller gave up: {gave_up} (at {caller_left_at} ms), the job gave {saved}"
    );
    println!(
        "shield: the caller gave up at {caller_left_at} ms; the shielded {saved} ms job still \
         finished, at {} ms",
        ms(start)
    );
    Ok(())
}
