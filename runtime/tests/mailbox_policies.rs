//! Mailbox policies through the public API: dead letters, bounded mailboxes
//! (Kill, Drop, Block, `try_send`, `send_timeout`) and priority messages
//! (OTP 28's priority aliases, EEP 76). docs/mailbox.md, "Policies".

use std::sync::mpsc;
use std::time::Duration;

use bream::dead_letters::{self, DeadLetter, Reason, Recipient};
use bream::{
    receive, Down, Exit, ExitReason, MailboxLimit, Overflow, Pid, SendTimeoutError, SpawnOpts,
    TrySendError,
};

/// Runs `f` on a thread and fails (instead of hanging) if it takes longer
/// than `secs`.
fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(r)) => r,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("the test did not finish within {secs} s: a hang"),
    }
}

/// The dead-letter counts once `done` holds for them. A process's `Down` (and
/// its `Exit`) is sent before its mailbox is drained and counted (exit.rs,
/// "When a process exits", steps 4–5), so the `LeftAtExit` count of a process
/// just seen dead may still be rising: wait (up to 10 s) for it to settle.
/// Counts only ever rise, so a count that overshoots still fails the test.
fn settled(done: impl Fn(&dead_letters::Counts) -> bool) -> dead_letters::Counts {
    let t0 = std::time::Instant::now();
    loop {
        let c = dead_letters::counts();
        if done(&c) || t0.elapsed() > Duration::from_secs(10) {
            return c;
        }
        bream::sleep(Duration::from_millis(1));
    }
}

fn bounded(n: usize, overflow: Overflow) -> SpawnOpts {
    SpawnOpts {
        mailbox_limit: Some(MailboxLimit::new(n, overflow)),
        ..Default::default()
    }
}

/// A process that waits for `Go`, then receives `u64`s forever, answering
/// `Count` with how many it got.
#[derive(Debug)]
struct Go;
#[derive(Debug)]
struct Count(Pid);

fn counter(wait_for_go: bool) -> impl FnOnce() + Send + 'static {
    move || {
        if wait_for_go {
            receive::<Go>();
        }
        let mut n = 0u64;
        loop {
            receive! {
                _v: u64 => n += 1,
                Count(to): Count => bream::send(to, n),
            }
        }
    }
}

// ---------------------------------------------------------------- dead letters

#[test]
fn dead_letters_are_counted_exactly_by_reason() {
    within(20, || {
        bream::run(|| {
            let base = dead_letters::counts();
            assert_eq!(base.total(), 0, "a fresh runtime has none");
            // To a dead pid.
            let (dead, _) = bream::spawn_monitor(|| {});
            let _: Down = receive();
            for i in 0..5u32 {
                bream::send(dead, i);
            }
            // To an unregistered name.
            assert!(bream::send_named("nobody", 1u8).is_err());
            // Left in a mailbox at exit: 7 messages, never received.
            let (holder, _) = bream::spawn_monitor(|| {
                receive::<Go>();
            });
            for i in 0..7u32 {
                bream::send(holder, i);
            }
            bream::send(holder, Go);
            let _: Down = receive();
            let c = settled(|c| c.left_at_exit >= 7);
            assert_eq!(c.no_process, 5);
            assert_eq!(c.not_registered, 1);
            assert_eq!(c.left_at_exit, 7);
            assert_eq!(c.mailbox_full, 0);
            assert_eq!(bream::stats().dead_letters, c);
        });
    });
}

