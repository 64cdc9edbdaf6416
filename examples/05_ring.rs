//! Chapter 5: a ring of processes.
//!
//! What it teaches: building a structure of processes that know each other
//! (each process is spawned knowing its successor), and passing a token
//! around it; how the scheduler copes with many processes that each do very
//! little. The classic benchmark from Joe Armstrong's "Programming Erlang".
//!
//! What it prints: N processes, M laps, the number of hops and the time.
//!
//! Run: `cargo run --release -p bream --example 05_ring -- [processes] [laps]`
//! (defaults: 10,000 processes, 1,000 laps = 10 million hops).

use std::time::Instant;

use bream::Pid;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let laps: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let n = n.max(1);
    bream::run(move || {
        let start = Instant::now();
        let me = bream::self_pid();
        // Build the ring backwards: the last process forwards to us.
        let mut next: Pid = me;
        for _ in 1..n {
            let succ = next;
            next = bream::spawn(move || loop {
                let token: u32 = bream::receive();
                bream::send(succ, token);
                if token == 0 {
                    break;
                }
            });
        }
        let first = next;
        let built = start.elapsed();
        // We are the n-th process: each lap, the token comes back to us.
        for lap in (0..laps).rev() {
            bream::send(first, lap);
            let back: u32 = bream::receive();
            assert_eq!(back, lap);
        }
        let elapsed = start.elapsed();
        let hops = u64::from(n) * u64::from(laps);
        println!(
            "ring: {n} processes, {laps} laps, {hops} hops in {:.3} s (built in {:.3} s), {:.0} ns per hop",
            elapsed.as_secs_f64(),
            built.as_secs_f64(),
            elapsed.as_nanos() as f64 / hops.max(1) as f64
        );
    });
}
