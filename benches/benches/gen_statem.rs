//! Criterion benches of gen_statem against gen_server: one event round trip.
//!
//! What each measures, and only that:
//!
//! - `gen_statem/server_call`: one `gen_server::call` round trip to a server
//!   that answers at once (the baseline, as `stdlib/call`).
//! - `gen_statem/statem_call`: one `gen_statem::call` round trip to a machine
//!   (`handle_event_function` mode) that answers with a `reply` action and
//!   keeps its state: the same client protocol (alias, marker, monitor), plus
//!   the machine's loop (`receive_any` and a type test per message kind, the
//!   transition: the action list, the queue check, no timers).
//! - `gen_statem/statem_call_state_functions`: the same in `state_functions`
//!   mode, which looks the state's handler up on each event.
//! - `gen_statem/statem_call_toggle`: a call whose transition changes the state
//!   each time (a state change: the postponed list and the state timeout are
//!   checked).
//!
//! Issue 15 quotes OTP at ~2 µs for a gen_statem event round trip against
//! 3.3 µs for a gen_server call; bream's ratio statem_call / server_call
//! should be no worse. Compare the ratio, measured in one run on one machine,
//! never absolute times across machines.
//!
//! Each bench runs under the wall clock (`gen_statem/...`) and under the OS
//! process's CPU time (`gen_statem_cpu/...`), as the other bench files do.
//!
//! Run: `cargo bench -p bream-bench --bench gen_statem`.

use std::hint::black_box;
use std::time::Duration;

use bream::Runtime;
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo};
use bream_stdlib::gen_statem::{self, CallbackMode, Event, GenStatem, StateFunction, Transition};
#[path = "common/clock.rs"]
mod clock;

use clock::{Clock, Stamp};
use criterion::{criterion_group, criterion_main, Criterion};

/// The gen_server baseline: answers each call with its argument.
struct Echo;

impl GenServer for Echo {
    type Args = ();
    type Call = u64;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::ok(Echo)
    }
    fn handle_call(&mut self, n: u64, _: ReplyTo<u64>) -> CallResult<Self> {
        CallResult::reply(n)
    }
}

/// A machine that answers each call with its argument; `toggle` makes every
/// call a state change.
struct Machine {
    toggle: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

impl GenStatem for Machine {
    type Args = bool; // toggle
    type State = Side;
    type Call = u64;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init(toggle: bool) -> gen_statem::Init<Self> {
        gen_statem::Init::ok(Side::A, Machine { toggle })
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::handle_event_function(|m: &mut Machine, side, event| match event {
            Event::Call(n, from) => m.answer(side, n, from),
            _ => Transition::keep_state(),
        })
    }
}

impl Machine {
    fn answer(&self, side: &Side, n: u64, from: gen_statem::ReplyTo<u64>) -> Transition<Self> {
        let t = if !self.toggle {
            Transition::keep_state()
        } else if *side == Side::A {
            Transition::next_state(Side::B)
        } else {
            Transition::next_state(Side::A)
        };
        t.reply(from, n)
    }
}

/// The same machine in `state_functions` mode.
struct PerState;

impl GenStatem for PerState {
    type Args = ();
    type State = Side;
    type Call = u64;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init(_: ()) -> gen_statem::Init<Self> {
        gen_statem::Init::ok(Side::A, PerState)
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::state_functions(|side| match side {
            Side::A => StateFunction::new(Self::a),
            Side::B => StateFunction::new(Self::b),
        })
    }
}

impl PerState {
    fn a(&mut self, event: Event<Self>) -> Transition<Self> {
        match event {
            Event::Call(n, from) => Transition::keep_state().reply(from, n),
            _ => Transition::keep_state(),
        }
    }
    fn b(&mut self, event: Event<Self>) -> Transition<Self> {
        self.a(event)
    }
}

fn server_call(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let server = gen_server::start::<Echo>(()).expect("echo starts");
        gen_server::call(&server, 0, gen_server::DEFAULT_TIMEOUT).unwrap();
        let t = Stamp::now(clock);
        for i in 0..iters {
            black_box(gen_server::call(&server, i, gen_server::DEFAULT_TIMEOUT).unwrap());
        }
        let d = t.elapsed();
        gen_server::stop(&server, bream::ExitReason::Normal, gen_server::INFINITY).unwrap();
        d
    })
}

/// Time `iters` calls to a freshly started `M`.
fn statem_calls<M: GenStatem<Call = u64, Reply = u64>>(
    rt: &Runtime,
    args: M::Args,
    iters: u64,
    clock: Clock,
) -> Duration {
    rt.block_on(move || {
        let machine = gen_statem::start::<M>(args).expect("the machine starts");
        gen_statem::call(&machine, 0, gen_statem::DEFAULT_TIMEOUT).unwrap();
        let t = Stamp::now(clock);
        for i in 0..iters {
            black_box(gen_statem::call(&machine, i, gen_statem::DEFAULT_TIMEOUT).unwrap());
        }
        let d = t.elapsed();
        gen_statem::stop(&machine, bream::ExitReason::Normal, gen_statem::INFINITY).unwrap();
        d
    })
}

fn statem_call(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    statem_calls::<Machine>(rt, false, iters, clock)
}

fn statem_call_state_functions(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    statem_calls::<PerState>(rt, (), iters, clock)
}

fn statem_call_toggle(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    statem_calls::<Machine>(rt, true, iters, clock)
}

type Bench = fn(&Runtime, u64, Clock) -> Duration;

const BENCHES: [(&str, Bench); 4] = [
    ("server_call", server_call),
    ("statem_call", statem_call),
    ("statem_call_state_functions", statem_call_state_functions),
    ("statem_call_toggle", statem_call_toggle),
];

fn benches(c: &mut Criterion) {
    let rt = Runtime::builder().build().expect("runtime");
    for (group, clock) in [
        ("gen_statem", Clock::Wall),
        ("gen_statem_cpu", Clock::ProcessCpu),
    ] {
        let mut g = c.benchmark_group(group);
        g.measurement_time(Duration::from_secs(3));
        for (name, f) in BENCHES {
            g.bench_function(name, |b| b.iter_custom(|iters| f(&rt, iters, clock)));
        }
        g.finish();
    }
    rt.shutdown();
}

criterion_group!(gen_statem_benches, benches);
criterion_main!(gen_statem_benches);