#[test]
fn sends_racing_with_the_receivers_exit_are_each_counted_once() {
    // Every message is received, left at exit, or sent to a dead pid:
    // never lost, never counted twice (dead_letters.rs, "Exactly once").
    within(30, || {
        bream::run(|| {
            const SENDERS: u64 = 4;
            const EACH: u64 = 5_000;
            let me = bream::self_pid();
            let target = bream::spawn(move || {
                let mut got = 0u64;
                // Receive a while, then exit with the rest queued.
                while got < 3_000 {
                    receive::<u64>();
                    got += 1;
                }
                bream::send(me, got);
            });
            for _ in 0..SENDERS {
                bream::spawn(move || {
                    for i in 0..EACH {
                        bream::send(target, i);
                    }
                    bream::send(me, Go);
                });
            }
            let received: u64 = receive();
            for _ in 0..SENDERS {
                receive::<Go>();
            }
            // The target's exit drains its mailbox after it is seen dead:
            // wait for the counts to add up (they must, exactly).
            let c = settled(|c| received + c.left_at_exit + c.no_process >= SENDERS * EACH);
            assert!(!bream::is_alive(target));
            assert_eq!(
                received + c.left_at_exit + c.no_process,
                SENDERS * EACH,
                "received {received}, {c:?}"
            );
        });
    });
}

#[test]
fn a_subscriber_gets_each_dead_letter_with_the_message_moved_in() {
    within(20, || {
        bream::run(|| {
            dead_letters::subscribe();
            let (dead, _) = bream::spawn_monitor(|| {});
            let _: Down = receive();
            bream::send(dead, String::from("lost"));
            let d: DeadLetter = receive();
            assert_eq!(d.to, Recipient::Pid(dead));
            assert_eq!(d.from, Some(bream::self_pid()));
            assert_eq!(d.reason, Reason::NoProcess);
            assert_eq!(d.type_name, "alloc::string::String");
            assert_eq!(d.message.unwrap().downcast::<String>().unwrap(), "lost");
            let _ = bream::send_named("ghost", 5u8);
            let d: DeadLetter = receive();
            assert_eq!(d.to, Recipient::Name("ghost".into()));
            assert!(d.message.is_none(), "send_named handed it back");
            assert!(dead_letters::unsubscribe());
            bream::send(dead, 1u8);
            assert!(bream::receive_timeout::<DeadLetter>(Duration::from_millis(20)).is_none());
            assert_eq!(dead_letters::counts().no_process, 2);
        });
    });
}

#[test]
fn a_storm_of_dead_letters_is_rate_limited_for_subscribers_but_fully_counted() {
    within(20, || {
        bream::run(|| {
            dead_letters::set_rate(10);
            dead_letters::subscribe();
            let (dead, _) = bream::spawn_monitor(|| {});
            let _: Down = receive();
            for i in 0..1_000u32 {
                bream::send(dead, i);
            }
            let c = dead_letters::counts();
            assert_eq!(c.no_process, 1_000);
            assert!(c.suppressed >= 990 - 10, "{c:?}"); // one window may turn over
            let mut shown = 0;
            while bream::receive_timeout::<DeadLetter>(Duration::ZERO).is_some() {
                shown += 1;
            }
            assert_eq!(shown + c.suppressed, 1_000);
        });
    });
}

// ------------------------------------------------------------ bounded mailboxes

#[test]
fn drop_sent_equals_received_plus_dead_letters_exactly() {
    within(30, || {
        bream::run(|| {
            const SENT: u64 = 50_000;
            let me = bream::self_pid();
            let (rx, _) = bream::spawn_opt(bounded(64, Overflow::Drop), counter(false)).unwrap();
            let info = bream::process_info(rx).unwrap();
            assert_eq!(info.mailbox_limit, Some(64));
            for i in 0..SENT {
                bream::send(rx, i);
            }
            assert!(bream::process_info(rx).unwrap().message_queue_len <= 64);
            // Everything is sent: ask for the count (`try_send` until it gets
            // in: a plain send could be dropped too).
            let mut c = Count(me);
            while let Err(e) = bream::try_send(rx, c) {
                c = e.into_inner();
                bream::yield_now();
            }
            let received: u64 = receive();
            let dropped = dead_letters::counts().mailbox_full;
            assert!(
                dropped > 0,
                "a bound of 64 and no receiver: most are dropped"
            );
            assert_eq!(received + dropped, SENT);
        });
    });
}

