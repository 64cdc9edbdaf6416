//! Selective receive against a model: for any sequence of pushes, scans,
//! fast-path receives and markers, what the mailbox returns equals what a plain
//! `VecDeque` of (arrival number, message) returns.

// Plain std atomics only: under `--cfg bream_loom` these run in loom-tests.
#![cfg(not(bream_loom))]

use std::collections::VecDeque;

use bream_mailbox::{mailbox, Envelope, From, Marker, Receiver, Sender};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    PushInt(u32),
    PushText(u8),
    TryRecvAny,
    TryRecvInt,
    TryRecvText,
    /// Take the first int with `v % m == r`, testing it by reference.
    SelectRef {
        m: u32,
        r: u32,
        from_marker: bool,
    },
    /// The same, testing it by value (`take`, then `put` back on a miss).
    SelectTake {
        m: u32,
        r: u32,
        from_marker: bool,
    },
    SetMarker,
    Len,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(|v| Op::PushInt(v % 16)),
        1 => any::<u8>().prop_map(Op::PushText),
        1 => Just(Op::TryRecvAny),
        1 => Just(Op::TryRecvInt),
        1 => Just(Op::TryRecvText),
        2 => (1..5u32, 0..5u32, any::<bool>())
            .prop_map(|(m, r, from_marker)| Op::SelectRef { m, r: r % m, from_marker }),
        2 => (1..5u32, 0..5u32, any::<bool>())
            .prop_map(|(m, r, from_marker)| Op::SelectTake { m, r: r % m, from_marker }),
        1 => Just(Op::SetMarker),
        1 => Just(Op::Len),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum Msg {
    Int(u32),
    Text(String),
}

fn unpack(e: Envelope) -> Msg {
    match e.downcast::<u32>() {
        Ok(v) => Msg::Int(v),
        Err(e) => Msg::Text(
            e.downcast::<String>()
                .expect("only u32 and String are sent"),
        ),
    }
}

/// The model: messages with their arrival number, and the arrival number at the
/// current marker.
#[derive(Default)]
struct Model {
    q: VecDeque<(u64, Msg)>,
    arrivals: u64,
    marker_at: Option<u64>,
}

impl Model {
    fn take_first(&mut self, since: u64, pred: impl Fn(&Msg) -> bool) -> Option<Msg> {
        let i = self.q.iter().position(|(n, m)| *n >= since && pred(m))?;
        self.q.remove(i).map(|(_, m)| m)
    }
}

struct Real {
    tx: Sender,
    rx: Receiver,
    marker: Option<Marker>,
}

fn from(real: &Real, model: &Model, from_marker: bool) -> (From, u64) {
    match (from_marker, real.marker, model.marker_at) {
        (true, Some(m), Some(at)) => (From::Marker(m), at),
        _ => (From::Start, 0),
    }
}

fn step(real: &mut Real, model: &mut Model, op: Op) {
    let is_int = |m: &Msg| matches!(m, Msg::Int(_));
    match op {
        Op::PushInt(v) => {
            let _ = real.tx.push(v);
            model.q.push_back((model.arrivals, Msg::Int(v)));
            model.arrivals += 1;
        }
        Op::PushText(b) => {
            let _ = real.tx.push(b.to_string());
            model
                .q
                .push_back((model.arrivals, Msg::Text(b.to_string())));
            model.arrivals += 1;
        }
        Op::TryRecvAny => {
            let want = model.q.pop_front().map(|(_, m)| m);
            assert_eq!(real.rx.try_recv_any().map(unpack), want);
        }
        Op::TryRecvInt => {
            let want = model.take_first(0, is_int);
            assert_eq!(real.rx.try_recv::<u32>().map(Msg::Int), want);
        }
        Op::TryRecvText => {
            let want = model.take_first(0, |m| !is_int(m));
            assert_eq!(real.rx.try_recv::<String>().map(Msg::Text), want);
        }
        Op::SelectRef { m, r, from_marker } => {
            let (f, since) = from(real, model, from_marker);
            let want = model.take_first(since, |x| matches!(x, Msg::Int(v) if v % m == r));
            let got = real.rx.select(f, |e| {
                e.downcast_ref::<u32>().filter(|v| *v % m == r).copied()
            });
            let got = got.map(|(k, e)| {
                assert_eq!(unpack(e), Msg::Int(k));
                Msg::Int(k)
            });
            assert_eq!(got, want);
        }
        Op::SelectTake { m, r, from_marker } => {
            let (f, since) = from(real, model, from_marker);
            let want = model.take_first(since, |x| matches!(x, Msg::Int(v) if v % m == r));
            let got = real.rx.select(f, |e| {
                let v = e.take::<u32>()?;
                if v % m == r {
                    Some(v)
                } else {
                    e.put(v);
                    None
                }
            });
            let got = got.map(|(k, e)| {
                assert!(e.is_empty());
                Msg::Int(k)
            });
            assert_eq!(got, want);
        }
        Op::SetMarker => {
            real.marker = Some(real.rx.set_marker());
            model.marker_at = Some(model.arrivals);
        }
        Op::Len => {
            assert_eq!(real.rx.len(), model.q.len());
            assert_eq!(real.tx.len(), model.q.len());
        }
    }
}

proptest! {
    // Miri (see docs/mailbox.md) runs a handful of cases; CI runs 512.
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 8 } else { 512 }))]

    #[test]
    fn mailbox_equals_a_vecdeque(ops in proptest::collection::vec(op(), 0..80)) {
        let (tx, rx) = mailbox();
        let mut real = Real { tx, rx, marker: None };
        let mut model = Model::default();
        for op in ops {
            step(&mut real, &mut model, op);
        }
        // Whatever is left comes out in the model's order.
        while let Some((_, want)) = model.q.pop_front() {
            prop_assert_eq!(real.rx.try_recv_any().map(unpack), Some(want));
        }
        prop_assert!(real.rx.try_recv_any().is_none());
    }
}
