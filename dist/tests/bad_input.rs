//! A peer that misbehaves: garbage, a stop mid-handshake, a wrong cookie, a
//! 4 GB length prefix, a truncated packet, an unknown control message, a term
//! nested 100,000 deep. Each time that one connection is closed (with a
//! logged reason), nothing panics, and the node goes on serving: a correct
//! peer connects and is answered afterwards. No `erl` needed: the node runs
//! without EPMD and the peer is a plain socket speaking the protocol.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bream_dist::handshake::digest;
use bream_dist::Term;
use common::raw::*;
use common::{watchdog, COOKIE};

const T: Duration = Duration::from_secs(30);
/// The node still serves: a fresh, correct peer asks `net_kernel`
/// `{is_auth, raw@localhost}` and gets `yes`.
fn still_serves(port: u16) {
    // The node may still be closing the previous connection of this peer
    // name (it answers `nok` meanwhile, as net_kernel does): retry a while.
    let mut tries = 0;
    let mut s = loop {
        match handshake(port, COOKIE) {
            Ok(s) => break s,
            Err(e) if tries < 50 => {
                tries += 1;
                eprintln!("retrying the handshake: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("a correct peer cannot connect any more: {e}"),
        }
    };
    let tag = Term::Int(99);
    let from = raw_pid(PEER, 1);
    let req = Term::Tuple(vec![
        Term::atom("$gen_call"),
        Term::Tuple(vec![from.clone(), tag.clone()]),
        Term::Tuple(vec![Term::atom("is_auth"), Term::atom(PEER)]),
    ]);
    let ctrl = Term::Tuple(vec![
        Term::Int(6),
        from,
        Term::atom(""),
        Term::atom("net_kernel"),
    ]);
    s.write_all(&packet(&ctrl, Some(&req))).unwrap();
    loop {
        let mut l = [0u8; 4];
        s.read_exact(&mut l).unwrap();
        let len = u32::from_be_bytes(l) as usize;
        if len == 0 {
            continue;
        }
        let mut b = vec![0u8; len];
        s.read_exact(&mut b).unwrap();
        let (_, used) = bream_dist::decode(&b[1..]).unwrap();
        let (m, _) = bream_dist::decode(&b[1 + used..]).unwrap();
        assert_eq!(m.to_string(), "{99,yes}");
        return;
    }
}

#[test]
fn garbage_and_stops_before_or_during_the_handshake_close_only_that_connection() {
    watchdog(T, || {
        let (rt, port) = start_node("b_bad1");
        // Garbage instead of send_name.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"\x00\x05GET /").unwrap();
        assert!(closed_by_node(&mut s));
        // A length that promises more than ever comes, then a stop.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&[0xff, 0xff, b'N']).unwrap();
        drop(s);
        // Stop mid-handshake, after the status.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        send_name(&mut s);
        assert_eq!(read2(&mut s).unwrap(), b"sok");
        drop(s);
        still_serves(port);
        drop(rt);
    });
}

#[test]
fn a_wrong_cookie_is_refused() {
    watchdog(T, || {
        let (rt, port) = start_node("b_bad2");
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        send_name(&mut s);
        assert_eq!(read2(&mut s).unwrap(), b"sok");
        let ch = read2(&mut s).unwrap();
        let challenge = u32::from_be_bytes([ch[9], ch[10], ch[11], ch[12]]);
        let mut r = vec![b'r'];
        r.extend_from_slice(&1u32.to_be_bytes());
        r.extend_from_slice(&digest(b"wrong", challenge));
        s.write_all(&frame2(&r)).unwrap();
        assert!(
            closed_by_node(&mut s),
            "no challenge_ack for a wrong cookie"
        );
        still_serves(port);
        drop(rt);
    });
}

#[test]
fn bad_packets_after_the_handshake_close_only_that_connection() {
    watchdog(T, || {
        let (rt, port) = start_node("b_bad3");
        let Term::Pid(me) = rt.block_on(|| bream_dist::pid_to_term(bream::self_pid())) else {
            unreachable!()
        };
        let here = raw_pid_c("b_bad3@localhost", 0, me.creation);
        let bad: Vec<(&str, Vec<u8>)> = vec![
            (
                "a SEND_SENDER to this node without its message (the fast lane's shape)",
                packet(
                    &Term::Tuple(vec![Term::Int(22), raw_pid(PEER, 1), here]),
                    None,
                ),
            ),
            (
                "a 4 GB length prefix",
                vec![0xff, 0xff, 0xff, 0xff, 112, 131],
            ),
            ("not pass-through", vec![0, 0, 0, 3, 68, 1, 2]),
            ("garbage term", vec![0, 0, 0, 4, 112, 131, 250, 1]),
            (
                "an unknown control message",
                packet(&Term::Tuple(vec![Term::Int(99), Term::atom("x")]), None),
            ),
            (
                "a SEND without its message",
                packet(
                    &Term::Tuple(vec![
                        Term::Int(2),
                        Term::atom(""),
                        raw_pid("b_bad3@localhost", 0),
                    ]),
                    None,
                ),
            ),
            ("a term nested 100,000 deep", {
                let mut body = vec![112u8, 131];
                body.extend(std::iter::repeat_n([104u8, 1], 100_000).flatten());
                body.push(106);
                let mut v = (body.len() as u32).to_be_bytes().to_vec();
                v.extend(body);
                v
            }),
        ];
        for (what, bytes) in bad {
            let mut s = retry(port);
            s.write_all(&bytes).unwrap();
            assert!(closed_by_node(&mut s), "{what}: the connection stays open");
        }
        // A truncated packet, then the peer goes away.
        let mut s = retry(port);
        s.write_all(&[0, 0, 1, 0, 112, 131]).unwrap();
        drop(s);
        still_serves(port);
        drop(rt);
    });
}

mod mutated {
    //! Proptest: valid packets with bytes flipped, cut or appended, sent after a
    //! correct handshake. Whatever the node makes of them — a message
    //! delivered, a closed connection — it never panics and goes on serving.
    use super::*;
    use proptest::prelude::*;

    /// `creation`: the node's, so that the first packet takes the receive
    /// path's fast lane (ADR dist-0002) before it is mutated.
    fn valid_packets(creation: u32) -> Vec<Vec<u8>> {
        let from = raw_pid(PEER, 1);
        let to = raw_pid("b_bad4@localhost", 0);
        let here = raw_pid_c("b_bad4@localhost", 0, creation);
        let r = Term::Ref(bream_dist::ExternalRef {
            node: bream_dist::Atom::new(PEER),
            creation: 7,
            id: vec![1, 2, 3],
        });
        let t = |v: Vec<Term>| Term::Tuple(v);
        let msg = t(vec![
            Term::atom("hello"),
            Term::Binary(b"x".to_vec()),
            Term::Int(-5),
        ]);
        vec![
            packet(&t(vec![Term::Int(22), from.clone(), here]), Some(&msg)),
            packet(
                &t(vec![Term::Int(22), from.clone(), to.clone()]),
                Some(&msg),
            ),
            packet(
                &t(vec![
                    Term::Int(6),
                    from.clone(),
                    Term::atom(""),
                    Term::atom("net_kernel"),
                ]),
                Some(&msg),
            ),
            packet(&t(vec![Term::Int(1), from.clone(), to.clone()]), None),
            packet(
                &t(vec![
                    Term::Int(3),
                    from.clone(),
                    to.clone(),
                    Term::atom("boom"),
                ]),
                None,
            ),
            packet(
                &t(vec![Term::Int(19), from.clone(), to.clone(), r.clone()]),
                None,
            ),
            packet(
                &t(vec![
                    Term::Int(21),
                    to.clone(),
                    from.clone(),
                    r,
                    Term::atom("x"),
                ]),
                None,
            ),
            packet(&t(vec![Term::Int(35), Term::Int(1), from, to]), None),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn mutated_packets_never_take_the_node_down(
            which in 0usize..8,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in proptest::option::of(any::<prop::sample::Index>()),
            tail in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            watchdog(T, move || {
            let (rt, port, creation) = node_once();
            let mut p = valid_packets(creation).swap_remove(which);
            for (i, b) in &flips {
                let i = 4 + i.index(p.len() - 4); // keep the length prefix honest
                p[i] = *b;
            }
            if let Some(c) = cut {
                p.truncate(4 + c.index(p.len() - 4));
            }
            p.extend_from_slice(&tail);
            let mut s = retry(port);
            let _ = s.write_all(&p);
            drop(s);
            let _ = rt;
            still_serves(port);
            });
        }
    }

    /// One node for every case (a node per case would cost a runtime each).
    fn node_once() -> (&'static bream::Runtime, u16, u32) {
        static NODE: std::sync::OnceLock<(bream::Runtime, u16, u32)> = std::sync::OnceLock::new();
        let (rt, port, creation) = NODE.get_or_init(|| {
            let (rt, port) = start_node("b_bad4");
            let me = rt.block_on(|| bream_dist::pid_to_term(bream::self_pid()));
            let Term::Pid(p) = me else { unreachable!() };
            (rt, port, p.creation)
        });
        (rt, *port, *creation)
    }
}