#[test]
fn kill_the_receiver_exits_with_the_reason_and_a_restarter_starts_it_again() {
    within(20, || {
        bream::run(|| {
            bream::trap_exit(true);
            let opts = || SpawnOpts {
                link: true,
                ..bounded(10, Overflow::Kill)
            };
            let me = bream::self_pid();
            let (first, _) = bream::spawn_opt(opts(), counter(true)).unwrap();
            for i in 0..11u64 {
                bream::send(first, i); // the 11th finds it full
            }
            let e: Exit = receive();
            assert_eq!(e.from, first);
            assert_eq!(e.reason, ExitReason::MailboxFull { limit: 10 });
            // A hand-made restarter (a supervisor's one_for_one, in short).
            let (second, _) = bream::spawn_opt(opts(), counter(true)).unwrap();
            assert_ne!(second, first);
            bream::send(second, Go);
            bream::send(second, 1u64);
            bream::send(second, Count(me));
            assert_eq!(receive::<u64>(), 1);
            let c = settled(|c| c.left_at_exit >= 10);
            assert_eq!(c.mailbox_full, 1, "the 11th");
            assert_eq!(c.left_at_exit, 10, "the first ten died with it");
        });
    });
}

#[test]
fn the_kill_cannot_be_trapped() {
    within(20, || {
        bream::run(|| {
            let (pid, _) = bream::spawn_opt(
                SpawnOpts {
                    monitor: true,
                    trap_exit: true,
                    ..bounded(1, Overflow::Kill)
                },
                || loop {
                    bream::sleep(Duration::from_millis(5));
                },
            )
            .unwrap();
            bream::send(pid, 1u8);
            bream::send(pid, 2u8);
            let d: Down = receive();
            assert_eq!(d.reason, ExitReason::MailboxFull { limit: 1 });
        });
    });
}

fn bytes(n: usize, bytes: usize, overflow: Overflow) -> SpawnOpts {
    SpawnOpts {
        mailbox_limit: Some(MailboxLimit::new(n, overflow).bytes(bytes)),
        ..Default::default()
    }
}

#[test]
fn a_byte_budget_with_drop_drops_what_would_pass_it_and_info_shows_it() {
    within(20, || {
        bream::run(|| {
            // 1000 messages, 64 bytes: eight u64s.
            let (pid, _) = bream::spawn_opt(bytes(1000, 64, Overflow::Drop), || {
                receive::<Go>();
            })
            .unwrap();
            for i in 0..10u64 {
                bream::send(pid, i);
            }
            let info = bream::process_info(pid).unwrap();
            assert_eq!(info.message_queue_len, 8);
            assert_eq!(info.message_queue_bytes, Some(64));
            assert_eq!(info.mailbox_limit, Some(1000));
            assert_eq!(info.mailbox_limit_bytes, Some(64));
            assert_eq!(info.mailbox_overflow, Some(Overflow::Drop));
            assert_eq!(dead_letters::counts().mailbox_full, 2);
            // Larger than the whole budget: dropped even into room.
            bream::send(pid, [0u8; 65]);
            assert_eq!(dead_letters::counts().mailbox_full, 3);
            // A process without a limit does not count bytes.
            let me = bream::process_info(bream::self_pid()).unwrap();
            assert_eq!(
                (
                    me.message_queue_bytes,
                    me.mailbox_limit_bytes,
                    me.mailbox_overflow
                ),
                (None, None, None)
            );
            bream::exit(pid, ExitReason::Kill);
        });
    });
}

#[test]
fn a_byte_budget_with_kill_kills_the_receiver_with_the_reason() {
    within(20, || {
        bream::run(|| {
            let (pid, _) = bream::spawn_opt(
                SpawnOpts {
                    monitor: true,
                    ..bytes(1000, 32, Overflow::Kill)
                },
                || {
                    receive::<Go>();
                },
            )
            .unwrap();
            for i in 0..4u64 {
                bream::send(pid, i); // 32 bytes: full, not past
            }
            assert!(bream::is_alive(pid));
            bream::send(pid, 4u64); // past the budget
            let d: Down = receive();
            assert_eq!(d.pid, pid);
            assert_eq!(d.reason, ExitReason::MailboxFull { limit: 1000 });
            let c = settled(|c| c.left_at_exit >= 4);
            assert_eq!((c.mailbox_full, c.left_at_exit), (1, 4));
        });
    });
}

