//! `call`: gen_server call round trips to a counter server (bream-stdlib's
//! `gen_server::call`, the same as Erlang's `gen_server:call/2`).

use std::time::Instant;

use bream::ExitReason;
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo};

use super::{report_progress, since, Outcome};
use crate::progress::Meter;

/// Counts the calls it has answered.
struct Counter(u64);

impl GenServer for Counter {
    type Args = u64;
    /// "increment"
    type Call = ();
    /// The counter after the increment.
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(start: u64) -> Init<Self> {
        Init::ok(Counter(start))
    }

    fn handle_call(&mut self, _: (), _from: ReplyTo<u64>) -> CallResult<Self> {
        self.0 += 1;
        CallResult::reply(self.0)
    }
}

pub fn run(calls: u64, meter: &Meter) -> Result<Outcome, String> {
    let server = gen_server::start::<Counter>(0)
        .map_err(|e| format!("call: the counter server did not start: {e}"))?;
    let t0 = Instant::now();
    let mut last = 0;
    for i in 0..calls {
        last = gen_server::call(&server, (), gen_server::DEFAULT_TIMEOUT)
            .map_err(|e| format!("call: call {i} failed: {e}"))?;
        report_progress(meter, i);
    }
    let ns = since(t0);
    gen_server::stop(&server, ExitReason::Normal, gen_server::DEFAULT_TIMEOUT)
        .map_err(|e| format!("call: the counter server did not stop: {e}"))?;
    Ok(Outcome::timed(ns, last))
}
