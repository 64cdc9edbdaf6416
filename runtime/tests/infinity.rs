//! `Duration::MAX` (and `gen_server::INFINITY`, which is it) as a timeout:
//! Erlang's `infinity` (Erlang Reference Manual, "Receive": `after infinity`
//! never times out; `timer:sleep(infinity)` sleeps until killed). Any
//! duration means "at most that long"; one past `Instant`'s range is forever.
//! Also timers to a registered name (`erlang:send_after/3` with an atom) and
//! interval timers (`timer:send_interval/3`, `timer:cancel/1`; STDLIB `timer`
//! reference manual).

use std::sync::mpsc;
use std::time::Duration;

use bream::{receive, Down, ExitReason};

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

/// Durations at and near the top of the range.
const HUGE: [Duration; 3] = [
    Duration::MAX,
    Duration::from_secs(u64::MAX / 2),
    Duration::from_secs(100 * 365 * 24 * 3600),
];

#[test]
fn receive_timeout_with_infinity_waits_for_the_message() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            for d in HUGE {
                bream::send_after(Duration::from_millis(2), me, 1u8);
                assert_eq!(bream::receive_timeout::<u8>(d), Some(1));
            }
        });
    });
}

#[test]
fn receive_after_infinity_waits_for_the_message() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            for d in HUGE {
                bream::send_after(Duration::from_millis(2), me, 2u8);
                let got = receive! {
                    n: u8 => n,
                    after d => 0,
                };
                assert_eq!(got, 2);
            }
            // With a marker too (gen_server's call path).
            let r = bream::make_ref();
            bream::send_after(Duration::from_millis(2), me, (r, 3u8));
            let got = receive! {
                marker r;
                (t, n): (bream::Ref, u8) if t == r => n,
                after Duration::MAX => 0,
            };
            assert_eq!(got, 3);
        });
    });
}

#[test]
fn sleep_with_infinity_sleeps_until_killed() {
    within(10, || {
        bream::run(|| {
            for d in HUGE {
                let (pid, m) = bream::spawn_monitor(move || bream::sleep(d));
                bream::sleep(Duration::from_millis(5));
                assert!(bream::is_alive(pid), "{d:?} ended the sleep");
                bream::exit(pid, ExitReason::Kill);
                let down = receive! { d: Down if d.monitor == m => d };
                assert_eq!(down.reason, ExitReason::Killed);
            }
        });
    });
}

#[test]
fn a_timer_of_infinity_never_fires_and_cancels() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            for d in HUGE {
                let t = bream::send_after(d, me, "never");
                assert_eq!(
                    bream::receive_timeout::<&str>(Duration::from_millis(5)),
                    None
                );
                assert!(bream::cancel_timer(t));
            }
        });
    });
}

#[test]
fn send_after_named_resolves_the_name_when_it_fires() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            // Registered after the timer started, before it fires: delivered.
            bream::send_after_named(Duration::from_millis(20), "late_name", "hello");
            bream::register("late_name", me).unwrap();
            assert_eq!(bream::receive::<&str>(), "hello");
            // Nobody has the name when it fires: dropped, nothing breaks.
            bream::unregister("late_name");
            bream::send_after_named(Duration::from_millis(1), "late_name", "lost");
            assert_eq!(
                bream::receive_timeout::<&str>(Duration::from_millis(30)),
                None
            );
            // Cancelled before it fires: never delivered.
            bream::register("late_name", me).unwrap();
            let t = bream::send_after_named(Duration::from_secs(60), "late_name", "cancelled");
            assert!(bream::cancel_timer(t));
        });
    });
}

#[test]
fn send_interval_repeats_until_cancelled() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            let t = bream::send_interval(Duration::from_millis(2), me, 9u8);
            for _ in 0..5 {
                assert_eq!(bream::receive::<u8>(), 9);
            }
            assert!(bream::cancel_timer(t));
            // A firing racing the cancel may still land; after that, silence.
            bream::sleep(Duration::from_millis(10));
            bream::flush();
            assert_eq!(
                bream::receive_timeout::<u8>(Duration::from_millis(30)),
                None
            );
        });
    });
}

#[test]
fn send_interval_stops_when_its_target_is_gone() {
    within(10, || {
        bream::run(|| {
            let me = bream::self_pid();
            let (pid, m) = bream::spawn_monitor(move || {
                bream::receive::<u8>();
                bream::send(me, "got one");
            });
            let t = bream::send_interval(Duration::from_millis(1), pid, 1u8);
            assert_eq!(bream::receive::<&str>(), "got one");
            let _: Down = receive! { d: Down if d.monitor == m => d };
            // The next firing finds the target gone and ends the chain.
            bream::sleep(Duration::from_millis(20));
            assert!(!bream::cancel_timer(t), "the interval stopped by itself");
        });
    });
}