#[test]
fn a_byte_budget_with_block_holds_senders_back_and_loses_nothing() {
    within(30, || {
        bream::run(|| {
            const SENDERS: u64 = 3;
            const EACH: u64 = 2_000;
            let me = bream::self_pid();
            // (u64, u64) is 16 bytes: the budget holds 4 of them.
            let (rx, _) = bream::spawn_opt(bytes(1000, 64, Overflow::Block), move || {
                receive::<Go>();
                let mut next = [0u64; SENDERS as usize];
                let mut peak = 0;
                for n in 0..SENDERS * EACH {
                    let (s, i): (u64, u64) = receive();
                    assert_eq!(next[s as usize], i, "sender {s}: per-sender order");
                    next[s as usize] += 1;
                    if n % 64 == 0 {
                        let b = bream::process_info(bream::self_pid())
                            .unwrap()
                            .message_queue_bytes
                            .unwrap();
                        peak = peak.max(b);
                        bream::yield_now();
                    }
                }
                bream::send(me, (next, peak));
            })
            .unwrap();
            for s in 0..SENDERS {
                bream::spawn(move || {
                    for i in 0..EACH {
                        bream::send(rx, (s, i));
                    }
                });
            }
            // Let the senders fill the budget and block before it starts.
            let t = std::time::Instant::now();
            while bream::process_info(rx).unwrap().message_queue_bytes < Some(64) {
                assert!(t.elapsed() < Duration::from_secs(10), "never filled");
                bream::yield_now();
            }
            assert_eq!(bream::process_info(rx).unwrap().message_queue_len, 4);
            // A message larger than the budget can never get in: send_timeout
            // says so at once instead of waiting out its timeout.
            let t = std::time::Instant::now();
            let r = bream::send_timeout(rx, [0u8; 100], Duration::from_secs(30));
            assert!(matches!(r, Err(SendTimeoutError::Timeout(_))));
            assert!(t.elapsed() < Duration::from_secs(5));
            bream::send(rx, Go);
            let (next, peak): ([u64; SENDERS as usize], usize) = receive();
            assert_eq!(next, [EACH; SENDERS as usize], "every message exactly once");
            // `Go` is a signal-free ordinary message: it waited for room too.
            assert!(peak <= 64, "the budget held: {peak}");
            assert_eq!(dead_letters::counts().total(), 0, "nothing lost");
        });
    });
}

#[test]
fn many_blocked_senders_are_all_served_exactly_once_in_per_sender_order() {
    // Sixteen senders blocked on a bound of 1: each removal wakes one
    // (bounded.rs, "Waking as few senders as needed"); none is forgotten.
    within(30, || {
        bream::run(|| {
            const SENDERS: usize = 16;
            const EACH: u64 = 300;
            let me = bream::self_pid();
            let (rx, _) = bream::spawn_opt(bounded(1, Overflow::Block), move || {
                let mut next = [0u64; SENDERS];
                for _ in 0..SENDERS as u64 * EACH {
                    let (s, i): (usize, u64) = receive();
                    assert_eq!(next[s], i, "sender {s}: per-sender order");
                    next[s] += 1;
                }
                bream::send(me, next);
            })
            .unwrap();
            for s in 0..SENDERS {
                bream::spawn(move || {
                    for i in 0..EACH {
                        bream::send(rx, (s, i));
                    }
                });
            }
            let next: [u64; SENDERS] = receive();
            assert_eq!(next, [EACH; SENDERS]);
            assert_eq!(dead_letters::counts().total(), 0);
        });
    });
}

