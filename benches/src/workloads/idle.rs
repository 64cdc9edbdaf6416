//! `idle`: N processes wait in `receive` with nothing to do; what does each
//! cost while it waits, and what does it cost to wake them?
//!
//! Each process is spawned with `hibernate_after: Some(Duration::ZERO)`, so its
//! first park in `receive` freezes its stack (the live frames go to the heap,
//! the stack pages back to the kernel: docs/processes.md, "Idle processes").
//! `--no-freeze` (`freeze = false`) spawns them plainly, for comparison.
//!
//! 1. Untimed: spawn N; each arrives at *ready* and waits. When all are ready,
//!    main waits until the runtime has counted N freezes (`bream::stats()`,
//!    polled every millisecond: a frozen process is an idle one), then samples
//!    `VmRSS + VmPTE`: `bytes_per_process` = (sample − baseline) / N, and
//!    `pte_bytes_per_process` its page-table part.
//! 2. Untimed: `wake_rtt_ns`, the median round trip of a ping to one idle
//!    process: main pings up to [`PINGS`] processes spread over the N, one at
//!    a time (each thaws, replies, and freezes again).
//! 3. Timed: main sends every process `Wake`; each arrives at *done* and
//!    returns; the last tells main. `per_op_ns` is that phase over N: the
//!    cost of waking one idle process (thaw, receive, exit), all workers
//!    together.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bream::{receive, self_pid, send, spawn_opt, Pid, SpawnOpts};
use serde_json::Value;

use super::{report_progress, since, spawn_failed, Countdown, Outcome};
use crate::measure::Status;
use crate::progress::Meter;

/// How many idle processes phase 2 pings (fewer if N is smaller).
pub const PINGS: u64 = 1000;

/// How long main waits for the N freezes before it gives up.
const FREEZE_DEADLINE: Duration = Duration::from_secs(120);

/// What an idle process is sent.
enum Msg {
    /// Reply `Pong` to this pid, and wait again.
    Ping(Pid),
    /// Arrive at *done* and return.
    Wake,
}

struct Pong;
struct AllReady;
struct AllDone;

/// Stacks frozen so far, all worker slots together.
fn freezes() -> u64 {
    bream::stats().workers.iter().map(|w| w.freezes).sum()
}

pub fn run(n: u64, freeze: bool, meter: &Meter) -> Result<Outcome, String> {
    let main = self_pid();
    let ready = Arc::new(Countdown::new(n, main));
    let done = Arc::new(Countdown::new(n, main));
    let opts = SpawnOpts {
        hibernate_after: freeze.then_some(Duration::ZERO),
        ..Default::default()
    };
    let frozen_before = freezes();
    let base = Status::now();
    let mut pids = Vec::with_capacity(n as usize);
    for i in 0..n {
        let (ready, done) = (ready.clone(), done.clone());
        let (pid, _) = spawn_opt(opts.clone(), move || {
            ready.arrive(AllReady);
            while let Msg::Ping(from) = receive::<Msg>() {
                send(from, Pong);
            }
            done.arrive(AllDone);
        })
        .map_err(|e| spawn_failed(i, n, e))?;
        pids.push(pid);
        report_progress(meter, i / 2);
    }
    let AllReady = receive();
    if freeze {
        let t = Instant::now();
        while freezes() - frozen_before < n {
            if t.elapsed() > FREEZE_DEADLINE {
                return Err(format!(
                    "only {} of {n} idle processes froze their stacks in {FREEZE_DEADLINE:?}",
                    freezes() - frozen_before
                ));
            }
            bream::sleep(Duration::from_millis(1));
        }
    }
    let idle = Status::now();
    let frozen = freezes() - frozen_before;

    let pings = n.min(PINGS);
    let mut rtts = Vec::with_capacity(pings as usize);
    for k in 0..pings {
        let pid = pids[(k * n / pings) as usize];
        let t = Instant::now();
        send(pid, Msg::Ping(main));
        let Pong = receive();
        rtts.push(since(t));
    }
    let wake_rtt_ns = crate::measure::lower_median(&mut rtts);

    let t0 = Instant::now();
    for (i, &pid) in pids.iter().enumerate() {
        send(pid, Msg::Wake);
        report_progress(meter, (n + i as u64) / 2);
    }
    let AllDone = receive();
    let ns = since(t0);
    Ok(Outcome {
        ns,
        result: done.count(),
        bytes_per_process: Some(
            idle.footprint().saturating_sub(base.footprint()) as f64 / n as f64,
        ),
        extra: vec![
            ("freeze", Value::from(freeze)),
            ("frozen_at_sample", Value::from(frozen)),
            ("wake_rtt_ns", Value::from(wake_rtt_ns)),
            // The page-table part of `bytes_per_process`.
            (
                "pte_bytes_per_process",
                Value::from(idle.vm_pte.saturating_sub(base.vm_pte) as f64 / n as f64),
            ),
        ],
    })
}
