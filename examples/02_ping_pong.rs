//! Chapter 2: ping-pong.
//!
//! What it teaches: two processes exchanging messages, each waiting for the
//! other's reply; message types as the protocol (`Ping` carries the sender's
//! pid so the receiver knows where to answer); how cheap a round trip is
//! (a waiting receiver is woken by the send and runs next on the same worker).
//!
//! What it prints: the number of round trips and the time per round trip.
//!
//! Run: `cargo run --release -p bream --example 02_ping_pong -- [round_trips]`

use std::time::Instant;

use bream::Pid;

struct Ping(Pid);
struct Pong;
struct Stop;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    bream::run(move || {
        let ponger = bream::spawn(|| loop {
            bream::receive! {
                Ping(from): Ping => bream::send(from, Pong),
                _s: Stop => break,
            }
        });
        let me = bream::self_pid();
        let start = Instant::now();
        for _ in 0..n {
            bream::send(ponger, Ping(me));
            bream::receive::<Pong>();
        }
        let elapsed = start.elapsed();
        bream::send(ponger, Stop);
        println!(
            "{n} round trips in {:.3} s: {:.0} ns per round trip",
            elapsed.as_secs_f64(),
            elapsed.as_nanos() as f64 / f64::from(n)
        );
    });
}
