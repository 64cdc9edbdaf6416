//! Messages and selective receive: the Erlang Reference Manual, "Expressions"
//! chapter, §"Receive" (arms tried in order against each message in arrival
//! order, guards, `after`, unmatched messages kept in order), §"Send"
//! (per-pair ordering; sends to dead pids dropped), and OTP 24's receive
//! markers and aliases (`erlang:alias/0`, `erlang:unalias/1`).

use std::time::Duration;

use bream::{receive, Pid};

#[test]
fn the_first_message_in_arrival_order_that_any_arm_accepts_is_taken() {
    bream::run(|| {
        let me = bream::self_pid();
        bream::send(me, "a");
        bream::send(me, 1u32);
        bream::send(me, 2u64);
        // Arm order does not beat arrival order: the u32 came first.
        let got = receive! {
            n: u64 => format!("u64 {n}"),
            n: u32 => format!("u32 {n}"),
        };
        assert_eq!(got, "u32 1");
        // The &str, never matched, is still first.
        assert_eq!(bream::receive::<&str>(), "a");
        assert_eq!(bream::receive::<u64>(), 2);
    });
}

#[test]
fn for_one_message_the_first_matching_arm_wins() {
    bream::run(|| {
        let me = bream::self_pid();
        bream::send(me, 10u32);
        let got = receive! {
            n: u32 if n > 5 => "big",
            _n: u32 => "any",
        };
        assert_eq!(got, "big");
    });
}

#[test]
fn guards_see_bindings_and_run_once_per_message_tried() {
    bream::run(|| {
        let me = bream::self_pid();
        for i in 0..5u32 {
            bream::send(me, (i, format!("m{i}")));
        }
        let mut tried = 0;
        let got = receive! {
            (n, s): (u32, String) if { tried += 1; n >= 3 && s.starts_with('m') } => s,
        };
        assert_eq!(got, "m3");
        assert_eq!(tried, 4, "messages 0, 1, 2 and 3 were tried once each");
        // The rejected ones stay, in order.
        let rest: Vec<u32> = (0..4)
            .map(|_| bream::receive::<(u32, String)>().0)
            .collect();
        assert_eq!(rest, [0, 1, 2, 4]);
    });
}

#[test]
fn destructuring_patterns_and_enums() {
    #[derive(Debug)]
    enum Cmd {
        Add(i64, i64),
        Neg { x: i64 },
        Stop,
    }
    bream::run(|| {
        let me = bream::self_pid();
        for c in [Cmd::Add(2, 3), Cmd::Neg { x: 4 }, Cmd::Stop] {
            bream::send(me, c);
        }
        let mut out = Vec::new();
        loop {
            receive! {
                Cmd::Add(a, b): Cmd => out.push(a + b),
                Cmd::Neg { x }: Cmd => out.push(-x),
                Cmd::Stop: Cmd => break,
            }
        }
        assert_eq!(out, [5, -4]);
    });
}

#[test]
fn bodies_can_return_continue_and_use_the_question_mark() {
    fn parse_next() -> Result<i32, std::num::ParseIntError> {
        let n = receive! { s: String => s.parse::<i32>()? };
        Ok(n)
    }
    fn first_even() -> u32 {
        loop {
            receive! {
                n: u32 if n % 2 == 1 => continue,
                n: u32 => return n,
            }
        }
    }
    bream::run(|| {
        let me = bream::self_pid();
        bream::send(me, String::from("12"));
        bream::send(me, String::from("x"));
        assert_eq!(parse_next(), Ok(12));
        assert!(parse_next().is_err());
        for n in [1u32, 3, 4, 5] {
            bream::send(me, n);
        }
        assert_eq!(first_even(), 4);
    });
}

#[test]
fn after_zero_polls_and_after_d_times_out() {
    bream::run(|| {
        let got = receive! { n: u32 => Some(n), after Duration::ZERO => None };
        assert_eq!(got, None);
        let me = bream::self_pid();
        bream::send(me, 3u32);
        let got = receive! { n: u32 => Some(n), after Duration::ZERO => None };
        assert_eq!(got, Some(3));
        let start = std::time::Instant::now();
        let got = receive! { n: u32 => Some(n), after Duration::from_millis(20) => None };
        assert_eq!(got, None);
        assert!(start.elapsed() >= Duration::from_millis(20), "never early");
    });
}

#[test]
fn a_message_arriving_before_the_timeout_is_taken() {
    bream::run(|| {
        let me = bream::self_pid();
        bream::spawn(move || bream::send(me, 9u8));
        let got = receive! { n: u8 => Some(n), after Duration::from_secs(60) => None };
        assert_eq!(got, Some(9));
    });
}

#[test]
fn messages_from_one_sender_arrive_in_send_order() {
    bream::run(|| {
        let me = bream::self_pid();
        for s in 0..2u8 {
            bream::spawn(move || {
                for i in 0..10_000u32 {
                    bream::send(me, (s, i));
                }
            });
        }
        let mut next = [0u32; 2];
        for _ in 0..20_000 {
            let (s, i) = bream::receive::<(u8, u32)>();
            assert_eq!(i, next[s as usize]);
            next[s as usize] += 1;
        }
    });
}

#[test]
fn a_send_to_a_dead_pid_is_dropped_silently() {
    bream::run(|| {
        let (pid, _) = bream::spawn_monitor(|| {});
        let _: bream::Down = bream::receive();
        bream::send(pid, "into the void");
    });
}

#[test]
fn a_marker_receive_skips_the_backlog_and_leaves_it_in_order() {
    bream::run(|| {
        let me = bream::self_pid();
        for i in 0..10_000u32 {
            bream::send(me, i);
        }
        let r = bream::make_ref();
        let server = bream::spawn(move || {
            let (from, r): (Pid, bream::Ref) = bream::receive();
            bream::send(from, (r, "reply"));
        });
        bream::send(server, (me, r));
        let mut seen = 0;
        let got = receive! { marker r;
            (t, v): (bream::Ref, &str) if { seen += 1; t == r } => v,
        };
        assert_eq!(got, "reply");
        assert_eq!(seen, 1, "only the reply was looked at");
        for i in 0..10_000u32 {
            assert_eq!(bream::receive::<u32>(), i);
        }
    });
}

#[test]
fn an_alias_delivers_while_active_and_drops_late_messages() {
    bream::run(|| {
        let me = bream::self_pid();
        let a = bream::alias();
        assert_eq!(a.pid(), me);
        bream::spawn(move || bream::send_alias(a, 1u32));
        assert_eq!(bream::receive::<u32>(), 1);
        assert!(bream::unalias(a));
        assert!(!bream::unalias(a), "already inactive");
        bream::send_alias(a, 2u32);
        assert_eq!(bream::receive_timeout::<u32>(Duration::ZERO), None);
        // Dropped by that scan, not left behind.
        assert_eq!(bream::process_info(me).unwrap().message_queue_len, 0);
    });
}

#[test]
fn send_named_delivers_or_hands_the_message_back() {
    bream::run(|| {
        let me = bream::self_pid();
        bream::register("inbox", me).unwrap();
        bream::send_named("inbox", 5u16).unwrap();
        assert_eq!(bream::receive::<u16>(), 5);
        let err = bream::send_named("nobody", String::from("kept")).unwrap_err();
        assert_eq!(err.0, "kept");
    });
}
