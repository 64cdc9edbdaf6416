//! Links, monitors and connection loss between bream and a real `erl` node,
//! with Erlang's semantics. Mirrors the Erlang Reference Manual, "Processes":
//! links, monitors, and `noconnection` when a node goes down.

mod common;

use std::time::Duration;

use bream::{Down, Exit, ExitReason};
use bream_dist::{NodeDown, Term};
use common::{atom, have_erl, me, node, peer, recv_term, tuple, watchdog};

const T: Duration = Duration::from_secs(40);
const W: Duration = Duration::from_secs(10);

/// A fresh erl worker (running the mirror loop) from `mirror`.
fn worker(mirror: bream::Pid) -> bream::Pid {
    bream::send(mirror, tuple(vec![atom("spawn_worker"), me()]));
    match recv_term("a worker").as_tuple() {
        Some([_, Term::Pid(p)]) => bream_dist::pid_from_term(p),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_link_to_an_erl_process_carries_its_abnormal_exit() {
    if !have_erl("a_link_to_an_erl_process_carries_its_abnormal_exit") {
        return;
    }
    watchdog(T, || {
        node("b_link1").block_on(|| {
            let (_erl, mirror) = peer("b_link1", "e_link1");
            let w = worker(mirror);
            bream::trap_exit(true);
            bream::link(w);
            assert_eq!(
                bream::process_info(w),
                None,
                "process_info of a remote pid is None"
            );
            assert!(bream::is_alive(w), "is_alive asks the erl node");
            bream::send(w, tuple(vec![atom("exit"), atom("boom")]));
            let e: Exit = bream::receive_timeout(W).expect("the EXIT");
            assert_eq!(
                e,
                Exit {
                    from: w,
                    reason: ExitReason::Other("boom".into())
                }
            );
            assert!(!bream::is_alive(w));
        });
    });
}

#[test]
fn an_erl_process_linked_to_a_bream_process_sees_its_abnormal_exit() {
    if !have_erl("an_erl_process_linked_to_a_bream_process") {
        return;
    }
    watchdog(T, || {
        node("b_link2").block_on(|| {
            let (_erl, mirror) = peer("b_link2", "e_link2");
            let w = worker(mirror);
            let victim = bream::spawn(|| {
                bream::receive::<()>();
                bream::exit_self(ExitReason::Other("crashed".into()));
            });
            let v = bream_dist::pid_to_term(victim);
            bream::send(w, tuple(vec![atom("link_to"), v, me()]));
            assert_eq!(recv_term("linked"), atom("linked"));
            assert_eq!(bream::process_info(victim).unwrap().links, vec![w]);
            bream::send(victim, ());
            assert_eq!(recv_term("exit_seen").to_string(), "{exit_seen,crashed}");
        });
    });
}

#[test]
fn an_untrapped_remote_exit_kills_the_linked_bream_process() {
    if !have_erl("an_untrapped_remote_exit_kills") {
        return;
    }
    watchdog(T, || {
        node("b_link3").block_on(|| {
            let (_erl, mirror) = peer("b_link3", "e_link3");
            let w = worker(mirror);
            let (linked, _) = bream::spawn_monitor(move || {
                bream::link(w);
                bream::receive::<()>();
            });
            bream::sleep(Duration::from_millis(200));
            bream::send(w, tuple(vec![atom("exit"), atom("bye")]));
            let d: Down = bream::receive_timeout(W).expect("the linked process died");
            assert_eq!((d.pid, d.reason), (linked, ExitReason::Other("bye".into())));
        });
    });
}

#[test]
fn a_bream_process_monitors_an_erl_process() {
    if !have_erl("a_bream_process_monitors_an_erl_process") {
        return;
    }
    watchdog(T, || {
        node("b_mon1").block_on(|| {
            let (_erl, mirror) = peer("b_mon1", "e_mon1");
            let w = worker(mirror);
            // Monitoring a dead erl process gives noproc.
            bream::send(w, tuple(vec![atom("exit"), atom("normal")]));
            bream::sleep(Duration::from_millis(200));
            let r0 = bream::monitor(w);
            let d: Down = bream::receive_timeout(W).expect("the noproc Down");
            assert_eq!((d.monitor, d.reason), (r0, ExitReason::NoProc));

            let w = worker(mirror);
            let r = bream::monitor(w);
            bream::send(w, tuple(vec![atom("exit"), atom("gone")]));
            let d: Down = bream::receive_timeout(W).expect("the Down");
            assert_eq!(
                d,
                Down {
                    monitor: r,
                    pid: w,
                    reason: ExitReason::Other("gone".into())
                }
            );
        });
    });
}

#[test]
fn an_erl_process_monitors_a_bream_process() {
    if !have_erl("an_erl_process_monitors_a_bream_process") {
        return;
    }
    watchdog(T, || {
        node("b_mon2").block_on(|| {
            let (_erl, mirror) = peer("b_mon2", "e_mon2");
            let w = worker(mirror);
            let target = bream::spawn(|| {
                bream::receive::<()>();
                bream::exit_self(ExitReason::Shutdown);
            });
            bream::send(
                w,
                tuple(vec![
                    atom("monitor_it"),
                    bream_dist::pid_to_term(target),
                    me(),
                ]),
            );
            assert_eq!(recv_term("monitoring"), atom("monitoring"));
            assert_eq!(bream::process_info(target).unwrap().monitored_by, vec![w]);
            bream::send(target, ());
            assert_eq!(recv_term("down_seen").to_string(), "{down_seen,shutdown}");
        });
    });
}

#[test]
fn killing_the_erl_os_process_fires_links_and_monitors_with_noconnection() {
    if !have_erl("killing_the_erl_os_process") {
        return;
    }
    watchdog(T, || {
        node("b_kill").block_on(|| {
            let (mut erl, mirror) = peer("b_kill", "e_kill");
            let w = worker(mirror);
            bream::trap_exit(true);
            bream::link(w);
            let r = bream::monitor(mirror);
            bream_dist::monitor_node(&erl.name);
            // Let the link and monitor reach erl before it dies.
            assert!(bream::is_alive(w));
            let started = std::time::Instant::now();
            bream::blocking(move || erl.kill());
            let e: Exit = bream::receive_timeout(W).expect("the link fired");
            assert_eq!(
                e,
                Exit {
                    from: w,
                    reason: ExitReason::NoConnection
                }
            );
            let d: Down = bream::receive_timeout(W).expect("the monitor fired");
            assert_eq!(
                d,
                Down {
                    monitor: r,
                    pid: mirror,
                    reason: ExitReason::NoConnection
                }
            );
            let nd: NodeDown = bream::receive_timeout(W).expect("the node monitor fired");
            assert_eq!(nd.node, "e_kill@localhost");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "within the tick time"
            );
            assert!(bream_dist::nodes().is_empty());
            // A gen_server call to a process of the dead node exits noconnection.
            let r = bream_dist::call::<_, i64>(mirror, &"get", W);
            assert_eq!(r, Err(bream_dist::CallError::NoConnection));
            // Nothing else disturbed: local processes still work.
            let (p, _) = bream::spawn_monitor(|| {});
            let d: Down = bream::receive_timeout(W).unwrap();
            assert_eq!((d.pid, d.reason), (p, ExitReason::Normal));
        });
    });
}

#[test]
fn a_peer_that_stops_answering_is_dropped_after_net_ticktime() {
    if !have_erl("a_peer_that_stops_answering") {
        return;
    }
    watchdog(T, || {
        node("b_tick").block_on(|| {
            let (erl, mirror) = peer("b_tick", "e_tick");
            bream::trap_exit(true);
            bream::link(mirror);
            assert!(bream::is_alive(mirror));
            let stopped = std::time::Instant::now();
            erl.stop(); // the socket stays open: only the missing ticks tell
            let e: Exit = bream::receive_timeout(W).expect("the link fired");
            assert_eq!(
                e,
                Exit {
                    from: mirror,
                    reason: ExitReason::NoConnection
                }
            );
            let waited = stopped.elapsed();
            // net_ticktime is 4 s on both sides (common::node, Erl::start).
            assert!(waited >= Duration::from_secs(2), "too early: {waited:?}");
            assert!(waited <= Duration::from_secs(7), "too late: {waited:?}");
            drop(erl); // SIGKILL works on a stopped process
        });
    });
}

#[test]
fn a_wrong_cookie_is_refused_both_ways() {
    if !have_erl("a_wrong_cookie_is_refused_both_ways") {
        return;
    }
    watchdog(T, || {
        let rt = node("b_cookie");
        // erl with another cookie pings us: refused (pang).
        let erl = common::Erl::start(
            "e_cookie",
            "not_the_cookie",
            "io:format(\"~p~n\", [net_adm:ping('b_cookie@localhost')]).",
        );
        erl.expect("pang", T);
        // We connect to that erl: refused, so a node monitor fires at once
        // and a link gets noconnection.
        rt.block_on(move || {
            bream_dist::monitor_node(&erl.name);
            let nd: NodeDown = bream::receive_timeout(W).expect("NodeDown");
            assert_eq!(nd.node, erl.name);
            assert!(bream_dist::nodes().is_empty());
            let r = bream_dist::rpc(&erl.name, "erlang", "node", vec![], W);
            assert_eq!(r, Err(bream_dist::CallError::NoConnection));
        });
    });
}
