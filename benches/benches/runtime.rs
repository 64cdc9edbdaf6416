//! Criterion benches of the bream runtime: processes on the real scheduler and
//! mailbox, through the public API only.
//!
//! What each measures, and only that:
//!
//! - `runtime/ping_pong`: one round trip between two processes: A sends `Ping`
//!   to B (parked in `receive`), B wakes, sends `Pong` back and parks, A wakes.
//!   Two sends, two receives, two parks and two wake-ups; the woken process runs
//!   next on the same worker (the scheduler's `next` slot). Target (issue 4):
//!   at most 120 ns.
//! - `runtime/ping_pong_bounded_{block,drop}`, `runtime/ping_pong_priority`
//!   (issue 14): the same round trip with the ponger's mailbox bounded at
//!   1,024 (Block, then Drop policy: the bound is never reached, so this is
//!   the cost of the bounded path itself), and with the pings sent through
//!   a priority alias. Compare each with `runtime/ping_pong`.
//! - `runtime/send_receive_self`: one process sends a `u64` to itself and
//!   receives it: the runtime's cost around the mailbox (no park, no wake-up).
//! - `runtime/spawn_exit`: `spawn_monitor` a process that returns at once, and
//!   receive its `Down`: the whole life of a process (table slot, stack from the
//!   pool, task, exit, monitor signal, slot freed).
//! - `runtime/monitor_down`: `monitor` a pid that is already dead and receive
//!   the `Down { reason: NoProc }`: the monitor path and one down signal's
//!   delivery and handling (signal pass), without any process exiting.
//!
//! Each sample runs inside `Runtime::block_on` (2 workers, the machine's core
//! count); the setup (spawning the ponger) is outside the timed loop.
//!
//! The machine is shared (2 cores, other engineers compiling), so wall-clock
//! samples include time the runtime was preempted. Each bench is therefore run
//! twice: under the wall clock (`runtime/...`) and under the OS process's CPU
//! time (`runtime_cpu/...`, `CLOCK_PROCESS_CPUTIME_ID`: all threads; an idle
//! worker is parked and costs nothing), reported by criterion as if it were
//! time. Report both.
//!
//! Run: `cargo bench -p bream-bench --no-default-features --features runtime
//! --bench runtime`. Numbers: docs/processes.md, "Costs".

use std::hint::black_box;
use std::time::Duration;

use bream::{Down, Pid, Runtime};
#[path = "common/clock.rs"]
mod clock;

use clock::{Clock, Stamp};
use criterion::{criterion_group, criterion_main, Criterion};

struct Ping(Pid);
struct Pong;
struct Stop;

fn ping_pong(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    ping_pong_with(rt, iters, clock, None)
}

/// `ping_pong` with the ponger's mailbox bounded (issue 14): the cost of the
/// bounded path (reservation, room check) and of each policy beside it.
fn ping_pong_bounded_block(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    let l = bream::MailboxLimit::new(1024, bream::Overflow::Block);
    ping_pong_with(rt, iters, clock, Some(l))
}

fn ping_pong_bounded_drop(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    let l = bream::MailboxLimit::new(1024, bream::Overflow::Drop);
    ping_pong_with(rt, iters, clock, Some(l))
}

/// `ping_pong` where the ponger made a priority alias and the pings come
/// through it with priority.
fn ping_pong_priority(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let me = bream::self_pid();
        let ponger = bream::spawn(move || {
            bream::send(me, bream::alias_priority());
            loop {
                bream::receive! {
                    Ping(from): Ping => bream::send(from, Pong),
                    _s: Stop => break,
                }
            }
        });
        let urgent: bream::Alias = bream::receive();
        bream::send_priority(urgent, Ping(me));
        bream::receive::<Pong>();
        let t = Stamp::now(clock);
        for _ in 0..iters {
            bream::send_priority(urgent, Ping(me));
            black_box(bream::receive::<Pong>());
        }
        let d = t.elapsed();
        bream::send(ponger, Stop);
        d
    })
}

fn ping_pong_with(
    rt: &Runtime,
    iters: u64,
    clock: Clock,
    limit: Option<bream::MailboxLimit>,
) -> Duration {
    rt.block_on(move || {
        let opts = bream::SpawnOpts {
            mailbox_limit: limit,
            ..Default::default()
        };
        let (ponger, _) = bream::spawn_opt(opts, || loop {
            bream::receive! {
                Ping(from): Ping => bream::send(from, Pong),
                _s: Stop => break,
            }
        })
        .expect("spawn");
        let me = bream::self_pid();
        // One warm-up round trip: the ponger is parked in its receive.
        bream::send(ponger, Ping(me));
        bream::receive::<Pong>();
        let t = Stamp::now(clock);
        for _ in 0..iters {
            bream::send(ponger, Ping(me));
            black_box(bream::receive::<Pong>());
        }
        let d = t.elapsed();
        bream::send(ponger, Stop);
        d
    })
}

fn send_receive_self(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let me = bream::self_pid();
        let t = Stamp::now(clock);
        for i in 0..iters {
            bream::send(me, i);
            black_box(bream::receive::<u64>());
        }
        t.elapsed()
    })
}

fn spawn_exit(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let t = Stamp::now(clock);
        for _ in 0..iters {
            let (_, m) = bream::spawn_monitor(|| {});
            let d: Down = bream::receive();
            debug_assert_eq!(d.monitor, m);
        }
        t.elapsed()
    })
}

fn monitor_down(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let (dead, _) = bream::spawn_monitor(|| {});
        let _: Down = bream::receive();
        let t = Stamp::now(clock);
        for _ in 0..iters {
            let m = bream::monitor(dead);
            let d: Down = bream::receive();
            debug_assert_eq!(d.monitor, m);
        }
        t.elapsed()
    })
}

type Bench = fn(&Runtime, u64, Clock) -> Duration;

const BENCHES: [(&str, Bench); 7] = [
    ("ping_pong", ping_pong),
    ("ping_pong_bounded_block", ping_pong_bounded_block),
    ("ping_pong_bounded_drop", ping_pong_bounded_drop),
    ("ping_pong_priority", ping_pong_priority),
    ("send_receive_self", send_receive_self),
    ("spawn_exit", spawn_exit),
    ("monitor_down", monitor_down),
];

fn benches(c: &mut Criterion) {
    let rt = Runtime::builder().build().expect("runtime");
    for (group, clock) in [("runtime", Clock::Wall), ("runtime_cpu", Clock::ProcessCpu)] {
        let mut g = c.benchmark_group(group);
        g.measurement_time(Duration::from_secs(3));
        for (name, f) in BENCHES {
            g.bench_function(name, |b| b.iter_custom(|iters| f(&rt, iters, clock)));
        }
        g.finish();
    }
    rt.shutdown();
}

criterion_group!(runtime, benches);
criterion_main!(runtime);
