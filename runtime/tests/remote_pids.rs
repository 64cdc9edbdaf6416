//! Remote pids in a runtime without distribution (ADR dist-0001): a pid of
//! another node behaves as one whose node cannot be reached — as in Erlang
//! with the node down: sends are dropped, a link fires with `noconnection`,
//! a monitor delivers `Down` with `noconnection`, and nothing about it is
//! made up. With bream-dist the same calls reach the other node
//! (dist/tests/erl_*.rs).

use std::time::Duration;

use bream::{Down, Exit, ExitReason, Pid};

fn remote() -> Pid {
    Pid::__from_parts(3, 42, 0)
}

#[test]
fn a_remote_pid_is_not_local_and_prints_its_node() {
    bream::run(|| {
        let r = remote();
        assert!(!r.is_local());
        assert_eq!(r.to_string(), "<3.42.0>");
        assert!(bream::self_pid().is_local());
        // Never a local process, even with a local process's numbers.
        let (id, serial) = bream::self_pid().__parts();
        let twin = Pid::__from_parts(1, id, serial);
        assert_ne!(twin, bream::self_pid());
        assert_eq!(bream::process_info(twin), None);
        assert!(!bream::is_alive(twin));
    });
}

#[test]
fn without_distribution_a_remote_node_is_unreachable() {
    bream::run(|| {
        let r = remote();
        bream::send(r, 1u8); // dropped (and logged), never delivered here
        assert_eq!(
            bream::receive_timeout::<u8>(Duration::from_millis(10)),
            None
        );
        assert_eq!(bream::process_info(r), None);
        assert!(!bream::is_alive(r));

        bream::trap_exit(true);
        bream::link(r);
        let e: Exit = bream::receive_timeout(Duration::from_secs(5)).expect("Exit");
        assert_eq!(
            e,
            Exit {
                from: r,
                reason: ExitReason::NoConnection
            }
        );

        let m = bream::monitor(r);
        let d: Down = bream::receive_timeout(Duration::from_secs(5)).expect("Down");
        assert_eq!(
            d,
            Down {
                monitor: m,
                pid: r,
                reason: ExitReason::NoConnection
            }
        );

        // exit/2 to it does nothing here, and the caller is unharmed.
        bream::exit(r, ExitReason::Kill);
        assert!(bream::is_alive(bream::self_pid()));
        assert_eq!(
            bream::send_named_at("x", "other@host", 1u8),
            Err(bream::NotRegistered(1u8))
        );
    });
}
