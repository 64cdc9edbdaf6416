//! Smoke: the first things every user does. Mirrors the "Processes" chapter of
//! the Erlang Reference Manual (spawn, send, receive).

use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason};

#[test]
fn spawn_send_receive_round_trip() {
    let got = bream::run(|| {
        let me = bream::self_pid();
        let child = bream::spawn(move || {
            let n: u32 = bream::receive();
            bream::send(me, n + 1);
        });
        bream::send(child, 41u32);
        bream::receive::<u32>()
    });
    assert_eq!(got, 42);
}

#[test]
fn receive_macro_guards_and_after() {
    bream::run(|| {
        let me = bream::self_pid();
        bream::send(me, 1u32);
        bream::send(me, 5u32);
        let n = receive! { n: u32 if n > 3 => n, after Duration::ZERO => 0 };
        assert_eq!(n, 5);
        let n = receive! { n: u32 => n };
        assert_eq!(n, 1);
        let t = receive! { _n: u32 => false, after Duration::from_millis(2) => true };
        assert!(t);
    });
}

#[test]
fn monitor_sees_panic_and_link_trap() {
    bream::run(|| {
        let (pid, r) = bream::spawn_monitor(|| panic!("boom"));
        let d: Down = bream::receive();
        assert_eq!(
            d,
            Down {
                monitor: r,
                pid,
                reason: ExitReason::Panic("boom".into())
            }
        );
        bream::trap_exit(true);
        let c = bream::spawn_link(|| bream::exit_self(ExitReason::Other("x".into())));
        let e: Exit = bream::receive();
        assert_eq!(
            e,
            Exit {
                from: c,
                reason: ExitReason::Other("x".into())
            }
        );
    });
}

#[test]
fn kill_parked() {
    bream::run(|| {
        let (pid, _) = bream::spawn_monitor(|| loop {
            bream::receive::<()>();
        });
        bream::exit(pid, ExitReason::Kill);
        let d: Down = bream::receive();
        assert_eq!(d.reason, ExitReason::Killed);
    });
}
