//! The send and receive paths of ADR dist-0002, seen from a raw peer: a
//! SEND_SENDER to a local pid takes the receive path's fast lane; what bream
//! sends back was encoded straight into the connection's outbox (the header
//! from cached bytes) and must decode as the same terms the general encoder
//! writes; and commands queued between messages (an exit signal, a link, a
//! monitor) leave in the order they were made, as Erlang's per-pair ordering
//! promises (OTP reference manual, "Processes", *Signal delivery*: signals
//! from one process to another arrive in the order sent).

mod common;

use std::io::Write;
use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_dist::{pid_from_term, pid_to_term, Term};
use common::raw::*;
use common::watchdog;

const T: Duration = Duration::from_secs(30);

/// Starts, on the node, a process that runs `body` with the raw peer's pid
/// once it receives `{go, RawPid}`; returns its pid as the wire writes it.
fn spawn_on(rt: &bream::Runtime, body: fn(Pid)) -> Term {
    rt.block_on(move || {
        let p = bream::spawn(move || {
            let t: Term = bream::receive();
            match t.as_tuple() {
                Some([_, Term::Pid(raw)]) => body(pid_from_term(raw)),
                _ => panic!("expected {{go, Raw}}, got {t}"),
            }
        });
        pid_to_term(p)
    })
}

fn send_sender(from: &Term, to: &Term, msg: &Term) -> Vec<u8> {
    packet(
        &Term::Tuple(vec![Term::Int(22), from.clone(), to.clone()]),
        Some(msg),
    )
}

#[test]
fn a_burst_of_sends_is_answered_in_order_with_well_formed_packets() {
    watchdog(T, || {
        let (rt, port) = start_node("b_batch1");
        let echo = spawn_on(&rt, |raw| {
            for _ in 0..500 {
                let n: i64 = bream::receive();
                bream::send(raw, n * 2);
            }
        });
        let mut s = retry(port);
        let me = raw_pid_c(PEER, 1, 7);
        let go = Term::Tuple(vec![Term::atom("go"), me.clone()]);
        // All in one write: many packets per read on the node's side, some
        // cut between two reads.
        let mut burst = send_sender(&me, &echo, &go);
        for i in 0..500 {
            burst.extend(send_sender(&me, &echo, &Term::Int(i)));
        }
        s.write_all(&burst).unwrap();
        for i in 0..500 {
            let (ctl, msg) = read_packet(&mut s);
            assert_eq!(
                ctl,
                Term::Tuple(vec![Term::Int(22), echo.clone(), me.clone()]),
                "the SEND_SENDER header names the sender and the peer's pid"
            );
            assert_eq!(msg, Some(Term::Int(i * 2)), "reply {i} in order");
        }
        drop(rt);
    });
}

#[test]
fn a_send_to_another_incarnation_of_this_node_is_dropped_and_the_connection_stays() {
    watchdog(T, || {
        let (rt, port) = start_node("b_batch2");
        let echo = spawn_on(&rt, |raw| {
            let n: i64 = bream::receive();
            bream::send(raw, n);
        });
        let Term::Pid(e) = &echo else { unreachable!() };
        let stale = raw_pid_c(e.node.as_str(), e.id, e.creation.wrapping_add(1));
        let mut s = retry(port);
        let me = raw_pid_c(PEER, 1, 7);
        let go = Term::Tuple(vec![Term::atom("go"), me.clone()]);
        let mut b = send_sender(&me, &echo, &go);
        b.extend(send_sender(&me, &stale, &Term::Int(1)));
        b.extend(send_sender(&me, &echo, &Term::Int(2)));
        s.write_all(&b).unwrap();
        let (_, msg) = read_packet(&mut s);
        assert_eq!(
            msg,
            Some(Term::Int(2)),
            "the stale pid's message was dropped"
        );
        drop(rt);
    });
}

#[test]
fn a_fast_lane_send_with_trailing_bytes_closes_the_connection() {
    watchdog(T, || {
        let (rt, port) = start_node("b_batch3");
        let echo = spawn_on(&rt, |_| {});
        let mut s = retry(port);
        let me = raw_pid_c(PEER, 1, 7);
        let mut p = send_sender(&me, &echo, &Term::Int(1));
        p.push(106); // a second term after the message
        let len = (p.len() - 4) as u32;
        p[..4].copy_from_slice(&len.to_be_bytes());
        s.write_all(&p).unwrap();
        assert!(closed_by_node(&mut s), "trailing bytes are an error");
        drop(rt);
    });
}

#[test]
fn messages_and_signals_leave_in_the_order_they_were_made() {
    watchdog(T, || {
        let (rt, port) = start_node("b_batch4");
        let worker = spawn_on(&rt, |raw| {
            bream::send(raw, 1i64);
            bream::exit(raw, ExitReason::Other("first".into()));
            bream::send(raw, 2i64);
            bream::link(raw);
            bream::send(raw, 3i64);
            bream::monitor(raw);
            bream::send(raw, 4i64);
            bream::receive::<()>(); // stay alive: no exit signal follows
        });
        let mut s = retry(port);
        let me = raw_pid_c(PEER, 1, 7);
        let go = Term::Tuple(vec![Term::atom("go"), me.clone()]);
        s.write_all(&send_sender(&me, &worker, &go)).unwrap();
        let mut seen = Vec::new();
        for _ in 0..7 {
            let (ctl, msg) = read_packet(&mut s);
            let op = ctl.as_tuple().and_then(|f| f[0].as_i64()).unwrap();
            seen.push(match (op, msg) {
                (22, Some(Term::Int(n))) => format!("msg {n}"),
                (8, None) => "exit2".to_string(),
                (1, None) => "link".to_string(),
                (19, None) => "monitor".to_string(),
                (op, m) => format!("unexpected {op} {m:?}"),
            });
        }
        assert_eq!(
            seen,
            ["msg 1", "exit2", "msg 2", "link", "msg 3", "monitor", "msg 4"]
        );
        drop(rt);
    });
}

#[test]
fn packets_cut_anywhere_by_the_stream_are_put_back_together() {
    watchdog(T, || {
        let (rt, port) = start_node("b_batch5");
        let echo = spawn_on(&rt, |raw| {
            for _ in 0..40 {
                let n: i64 = bream::receive();
                bream::send(raw, n + 1);
            }
        });
        let mut s = retry(port);
        s.set_nodelay(true).unwrap();
        let me = raw_pid_c(PEER, 1, 7);
        let go = Term::Tuple(vec![Term::atom("go"), me.clone()]);
        let mut bytes = send_sender(&me, &echo, &go);
        for i in 0..40 {
            bytes.extend(send_sender(&me, &echo, &Term::Int(i)));
            bytes.extend([0, 0, 0, 0]); // a tick between packets
        }
        // Pieces of 1 to 7 bytes, each its own segment: length prefixes and
        // bodies are cut at every offset somewhere.
        let mut at = 0;
        for k in 0.. {
            if at == bytes.len() {
                break;
            }
            let n = (1 + k % 7).min(bytes.len() - at);
            s.write_all(&bytes[at..at + n]).unwrap();
            at += n;
            std::thread::sleep(Duration::from_micros(100));
        }
        for i in 0..40 {
            let (_, msg) = read_packet(&mut s);
            assert_eq!(msg, Some(Term::Int(i + 1)));
        }
        drop(rt);
    });
}
