//! `spawn`: N processes each wait for one message; main messages them all and
//! waits until all have finished. Memory is sampled when all N are waiting.

use std::sync::Arc;
use std::time::Instant;

use bream::{receive, self_pid, send, try_spawn};

use super::{report_progress, since, spawn_failed, Countdown, Outcome};
use crate::measure::footprint_now;
use crate::progress::Meter;

/// Sent to main by the process that completes a countdown.
struct AllReady;
struct AllDone;

pub fn run(n: u64, meter: &Meter) -> Result<Outcome, String> {
    let main = self_pid();
    let ready = Arc::new(Countdown::new(n, main));
    let done = Arc::new(Countdown::new(n, main));
    let base = footprint_now();
    let t0 = Instant::now();
    let mut pids = Vec::with_capacity(n as usize);
    for i in 0..n {
        let (ready, done) = (ready.clone(), done.clone());
        let pid = try_spawn(move || {
            ready.arrive(AllReady);
            let _index: u64 = receive();
            done.arrive(AllDone);
        })
        .map_err(|e| spawn_failed(i, n, e))?;
        pids.push(pid);
        report_progress(meter, i / 2);
    }
    let AllReady = receive();
    let peak = footprint_now();
    for (i, &pid) in pids.iter().enumerate() {
        send(pid, i as u64);
        report_progress(meter, (n + i as u64) / 2);
    }
    let AllDone = receive();
    let ns = since(t0);
    Ok(Outcome {
        ns,
        result: done.count(),
        bytes_per_process: Some(peak.saturating_sub(base) as f64 / n as f64),
        extra: Vec::new(),
    })
}
