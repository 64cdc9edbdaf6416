//! Exit signals, row by row: the table of the Erlang Reference Manual,
//! "Processes" chapter, §"Receiving Exit Signals", and `erlang:exit/2`.
//! Every row of docs/architecture.md §6's table (and docs/links-monitors.md) has a test.

use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Pid};

/// A process that traps exits (or not), reports every `Exit` message to
/// `parent`, and answers `Ping` with `Pong` so the test can tell it is alive.
#[derive(Debug)]
struct Ping;
#[derive(Debug, PartialEq)]
struct Pong(Pid);

fn target(parent: Pid, trap: bool) -> impl FnOnce() + Send + 'static {
    move || {
        bream::trap_exit(trap);
        bream::send(parent, Pong(bream::self_pid()));
        loop {
            receive! {
                e: Exit => bream::send(parent, e),
                _p: Ping => bream::send(parent, Pong(bream::self_pid())),
            }
        }
    }
}

/// Spawns a monitored target and waits until it runs (so its trap flag is set).
fn start(trap: bool) -> (Pid, bream::MonitorRef) {
    let me = bream::self_pid();
    let (pid, m) = bream::spawn_monitor(target(me, trap));
    assert_eq!(bream::receive::<Pong>(), Pong(pid));
    (pid, m)
}

fn still_alive(pid: Pid) {
    bream::send(pid, Ping);
    assert_eq!(bream::receive::<Pong>(), Pong(pid));
}

fn down_reason(m: bream::MonitorRef) -> ExitReason {
    receive! { d: Down if d.monitor == m => d.reason }
}

/// A process linked to `to` that exits with `reason` once told to.
fn linked_exiter(to: Pid, reason: ExitReason) -> Pid {
    let me = bream::self_pid();
    let pid = bream::spawn(move || {
        bream::link(to);
        bream::send(me, "linked");
        bream::receive::<&str>();
        if reason != ExitReason::Normal {
            bream::exit_self(reason);
        }
    });
    assert_eq!(bream::receive::<&str>(), "linked");
    pid
}

#[test]
fn kill_by_exit2_kills_a_non_trapping_process_with_killed() {
    bream::run(|| {
        let (pid, m) = start(false);
        bream::exit(pid, ExitReason::Kill);
        assert_eq!(down_reason(m), ExitReason::Killed);
    });
}

#[test]
fn kill_by_exit2_cannot_be_trapped() {
    bream::run(|| {
        let (pid, m) = start(true);
        bream::exit(pid, ExitReason::Kill);
        assert_eq!(down_reason(m), ExitReason::Killed);
        assert_eq!(bream::receive_timeout::<Exit>(Duration::ZERO), None);
    });
}

#[test]
fn normal_through_a_link_is_ignored_when_not_trapping() {
    bream::run(|| {
        let (pid, _) = start(false);
        let ex = linked_exiter(pid, ExitReason::Normal);
        bream::send(ex, "go");
        let m = bream::monitor(ex);
        assert_eq!(down_reason(m), ExitReason::Normal);
        still_alive(pid);
    });
}

#[test]
fn normal_by_exit2_is_ignored_when_not_trapping() {
    bream::run(|| {
        let (pid, _) = start(false);
        bream::exit(pid, ExitReason::Normal);
        still_alive(pid);
    });
}

#[test]
fn normal_by_exit2_to_oneself_exits_normally() {
    bream::run(|| {
        let (_, m) = bream::spawn_monitor(|| {
            bream::exit(bream::self_pid(), ExitReason::Normal);
            unreachable!("the exit signal to itself ends the process");
        });
        assert_eq!(down_reason(m), ExitReason::Normal);
    });
}

#[test]
fn other_reason_through_a_link_kills_a_non_trapping_process_with_that_reason() {
    bream::run(|| {
        let (pid, m) = start(false);
        let ex = linked_exiter(pid, ExitReason::Other("crash".into()));
        bream::send(ex, "go");
        assert_eq!(down_reason(m), ExitReason::Other("crash".into()));
    });
}

