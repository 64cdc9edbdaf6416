//! `selective`: main holds D unmatched messages in its own mailbox and receives
//! M tagged replies from an echo process behind them — `make_ref` then
//! `receive! { marker r; ... }`, so the receive scans only what arrived after
//! the reference was made (OTP 24's optimisation, docs/architecture.md §5). Then the
//! backlog is drained and checked, and the same M receives run on an empty
//! mailbox for `empty_per_op_ns`.

use std::time::{Duration, Instant};

use bream::{make_ref, receive, receive_timeout, self_pid, send, try_spawn, Pid, Ref};
use serde_json::Value;

use super::{report_progress, since, Outcome};
use crate::progress::Meter;

/// What fills the mailbox: no receive below matches it until the drain.
struct Junk(u64);
/// A request to the echo process.
struct Request {
    from: Pid,
    tag: Ref,
    i: u64,
}
/// The echo's answer: the request's tag and `i + 1`.
struct Reply(Ref, u64);

fn echo() {
    while let Some(Request { from, tag, i }) = receive::<Option<Request>>() {
        send(from, Reply(tag, i + 1));
    }
}

/// `rounds` tagged round trips; how many came back with the right tag and value.
fn rounds(echo: Pid, rounds: u64, meter: &Meter) -> u64 {
    let me = self_pid();
    let mut ok = 0;
    for i in 0..rounds {
        let r = make_ref();
        send(
            echo,
            Some(Request {
                from: me,
                tag: r,
                i,
            }),
        );
        let v = bream::receive! {
            marker r;
            Reply(t, v): Reply if t == r => v,
        };
        if v == i + 1 {
            ok += 1;
        }
        report_progress(meter, i);
    }
    ok
}

pub fn run(depth: u64, n: u64, meter: &Meter) -> Result<Outcome, String> {
    let me = self_pid();
    let echo =
        try_spawn(echo).map_err(|e| format!("bream could not spawn the echo process: {e}"))?;
    for k in 1..=depth {
        send(me, Junk(k));
    }
    let t0 = Instant::now();
    let ok = rounds(echo, n, meter);
    let deep = since(t0);
    for k in 1..=depth {
        match receive_timeout::<Junk>(Duration::ZERO) {
            Some(Junk(j)) if j == k => {}
            Some(Junk(j)) => {
                return Err(format!(
                    "selective: the backlog came back out of order ({j} where {k} was due)"
                ))
            }
            None => {
                return Err(format!(
                    "selective: the backlog lost messages ({} of {depth} left)",
                    k - 1
                ))
            }
        }
    }
    let t1 = Instant::now();
    let ok_empty = rounds(echo, n, meter);
    let empty = since(t1);
    send(echo, None::<Request>);
    if ok_empty != n {
        return Err(format!(
            "selective: {} of {n} replies on an empty mailbox were wrong",
            n - ok_empty
        ));
    }
    Ok(Outcome {
        ns: deep,
        result: ok,
        bytes_per_process: None,
        extra: vec![("empty_per_op_ns", Value::from(empty as f64 / n as f64))],
    })
}
