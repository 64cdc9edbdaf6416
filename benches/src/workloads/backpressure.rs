//! `backpressure`: S senders each send the numbers 1..=M to one slow receiver
//! whose mailbox is bounded at 1,024 with `Overflow::Block` (issue 14); the
//! receiver does a fixed amount of work per message (`slow`), counts and sums
//! them, and reports to main. The peers: tokio's bounded `mpsc::channel(1024)`,
//! Go's buffered `chan` of 1024. Throughput is messages per second; the
//! harness's `peak_rss_bytes` shows memory staying flat at the bound.

use std::time::Instant;

use bream::{receive, self_pid, send, spawn_opt, try_spawn, MailboxLimit, Overflow, SpawnOpts};

use super::{since, Outcome};
use crate::progress::Meter;

/// The bound of the receiver's mailbox (and of the peers' channels).
pub const BOUND: usize = 1024;

/// The receiver's work per message (benches/peers/README.md, `backpressure`):
/// 64 rounds of a 64-bit LCG.
pub fn slow(mut x: u64) -> u64 {
    for _ in 0..64 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    x
}

pub fn run(senders: u64, per_sender: u64, meter: &Meter) -> Result<Outcome, String> {
    let main = self_pid();
    let total = senders * per_sender;
    let opts = SpawnOpts {
        mailbox_limit: Some(MailboxLimit::new(BOUND, Overflow::Block)),
        ..Default::default()
    };
    let t0 = Instant::now();
    let (receiver, _) = spawn_opt(opts, move || {
        let (mut count, mut sum, mut acc) = (0u64, 0u64, 0u64);
        while count < total {
            let v: u64 = receive();
            acc ^= slow(v);
            sum += v;
            count += 1;
        }
        send(main, (count, sum, acc));
    })
    .map_err(|e| format!("bream could not spawn the receiver: {e}"))?;
    for _ in 0..senders {
        try_spawn(move || {
            for i in 1..=per_sender {
                send(receiver, i); // parks while the mailbox is full
            }
        })
        .map_err(|e| format!("bream could not spawn a sender: {e}"))?;
    }
    let (count, sum, acc): (u64, u64, u64) = receive();
    let ns = since(t0);
    meter.set(count);
    let expected = senders * (per_sender * (per_sender + 1) / 2);
    if sum != expected || acc == 42 {
        return Err(format!(
            "backpressure: the messages summed to {sum}, expected {expected}"
        ));
    }
    Ok(Outcome::timed(ns, count))
}
