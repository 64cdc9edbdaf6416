//! pg, tested against OTP's pg(3): start_link/1 (scopes), join/3, leave/3
//! (`not_joined`), get_members/2, get_local_members/2, which_groups/1,
//! monitor_scope/1, monitor/2, demonitor/2, and "a process is removed from
//! all groups when it terminates".

mod watchdog;

use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_stdlib::pg::{Change, Event, NotJoined, Scope};
use watchdog::{down, run, PATIENCE};

/// A process that waits until told to exit.
fn idle() -> Pid {
    bream::spawn(|| {
        bream::receive::<()>();
    })
}

fn event() -> Event<&'static str> {
    bream::receive_timeout(PATIENCE).expect("a pg event")
}

/// pg:join/3, get_members/2, which_groups/1: a process joined twice is listed
/// twice; leave/3 removes one join; leaving a group not joined is
/// `not_joined`.
#[test]
fn join_leave_and_members() {
    run(|| {
        let scope: Scope<&str> = Scope::start_link().unwrap();
        let (a, b) = (idle(), idle());
        assert!(scope.join("g", &[a, b]));
        assert!(scope.join("g", &[a]));
        assert!(scope.join("h", &[b]));
        let mut members = scope.get_members(&"g");
        members.sort();
        let mut expected = vec![a, a, b];
        expected.sort();
        assert_eq!(members, expected);
        assert_eq!(scope.get_local_members(&"h"), vec![b]);
        let mut groups = scope.which_groups();
        groups.sort();
        assert_eq!(groups, vec!["g", "h"]);
        assert_eq!(scope.leave("g", &[a]), Ok(()));
        assert_eq!(
            scope.get_members(&"g").iter().filter(|p| **p == a).count(),
            1
        );
        assert_eq!(scope.leave("h", &[a]), Err(NotJoined));
        assert_eq!(scope.leave("h", &[b]), Ok(()));
        assert_eq!(scope.which_groups(), vec!["g"]);
        assert!(scope.get_members(&"h").is_empty());
    });
}

/// pg(3): "a process ... is removed from all groups when it terminates".
#[test]
fn a_member_that_exits_leaves_every_group() {
    run(|| {
        let scope: Scope<&str> = Scope::start_link().unwrap();
        let (a, b) = (idle(), idle());
        scope.join("x", &[a, b]);
        scope.join("y", &[a]);
        scope.join("y", &[a]);
        let (r, _) = scope.monitor_scope().unwrap();
        let m = bream::monitor(a);
        bream::exit(a, ExitReason::Kill);
        down(m);
        let mut leaves = vec![event(), event()];
        leaves.sort_by_key(|e| e.group);
        assert_eq!(
            leaves,
            vec![
                Event {
                    monitor: r,
                    change: Change::Leave,
                    group: "x",
                    pids: vec![a]
                },
                Event {
                    monitor: r,
                    change: Change::Leave,
                    group: "y",
                    pids: vec![a, a]
                },
            ]
        );
        assert_eq!(scope.get_members(&"x"), vec![b]);
        assert!(scope.get_members(&"y").is_empty());
        assert_eq!(scope.which_groups(), vec!["x"]);
    });
}

/// pg:join/3 with a pid that is already dead: its monitor fires at once and
/// it is gone again.
#[test]
fn joining_a_dead_pid_leaves_no_member() {
    run(|| {
        let scope: Scope<u32> = Scope::start_link().unwrap();
        let (dead, m) = bream::spawn_monitor(|| {});
        down(m);
        scope.join(1, &[dead]);
        watchdog::wait_until("the dead pid is removed", || {
            scope.get_members(&1).is_empty()
        });
    });
}

/// pg:monitor_scope/1: the current groups, then `{Ref, join | leave, Group,
/// Pids}` for every change; pg:demonitor/2 ends it.
#[test]
fn monitor_scope_reports_joins_and_leaves() {
    run(|| {
        let scope: Scope<&str> = Scope::start_link().unwrap();
        let a = idle();
        scope.join("before", &[a]);
        let (r, groups) = scope.monitor_scope().unwrap();
        assert_eq!(groups.get("before"), Some(&vec![a]));
        let b = idle();
        scope.join("g", &[a, b]);
        assert_eq!(
            event(),
            Event {
                monitor: r,
                change: Change::Join,
                group: "g",
                pids: vec![a, b]
            }
        );
        scope.leave("g", &[b]).unwrap();
        assert_eq!(
            event(),
            Event {
                monitor: r,
                change: Change::Leave,
                group: "g",
                pids: vec![b]
            }
        );
        assert!(scope.demonitor(r));
        assert!(!scope.demonitor(r));
        scope.join("g", &[b]);
        assert_eq!(
            bream::receive_timeout::<Event<&str>>(Duration::from_millis(20)),
            None
        );
    });
}

/// pg:monitor/2: only the monitored group's changes.
#[test]
fn monitor_reports_one_group() {
    run(|| {
        let scope: Scope<&str> = Scope::start_link().unwrap();
        let a = idle();
        scope.join("mine", &[a]);
        let (r, members) = scope.monitor("mine").unwrap();
        assert_eq!(members, vec![a]);
        scope.join("other", &[a]);
        scope.leave("mine", &[a]).unwrap();
        assert_eq!(
            event(),
            Event {
                monitor: r,
                change: Change::Leave,
                group: "mine",
                pids: vec![a]
            }
        );
        assert_eq!(
            bream::receive_timeout::<Event<&str>>(Duration::from_millis(20)),
            None
        );
    });
}

/// pg: scopes are independent; a scope that stops forgets its groups.
#[test]
fn scopes_are_independent_and_stop_with_their_owner() {
    run(|| {
        let me = bream::self_pid();
        let a = idle();
        let one: Scope<&str> = Scope::start_link().unwrap();
        let (owner, m) = bream::spawn_monitor(move || {
            let two: Scope<&str> = Scope::start_link().unwrap();
            two.join("g", &[a]);
            bream::send(me, two.clone());
            bream::receive::<()>();
            bream::exit_self(ExitReason::Shutdown);
        });
        let two: Scope<&str> = bream::receive_timeout(PATIENCE).unwrap();
        one.join("g", &[me]);
        assert_eq!(one.get_members(&"g"), vec![me]);
        assert_eq!(two.get_members(&"g"), vec![a]);
        bream::send(owner, ());
        down(m);
        watchdog::wait_until("scope two stops", || !two.is_running());
        assert!(two.get_members(&"g").is_empty());
        assert!(!two.join("g", &[a]));
        assert_eq!(one.get_members(&"g"), vec![me]);
    });
}
