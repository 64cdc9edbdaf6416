//! The backpressure soak of issue 14 (docs/mailbox.md, "Bounded mailboxes"):
//! four fast senders to one slow receiver with `Overflow::Block`. The
//! mailbox never holds more than its bound, every message arrives exactly
//! once and in per-sender order, nothing becomes a dead letter, and the
//! process's memory stays flat: resident memory, sampled from
//! `/proc/self/status` while the messages flow, does not grow with their
//! number.
//!
//! 2M messages by default (a few seconds); the soak proper is
//! `BREAM_BACKPRESSURE_MESSAGES=50000000 cargo test --release -p bream --test backpressure_soak -- --nocapture`,
//! which prints messages, wall time and RSS at start, peak and end.
//!
//! Its own test binary: resident memory is the process's, and the tests of
//! another file running beside it would move it.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bream::{dead_letters, receive, MailboxLimit, Overflow, SpawnOpts};

/// Resident memory in KiB (`VmRSS`), or `None` where there is no procfs.
fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the receiver saw.
#[derive(Debug)]
struct Seen {
    /// The next index expected from each sender (= how many arrived).
    next: [u64; 4],
    /// The longest the queue was at a sample.
    max_len: usize,
    /// RSS (KiB) at the first sample after a tenth of the messages (warm:
    /// the queue is full, the block caches are filled), and the peak after.
    warm_rss: Option<u64>,
    peak_rss: Option<u64>,
}

#[test]
fn block_four_fast_senders_one_slow_receiver_memory_flat_exactly_once_in_order() {
    let total: u64 = std::env::var("BREAM_BACKPRESSURE_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    const LIMIT: usize = 1024;
    const SENDERS: u64 = 4;
    let each = total / SENDERS;
    let start_rss = rss_kib();
    let t0 = Instant::now();
    // Watchdog: a hang fails (generous: a debug build on a loaded machine).
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(move || {
            bream::run(move || {
                let me = bream::self_pid();
                let opts = SpawnOpts {
                    mailbox_limit: Some(MailboxLimit::new(LIMIT, Overflow::Block)),
                    ..Default::default()
                };
                let (rx, _) = bream::spawn_opt(opts, move || {
                    let mut seen = Seen {
                        next: [0; 4],
                        max_len: 0,
                        warm_rss: None,
                        peak_rss: None,
                    };
                    let warm_at = each * SENDERS / 10;
                    for n in 0..each * SENDERS {
                        let (s, i): (u64, u64) = receive();
                        assert_eq!(seen.next[s as usize], i, "sender {s}: per-sender order");
                        seen.next[s as usize] += 1;
                        if n % 4096 == 0 {
                            let len = bream::process_info(bream::self_pid())
                                .unwrap()
                                .message_queue_len;
                            seen.max_len = seen.max_len.max(len);
                            bream::yield_now(); // slow: let the senders fill it
                        }
                        if n % 65_536 == 0 && n >= warm_at {
                            let r = rss_kib();
                            seen.warm_rss = seen.warm_rss.or(r);
                            seen.peak_rss = seen.peak_rss.max(r);
                        }
                    }
                    bream::send(me, seen);
                })
                .unwrap();
                for s in 0..SENDERS {
                    bream::spawn(move || {
                        for i in 0..each {
                            bream::send(rx, (s, i));
                        }
                    });
                }
                let seen: Seen = receive();
                (seen, dead_letters::counts().total())
            })
        });
        let _ = done_tx.send(r);
    });
    let limit = Duration::from_secs(60 + total / 50_000);
    let (seen, dead) = match done_rx.recv_timeout(limit) {
        Ok(Ok(r)) => r,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("the soak did not finish within {limit:?}: a hang"),
    };
    let wall = t0.elapsed();
    let end_rss = rss_kib();
    eprintln!(
        "backpressure soak: {} messages in {:.2?} ({:.1} M msg/s); RSS KiB start {:?}, \
         warm {:?}, peak {:?}, end {:?}; queue at most {} (bound {LIMIT})",
        each * SENDERS,
        wall,
        (each * SENDERS) as f64 / wall.as_secs_f64() / 1e6,
        start_rss,
        seen.warm_rss,
        seen.peak_rss,
        end_rss,
        seen.max_len,
    );
    assert_eq!(seen.next, [each; 4], "every message exactly once");
    assert!(
        seen.max_len <= LIMIT,
        "the queue stayed at its bound: {}",
        seen.max_len
    );
    assert_eq!(dead, 0, "nothing lost");
    if let (Some(warm), Some(peak)) = (seen.warm_rss, seen.peak_rss) {
        // Flat: what the messages in flight take is bounded by the bound
        // (1024 blocks of 48 bytes, plus the senders' and workers' block
        // caches), whatever their number. An unbounded queue behind this
        // slow receiver grows by tens of MiB per million messages.
        assert!(
            peak.saturating_sub(warm) <= 16 * 1024,
            "resident memory grew from {warm} KiB to {peak} KiB over the soak"
        );
    }
}
