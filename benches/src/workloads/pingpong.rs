//! `pingpong`: main and one echo process, M round trips.

use std::time::Instant;

use bream::{receive, self_pid, send, try_spawn};

use super::{report_progress, since, Outcome};
use crate::progress::Meter;

pub fn run(rounds: u64, meter: &Meter) -> Result<Outcome, String> {
    let main = self_pid();
    let t0 = Instant::now();
    // `None` stops the echo.
    let echo = try_spawn(move || {
        while let Some(i) = receive::<Option<u64>>() {
            send(main, i);
        }
    })
    .map_err(|e| format!("bream could not spawn the echo process: {e}"))?;
    let mut ok = 0;
    for i in 0..rounds {
        send(echo, Some(i));
        if receive::<u64>() == i {
            ok += 1;
        }
        report_progress(meter, i);
    }
    send(echo, None::<u64>);
    Ok(Outcome::timed(since(t0), ok))
}