#[test]
fn a_blocked_sender_that_times_out_leaves_the_others_waiting_and_served() {
    within(20, || {
        bream::run(|| {
            use std::sync::atomic::{AtomicBool, Ordering};
            let me = bream::self_pid();
            let go = std::sync::Arc::new(AtomicBool::new(false));
            let go2 = go.clone();
            let (rx, _) = bream::spawn_opt(bounded(1, Overflow::Block), move || {
                // Not receiving until told (outside the mailbox: it is full).
                while !go2.load(Ordering::Acquire) {
                    bream::sleep(Duration::from_millis(1));
                }
                let got: Vec<u32> = (0..3).map(|_| receive::<u32>()).collect();
                bream::send(me, got);
            })
            .unwrap();
            assert_eq!(bream::try_send(rx, 0u32), Ok(())); // full now
                                                           // One blocked sender gives up...
            bream::spawn(move || {
                let r = bream::send_timeout(rx, 1u32, Duration::from_millis(30));
                assert_eq!(r, Err(SendTimeoutError::Timeout(1)));
                bream::send(me, "gave up");
            });
            assert_eq!(receive::<&str>(), "gave up");
            // ...one waits, and so do we, behind it.
            let patient = bream::spawn(move || bream::send(rx, 2u32));
            let t = std::time::Instant::now();
            while bream::process_info(patient).map(|i| i.status) != Some(bream::Status::Suspended) {
                assert!(t.elapsed() < Duration::from_secs(10), "never blocked");
                bream::yield_now();
            }
            go.store(true, Ordering::Release);
            bream::send(rx, 3u32);
            let got: Vec<u32> = receive();
            assert_eq!(got, [0, 2, 3], "the quitter's message is not there");
        });
    });
}

#[test]
fn try_send_hands_the_message_back_when_full_or_dead() {
    within(20, || {
        bream::run(|| {
            let (pid, _) = bream::spawn_opt(bounded(2, Overflow::Block), || {
                receive::<Go>();
            })
            .unwrap();
            assert_eq!(bream::try_send(pid, 1u8), Ok(()));
            assert_eq!(bream::try_send(pid, 2u8), Ok(()));
            assert_eq!(bream::try_send(pid, 3u8), Err(TrySendError::Full(3)));
            bream::exit(pid, ExitReason::Kill);
            while bream::is_alive(pid) {
                bream::sleep(Duration::from_millis(1));
            }
            assert_eq!(
                bream::try_send(pid, 4u8),
                Err(TrySendError::Disconnected(4))
            );
            assert_eq!(
                dead_letters::counts().mailbox_full,
                0,
                "handed back, not lost"
            );
        });
    });
}

#[test]
fn a_plain_thread_gets_an_error_instead_of_blocking() {
    within(20, || {
        let rt = bream::Runtime::new().unwrap();
        let pid = rt.block_on(|| {
            bream::spawn_opt(bounded(1, Overflow::Block), || {
                receive::<Go>();
            })
            .unwrap()
            .0
        });
        assert_eq!(rt.try_send(pid, 1u8), Ok(()));
        assert_eq!(rt.try_send(pid, 2u8), Err(TrySendError::Full(2)));
        assert!(matches!(rt.try_send(pid, Go), Err(TrySendError::Full(Go))));
        // Dead once its Down has come and its slot is cleared (Down fires
        // before the slot is cleared): wait on that, not on a clock.
        let dead = rt.block_on(|| {
            let (pid, _) = bream::spawn_monitor(|| {});
            let _: bream::Down = receive();
            let t = std::time::Instant::now();
            while bream::process_info(pid).is_some() {
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "the slot never cleared"
                );
                bream::yield_now();
            }
            pid
        });
        assert!(matches!(
            rt.try_send(dead, Go),
            Err(TrySendError::Disconnected(Go))
        ));
        rt.shutdown();
    });
}

