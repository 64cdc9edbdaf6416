//! Monitors: `erlang:monitor/2` and `erlang:demonitor/2` (ERTS reference
//! manual), and the "Processes" chapter of the Erlang Reference Manual,
//! §"Monitors".

use std::time::Duration;

use bream::{receive, Down, ExitReason};

#[test]
fn down_carries_the_ref_the_pid_and_the_reason() {
    bream::run(|| {
        let pid = bream::spawn(|| {
            bream::receive::<()>();
            bream::exit_self(ExitReason::Other("done".into()));
        });
        let r = bream::monitor(pid);
        bream::send(pid, ());
        assert_eq!(
            bream::receive::<Down>(),
            Down {
                monitor: r,
                pid,
                reason: ExitReason::Other("done".into())
            }
        );
    });
}

#[test]
fn monitoring_a_dead_pid_gives_noproc_at_once() {
    bream::run(|| {
        let (pid, m) = bream::spawn_monitor(|| {});
        receive! { d: Down if d.monitor == m => () }
        let r = bream::monitor(pid);
        assert_eq!(
            bream::receive_timeout::<Down>(Duration::ZERO),
            Some(Down {
                monitor: r,
                pid,
                reason: ExitReason::NoProc
            })
        );
    });
}

#[test]
fn each_monitor_fires_once_and_independently() {
    bream::run(|| {
        let pid = bream::spawn(bream::receive::<()>);
        let (a, b) = (bream::monitor(pid), bream::monitor(pid));
        assert_ne!(a, b);
        bream::send(pid, ());
        let mut got = vec![
            bream::receive::<Down>().monitor,
            bream::receive::<Down>().monitor,
        ];
        got.sort();
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(got, want);
        assert_eq!(
            bream::receive_timeout::<Down>(Duration::from_millis(5)),
            None
        );
    });
}

#[test]
fn down_arrives_after_every_message_the_monitored_process_sent() {
    bream::run(|| {
        let me = bream::self_pid();
        let (_, m) = bream::spawn_monitor(move || {
            for i in 0..1000u32 {
                bream::send(me, i);
            }
        });
        let mut n = 0u32;
        loop {
            receive! {
                i: u32 => { assert_eq!(i, n); n += 1; },
                d: Down if d.monitor == m => break,
            }
        }
        assert_eq!(n, 1000);
    });
}

#[test]
fn demonitor_of_an_active_monitor_means_no_down_ever() {
    bream::run(|| {
        let pid = bream::spawn(bream::receive::<()>);
        let r = bream::monitor(pid);
        assert!(bream::demonitor(r, false), "it was active");
        let sync = bream::monitor(pid);
        bream::send(pid, ());
        assert_eq!(bream::receive::<Down>().monitor, sync);
        assert_eq!(
            bream::receive_timeout::<Down>(Duration::from_millis(5)),
            None
        );
        assert!(bream::process_info(bream::self_pid())
            .unwrap()
            .monitors
            .is_empty());
    });
}

/// Two monitors on one process fire in the order they were made; receiving the
/// second `Down` therefore means the first one is already in the mailbox.
fn first_down_queued() -> bream::MonitorRef {
    let pid = bream::spawn(bream::receive::<()>);
    let (first, second) = (bream::monitor(pid), bream::monitor(pid));
    bream::send(pid, ());
    receive! { d: Down if d.monitor == second => () }
    first
}

#[test]
fn demonitor_with_flush_removes_a_queued_down() {
    bream::run(|| {
        let r = first_down_queued();
        assert!(!bream::demonitor(r, true), "it had fired already");
        assert_eq!(bream::receive_timeout::<Down>(Duration::ZERO), None);
    });
}

#[test]
fn demonitor_without_flush_leaves_a_queued_down() {
    bream::run(|| {
        let r = first_down_queued();
        bream::demonitor(r, false);
        assert_eq!(
            bream::receive_timeout::<Down>(Duration::ZERO).map(|d| d.monitor),
            Some(r)
        );
    });
}

#[test]
fn a_watcher_that_dies_leaves_no_monitor_behind() {
    bream::run(|| {
        let target = bream::spawn(bream::receive::<()>);
        let (watcher, wm) = bream::spawn_monitor(move || {
            bream::monitor(target);
        });
        receive! { d: Down if d.monitor == wm => () }
        let info = bream::process_info(target).unwrap();
        assert!(!info.monitored_by.contains(&watcher));
        bream::send(target, ());
    });
}

#[test]
fn demonitor_with_flush_of_an_active_monitor_leaves_other_messages_alone() {
    bream::run(|| {
        let me = bream::self_pid();
        for i in 0..100u32 {
            bream::send(me, i);
        }
        let pid = bream::spawn(bream::receive::<()>);
        let r = bream::monitor(pid);
        assert!(bream::demonitor(r, true));
        for i in 0..100u32 {
            assert_eq!(bream::receive::<u32>(), i);
        }
        bream::send(pid, ());
    });
}
