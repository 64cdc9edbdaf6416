//! `ring`: N processes in a ring; a token makes L laps. Untimed setup tells each
//! process its successor; timed: from the first send of the token until main
//! receives it back after N·L hops.

use std::time::Instant;

use bream::{receive, self_pid, send, try_spawn, Pid};

use super::{since, spawn_failed, Outcome};

/// A ring process's successor (the setup message).
struct Next(Pid);
/// The token: how many hops it has made.
struct Token(u64);

pub fn run(n: u64, laps: u64) -> Result<Outcome, String> {
    let main = self_pid();
    let total = n * laps;
    let mut pids = Vec::with_capacity(n as usize);
    for i in 0..n {
        let pid = try_spawn(move || {
            let Next(next) = receive();
            for _ in 0..laps {
                let Token(t) = receive();
                let to = if t + 1 == total { main } else { next };
                send(to, Token(t + 1));
            }
        })
        .map_err(|e| spawn_failed(i, n, e))?;
        pids.push(pid);
    }
    for (i, &pid) in pids.iter().enumerate() {
        send(pid, Next(pids[(i + 1) % pids.len()]));
    }
    let t0 = Instant::now();
    send(pids[0], Token(0));
    let Token(hops) = receive();
    Ok(Outcome::timed(since(t0), hops))
}