#[test]
fn block_deadlock_ends_by_timeout() {
    // Two Block processes, each full, each sending to the other: with `send`
    // they would wait forever (the user's risk, docs/mailbox.md); with
    // `send_timeout` both give up.
    within(20, || {
        bream::run(|| {
            let me = bream::self_pid();
            let peer = |me: Pid| {
                move || {
                    let other: Pid = receive();
                    // Fill the other's mailbox (bound 1), then one more.
                    let first = bream::send_timeout(other, 0u32, Duration::from_millis(500));
                    let second = bream::send_timeout(other, 1u32, Duration::from_millis(100));
                    bream::send(me, (first.is_ok(), second));
                    receive::<Go>(); // stay alive until both have reported
                }
            };
            let (a, _) = bream::spawn_opt(bounded(1, Overflow::Block), peer(me)).unwrap();
            let (b, _) = bream::spawn_opt(bounded(1, Overflow::Block), peer(me)).unwrap();
            bream::send(a, b);
            bream::send(b, a);
            for _ in 0..2 {
                let (first, second): (bool, Result<(), SendTimeoutError<u32>>) = receive();
                assert!(first);
                assert_eq!(second, Err(SendTimeoutError::Timeout(1)));
            }
            bream::exit(a, ExitReason::Kill);
            bream::exit(b, ExitReason::Kill);
        });
    });
}

// ------------------------------------------------------------ priority messages

#[derive(Debug)]
struct Status(Pid);

#[test]
fn a_server_with_100k_queued_answers_a_priority_status_first() {
    within(30, || {
        bream::run(|| {
            let me = bream::self_pid();
            let server = bream::spawn(move || {
                let prio = bream::alias_priority();
                bream::send(me, prio);
                receive::<Go>();
                // The first message it receives, whatever it is.
                let first: bream::Message = receive();
                let Ok(Status(to)) = first.downcast::<Status>() else {
                    panic!("the status request was not first");
                };
                bream::send(
                    to,
                    bream::process_info(bream::self_pid())
                        .unwrap()
                        .message_queue_len,
                );
            });
            let prio: bream::Alias = receive();
            for i in 0..100_000u64 {
                bream::send(server, i);
            }
            bream::send_priority(prio, Status(me));
            bream::send(server, Go);
            // `Go` is itself behind the backlog: send it with priority too,
            // after the status (priority messages keep their order).
            bream::send_priority(prio, Go);
            let left: usize = receive();
            assert_eq!(
                left, 100_001,
                "the backlog and the ordinary Go are untouched"
            );
        });
    });
}

#[test]
fn priority_messages_keep_their_order_and_a_plain_alias_gets_none() {
    within(20, || {
        bream::run(|| {
            let prio = bream::alias_priority();
            let plain = bream::alias();
            let me = bream::self_pid();
            bream::send(me, 0u32);
            bream::send_priority(plain, 1u32); // not a priority alias: ordinary
            bream::send_priority(prio, 2u32);
            bream::send_alias(prio, 3u32); // no priority asked: ordinary
            bream::send_priority(prio, 4u32);
            let got: Vec<u32> = (0..5).map(|_| receive::<u32>()).collect();
            assert_eq!(got, [2, 4, 0, 1, 3]);
            // A deactivated priority alias drops what comes through it.
            assert!(bream::unalias(prio));
            bream::send_priority(prio, 5u32);
            assert_eq!(bream::receive_timeout::<u32>(Duration::ZERO), None);
        });
    });
}

#[test]
fn a_process_that_never_opted_in_gets_ordinary_order() {
    within(20, || {
        bream::run(|| {
            let me = bream::self_pid();
            let plain = bream::alias();
            for i in 0..3u32 {
                bream::send(me, i);
            }
            bream::send_priority(plain, 99u32);
            let got: Vec<u32> = (0..4).map(|_| receive::<u32>()).collect();
            assert_eq!(got, [0, 1, 2, 99]);
        });
    });
}

#[test]
fn a_call_reply_is_found_from_the_marker_with_priority_enabled() {
    within(20, || {
        bream::run(|| {
            let _prio = bream::alias_priority();
            let me = bream::self_pid();
            for i in 0..10_000u32 {
                bream::send(me, i);
            }
            let r = bream::make_ref();
            bream::send(me, (r, "reply"));
            let got = receive! { marker r; (t, v): (bream::Ref, &str) if t == r => v };
            assert_eq!(got, "reply");
            assert_eq!(bream::flush(), 10_000);
        });
    });
}
