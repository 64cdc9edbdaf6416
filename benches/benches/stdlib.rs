//! Criterion benches of bream-stdlib: gen_server calls on the real runtime.
//!
//! What each measures, and only that:
//!
//! - `stdlib/call`: one `gen_server::call` round trip to a server that answers
//!   at once: `alias`, `make_ref` (which sets the receive marker), `monitor`,
//!   the send of the request, the server's wake-up, its receive and callback,
//!   `send_alias` of the reply, the caller's wake-up and marker receive,
//!   `unalias` and `demonitor`. Target (issue 5): at most 250 ns median.
//! - `stdlib/call_behind_10k`: the same call while 10,000 unrelated `u64`
//!   messages sit in the caller's mailbox (queued before the timed loop and
//!   left there). The marker makes the reply's receive skip them. Target:
//!   within 1.5x of `stdlib/call`.
//! - `stdlib/cast`: one `gen_server::cast` (a send; the server handles it in
//!   the background), for scale.
//!
//! Each sample runs inside `Runtime::block_on` on the default runtime (one
//! worker per core); starting the server and filling the backlog are outside
//! the timed loop.
//!
//! The machine is shared (2 cores, other engineers compiling), so wall-clock
//! samples include time the runtime was preempted. Each bench is therefore run
//! twice: under the wall clock (`stdlib/...`) and under the OS process's CPU
//! time (`stdlib_cpu/...`, `CLOCK_PROCESS_CPUTIME_ID`: all threads), reported
//! by criterion as if it were time. Report both.
//!
//! Run: `cargo bench -p bream-bench --bench stdlib`. Numbers: docs/gen_server.md,
//! "Cost of a call".

use std::hint::black_box;
use std::time::Duration;

use bream::Runtime;
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, Next, ReplyTo, ServerRef};
#[path = "common/clock.rs"]
mod clock;

use clock::{Clock, Stamp};
use criterion::{criterion_group, criterion_main, Criterion};

/// A server that answers each call with its argument plus what it was cast.
struct Echo(u64);

impl GenServer for Echo {
    type Args = ();
    type Call = u64;
    type Reply = u64;
    type Cast = u64;
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::ok(Echo(0))
    }
    fn handle_call(&mut self, n: u64, _: ReplyTo<u64>) -> CallResult<Self> {
        CallResult::reply(n + self.0)
    }
    fn handle_cast(&mut self, n: u64) -> Next<Self> {
        self.0 = n;
        Next::Wait
    }
}

/// Time `iters` calls, with `backlog` unrelated messages in the caller's mailbox.
fn calls(rt: &Runtime, iters: u64, clock: Clock, backlog: u64) -> Duration {
    rt.block_on(move || {
        let server = gen_server::start::<Echo>(()).expect("echo starts");
        let me = bream::self_pid();
        for i in 0..backlog {
            bream::send(me, i);
        }
        // One warm-up call: the server is parked in its receive, and the
        // backlog has been looked at once (it sits in the save queue).
        gen_server::call(&server, 0, gen_server::DEFAULT_TIMEOUT).unwrap();
        let t = Stamp::now(clock);
        for i in 0..iters {
            black_box(gen_server::call(&server, i, gen_server::DEFAULT_TIMEOUT).unwrap());
        }
        let d = t.elapsed();
        stop(server);
        d
    })
}

fn call(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    calls(rt, iters, clock, 0)
}

fn call_behind_10k(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    calls(rt, iters, clock, 10_000)
}

fn cast(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let server = gen_server::start::<Echo>(()).expect("echo starts");
        let t = Stamp::now(clock);
        for i in 0..iters {
            gen_server::cast(&server, black_box(i));
        }
        let d = t.elapsed();
        stop(server);
        d
    })
}

fn stop(server: ServerRef<Echo>) {
    gen_server::stop(&server, bream::ExitReason::Normal, gen_server::INFINITY).unwrap();
}

type Bench = fn(&Runtime, u64, Clock) -> Duration;

const BENCHES: [(&str, Bench); 3] = [
    ("call", call),
    ("call_behind_10k", call_behind_10k),
    ("cast", cast),
];

fn benches(c: &mut Criterion) {
    let rt = Runtime::builder().build().expect("runtime");
    for (group, clock) in [("stdlib", Clock::Wall), ("stdlib_cpu", Clock::ProcessCpu)] {
        let mut g = c.benchmark_group(group);
        g.measurement_time(Duration::from_secs(3));
        for (name, f) in BENCHES {
            g.bench_function(name, |b| b.iter_custom(|iters| f(&rt, iters, clock)));
        }
        g.finish();
    }
    rt.shutdown();
}

criterion_group!(stdlib, benches);
criterion_main!(stdlib);
