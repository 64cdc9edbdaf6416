//! Criterion benches of freezing an idle process's stack (`hibernate_after`,
//! issue 13): what one freeze and one thaw add to a wake-up.
//!
//! What each measures, and only that:
//!
//! - `hibernate/ping_pong`: the baseline, `runtime/ping_pong`'s round trip on
//!   a one-worker runtime: A sends `Ping` to B (parked in `receive`), B wakes,
//!   sends `Pong` back and parks, A wakes.
//! - `hibernate/ping_pong_frozen`: the same with B spawned with
//!   `hibernate_after: Some(Duration::ZERO)`: every park of B freezes its
//!   stack (copies its live frames, a few hundred bytes, to the heap and
//!   gives its pages back with `MADV_DONTNEED`) and every wake thaws it (the
//!   page faults back in, zeroed by the kernel, and the frames are copied
//!   back). The difference from `ping_pong` is one freeze plus one thaw.
//! - `hibernate/ping_pong_frozen_deep`: the same with B's `receive` under
//!   4 KiB of its own frames (8 levels of 512-byte arrays), so each freeze
//!   copies about 4 KiB and the thaw faults in two pages: how the cost grows
//!   with the depth of an idle stack.
//!
//! One worker, so the round trip is deterministic: B always parks (and
//! freezes) before A runs again. Each sample checks that B froze once per
//! round trip, so a change that stopped freezing would fail the bench rather
//! than make it look fast.
//!
//! As in `runtime.rs`, each bench runs under the wall clock (`hibernate/...`)
//! and under the OS process's CPU time (`hibernate_cpu/...`); the machine is
//! shared, so report both.
//!
//! Run: `cargo bench -p bream-bench --no-default-features --features runtime
//! --bench hibernate`. Numbers: docs/benchmarking.md.

use std::hint::black_box;
use std::time::Duration;

use bream::{Pid, Runtime, SpawnOpts};
#[path = "common/clock.rs"]
mod clock;
#[path = "common/groups.rs"]
mod groups;

use clock::{Clock, Stamp};
use criterion::{criterion_group, criterion_main, Criterion};

struct Ping(Pid);
struct Pong;
struct Stop;

/// Stacks frozen so far, all worker slots together.
fn freezes() -> u64 {
    bream::stats().workers.iter().map(|w| w.freezes).sum()
}

/// The ponger's loop: answer pings until `Stop`.
fn serve() {
    loop {
        bream::receive! {
            Ping(from): Ping => bream::send(from, Pong),
            _s: Stop => break,
        }
    }
}

/// `levels` frames of 512 bytes each (kept alive across the receive by
/// `black_box`), then [`serve`] at the bottom.
#[inline(never)]
fn serve_under(levels: u32) {
    let mut frame = [levels as u8; 512];
    black_box(&mut frame);
    if levels == 0 {
        serve();
    } else {
        serve_under(levels - 1);
    }
    black_box(&frame);
}

/// `iters` round trips to a ponger running `body`, frozen between pings if
/// `freeze`; the time of the round trips on `clock`.
fn round_trips(rt: &Runtime, iters: u64, clock: Clock, freeze: bool, body: fn()) -> Duration {
    rt.block_on(move || {
        let opts = SpawnOpts {
            hibernate_after: freeze.then_some(Duration::ZERO),
            ..Default::default()
        };
        let (ponger, _) = bream::spawn_opt(opts, body).expect("spawn");
        let me = bream::self_pid();
        // One warm-up round trip: the ponger is parked in its receive.
        bream::send(ponger, Ping(me));
        bream::receive::<Pong>();
        let before = freezes();
        let t = Stamp::now(clock);
        for _ in 0..iters {
            bream::send(ponger, Ping(me));
            black_box(bream::receive::<Pong>());
        }
        let d = t.elapsed();
        let froze = freezes() - before;
        bream::send(ponger, Stop);
        if freeze {
            assert!(
                froze >= iters,
                "the ponger froze {froze} times in {iters} round trips: the bench would not measure freezing"
            );
        } else {
            assert_eq!(froze, 0, "a ponger without hibernate_after froze");
        }
        d
    })
}

fn ping_pong(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    round_trips(rt, iters, clock, false, serve)
}

fn ping_pong_frozen(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    round_trips(rt, iters, clock, true, serve)
}

fn ping_pong_frozen_deep(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    round_trips(rt, iters, clock, true, || serve_under(8))
}

type Bench = groups::Bench<Runtime>;

const BENCHES: [(&str, Bench); 3] = [
    ("ping_pong", ping_pong),
    ("ping_pong_frozen", ping_pong_frozen),
    ("ping_pong_frozen_deep", ping_pong_frozen_deep),
];

fn benches(c: &mut Criterion) {
    let rt = Runtime::builder().workers(1).build().expect("runtime");
    groups::wall_and_cpu(c, "hibernate", &rt, &BENCHES);
    rt.shutdown();
}

criterion_group!(hibernate, benches);
criterion_main!(hibernate);
