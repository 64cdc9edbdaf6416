//! Chapter 13: backpressure — a bounded mailbox, what happens past its
//! bound, a priority message, and the dead letters.
//!
//! What it teaches:
//! - `SpawnOpts::mailbox_limit`: a slow consumer with `Overflow::Block`
//!   makes its four fast producers wait (they park; no worker is blocked),
//!   so its mailbox never holds more than the bound, and nothing is lost;
//! - `Overflow::Drop`: past the bound, messages become dead letters, and
//!   `bream::dead_letters` counts them (sent = received + dropped, exactly);
//! - a byte budget (`MailboxLimit::bytes`): a bound on the bytes held, as
//!   the senders sized them, which `process_info` reports;
//! - a priority alias (`alias_priority` + `send_priority`): a "status?"
//!   request overtakes a full mailbox's backlog (OTP 28's priority
//!   messages);
//! - `try_send`: a sender that would rather not wait gets its message back.
//!
//! What it prints: the consumer's count and the largest queue it saw (never
//! above 64), the Drop figures (sent = received + dropped), what a mailbox
//! with a 4 KiB budget holds after ten 1 KiB messages (four), how many
//! ordinary messages the priority status request overtook (the consumer
//! eats some of the 100,000 while they are being sent, so it varies), and
//! the dead-letter counts by reason.
//!
//! Run: `cargo run -p bream --example 13_backpressure`

use std::time::Duration;

use bream::dead_letters::{self, DeadLetter};
use bream::{receive, MailboxLimit, Overflow, Pid, SpawnOpts, TrySendError};

const BOUND: usize = 64;
const PER_PRODUCER: u64 = 25_000;

#[derive(Debug)]
struct Status(Pid);
#[derive(Debug)]
struct Done(Pid);

/// A slow consumer: counts `u64`s; answers `Status` with its priority alias,
/// its count and its queue length now; answers `Done` with its count and the
/// largest queue it saw.
fn consumer() {
    let me = bream::self_pid();
    let urgent = bream::alias_priority();
    let (mut count, mut peak) = (0u64, 0usize);
    loop {
        receive! {
            _n: u64 => {
                count += 1;
                if count % 1000 == 0 {
                    let len = bream::process_info(me).map_or(0, |i| i.message_queue_len);
                    peak = peak.max(len);
                    bream::sleep(Duration::from_micros(200)); // slow
                }
            },
            Status(to): Status => {
                let len = bream::process_info(me).map_or(0, |i| i.message_queue_len);
                bream::send(to, (urgent, count, len));
            },
            Done(to): Done => {
                bream::send(to, (count, peak));
                return;
            },
        }
    }
}

fn main() {
    bream::run(|| {
        let me = bream::self_pid();

        // 1. Block: four fast producers, one slow consumer.
        let opts = SpawnOpts {
            mailbox_limit: Some(MailboxLimit::new(BOUND, Overflow::Block)),
            ..Default::default()
        };
        let (slow, _) = bream::spawn_opt(opts, consumer).expect("spawn");
        let producers: Vec<_> = (0..4)
            .map(|_| {
                bream::spawn_monitor(move || {
                    for i in 0..PER_PRODUCER {
                        bream::send(slow, i); // parks while the mailbox is full
                    }
                })
            })
            .collect();
        for _ in &producers {
            let _: bream::Down = receive();
        }
        bream::send(slow, Done(me));
        let (count, peak): (u64, usize) = receive();
        println!(
            "block: consumer received {count} of {}, largest queue {peak} (bound {BOUND})",
            4 * PER_PRODUCER
        );

        // 2. Drop: the same flood into a mailbox that drops past its bound.
        let opts = SpawnOpts {
            mailbox_limit: Some(MailboxLimit::new(BOUND, Overflow::Drop)),
            ..Default::default()
        };
        let (lossy, _) = bream::spawn_opt(opts, consumer).expect("spawn");
        let sent = 10_000u64;
        for i in 0..sent {
            bream::send(lossy, i);
        }
        let mut done = Done(me);
        while let Err(TrySendError::Full(d)) = bream::try_send(lossy, done) {
            done = d; // `try_send` handed it back: try again shortly
            bream::sleep(Duration::from_millis(1));
        }
        let (received, _): (u64, usize) = receive();
        let dropped = dead_letters::counts().mailbox_full;
        println!(
            "drop: sent {sent}, received {received}, dropped {dropped}: {}",
            if received + dropped == sent {
                "exactly accounted for"
            } else {
                "MISCOUNTED"
            }
        );

        // 2b. A byte budget: 4 KiB of 1 KiB messages, whatever their count.
        let opts = SpawnOpts {
            mailbox_limit: Some(MailboxLimit::new(BOUND, Overflow::Drop).bytes(4096)),
            ..Default::default()
        };
        let (small, _) = bream::spawn_opt(opts, || {
            receive::<Done>();
        })
        .expect("spawn");
        for _ in 0..10 {
            bream::send(small, [0u8; 1024]);
        }
        let info = bream::process_info(small).expect("alive");
        println!(
            "bytes: {} messages, {:?} bytes held of {:?}; {} dropped",
            info.message_queue_len,
            info.message_queue_bytes,
            info.mailbox_limit_bytes,
            dead_letters::counts().mailbox_full - dropped,
        );
        // Its budget is full, so a `Done` would be dropped too: end it.
        bream::exit(small, bream::ExitReason::Kill);

        // 3. A status request with priority overtakes whatever is queued.
        let (server, _) = bream::spawn_monitor(consumer);
        // Learn the server's priority alias from a first status answer.
        bream::send(server, Status(me));
        let (urgent, _, _): (bream::Alias, u64, usize) = receive();
        for i in 0..100_000u64 {
            bream::send(server, i);
        }
        bream::send_priority(urgent, Status(me));
        let (_, _, queued): (bream::Alias, u64, usize) = receive();
        println!("priority: status answered ahead of {queued} queued ordinary messages");
        bream::exit(server, bream::ExitReason::Kill);
        let _: bream::Down = receive();

        // 4. Dead letters: subscribe, then send to a process that is gone.
        dead_letters::subscribe();
        bream::send(slow, "anyone?"); // `slow` returned after Done
        let d: DeadLetter = receive();
        println!(
            "dead letter: a {} to {:?}: {:?}",
            d.type_name, d.to, d.reason
        );
        let c = dead_letters::counts();
        println!(
            "dead letters: no process {}, full mailbox {}, left at exit {}",
            c.no_process, c.mailbox_full, c.left_at_exit
        );
    });
}
