//! Messages of a type no receive expects: Erlang's catch-all clause
//! (`receive Other -> ... end`, Erlang Reference Manual, "Receive"), the shell's
//! `flush()` (ERTS `shell` manual, "flush()"), and bream's own help for the
//! Rust pitfall behind them — `21` is an `i32` (docs/messages.md, "Messages of
//! the wrong type"). The warning's text is tested in reports_stderr.rs.

use std::sync::mpsc;
use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Message};

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
        Err(_) => panic!("watchdog: the test did not finish within {secs} s"),
    }
}

#[test]
fn a_catch_all_arm_takes_any_type_in_arrival_order() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            bream::send(me, 21); // an i32
            bream::send(me, "hello"); // a &str
            bream::send(me, 42u64);
            let mut seen = Vec::new();
            for _ in 0..3 {
                receive! {
                    n: u64 => seen.push(format!("u64 {n}")),
                    other => seen.push(format!("other {}", other.type_name())),
                }
            }
            assert_eq!(seen, ["other i32", "other &str", "u64 42"]);
        });
    });
}

#[test]
fn a_typed_arm_before_the_catch_all_wins_for_its_message() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            bream::send(me, 1u8);
            let r = receive! {
                n: u8 => n,
                _ => 0,
            };
            assert_eq!(r, 1);
            // With `after`, an empty mailbox still times out.
            let r = receive! {
                _ => "message",
                after Duration::ZERO => "timeout",
            };
            assert_eq!(r, "timeout");
        });
    });
}

#[test]
fn a_caught_message_can_be_downcast_or_forwarded_with_its_type() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            let relay = bream::spawn(move || loop {
                receive! {
                    _: () => break,
                    other => other.forward(me),
                }
            });
            bream::send(relay, String::from("owned"));
            bream::send(relay, 7i64);
            assert_eq!(bream::receive::<String>(), "owned");
            assert_eq!(bream::receive::<i64>(), 7);
            bream::send(relay, ());

            bream::send(me, 3.5f64);
            let m: Message = bream::receive();
            assert!(m.is::<f64>());
            assert_eq!(m.downcast_ref::<f64>(), Some(&3.5));
            let m = m.downcast::<u32>().expect_err("not a u32");
            assert_eq!(m.downcast::<f64>().ok(), Some(3.5));
            assert_eq!(
                bream::receive_timeout::<Message>(Duration::ZERO).map(|m| m.type_name()),
                None
            );
        });
    });
}

#[test]
fn a_catch_all_does_not_swallow_exit_signals() {
    within(10, || {
        bream::run(|| {
            // Not trapping: a linked crash kills the process waiting in a
            // catch-all receive; the signal is not handed to the arm.
            let (pid, m) = bream::spawn_monitor(|| {
                let _doomed = bream::spawn_link(|| {
                    bream::sleep(Duration::from_millis(5));
                    bream::exit_self(ExitReason::Other("boom".into()));
                });
                receive! {
                    other => panic!("took {other:?}"),
                }
            });
            let d: Down = bream::receive();
            assert_eq!((d.pid, d.monitor), (pid, m));
            assert_eq!(d.reason, ExitReason::Other("boom".into()));

            // Trapping: the signal becomes an `Exit` message, which the
            // catch-all takes like any other.
            bream::trap_exit(true);
            let child = bream::spawn_link(|| bream::exit_self(ExitReason::Other("x".into())));
            let m = receive! { m => m };
            let e: Exit = m.downcast().expect("an Exit message");
            assert_eq!(e.from, child);
        });
    });
}

#[test]
fn flush_drops_everything_and_counts_it() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            assert_eq!(bream::flush(), 0);
            bream::send(me, 1u8);
            bream::send(me, "two");
            bream::send(me, 3.0f32);
            let (_, _) = bream::spawn_monitor(|| {});
            let down: Down = bream::receive();
            bream::send(me, down); // a delivered Down is a message like any other
            assert_eq!(bream::flush(), 4);
            assert!(bream::receive_timeout::<Message>(Duration::ZERO).is_none());
            bream::send(me, 5u8);
            assert_eq!(bream::receive::<u8>(), 5, "the mailbox works after a flush");
        });
    });
}

#[test]
#[should_panic(expected = "write the catch-all arm without a type")]
fn a_typed_message_arm_is_refused_with_the_fix() {
    bream::run(|| {
        bream::send(bream::self_pid(), 1u8);
        receive! {
            m: Message => drop(m),
            after Duration::ZERO => (),
        }
    });
}
