//! Typed messages between bream and a real `erl` node, both directions:
//! structs and enums map to Erlang tuples and atoms (docs/terms.md) and a
//! `receive!` arm of the Rust type matches what erl sends.
//! Mirrors OTP's "Distributed Erlang" (sending to `Pid` and `{Name, Node}`).

mod common;

use std::time::Duration;

use bream_dist::Term;
use common::{atom, have_erl, me, node, peer, recv_term, tuple, watchdog};
use serde::{Deserialize, Serialize};

const T: Duration = Duration::from_secs(40);

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Point {
    x: i64,
    y: i64,
    label: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    Dot,
    Circle(f64),
    Rect { w: u32, h: u32 },
}

#[test]
fn typed_structs_and_enums_round_trip_through_erl() {
    if !have_erl("typed_structs_and_enums_round_trip_through_erl") {
        return;
    }
    watchdog(T, || {
        let rt = node("b_typed");
        rt.block_on(|| {
            bream_dist::register::<Point>();
            bream_dist::register::<Shape>();
            let (_erl, mirror) = peer("b_typed", "e_typed");
            bream::register("inbox", bream::self_pid()).unwrap();

            // bream -> erl as a term, erl -> bream by pid; received as a Point.
            let p = Point {
                x: 1,
                y: -2,
                label: "here".into(),
            };
            let t = bream_dist::to_term(&p).unwrap();
            bream::send(mirror, tuple(vec![atom("echo"), me(), t]));
            let back: Point =
                bream::receive_timeout(Duration::from_secs(10)).expect("the point back");
            assert_eq!(back, p);

            // A typed send (no Term in sight): erl gets {rect, 3, 4} and sends it
            // to our `inbox` by name; a receive! arm of type Shape takes it.
            for s in [Shape::Rect { w: 3, h: 4 }, Shape::Circle(2.5), Shape::Dot] {
                bream::send(mirror, s.clone());
                let got = bream::receive! {
                    got: Shape => got,
                    after Duration::from_secs(10) => panic!("no {s:?} back"),
                };
                assert_eq!(got, s);
            }

            // A typed arm whose guard rejects the message leaves it as it came:
            // a later `Term` arm still takes it (and the mailbox keeps order).
            bream::send(
                mirror,
                tuple(vec![atom("echo"), me(), bream_dist::to_term(&p).unwrap()]),
            );
            bream::send(mirror, tuple(vec![atom("echo"), me(), atom("second")]));
            let t = bream::receive! {
                q: Point if q.x > 100 => panic!("the guard said no to {q:?}"),
                t: Term => t,
                after Duration::from_secs(10) => panic!("nothing back"),
            };
            assert_eq!(from_term_point(&t), p);
            assert_eq!(recv_term("second"), atom("second"));

            // What erl actually saw is the natural term: the struct as a tagged tuple.
            bream::send(
                mirror,
                tuple(vec![
                    atom("echo"),
                    me(),
                    tuple(vec![atom("wrap"), bream_dist::to_term(&p).unwrap()]),
                ]),
            );
            let raw = recv_term("the wrapped point");
            assert_eq!(raw.to_string(), "{wrap,{point,1,-2,<<104,101,114,101>>}}");
            // ~w
        });
    });
}

fn from_term_point(t: &Term) -> Point {
    bream_dist::from_term(t).expect("a point")
}

#[test]
fn bream_sends_to_a_registered_erl_process_by_name() {
    if !have_erl("bream_sends_to_a_registered_erl_process_by_name") {
        return;
    }
    watchdog(T, || {
        let rt = node("b_named");
        rt.block_on(|| {
            let (erl, _mirror) = peer("b_named", "e_named");
            bream::register("inbox", bream::self_pid()).unwrap();
            bream::send_named_at(
                "mirror",
                &erl.name,
                tuple(vec![atom("echo"), me(), Term::Int(42)]),
            )
            .unwrap();
            assert_eq!(
                bream::receive_timeout::<i64>(Duration::from_secs(10)),
                Some(42)
            );
        });
    });
}

#[test]
fn an_unregistered_type_is_reported_at_the_send_not_lost_silently() {
    if !have_erl("an_unregistered_type_is_reported") {
        return;
    }
    struct NotSerde;
    watchdog(T, || {
        let rt = node("b_unreg");
        rt.block_on(|| {
            let (_erl, mirror) = peer("b_unreg", "e_unreg");
            bream::register("inbox", bream::self_pid()).unwrap();
            // Logged as an error naming the type; nothing reaches erl ...
            bream::send(mirror, NotSerde);
            // ... and the connection keeps working for the next message.
            bream::send(mirror, tuple(vec![atom("echo"), me(), atom("still_here")]));
            let t = recv_term("the echo");
            assert_eq!(t, atom("still_here"));
            assert_eq!(
                bream::receive_timeout::<Term>(Duration::from_millis(300)),
                None
            );
        });
    });
}
