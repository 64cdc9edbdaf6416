//! bream's implementation of each workload of benches/peers/README.md.
//!
//! Each `run` executes inside a bream process (the "main" of the definition,
//! started by `Runtime::block_on`), times exactly the section the definition
//! times, checks what it can, and returns an [`Outcome`]. They use bream's public
//! API only (docs/architecture.md §7), as a user's program would.

mod backpressure;
mod call;
mod fanin;
mod idle;
mod pingpong;
mod ring;
mod selective;
mod skynet;
mod spawn;
mod timers;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bream::{send, Pid};
use serde_json::Value;

use crate::measure::thousands;
use crate::progress::Meter;
use crate::workload::{Params, Workload};

/// One run's figures, before they become a `Record`.
#[derive(Debug)]
pub struct Outcome {
    /// The timed section, in nanoseconds.
    pub ns: u64,
    pub result: u64,
    pub bytes_per_process: Option<f64>,
    pub extra: Vec<(&'static str, Value)>,
}

impl Outcome {
    fn timed(ns: u64, result: u64) -> Outcome {
        Outcome {
            ns,
            result,
            bytes_per_process: None,
            extra: Vec::new(),
        }
    }
}

/// Run `w` once. Must be called inside a bream process.
pub fn run(w: Workload, p: Params, meter: &Meter) -> Result<Outcome, String> {
    match w {
        Workload::Spawn => spawn::run(p.a, meter),
        Workload::Ring => ring::run(p.a, p.b),
        Workload::Pingpong => pingpong::run(p.a, meter),
        Workload::Skynet => skynet::run(p.a),
        Workload::Fanin => fanin::run(p.a, p.b, meter),
        Workload::Selective => selective::run(p.a, p.b, meter),
        Workload::Call => call::run(p.a, meter),
        Workload::Timers => timers::run(p.a, p.b, meter),
        Workload::Backpressure => backpressure::run(p.a, p.b, meter),
        Workload::Idle => idle::run(p.a, p.b != 0, meter),
    }
}

/// How often (in operations) main stores its progress into the meter.
const METER_EVERY: u64 = 4096;

fn report_progress(meter: &Meter, done: u64) {
    if done % METER_EVERY == 0 {
        meter.set(done);
    }
}

/// Nanoseconds since `t0`.
fn since(t0: std::time::Instant) -> u64 {
    t0.elapsed().as_nanos() as u64
}

/// The "ready" and "done" counters of the definition: every process arrives once,
/// and the one that brings the count to `n` sends `main` one message. Relaxed
/// is enough: the count is only read by main after that message, and the
/// message (send → receive) orders it.
#[derive(Debug)]
struct Countdown {
    n: u64,
    count: AtomicU64,
    main: Pid,
}

impl Countdown {
    fn new(n: u64, main: Pid) -> Countdown {
        Countdown {
            n,
            count: AtomicU64::new(0),
            main,
        }
    }

    fn arrive<M: Send + 'static>(&self, all_arrived: M) {
        if self.count.fetch_add(1, Relaxed) + 1 == self.n {
            send(self.main, all_arrived);
        }
    }

    fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }
}

/// A spawn that failed, as the user should read it.
fn spawn_failed(spawned: u64, of: u64, e: impl std::fmt::Display) -> String {
    let e = e.to_string();
    // The runtime names its own knob; say which flag of ours sets it.
    let flag = if e.contains("max_processes") {
        " (bream-bench sets it with --max-processes)"
    } else {
        ""
    };
    format!(
        "bream could not spawn process {} of {}: {e}{flag}",
        thousands(spawned + 1),
        thousands(of)
    )
}
