//! Criterion benches of bream-dist's term codec: what one message costs to
//! encode and decode, apart from the network.
//!
//! What each measures, and only that (one thread, no runtime):
//!
//! - `etf/encode_gen_call`, `etf/decode_gen_call`: the ~100-byte term of a
//!   gen_server call from a remote node,
//!   `{'$gen_call', {Pid, Ref}, {put, <<"some_key">>, 42}}`, to and from ETF
//!   bytes (`encode` into a reused buffer; `decode` allocates the term).
//! - `etf/decode_int`: a small integer, the dist workload's message: the
//!   decoder's fixed cost.
//! - `etf/to_term_struct`, `etf/from_term_struct`: the serde mapping of a
//!   three-field struct (a record `{order, 7, <<"bream">>, [1.5, 2.5]}`) to and
//!   from a `Term`.
//!
//! Each bench runs under the wall clock (`etf/...`) and the OS process's CPU
//! time (`etf_cpu/...`): the machine is shared; report both.
//!
//! Run: `cargo bench -p bream-bench --bench etf`.

use std::hint::black_box;
use std::time::Duration;

use bream_dist::{
    decode, encode, encode_to_vec, from_term, to_term, Atom, ExternalPid, ExternalRef, Term,
};
use serde::{Deserialize, Serialize};
#[path = "common/clock.rs"]
mod clock;

use clock::{Clock, Stamp};
use criterion::{criterion_group, criterion_main, Criterion};

#[derive(Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: String,
    prices: Vec<f64>,
}

fn gen_call() -> Term {
    let node = Atom::new("erl@localhost");
    let pid = ExternalPid {
        node: node.clone(),
        id: 42,
        serial: 0,
        creation: 1_700_000_000,
    };
    let r = ExternalRef {
        node,
        creation: 1_700_000_000,
        id: vec![1, 2, 3],
    };
    Term::Tuple(vec![
        Term::atom("$gen_call"),
        Term::Tuple(vec![Term::Pid(pid), Term::Ref(r)]),
        Term::Tuple(vec![
            Term::atom("put"),
            Term::from("some_key"),
            Term::from(42),
        ]),
    ])
}

fn order() -> Order {
    Order {
        id: 7,
        customer: "bream".into(),
        prices: vec![1.5, 2.5],
    }
}

type Bench = fn(u64, Clock) -> Duration;

fn encode_gen_call(iters: u64, clock: Clock) -> Duration {
    let t = gen_call();
    let mut out = Vec::with_capacity(256);
    let s = Stamp::now(clock);
    for _ in 0..iters {
        out.clear();
        encode(black_box(&t), &mut out).unwrap();
    }
    s.elapsed()
}

fn decode_gen_call(iters: u64, clock: Clock) -> Duration {
    let bytes = encode_to_vec(&gen_call()).unwrap();
    let s = Stamp::now(clock);
    for _ in 0..iters {
        black_box(decode(black_box(&bytes)).unwrap());
    }
    s.elapsed()
}

fn decode_int(iters: u64, clock: Clock) -> Duration {
    let bytes = encode_to_vec(&Term::from(12_345)).unwrap();
    let s = Stamp::now(clock);
    for _ in 0..iters {
        black_box(decode(black_box(&bytes)).unwrap());
    }
    s.elapsed()
}

fn to_term_struct(iters: u64, clock: Clock) -> Duration {
    let o = order();
    let s = Stamp::now(clock);
    for _ in 0..iters {
        black_box(to_term(black_box(&o)).unwrap());
    }
    s.elapsed()
}

fn from_term_struct(iters: u64, clock: Clock) -> Duration {
    let t = to_term(&order()).unwrap();
    let s = Stamp::now(clock);
    for _ in 0..iters {
        black_box(from_term::<Order>(black_box(&t)).unwrap());
    }
    s.elapsed()
}

const BENCHES: [(&str, Bench); 5] = [
    ("encode_gen_call", encode_gen_call),
    ("decode_gen_call", decode_gen_call),
    ("decode_int", decode_int),
    ("to_term_struct", to_term_struct),
    ("from_term_struct", from_term_struct),
];

fn benches(c: &mut Criterion) {
    for (group, clock) in [("etf", Clock::Wall), ("etf_cpu", Clock::ProcessCpu)] {
        let mut g = c.benchmark_group(group);
        g.measurement_time(Duration::from_secs(2));
        for (name, f) in BENCHES {
            g.bench_function(name, |b| b.iter_custom(|iters| f(iters, clock)));
        }
        g.finish();
    }
}

criterion_group!(etf, benches);
criterion_main!(etf);