#[test]
fn other_reason_by_exit2_kills_a_non_trapping_process_with_that_reason() {
    bream::run(|| {
        let (pid, m) = start(false);
        bream::exit(pid, ExitReason::Shutdown);
        assert_eq!(down_reason(m), ExitReason::Shutdown);
    });
}

#[test]
fn kill_through_a_link_is_not_converted_to_killed() {
    bream::run(|| {
        let (pid, m) = start(false);
        let ex = linked_exiter(pid, ExitReason::Kill);
        bream::send(ex, "go");
        assert_eq!(down_reason(m), ExitReason::Kill);
    });
}

#[test]
fn a_trapping_process_gets_kill_through_a_link_as_a_message() {
    bream::run(|| {
        let (pid, _) = start(true);
        let ex = linked_exiter(pid, ExitReason::Kill);
        bream::send(ex, "go");
        assert_eq!(
            bream::receive::<Exit>(),
            Exit {
                from: ex,
                reason: ExitReason::Kill
            }
        );
        still_alive(pid);
    });
}

#[test]
fn a_trapping_process_gets_every_other_signal_as_a_message() {
    bream::run(|| {
        let me = bream::self_pid();
        let (pid, _) = start(true);
        for reason in [
            ExitReason::Normal,
            ExitReason::Other("x".into()),
            ExitReason::Shutdown,
        ] {
            let ex = linked_exiter(pid, reason.clone());
            bream::send(ex, "go");
            assert_eq!(bream::receive::<Exit>(), Exit { from: ex, reason });
        }
        for reason in [ExitReason::Normal, ExitReason::Other("y".into())] {
            bream::exit(pid, reason.clone());
            assert_eq!(bream::receive::<Exit>(), Exit { from: me, reason });
        }
        still_alive(pid);
    });
}

#[test]
fn the_links_of_a_killed_process_see_killed() {
    bream::run(|| {
        let (watcher, _) = start(true);
        let victim = linked_exiter(watcher, ExitReason::Normal);
        bream::exit(victim, ExitReason::Kill);
        assert_eq!(
            bream::receive::<Exit>(),
            Exit {
                from: victim,
                reason: ExitReason::Killed
            }
        );
    });
}

#[test]
fn exit_signals_arrive_in_order_with_the_senders_messages() {
    bream::run(|| {
        let me = bream::self_pid();
        let t = bream::spawn(move || {
            bream::trap_exit(true);
            bream::send(me, "ready");
            let _: &str = bream::receive();
            let mut seen = Vec::new();
            for _ in 0..3 {
                receive! {
                    n: u32 => seen.push(format!("{n}")),
                    e: Exit => seen.push(format!("exit {}", e.reason)),
                }
            }
            bream::send(me, seen);
        });
        assert_eq!(bream::receive::<&str>(), "ready");
        bream::send(t, 1u32);
        bream::exit(t, ExitReason::Other("middle".into()));
        bream::send(t, 2u32);
        bream::send(t, "go");
        assert_eq!(bream::receive::<Vec<String>>(), ["1", "exit middle", "2"]);
    });
}

#[test]
fn a_dying_process_exit_signal_comes_after_all_its_messages() {
    bream::run(|| {
        bream::trap_exit(true);
        let me = bream::self_pid();
        let child = bream::spawn_link(move || {
            for i in 0..1000u32 {
                bream::send(me, i);
            }
            bream::exit_self(ExitReason::Shutdown);
        });
        let mut next = 0u32;
        loop {
            receive! {
                n: u32 => { assert_eq!(n, next); next += 1; },
                e: Exit => {
                    assert_eq!(e, Exit { from: child, reason: ExitReason::Shutdown });
                    break;
                },
            }
        }
        assert_eq!(next, 1000);
    });
}
