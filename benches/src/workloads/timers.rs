//! `timers`: N processes each wait for a message with a timeout of T ms; none
//! comes, all are woken by their timeouts. Timed from the first spawn until the
//! last one has woken; memory sampled when all N are waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bream::{receive, receive_timeout, self_pid, try_spawn};
use serde_json::Value;

use super::{report_progress, since, spawn_failed, Countdown, Outcome};
use crate::measure::footprint_now;
use crate::progress::Meter;

struct AllReady;
struct AllDone;
/// What the processes wait for; never sent.
struct Stop;

pub fn run(n: u64, timeout_ms: u64, meter: &Meter) -> Result<Outcome, String> {
    let main = self_pid();
    let timeout = Duration::from_millis(timeout_ms);
    let ready = Arc::new(Countdown::new(n, main));
    let done = Arc::new(Countdown::new(n, main));
    let base = footprint_now();
    let t0 = Instant::now();
    for i in 0..n {
        let (ready, done) = (ready.clone(), done.clone());
        try_spawn(move || {
            ready.arrive(AllReady);
            let _ = receive_timeout::<Stop>(timeout);
            done.arrive(AllDone);
        })
        .map_err(|e| spawn_failed(i, n, e))?;
        report_progress(meter, i);
    }
    let AllReady = receive();
    let t_ready = Instant::now();
    let alive = n - done.count();
    let peak = footprint_now();
    let AllDone = receive();
    let late = t_ready.elapsed().as_nanos() as i128 - timeout.as_nanos() as i128;
    Ok(Outcome {
        ns: since(t0),
        result: done.count(),
        bytes_per_process: Some(peak.saturating_sub(base) as f64 / n as f64),
        extra: vec![
            ("alive_at_sample", Value::from(alive)),
            ("late_ns", Value::from(late as i64)),
        ],
    })
}
