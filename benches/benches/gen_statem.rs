//! Criterion benches of gen_statem against gen_server: one call round trip.
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
//! - `gen_statem/statem_call_state_timeout`: a call whose transition keeps
//!   the state and restarts a one-hour state timeout (OTP's code-lock keeps
//!   one running): the timeout bookkeeping, one `cancel_timer` and one
//!   `send_after` per event, on top of `statem_call`.
//!
//! What OTP documents, and why these two are the pair to compare: OTP's
//! design principles (erlang/otp `system/doc/design_principles/statem.md`,
//! section "When to use gen_statem"; <https://www.erlang.org/doc/system/statem.html>)
//! say gen_server "has got smaller call overhead, but we are talking about
//! something like 2 vs 3.3 microseconds call roundtrip time": a *call* round
//! trip both ways (a request and its reply, not a cast), gen_server at ~2 µs
//! and gen_statem at ~3.3 µs, a ratio statem / server of about 1.65. So
//! `server_call` and `statem_call` are the pair: the same request and reply,
//! the same caller protocol, the same timeout (`DEFAULT_TIMEOUT`, 5 s, for
//! both: OTP's `call/2` defaults differ, 5000 ms for gen_server and infinity
//! for gen_statem, and a finite timeout costs a timer per call). bream's
//! ratio `statem_call / server_call` should be no worse than 1.65. Compare
//! the ratio, measured in one run on one machine, never absolute times across
//! machines. `benches/peers/erlang/statem_vs_server.escript` measures OTP's
//! own ratio the same way, to set beside bream's on the same machine.
//!
//! Each bench runs under the wall clock (`gen_statem/...`) and under the OS
//! process's CPU time (`gen_statem_cpu/...`), as the other bench files do.
//!
//! Run: `cargo bench -p bream-bench --bench gen_statem`; the pair alone:
//! `cargo bench -p bream-bench --bench gen_statem -- '^gen_statem/(server|statem)_call$'`.

use std::hint::black_box;
use std::time::Duration;

use bream::Runtime;
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo};
use bream_stdlib::gen_statem::{self, CallbackMode, Event, GenStatem, StateFunction, Transition};
#[path = "common/clock.rs"]
mod clock;
#[path = "common/groups.rs"]
mod groups;

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

/// A machine that answers each call with its argument, and what else each
/// call's transition does.
struct Machine {
    mode: Mode,
}

#[derive(Clone, Copy)]
enum Mode {
    /// Keep the state.
    Keep,
    /// Change the state every call.
    Toggle,
    /// Keep the state and restart a state timeout.
    StateTimeout,
}

#[derive(Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

impl GenStatem for Machine {
    type Args = Mode;
    type State = Side;
    type Call = u64;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init(mode: Mode) -> gen_statem::Init<Self> {
        gen_statem::Init::ok(Side::A, Machine { mode })
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
        match (self.mode, side) {
            (Mode::Keep, _) => Transition::keep_state().reply(from, n),
            (Mode::Toggle, Side::A) => Transition::next_state(Side::B).reply(from, n),
            (Mode::Toggle, Side::B) => Transition::next_state(Side::A).reply(from, n),
            (Mode::StateTimeout, _) => Transition::keep_state()
                .reply(from, n)
                .state_timeout(Duration::from_secs(3600), ()),
        }
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
    statem_calls::<Machine>(rt, Mode::Keep, iters, clock)
}

fn statem_call_state_functions(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    statem_calls::<PerState>(rt, (), iters, clock)
}

fn statem_call_toggle(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    statem_calls::<Machine>(rt, Mode::Toggle, iters, clock)
}

fn statem_call_state_timeout(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    statem_calls::<Machine>(rt, Mode::StateTimeout, iters, clock)
}

type Bench = groups::Bench<Runtime>;

const BENCHES: [(&str, Bench); 5] = [
    ("server_call", server_call),
    ("statem_call", statem_call),
    ("statem_call_state_functions", statem_call_state_functions),
    ("statem_call_toggle", statem_call_toggle),
    ("statem_call_state_timeout", statem_call_state_timeout),
];

fn benches(c: &mut Criterion) {
    let rt = Runtime::builder().build().expect("runtime");
    groups::wall_and_cpu(c, "gen_statem", &rt, &BENCHES);
    rt.shutdown();
}

criterion_group!(gen_statem_benches, benches);
criterion_main!(gen_statem_benches);
