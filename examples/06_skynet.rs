//! Chapter 6: skynet, a million processes.
//!
//! What it teaches: spawning processes is cheap enough to spawn a million of
//! them for a tiny job each. Each process of the tree spawns 10 children, each
//! responsible for a tenth of its range, and adds up their answers; the
//! 1,000,000 leaves answer with their own number. (The "skynet" benchmark,
//! github.com/atemerev/skynet.)
//!
//! What it prints: the sum, 499999500000, and the time.
//!
//! Run: `cargo run --release -p bream --example 06_skynet -- [leaves]`

use std::time::Instant;

use bream::Pid;

fn skynet(parent: Pid, num: u64, size: u64) {
    if size == 1 {
        bream::send(parent, num);
        return;
    }
    let me = bream::self_pid();
    let child = size / 10;
    for i in 0..10 {
        let n = num + i * child;
        bream::spawn(move || skynet(me, n, child));
    }
    let sum: u64 = (0..10).map(|_| bream::receive::<u64>()).sum();
    bream::send(parent, sum);
}

fn main() {
    let leaves: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    // 1,111,111 processes in all; raise the limit above the 1,048,576 default
    // in case most of them are alive at once. Small stacks: they do little.
    let rt = bream::Runtime::builder()
        .max_processes(4 << 20)
        .stack_size(16 * 1024)
        .build()
        .expect("runtime");
    let (sum, elapsed) = rt.block_on(move || {
        let start = Instant::now();
        let me = bream::self_pid();
        bream::spawn(move || skynet(me, 0, leaves));
        let sum: u64 = bream::receive();
        (sum, start.elapsed())
    });
    rt.shutdown();
    println!(
        "skynet: {leaves} leaves, sum {sum} in {:.3} s",
        elapsed.as_secs_f64()
    );
}
