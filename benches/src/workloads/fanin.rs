//! `fanin`: S senders each send the numbers 1..=M to main, which counts them and
//! checks their sum.

use std::time::Instant;

use bream::{receive, self_pid, send, try_spawn};

use super::{report_progress, since, Outcome};
use crate::progress::Meter;

pub fn run(senders: u64, per_sender: u64, meter: &Meter) -> Result<Outcome, String> {
    let main = self_pid();
    let t0 = Instant::now();
    for _ in 0..senders {
        try_spawn(move || {
            for i in 1..=per_sender {
                send(main, i);
            }
        })
        .map_err(|e| format!("bream could not spawn a sender: {e}"))?;
    }
    let total = senders * per_sender;
    let (mut count, mut sum) = (0u64, 0u64);
    while count < total {
        sum += receive::<u64>();
        count += 1;
        report_progress(meter, count);
    }
    let ns = since(t0);
    let expected = senders * (per_sender * (per_sender + 1) / 2);
    if sum != expected {
        return Err(format!(
            "fanin: the messages summed to {sum}, expected {expected}"
        ));
    }
    Ok(Outcome::timed(ns, count))
}
